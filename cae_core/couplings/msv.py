"""C_MSV: squared distance divided by the smallest batch-covariance eigenvalue of the two arms (Gala et al.,
NeurIPS 2019; public code AllenInstitute/coupledAE)."""
from __future__ import annotations

import torch
from torch import Tensor

from cae_core.couplings._registry import coupling, positive_or_none, require_rows
from cae_core.power_of_two import scale_exponents, unit_scale_float64
from cae_core.couplings.mse import paired_sq_distance
from cae_core.spectral import batch_lambda_min, require_full_rank_batch


@coupling("msv", floor=positive_or_none)
def msv(z_i: Tensor, z_j: Tensor, paired: int | None = None, *, floor: float | None = None) -> Tensor:
    """mse / min(lambda_min(V_i), lambda_min(V_j)). ``z_i: (..., B_i, p)``, ``z_j: (..., B_j, p)`` -> ``(...)``.

    mse is :func:`~cae_core.couplings.mse.mse` on the paired rows; V_i is the centred batch covariance of ALL
    rows of arm i with 1/(B_i - 1) (supplement, above Prop. 2), lambda_min(V) = sigma_min(B_c)^2 / (B - 1)
    computed by torch.linalg.svdvals with gradients through it, as the public code does (AllenInstitute/coupledAE).
    Invariant under a common scaling z -> beta z of both arms, so shrinking gains nothing.

    ``floor``: None (default, the NeurIPS code) or the Patch-seq code's 1e-2: the denominator is
    max(min(lambda_min), floor) (zero gradient through the denominator while floored).
    With ``floor=None`` a batch whose covariance is numerically singular (B_i <= p, collapsed codes, a constant
    coordinate, a spread below the rounding of the codes; rule: sigma_min <= max(B, p) * eps * sigma_max
    + 2 eps ||z||_F, :func:`cae_core.spectral.require_full_rank_batch`) raises ValueError instead of returning a
    huge or infinite value.

    dtype: the rank check runs in the input's dtype (its eps sets the tolerance); mse, lambda_min (svdvals) and
    the quotient are computed in float64 for any input dtype and the scalar is cast back. In float32,
    sigma_min^2 underflows for |z| < ~1e-19 (0/0 = NaN) and overflows for |z| > ~1e19, and its gradient
    already overflows at |z| ~ 1e-20; the quotient itself is scale-invariant, O(1). A floored value
    mse / floor that does not fit the input dtype is a ValueError naming z_i and z_j (the registry's check).

    Scale: with floor=None both batches are first divided by one common power of two 2^e (largest |z| of the
    two in [1/2, 1); exact), which leaves the value unchanged and keeps lambda_min and its sigma^-3 backward
    terms away from float64's range (they under/overflowed for |z| <~ 1e-155); the gradient is 2^-e times
    the gradient at the unit scale (:mod:`cae_core.power_of_two`). It grows like 1/|z|; where it does
    not fit the input dtype (float32, |z| <~ 1e-37) the backward pass raises a ValueError naming z_i or z_j.
    """
    require_rows(z_i, "z_i", 2, "lambda_min(V_i) uses the 1/(B-1) covariance")
    require_rows(z_j, "z_j", 2, "lambda_min(V_j) uses the 1/(B-1) covariance")
    if floor is None:
        why = "C_MSV divides by lambda_min(V); pass floor=1e-2 (Patch-seq code) to floor it"
        require_full_rank_batch(z_i, "z_i", why)
        require_full_rank_batch(z_j, "z_j", why)
        e = scale_exponents(z_i, z_j)  # scale-invariant: compute on 2^-e z (exact), see power_of_two
        a, b = unit_scale_float64(z_i, e, "z_i"), unit_scale_float64(z_j, e, "z_j")
    else:
        a, b = z_i.to(torch.float64), z_j.to(torch.float64)   # mse / floor is not scale-invariant
    denominator = torch.minimum(batch_lambda_min(a), batch_lambda_min(b))
    if floor is not None:
        denominator = torch.clamp(denominator, min=floor)
    return (paired_sq_distance(a, b, paired) / denominator).to(z_i.dtype)
