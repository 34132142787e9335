"""Deep CCA (Andrew et al., ICML 2013): minus the sum of canonical correlations of the two arms' codes."""
from __future__ import annotations

import torch
from torch import Tensor

from cae_core.couplings._registry import coupling, nonnegative, require_finite_moments
from cae_core.spectral import covariance, inverse_sqrt_spd, require_full_rank_batch


@coupling("dcca", ridge=nonnegative)
def dcca(z_i: Tensor, z_j: Tensor, paired: int | None = None, *, ridge: float = 1e-3) -> Tensor:
    """-||T||_tr = -(sum of canonical correlations), T = (V_ii + ridge I)^{-1/2} V_ij (V_jj + ridge I)^{-1/2}.

    ``z_i: (B_i, p)``, ``z_j: (B_j, p)`` -> scalar in [-p, 0] when ridge = 0. V_ii, V_jj: covariances of all rows
    (1/(B-1)); V_ij = sum_{s<n} (z_si - mu_i)(z_sj - mu_j)^T / (n - 1) over the n paired rows, centred by
    the all-row means (= the usual cross-covariance when all rows are paired). ridge = 1e-3 as r1 = r2 in
    Michaelvll/DeepCCA (the common PyTorch port). Needs B > p in both arms and n >= 2; with ridge = 0 also
    non-singular covariances (ValueError otherwise). The trace norm is differentiated through svdvals.

    dtype: the rank checks (ridge = 0) run in the input's dtype; covariances, V^{-1/2} and svdvals are computed
    in float64 for any input dtype and the scalar is cast back (a float32 covariance overflows for |z| > ~1e19).
    A covariance + ridge I that is not numerically positive definite (smallest eigenvalue <= p eps largest,
    :func:`cae_core.spectral.inverse_sqrt_spd`) is a ValueError naming the batch: with ridge = 0 a batch that
    passed the rank check (:func:`cae_core.spectral.require_full_rank_batch`) can still have such a V, since V squares the
    condition number.
    """
    for z, name in ((z_i, "z_i"), (z_j, "z_j")):
        if z.shape[0] <= z.shape[1]:
            raise ValueError(f"{name} must have more rows than columns (B > p) for canonical correlations; "
                             f"got B = {z.shape[0]}, p = {z.shape[1]}")
        if ridge == 0:
            require_full_rank_batch(z, name, "dcca with ridge = 0 whitens by V^(-1/2); pass ridge > 0 (default 1e-3)")
    if paired < 2:
        raise ValueError(f"paired must be >= 2 for dcca (the cross-covariance uses 1/(n-1)), got {paired}")
    a, b = z_i.to(torch.float64), z_j.to(torch.float64)
    c_i = (a - a.mean(dim=0, keepdim=True))[:paired]
    c_j = (b - b.mean(dim=0, keepdim=True))[:paired]
    V_ij = c_i.T @ c_j / (paired - 1)
    T = ridged_inverse_sqrt(a, ridge, "z_i") @ V_ij @ ridged_inverse_sqrt(b, ridge, "z_j")
    return (-torch.linalg.svdvals(T).sum()).to(z_i.dtype)


def ridged_inverse_sqrt(z: Tensor, ridge: float, name: str) -> Tensor:
    """(V + ridge I)^{-1/2}, V the covariance (1/(B-1)) of ``z: (B, p)`` -> ``(p, p)``; ValueError naming ``name``
    (the batch) and the remedy if V + ridge I is not numerically positive definite."""
    eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
    V = require_finite_moments(covariance(z), z, name)
    try:
        return inverse_sqrt_spd(V + ridge * eye, f"covariance of {name} + ridge I")
    except ValueError as exc:
        rule = ("pass ridge > 0 (default 1e-3)" if ridge == 0 else
                "the ridge is below the rounding error of the covariance; pass a larger ridge or rescale the codes")
        raise ValueError(f"{name} has a near-singular covariance (dcca whitens by (V + ridge I)^(-1/2), "
                         f"ridge = {ridge:g}): {exc}; {rule}") from None
