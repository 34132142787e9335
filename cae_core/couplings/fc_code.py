"""C_FC as the public code computes it: Mahalanobis distance under the other arm's ridged covariance, both ways."""
from __future__ import annotations

import torch
from torch import Tensor

from cae_core.couplings._registry import coupling, nonnegative, require_finite_moments, require_rows
from cae_core.spectral import batch_label, first_index
from cae_core.spectral import covariance, require_full_rank_batch


def mean_mahalanobis(d: Tensor, V: Tensor, ridge: float, name: str) -> Tensor:
    """mean_s d_s^T (V + ridge I)^{-1} d_s. ``d: (..., n, p)``, ``V: (..., p, p)`` (the covariance of batch ``name``)
    -> ``(...)``.

    ValueError naming the batch if V + ridge I is not numerically positive definite (Cholesky fails): with
    ridge = 0 a (nearly) collapsed batch; with ridge > 0 a ridge below the rounding error of V (~eps lambda_max).
    """
    A = V + ridge * torch.eye(V.shape[-1], dtype=V.dtype, device=V.device)
    L, info = torch.linalg.cholesky_ex(A)
    index = first_index(info != 0)
    if index is not None:
        lam_max = float(torch.linalg.eigvalsh(V.detach()[index])[-1])
        rule = ("pass ridge > 0 (the public code's 1e-3)" if ridge == 0 else
                f"the ridge {ridge:g} is below the rounding error of the covariance (largest eigenvalue "
                f"{lam_max:.3g}); pass a larger ridge or rescale the codes")
        raise ValueError(f"{batch_label(name, index)} has a near-singular covariance: V + ridge * I is not "
                         f"numerically positive definite (fc_code inverts it; ridge = {ridge:g}); {rule}")
    y = torch.linalg.solve_triangular(L, d.mT, upper=False)  # L^{-1} d^T, so ||y_s||^2 = d_s^T A^{-1} d_s
    return (y * y).sum(dim=-2).mean(dim=-1)


@coupling("fc_code", ridge=nonnegative)
def fc_code(z_i: Tensor, z_j: Tensor, paired: int | None = None, *, ridge: float = 1e-3) -> Tensor:
    """mean_s d_s^T (V_j + ridge I)^{-1} d_s + mean_s d_s^T (V_i + ridge I)^{-1} d_s, d_s = z_si - z_sj.

    ``z_i: (..., B_i, p)``, ``z_j: (..., B_j, p)`` -> ``(...)``; s over the paired rows, V (1/(B-1)) from all rows. The public
    code's C_FC (AllenInstitute/coupledAE): each direction uses the OTHER arm's covariance plus a 1e-3 ridge, and
    the two are summed. Exactly invariant to a common invertible map only when ridge = 0. With ridge = 0 both batches
    need B > p and non-singular covariances (ValueError otherwise).

    dtype: the rank checks (ridge = 0) run in the input's dtype; covariances, Cholesky factors and solves are
    computed in float64 for any input dtype and the scalar is cast back (a float32 covariance overflows for
    |z| > ~1e19; the value is O(1) there because the ridge is negligible).
    """
    require_rows(z_i, "z_i", 2, "V_i uses the 1/(B-1) covariance")
    require_rows(z_j, "z_j", 2, "V_j uses the 1/(B-1) covariance")
    if ridge == 0:
        require_full_rank_batch(z_i, "z_i", "fc_code with ridge = 0 inverts V_i; pass ridge > 0 (default 1e-3)")
        require_full_rank_batch(z_j, "z_j", "fc_code with ridge = 0 inverts V_j; pass ridge > 0 (default 1e-3)")
    a, b = z_i.to(torch.float64), z_j.to(torch.float64)
    d = a[..., :paired, :] - b[..., :paired, :]
    V_i, V_j = require_finite_moments(covariance(a), a, "z_i"), require_finite_moments(covariance(b), b, "z_j")
    return (mean_mahalanobis(d, V_j, ridge, "z_j") + mean_mahalanobis(d, V_i, ridge, "z_i")).to(z_i.dtype)
