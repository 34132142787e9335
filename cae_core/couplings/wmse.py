"""W-MSE (Ermolov et al., ICML 2021): Cholesky-whiten each arm's batch, then 2 - 2 cos between paired codes."""
from __future__ import annotations

import torch
from torch import Tensor

from cae_core.couplings._registry import coupling, require_cholesky, require_finite_moments
from cae_core.power_of_two import scale_exponents, unit_scale_float64
from cae_core.spectral import covariance, require_full_rank_batch

#: F.normalize's default floor on the norm (the reference code normalises with F.normalize).
NORM_FLOOR = 1e-12


def whiten_cholesky(z: Tensor, name: str) -> Tensor:
    """(z_s - mu) L^{-T} for every row, with V = L L^T (Cholesky, V with 1/(B-1)), mu and V from all rows.

    ``z: (..., B, p)`` -> same shape, whose covariance is I. Needs B > p and a centred batch of full numerical rank in
    z's own dtype (ValueError otherwise). V, L and the solve are computed in float64 whatever z's dtype and the
    whitened codes (O(1)) are cast back: a float32 V under/overflows for |z| < ~1e-19 or > ~1e19. A float64
    batch that passes the rank check but whose V is not numerically positive definite (sigma_min / sigma_max
    above the rank tolerance but below ~sqrt(eps)) is a ValueError naming it, not torch's LinAlgError.

    The whitened codes do not depend on z's scale, so they are computed from 2^-e z (largest |entry| in
    [1/2, 1), exact; :mod:`cae_core.power_of_two`): V no longer underflows for |z| <~ 1e-160 and the
    backward pass forms no intermediates of extreme size (non-finite gradients from |z| ~ 1e-155 before). The
    gradient with respect to z is 2^-e times the gradient at the unit scale; where it does not fit z's dtype
    (float32, |z| <~ 1e-39) the backward pass raises a ValueError naming the batch.
    """
    why = "W-MSE whitens by the Cholesky factor of V"
    require_full_rank_batch(z, name, why)
    z64 = unit_scale_float64(z, scale_exponents(z), name)
    c64 = z64 - z64.mean(dim=-2, keepdim=True)
    L, info = torch.linalg.cholesky_ex(require_finite_moments(covariance(z64), z, name))
    require_cholesky(info, name, f"has a near-singular covariance ({why}): Cholesky of V failed at leading minor "
                                 "{minor} (nearly collapsed codes)")
    return torch.linalg.solve_triangular(L, c64.mT, upper=False).mT.to(z.dtype)


@coupling("wmse")
def wmse(z_i: Tensor, z_j: Tensor, paired: int | None = None) -> Tensor:
    """mean_s [2 - 2 cos(w_si, w_sj)] over the paired rows s, w = :func:`whiten_cholesky` of each arm.

    ``z_i: (..., B_i, p)``, ``z_j: (..., B_j, p)`` -> ``(...)``, in [0, 4] (also under partial pairing: the
    whitening uses all rows of each arm, the cosines the paired rows). Each arm is whitened by its own batch, as W-MSE
    whitens each view (htdt/self-supervised; lightly's WMSELoss, eps = 0, one whitening iteration, the whole
    batch as the sub-batch). Needs B > p (Cholesky of a non-singular V); the authors require B >= 2p for a
    stable estimate (``w_size >= 2 * embedding_dim``); B in (p, 2p) is accepted but noisy.
    """
    a = whiten_cholesky(z_i, "z_i")[..., :paired, :]
    b = whiten_cholesky(z_j, "z_j")[..., :paired, :]
    a = a / torch.linalg.vector_norm(a, dim=-1, keepdim=True).clamp_min(NORM_FLOOR)
    b = b / torch.linalg.vector_norm(b, dim=-1, keepdim=True).clamp_min(NORM_FLOOR)
    return 2.0 - 2.0 * (a * b).sum(dim=-1).mean(dim=-1)
