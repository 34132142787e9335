"""Deep CCA (Andrew et al., ICML 2013): minus the sum of canonical correlations of the two arms' codes."""
from __future__ import annotations

import torch
from torch import Tensor

from cae_core.couplings._registry import coupling, nonnegative, require_finite_moments, require_paired_rows
from cae_core.spectral import covariance, inverse_sqrt_spd, require_full_rank_batch


@coupling("dcca", ridge=nonnegative)
def dcca(z_i: Tensor, z_j: Tensor, paired: int | None = None, *, ridge: float = 1e-3) -> Tensor:
    """-||T||_tr = -(sum of canonical correlations), T = (V_ii + ridge I)^{-1/2} V_ij (V_jj + ridge I)^{-1/2}.

    ``z_i: (..., B_i, p)``, ``z_j: (..., B_j, p)`` -> ``(...)`` in [-p, 0]. V_ii, V_jj, V_ij: the covariances and
    the cross-covariance (1/(n-1)) of the n PAIRED rows, each centred by the paired rows' own mean -- the sample
    canonical correlations of the n pairs, as Deep CCA trains on paired data. One joint sample covariance
    [[V_ii, V_ij], [V_ji, V_jj]] is positive semi-definite, so every canonical correlation is in [0, 1] and the
    value in [-p, 0] (the ridge only shrinks them); the unpaired rows, which have no partner, do not enter
    (``cae_core.couplings``: within-arm covariances of all rows with a paired-row V_ij reached -21.5 at p = 2,
    issue 12). ridge = 1e-3 as r1 = r2 in Michaelvll/DeepCCA (the common PyTorch port). Needs B > p in both
    arms and n > p paired rows; with ridge = 0 also non-singular covariances of the paired rows (ValueError
    otherwise). The trace norm is differentiated through svdvals.

    dtype: the rank checks (ridge = 0) run in the input's dtype; covariances, V^{-1/2} and svdvals are computed
    in float64 for any input dtype and the scalar is cast back (a float32 covariance overflows for |z| > ~1e19).
    A covariance + ridge I that is not numerically positive definite (smallest eigenvalue <= p eps largest,
    :func:`cae_core.spectral.inverse_sqrt_spd`) is a ValueError naming the batch: with ridge = 0 a batch that
    passed the rank check (:func:`cae_core.spectral.require_full_rank_batch`) can still have such a V, since V
    squares the condition number.
    """
    p = z_i.shape[-1]
    for z, name in ((z_i, "z_i"), (z_j, "z_j")):
        if z.shape[-2] <= p:
            raise ValueError(f"{name} must have more rows than columns (B > p) for canonical correlations; "
                             f"got B = {z.shape[-2]}, p = {p}")
    require_paired_rows(paired, p + 1, "dcca", "canonical correlations of the paired rows need n > p")
    a, b = z_i[..., :paired, :], z_j[..., :paired, :]
    if ridge == 0:
        why = "dcca with ridge = 0 whitens by V^(-1/2) of the paired rows; pass ridge > 0 (default 1e-3)"
        require_full_rank_batch(a, "z_i", why)
        require_full_rank_batch(b, "z_j", why)
    a, b = a.to(torch.float64), b.to(torch.float64)
    c_i = a - a.mean(dim=-2, keepdim=True)
    c_j = b - b.mean(dim=-2, keepdim=True)
    V_ij = c_i.mT @ c_j / (paired - 1)
    T = ridged_inverse_sqrt(a, ridge, "z_i") @ V_ij @ ridged_inverse_sqrt(b, ridge, "z_j")
    return (-torch.linalg.svdvals(T).sum(dim=-1)).to(z_i.dtype)


def ridged_inverse_sqrt(z: Tensor, ridge: float, name: str) -> Tensor:
    """(V + ridge I)^{-1/2}, V the covariance (1/(B-1)) of ``z: (..., B, p)`` -> ``(..., p, p)``; ValueError naming
    ``name`` (the batch) and the remedy if V + ridge I is not numerically positive definite."""
    eye = torch.eye(z.shape[-1], dtype=z.dtype, device=z.device)
    V = require_finite_moments(covariance(z), z, name)
    try:
        return inverse_sqrt_spd(V + ridge * eye, f"covariance of {name} + ridge I")
    except ValueError as exc:
        rule = ("pass ridge > 0 (default 1e-3)" if ridge == 0 else
                "the ridge is below the rounding error of the covariance; pass a larger ridge or rescale the codes")
        raise ValueError(f"{name} has a near-singular covariance (dcca whitens by (V + ridge I)^(-1/2), "
                         f"ridge = {ridge:g}): {exc}; {rule}") from None
