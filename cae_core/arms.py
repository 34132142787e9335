"""Arms of a coupled autoencoder: an encoder E_i and a decoder D_i (supplement, Eq. 1 and "Datasets, network
architectures, and training").

Every arm maps flat inputs ``x: (B, in_dim)`` to codes ``z: (B, latent_dim)`` (before the latent normalisation,
which belongs to the model) and back to ``(B, in_dim)``. Image arms reshape internally.

Architectures of the supplement (layer widths are the paper's; choices the text leaves open are stated):

- ``patchseq_t_arm``: Input(1252) -> Dropout(0.5) -> Dense(60) x4 -> Dense(d) | -> Dense(60) x4 -> Dense(1252).
- ``patchseq_e_arm``: Input(54) -> Dropout(0.1) -> GaussianNoise(0.05) -> Dense(50) x4 -> Dense(d)
  | -> Dense(50) x4 -> Dense(54).
- ``facs_arm``: as ``patchseq_t_arm`` with 5,000 inputs and 100 units ("similar to ... Patch-seq transcriptomic").
- ``mnist_arm``: Input(28x28) -> Conv2D(10) -> MaxPool(2) -> Flatten -> Dropout(0.4) -> Dense(49) x3 -> Dense(2)
  | -> Dense(49) x2 -> Dense(196) -> Reshape(14x14) -> UpSampling(2) -> Conv2D(10) -> Conv2D(1).

Dropout: :class:`cae_core.dropout.Dropout` (inverted dropout, the distribution of ``nn.Dropout``, mask drawn
from ``torch.rand``; one implementation for every arm, run for many runs at once by :func:`cae_core.sweep.fit_sweep`).
Activations: "The Dense layers use the rectified linear function ... except for Dense(d) layers and the last
Dense layer for the electrophysiology data" -- so the last decoder layer of the transcriptomic and FACS arms is
ReLU (their inputs, log(CPM+1), are non-negative), the electrophysiology one is linear, and every code layer is
linear. For MNIST the text names no activations; we use ReLU after the hidden Dense and the first decoder
Conv2D (the encoder Conv2D too) and a linear output Conv2D (pixels, squared error).
Convolutions: 3x3 with "same" padding -- the only padding for which the decoder (Reshape(14x14) ->
UpSampling(2) -> two 3x3 convolutions) returns a 28x28 image (with "valid" padding 28 -> 26 -> 13 on the way
in, 28 -> 26 -> 24 on the way out).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from cae_core.dropout import Dropout, RandomLayer, check_probability


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _probability(value, name: str) -> float:
    return check_probability(value, name)


class Arm(nn.Module):
    """One autoencoder agent (E_i, D_i). ``encoder: (B, in_dim) -> (B, latent_dim)``, ``decoder`` the reverse."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, in_dim: int, latent_dim: int, name: str = "arm"):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.in_dim = _positive_int(in_dim, "in_dim")
        self.latent_dim = _positive_int(latent_dim, "latent_dim")
        self.name = name

    def extra_repr(self) -> str:
        return f"name={self.name!r}, in_dim={self.in_dim}, latent_dim={self.latent_dim}"


class GaussianNoise(RandomLayer):
    """Adds N(0, std^2) noise in training mode only (Keras ``GaussianNoise``). ``x: (B, d) -> (B, d)``; the noise is
    ``torch.randn`` of x's shape (:class:`cae_core.dropout.RandomLayer`)."""

    def __init__(self, std: float):
        super().__init__()
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not float(std) >= 0.0:
            raise ValueError(f"noise_std must be a number >= 0, got {std!r}")
        self.std = float(std)

    def active(self) -> bool:
        return self.std > 0.0

    def draw(self, shape, dtype, device, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(shape, dtype=dtype, device=device, generator=generator)

    def apply(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.std * noise

    def extra_repr(self) -> str:
        return f"std={self.std}"


def _dense_stack(sizes: Sequence[int], relu_last: bool) -> list[nn.Module]:
    """Dense layers sizes[0] -> sizes[1] -> ... with ReLU after each but (unless ``relu_last``) the last."""
    layers: list[nn.Module] = []
    for n, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if n < len(sizes) - 2 or relu_last:
            layers.append(nn.ReLU())
    return layers


def linear_arm(in_dim: int, latent_dim: int, *, bias: bool = True) -> Arm:
    """E(x) = A x + a, D(z) = B z + b: the linear operators of the supplement's definitions."""
    in_dim, latent_dim = _positive_int(in_dim, "in_dim"), _positive_int(latent_dim, "latent_dim")
    return Arm(nn.Linear(in_dim, latent_dim, bias=bias), nn.Linear(latent_dim, in_dim, bias=bias),
               in_dim, latent_dim, name="linear")


def mlp_arm(in_dim: int, latent_dim: int, widths: Sequence[int] = (60, 60, 60, 60), *, dropout: float = 0.0,
            noise_std: float = 0.0, relu_output: bool = False, name: str = "mlp") -> Arm:
    """Input(in_dim) -> Dropout -> GaussianNoise -> Dense(widths) (ReLU) -> Dense(latent_dim) (linear)
    | -> Dense(widths) (ReLU) -> Dense(in_dim) (ReLU iff ``relu_output``). The decoder uses the same widths
    (the supplement's decoders mirror the encoders). Default widths: the Patch-seq transcriptomic arm."""
    in_dim, latent_dim = _positive_int(in_dim, "in_dim"), _positive_int(latent_dim, "latent_dim")
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(f"widths must be a sequence of ints, got {type(widths).__name__}")
    widths = tuple(_positive_int(w, "widths[]") for w in widths)
    dropout = _probability(dropout, "dropout")
    front: list[nn.Module] = []
    if dropout > 0.0:
        front.append(Dropout(dropout))
    noise = GaussianNoise(noise_std)
    if noise.std > 0.0:
        front.append(noise)
    encoder = nn.Sequential(*front, *_dense_stack((in_dim, *widths, latent_dim), relu_last=False))
    decoder = nn.Sequential(*_dense_stack((latent_dim, *widths, in_dim), relu_last=relu_output))
    return Arm(encoder, decoder, in_dim, latent_dim, name=name)


def patchseq_t_arm(d: int = 3, *, n_genes: int = 1252, dropout: float = 0.5) -> Arm:
    """Patch-seq transcriptomic arm: 1252 genes, Dropout(0.5), 4 x Dense(60), latent d = 3."""
    return mlp_arm(n_genes, d, (60, 60, 60, 60), dropout=dropout, relu_output=True, name="patchseq_t")


def patchseq_e_arm(d: int = 3, *, n_features: int = 54, dropout: float = 0.1, noise_std: float = 0.05) -> Arm:
    """Patch-seq electrophysiology arm: 54 features, Dropout(0.1), GaussianNoise(0.05), 4 x Dense(50), linear output."""
    return mlp_arm(n_features, d, (50, 50, 50, 50), dropout=dropout, noise_std=noise_std, relu_output=False,
                   name="patchseq_e")


def facs_arm(n_genes: int = 5000, d: int = 2, *, dropout: float = 0.5) -> Arm:
    """FACS arm: the transcriptomic architecture with 5,000 genes and 4 x Dense(100); dropout 0.5 as the
    transcriptomic arm it copies (the supplement does not restate it)."""
    return mlp_arm(n_genes, d, (100, 100, 100, 100), dropout=dropout, relu_output=True, name="facs")


class _ImageEncoder(nn.Module):
    def __init__(self, image_size: int, latent_dim: int, channels: int, hidden: int, dropout: float):
        super().__init__()
        self.image_size = image_size
        half = image_size // 2
        self.conv = nn.Conv2d(1, channels, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.dropout = Dropout(dropout)
        self.dense = nn.Sequential(*_dense_stack((channels * half * half, hidden, hidden, hidden, latent_dim),
                                                 relu_last=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(-1, 1, self.image_size, self.image_size)
        h = self.pool(torch.relu(self.conv(h)))
        return self.dense(self.dropout(h.flatten(1)))


class _ImageDecoder(nn.Module):
    def __init__(self, image_size: int, latent_dim: int, channels: int, hidden: int):
        super().__init__()
        self.half = image_size // 2
        self.dense = nn.Sequential(*_dense_stack((latent_dim, hidden, hidden, self.half * self.half),
                                                 relu_last=True))
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv1 = nn.Conv2d(1, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, 1, kernel_size=3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dense(z).reshape(-1, 1, self.half, self.half)
        h = self.conv2(torch.relu(self.conv1(self.upsample(h))))
        return h.flatten(1)


def mnist_arm(image_size: int = 28, latent_dim: int = 2, *, channels: int = 10, hidden: int = 49,
              dropout: float = 0.4) -> Arm:
    """The MNIST arm of Fig. 1B on flat images ``x: (B, image_size**2)``. ``image_size`` must be even (MaxPool(2)
    then UpSampling(2) must give the size back): 28 for MNIST, 8 for scikit-learn's digits."""
    image_size = _positive_int(image_size, "image_size")
    if image_size < 2 or image_size % 2:
        raise ValueError(f"image_size must be even and >= 2 (MaxPool(2) -> UpSampling(2) must restore it), "
                         f"got {image_size}")
    latent_dim = _positive_int(latent_dim, "latent_dim")
    channels = _positive_int(channels, "channels")
    hidden = _positive_int(hidden, "hidden")
    dropout = _probability(dropout, "dropout")
    return Arm(_ImageEncoder(image_size, latent_dim, channels, hidden, dropout),
               _ImageDecoder(image_size, latent_dim, channels, hidden),
               image_size * image_size, latent_dim, name="mnist")
