"""Exact rescaling of codes by a power of two: the shared arithmetic of the scale-invariant couplings
(:mod:`cae_core.couplings._unit_scale`) and of the rank check (:func:`cae_core.spectral.require_full_rank_batch`).

Multiplying by 2^k is exact unless the product under/overflows, so a computation whose result is homogeneous in
the scale can run on codes whose largest |entry| is in [1/2, 1), away from the ends of the dtype's range.
"""
from __future__ import annotations

import math

from torch import Tensor

#: Codes with largest |entry| in [2^-65, 2^64) (5e-20 .. 1.8e19), i.e. |scale_exponent| <= 64, are used as they
#: are (the direct computation, no extra cost beyond :func:`scale_exponent`); for the couplings in float64: there
#: covariances (~2^+-128) and the sigma^-3 backward terms (~2^+-192) are far inside float64's 2^+-1022, and
#: a float32 gradient (~1/|z| <= 2^65 times an O(cond) factor) fits float32's 2^128 (measured: finite float64
#: gradients from 1e-100 to 1e150, float32 ones from 1e-37 to 1e30). Outside, the codes are rescaled.
DIRECT_EXPONENT = 64


def scale_exponent(*batches: Tensor) -> int:
    """e such that max |entry| of ``batches`` = m 2^e with m in [1/2, 1) (math.frexp); 0 if every entry is 0."""
    top = max(float(z.detach().abs().max()) for z in batches)
    return math.frexp(top)[1]


def times_power_of_two(x: Tensor, k: int) -> Tensor:
    """x * 2^k for a float64 ``x`` and any |k| <= 2046, without forming an overflowing 2^k (two factors).

    Exact unless the product under/overflows float64.
    """
    half = k // 2
    return x * 2.0 ** half * 2.0 ** (k - half)
