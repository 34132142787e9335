"""C_mse: squared Euclidean distance between paired codes (Eq. 1 with c = ||.||_2^2; the setting of Prop. 1)."""
from __future__ import annotations

from torch import Tensor

from cae_core.couplings._registry import coupling


def paired_sq_distance(z_i: Tensor, z_j: Tensor, n: int) -> Tensor:
    """mean_{s < n} ||z_si - z_sj||_2^2 over the n leading (paired) rows. ``(..., B_i, p), (..., B_j, p)`` ->
    ``(...)``."""
    d = z_i[..., :n, :] - z_j[..., :n, :]
    return (d * d).sum(dim=-1).mean(dim=-1)


@coupling("mse")
def mse(z_i: Tensor, z_j: Tensor, paired: int | None = None) -> Tensor:
    """mean_s ||z_si - z_sj||^2 over the paired rows s. ``z_i: (..., B_i, p)``, ``z_j: (..., B_j, p)`` -> ``(...)``.

    Eq. 1's coupling with c the squared Euclidean norm, averaged over samples instead of summed, as the public
    code averages (AllenInstitute/coupledAE). The public code's Keras MSE also averages over the p coordinates,
    i.e. it is this value divided by p. Scales by beta^2 under z -> beta z, hence shrinks to a point (Prop. 1).
    """
    return paired_sq_distance(z_i, z_j, paired)
