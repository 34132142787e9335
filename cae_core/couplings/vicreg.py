"""VICReg (Bardes et al., ICLR 2022) in its reference implementation's conventions
(github.com/facebookresearch/vicreg)."""
from __future__ import annotations

import torch
from torch import Tensor

from cae_core.couplings._registry import coupling, nonnegative, positive, require_rows
from cae_core.spectral import covariance


def variance_hinge(z: Tensor, eps: float) -> Tensor:
    """mean_d relu(1 - sqrt(var_d(z) + eps)), var with 1/(B-1). ``z: (..., B, p)`` -> ``(...)``."""
    return torch.relu(1.0 - torch.sqrt(z.var(dim=-2, unbiased=True) + eps)).mean(dim=-1)


def off_diagonal_penalty(z: Tensor) -> Tensor:
    """sum_{a != b} cov(z)_ab^2 / p, cov with 1/(B-1). ``z: (..., B, p)`` -> ``(...)``."""
    V = covariance(z)
    off = V - torch.diag_embed(torch.diagonal(V, dim1=-2, dim2=-1))
    return (off * off).sum(dim=(-2, -1)) / z.shape[-1]


@coupling("vicreg", sim_weight=nonnegative, var_weight=nonnegative, cov_weight=nonnegative, eps=positive)
def vicreg(z_i: Tensor, z_j: Tensor, paired: int | None = None, *, sim_weight: float = 25.0,
           var_weight: float = 25.0, cov_weight: float = 1.0, eps: float = 1e-4) -> Tensor:
    """sim_weight * mean_{s, m} (z_si(m) - z_sj(m))^2
    + var_weight * [variance_hinge(z_i) + variance_hinge(z_j)] / 2
    + cov_weight * [off_diagonal_penalty(z_i) + off_diagonal_penalty(z_j)].

    ``z_i: (..., B_i, p)``, ``z_j: (..., B_j, p)`` -> ``(...)``. The invariance term averages over the paired rows and the
    p coordinates; variance and covariance terms use all rows (1/(B-1)). Defaults 25, 25, 1, eps 1e-4 are those
    of facebookresearch/vicreg. Needs B >= 2 in both arms.
    """
    require_rows(z_i, "z_i", 2, "VICReg's variance uses 1/(B-1)")
    require_rows(z_j, "z_j", 2, "VICReg's variance uses 1/(B-1)")
    invariance = ((z_i[..., :paired, :] - z_j[..., :paired, :]) ** 2).mean(dim=(-2, -1))
    variance = (variance_hinge(z_i, eps) + variance_hinge(z_j, eps)) / 2
    covariance_term = off_diagonal_penalty(z_i) + off_diagonal_penalty(z_j)
    return sim_weight * invariance + var_weight * variance + cov_weight * covariance_term
