"""Exact power-of-two rescaling of codes for the scale-invariant couplings (msv without floor, fc, wmse).

C_MSV (floor=None) is invariant under a common scaling z -> c z of both arms, and C_FC (poster form) and W-MSE
whiten each arm by its own covariance, so they are invariant under a scaling of each arm (NOTES.md;
tests/test_couplings.py). Computing them on u = 2^-e z, with 2^e the largest |entry| rounded to a power of
two (math.frexp: max |u| in [1/2, 1)), gives the same value without the extreme intermediates of the
direct computation: covariances ~ |z|^2 underflow float64 for |z| < ~1e-160 (fc, wmse then fail, msv divides
0 by 0) and the backward passes of svdvals / eigh / Cholesky form sigma^-3 terms that overflow already at
|z| ~ 1e-155 (fc: 1e-120). Multiplying by a power of two is exact (barring under/overflow of the product), so
the value is the coupling's value on the given numbers; codes of ordinary size (:data:`DIRECT_EXPONENT`) are
not rescaled at all. (Measured: rescaling at every scale gave bitwise the same values and gradients as the
direct computation for 200 random float64 and float32 batches of size 1e-3 .. 1e3 -- LAPACK's arithmetic
commutes with powers of two there -- but cost 25 % per msv call in a custom autograd Function.)

By the invariance, d f / d z = 2^-e (d f / d u): the backward pass multiplies the gradient by the same power of
two (again exactly) in float64 and casts it to z's dtype. The true gradient of a scale-invariant coupling
grows like 1 / |z| and can exceed the dtype (float32 codes with |z| <~ 1e-37, float64 codes with subnormal
entries): then the backward pass raises a ValueError naming the batch instead of returning inf. The rule is
exact -- it fires if and only if an entry of the (correctly computed) gradient does not fit the dtype -- and
it fires only when a gradient is requested, so the value alone (evaluation, ``torch.no_grad``) is always
available. A forward-pass rule cannot be exact: the gradient's size depends on the conditioning of the batch,
not only on the value and the scale.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from cae_core.power_of_two import DIRECT_EXPONENT, scale_exponent, times_power_of_two

__all__ = ["DIRECT_EXPONENT", "scale_exponent", "times_power_of_two", "unit_scale_float64"]


class _UnitScaleFloat64(torch.autograd.Function):
    """u = 2^-e z in float64; backward 2^-e g in float64, cast to z's dtype, ValueError if it does not fit."""

    @staticmethod
    def forward(ctx, z: Tensor, e: int, name: str) -> Tensor:
        ctx.e, ctx.name, ctx.dtype = e, name, z.dtype
        ctx.largest = math.ldexp(1.0, e)   # 2^e: the largest |entry| (of all batches sharing e) is in [2^e / 2, 2^e)
        return times_power_of_two(z.to(torch.float64), -e)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g: Tensor):
        full = times_power_of_two(g, -ctx.e)
        out = full.to(ctx.dtype)
        if not bool(torch.isfinite(out).all()) and bool(torch.isfinite(g).all()):
            dtype = str(ctx.dtype).replace("torch.", "")
            advice = "rescale the codes" if ctx.dtype == torch.float64 else "rescale the codes or use float64"
            log10_entry = math.log10(float(g.abs().max())) - ctx.e * math.log10(2.0)   # of 2^-e max|g|
            raise ValueError(
                f"the gradient with respect to {ctx.name} overflows {dtype} (codes of size ~{ctx.largest:.3g}, "
                f"largest gradient entry ~1e{log10_entry:.1f}): the coupling is scale-invariant, so its "
                f"gradient grows like 1/|{ctx.name}|; {advice}")
        return out, None, None


def unit_scale_float64(z: Tensor, e: int, name: str) -> Tensor:
    """``z: (B, p)`` of any float dtype -> ``(B, p)`` float64 codes on which a scale-invariant coupling has z's value.

    ``e`` from :func:`scale_exponent` (of z, or of both arms for a coupling invariant only under a COMMON
    scaling). For |e| <= :data:`DIRECT_EXPONENT` this is z in float64 (the direct computation, unchanged);
    otherwise 2^-e z (exact), whose gradient is 2^-e times the incoming one, cast to z's dtype, with a
    ValueError naming ``name`` (the batch) if it does not fit the dtype (see module docstring).
    """
    if abs(e) <= DIRECT_EXPONENT:
        return z.to(torch.float64)
    return _UnitScaleFloat64.apply(z, e, name)
