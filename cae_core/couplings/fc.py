"""C_FC (poster form): whiten each arm by its own batch covariance, then squared Euclidean distance."""
from __future__ import annotations

from torch import Tensor

from cae_core.couplings._registry import coupling, require_finite_moments
from cae_core.power_of_two import scale_exponents, unit_scale_float64
from cae_core.couplings.mse import paired_sq_distance
from cae_core.spectral import covariance, inverse_sqrt_spd, require_full_rank_batch


def whiten_symmetric(z: Tensor, name: str) -> Tensor:
    """V^{-1/2} (z_s - mu) for every row, mu and V (1/(B-1)) from all rows. ``z: (..., B, p)`` -> same shape.

    Needs B > p and a centred batch of full numerical rank in z's own dtype (ValueError otherwise). V and
    V^{-1/2} are computed in float64 whatever z's dtype, and the result is cast back: V's condition number is
    that of the centred batch squared, so a float32 V of a well-conditioned float32 batch (sigma_max/sigma_min
    ~ 1e3, common for p = 50 codes) is already below float32's eigen-solver accuracy.

    The whitened codes do not depend on z's scale, so they are computed from 2^-e z (largest |entry| in
    [1/2, 1), exact; :mod:`cae_core.power_of_two`): V no longer underflows for |z| <~ 1e-160 nor
    overflows for |z| >~ 1e154, and the backward pass forms no s^-3 terms of extreme size (non-finite
    gradients from |z| ~ 1e-120 before). The gradient with respect to z is 2^-e times the gradient at the unit
    scale; where it does not fit z's dtype (float32, |z| <~ 1e-38) the backward pass raises a ValueError naming
    the batch.
    """
    require_full_rank_batch(z, name, "C_FC whitens by V^(-1/2)")
    z64 = unit_scale_float64(z, scale_exponents(z), name)
    c64 = z64 - z64.mean(dim=-2, keepdim=True)
    V = require_finite_moments(covariance(z64), z, name)
    return (c64 @ inverse_sqrt_spd(V, f"covariance of {name}")).to(z.dtype)


@coupling("fc")
def fc(z_i: Tensor, z_j: Tensor, paired: int | None = None) -> Tensor:
    """mean_s ||V_i^{-1/2}(z_si - mu_i) - V_j^{-1/2}(z_sj - mu_j)||_2^2 over the paired rows s.

    ``z_i: (..., B_i, p)``, ``z_j: (..., B_j, p)`` -> ``(...)``. mu, V (1/(B-1)) from all rows of each arm. The poster's
    C_FC, z_i -> (B_i^T B_i)^{-1/2} z_i then squared Euclidean (Gala et al., NeurIPS 2019), with the covariance
    normalisation of the supplement (a common factor B-1). Invariant under a common similarity z -> c Q z of both arms
    (Q orthogonal), but NOT under every common invertible map: each arm is whitened by its own covariance, so a
    common T becomes a different rotation per arm (tests/test_couplings.py pins a counterexample); the public
    code's form ``fc_code`` with ridge 0 is invariant under every common invertible map. Needs B_i > p and B_j > p with non-singular covariances (ValueError otherwise). V^{-1/2} has a
    gradient that stays finite at repeated eigenvalues (:func:`cae_core.spectral.inverse_sqrt_spd`).
    """
    return paired_sq_distance(whiten_symmetric(z_i, "z_i"), whiten_symmetric(z_j, "z_j"), paired)
