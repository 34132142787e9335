"""The random layers of the arms: inverted dropout (:class:`Dropout`) and, through the same base class
:class:`RandomLayer`, :class:`cae_core.arms.GaussianNoise`.

Inverted dropout (Srivastava et al. 2014; Keras ``Dropout(rate)`` as in the supplement's architectures): in
training mode ``y = x * m / (1 - p)`` with ``m_ij ~ Bernoulli(1 - p)`` independent; the identity in eval mode.
This is the distribution of ``torch.nn.Dropout(p)``. The mask is drawn as ``m = 1[U >= p]`` with
``U = torch.rand(...)`` uniform on [0, 1) (float32: the grid k / 2^24, so P(keep) = 1 - p up to 2^-24;
float64: 2^-53) instead of torch's ``bernoulli_(1 - p)``, which on CPU is 2-4x slower for the 100 x 1252
Patch-seq batch (it was the largest non-matmul cost of a training step). The random STREAM therefore differs from
``nn.Dropout``'s: the same seed gives other masks.

Where the random numbers come from. A :class:`RandomLayer` draws one tensor per call (``draw``) and applies it
(``apply``). ``fit`` lets it draw from torch's global RNG. :func:`cae_core.sweep.fit_sweep` runs the layers of
many runs at once under ``torch.func.vmap``, where a draw cannot come from each run's own generator; it draws
each run's tensors itself, with the same ``draw`` and that run's generator, and hands them to the layer through
``layer.tape`` -- so every run sees exactly the stream of its sequential ``fit``.

Shapes: ``x: (..., d)`` -> same shape; a drawn tensor has the shape, dtype and device of ``x``.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def check_probability(p, name: str = "p") -> float:
    """``p`` as a float in [0, 1): TypeError for a non-number, ValueError outside the range."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(p).__name__}")
    if not 0.0 <= float(p) < 1.0:
        raise ValueError(f"{name} must be in [0, 1) (the probability of dropping a unit), got {p}")
    return float(p)


def scaled_keep_mask(shape, p: float, *, dtype=torch.float32, device=None,
                     generator: torch.Generator | None = None) -> Tensor:
    """``1[U >= p] / (1 - p)`` with ``U = torch.rand(shape, generator=generator)``: entries are 0 with
    probability p and 1 / (1 - p) otherwise (mean 1). ``generator=None`` draws from torch's global RNG."""
    u = torch.rand(shape, dtype=dtype, device=device, generator=generator)
    return u.ge_(p).div_(1.0 - p)


def dropout(x: Tensor, p: float, training: bool = True, generator: torch.Generator | None = None) -> Tensor:
    """Inverted dropout of ``x: (..., d)``: ``x * scaled_keep_mask(x.shape, p)`` when ``training`` and p > 0,
    else ``x`` itself. Differentiable in ``x`` (the gradient is ``grad * mask``)."""
    if not training or p == 0.0:
        return x
    return x * scaled_keep_mask(x.shape, p, dtype=x.dtype, device=x.device, generator=generator)


class RandomLayer(nn.Module):
    """A layer that, in training mode, draws one random tensor of x's shape per call and applies it to x.

    Subclasses define ``active()`` (whether a call draws at all), ``draw(shape, dtype, device, generator)`` and
    ``apply(x, noise)``. ``tape``: None (draw from torch's global RNG), or an object whose ``take(layer, x)``
    returns the tensor to apply (set by :mod:`cae_core.sweep` around one call; see the module docstring).
    """

    def __init__(self):
        super().__init__()
        self.tape = None

    def active(self) -> bool:
        raise NotImplementedError

    def draw(self, shape, dtype, device, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    def apply(self, x: Tensor, noise: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and self.active()):
            return x
        noise = self.draw(x.shape, x.dtype, x.device) if self.tape is None else self.tape.take(self, x)
        return self.apply(x, noise)


class Dropout(RandomLayer):
    """Inverted dropout layer, ``p`` = probability of dropping a unit (Keras' rate). ``x: (..., d) -> (..., d)``;
    active in training mode only (:func:`dropout`)."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_probability(p, "p")

    def active(self) -> bool:
        return self.p > 0.0

    def draw(self, shape, dtype, device, generator: torch.Generator | None = None) -> Tensor:
        return scaled_keep_mask(shape, self.p, dtype=dtype, device=device, generator=generator)

    def apply(self, x: Tensor, noise: Tensor) -> Tensor:
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}"
