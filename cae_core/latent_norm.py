"""Latent normalisation of each arm: none (the k-CAE of Prop. 1) or batch standardisation (the k-CBNAE of Prop. 2).

``"batchnorm"`` is :class:`BatchStandardize`: per latent dimension, subtract the batch mean and divide by the
batch standard deviation, with NO learned scale or shift (a batch norm with affine parameters does not satisfy
the k-CBNAE constraint mu_i = 0, diag(V_i) = 1 of the supplement, above Prop. 2).

Choices (documented here once):

- Variance normalisation: ``unbiased=True`` (default) divides by B - 1, so the codes of a training batch satisfy
  the supplement's k-CBNAE definition exactly (V_i with 1/(|S|-1), definition above Prop. 2;
  ``cae_theory.validation.require_kcbnae`` accepts them). The public code uses the biased 1/B variance
  (``unbiased=False``); the two differ by the common factor sqrt(B/(B-1)), which only rescales lambda of an
  ``mse`` coupling by B/(B-1).
- ``eps = 1e-10`` inside the square root, as in the public code (the supplement gives none).
- Eval mode uses running statistics (exponential moving averages with ``momentum``, as torch's BatchNorm), so
  the code of a sample is a function of that sample alone and ``encode`` gives the same code whatever else is
  in the data set or the chunk. Training mode always uses the batch statistics (that is where the constraint
  acts). The running variance is kept unbiased (1/(B-1)), exactly as torch's BatchNorm keeps it.
"""
from __future__ import annotations

import torch
from torch import nn

#: Names accepted by ``CoupledAutoencoder(latent_norm=...)``.
LATENT_NORMS = ("none", "batchnorm")


class BatchStandardize(nn.Module):
    """z: (..., B, p) -> (z - mean_B(z)) / sqrt(var_B(z) + eps), per latent dimension, no learnable parameters.

    Leading dimensions are independent batches (e.g. the runs of a sweep, :mod:`cae_core.sweep`): each is
    standardised over its own B rows. The running statistics then hold one row per batch -- ``(..., p)``
    buffers, as ``torch.func.stack_module_state`` stacks them -- or are shared ``(p,)`` buffers for one batch.
    """

    def __init__(self, latent_dim: int, *, eps: float = 1e-10, momentum: float = 0.1, unbiased: bool = True):
        super().__init__()
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(f"latent_dim must be an integer >= 1, got {latent_dim!r}")
        if not (isinstance(eps, (int, float)) and 0.0 <= float(eps) < 1.0):
            raise ValueError(f"eps must be a number in [0, 1), got {eps!r}")
        if not (isinstance(momentum, (int, float)) and 0.0 < float(momentum) <= 1.0):
            raise ValueError(f"momentum must be a number in (0, 1], got {momentum!r}")
        self.latent_dim = latent_dim
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.unbiased = bool(unbiased)
        self.register_buffer("running_mean", torch.zeros(latent_dim))
        self.register_buffer("running_var", torch.ones(latent_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            raise TypeError(f"z must be a torch.Tensor, got {type(z).__name__}")
        if not z.dtype.is_floating_point:
            raise TypeError(f"z must have a real floating-point dtype, got {z.dtype}")
        if z.ndim < 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}) or (..., B, {self.latent_dim}), got "
                             f"{tuple(z.shape)}")
        if not self.training:
            return (z - self.running_mean.unsqueeze(-2)) / torch.sqrt(self.running_var.unsqueeze(-2) + self.eps)
        B = z.shape[-2]
        if B < 2:
            raise ValueError(f"a training batch must have B >= 2 rows to standardise the latent code, got B = {B}")
        mean = z.mean(dim=-2)
        centred = z - mean.unsqueeze(-2)
        sum_sq = (centred ** 2).sum(dim=-2)
        var = sum_sq / (B - 1 if self.unbiased else B)
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_((sum_sq / (B - 1)).detach(), self.momentum)
        return centred / torch.sqrt(var + self.eps).unsqueeze(-2)

    def extra_repr(self) -> str:
        return f"{self.latent_dim}, eps={self.eps}, momentum={self.momentum}, unbiased={self.unbiased}"


def make_latent_norm(name: str, latent_dim: int, **options) -> nn.Module:
    """The latent normalisation called ``name`` (one of :data:`LATENT_NORMS`) for codes of width ``latent_dim``."""
    if name not in LATENT_NORMS:
        raise ValueError(f"latent_norm must be one of {LATENT_NORMS}, got {name!r}")
    if name == "none":
        if options:
            raise ValueError(f"latent_norm_options must be empty for latent_norm='none', got {sorted(options)}")
        return nn.Identity()
    allowed = {"eps", "momentum", "unbiased"}
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(f"latent_norm_options accepts only {sorted(allowed)}, got {sorted(unknown)}")
    return BatchStandardize(latent_dim, **options)
