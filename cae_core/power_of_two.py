"""Exact rescaling of codes by a power of two: the shared arithmetic of the scale-invariant couplings (msv
without floor, fc, wmse) and of the rank check (:func:`cae_core.spectral.require_full_rank_batch`).

Multiplying by 2^k is exact unless the product under/overflows, so a computation whose result is homogeneous in
the scale can run on codes whose largest |entry| is in [1/2, 1), away from the ends of the dtype's range.

C_MSV (floor=None) is invariant under a common scaling z -> c z of both arms, and C_FC (poster form) and W-MSE
whiten each arm by its own covariance, so they are invariant under a scaling of each arm (by their formulas;
tests/test_couplings.py checks both). Computing them on u = 2^-e z, with 2^e the largest |entry| rounded to a power of
two (frexp: max |u| in [1/2, 1)), gives the same value without the extreme intermediates of the direct
computation: covariances ~ |z|^2 underflow float64 for |z| < ~1e-160 (fc, wmse then fail, msv divides 0 by 0)
and the backward passes of svdvals / eigh / Cholesky form sigma^-3 terms that overflow already at |z| ~ 1e-155
(fc: 1e-120). Codes of ordinary size (:data:`DIRECT_EXPONENT`) are not rescaled at all. (Measured: rescaling at
every scale gave bitwise the same values and gradients as the direct computation for 200 random float64 and
float32 batches of size 1e-3 .. 1e3 -- LAPACK's arithmetic commutes with powers of two there -- but cost 25 %
per msv call in a custom autograd Function.)

By the invariance, d f / d z = 2^-e (d f / d u): the backward pass multiplies the gradient by the same power of
two (again exactly) in float64 and casts it to z's dtype. The true gradient of a scale-invariant coupling grows
like 1 / |z| and can exceed the dtype (float32 codes with |z| <~ 1e-37, float64 codes with subnormal entries):
then the backward pass raises a ValueError naming the batch instead of returning inf. The rule is exact -- it
fires if and only if an entry of the (correctly computed) gradient does not fit the dtype -- and it fires only
when a gradient is requested, so the value alone (evaluation, ``torch.no_grad``) is always available.

Stacks of batches ``z: (..., B, p)`` (one batch per leading index, e.g. the runs of a sweep) get one exponent
per batch, so each batch is rescaled exactly as it would be on its own.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

#: Codes with largest |entry| in [2^-65, 2^64) (2.7e-20 .. 1.8e19), i.e. |exponent| <= 64, are used as they are
#: (the direct computation, no extra cost beyond :func:`scale_exponents`); for the couplings in float64: there
#: covariances (~2^+-128) and the sigma^-3 backward terms (~2^+-192) are far inside float64's 2^+-1022, and
#: a float32 gradient (~1/|z| <= 2^65 times an O(cond) factor) fits float32's 2^128 (measured: finite float64
#: gradients from 1e-100 to 1e150, float32 ones from 1e-37 to 1e30). Outside, the codes are rescaled.
DIRECT_EXPONENT = 64


def scale_exponents(*batches: Tensor) -> Tensor:
    """Per batch of the stacks ``batches[k]: (..., B_k, p)`` (same leading shape): e such that the largest
    |entry| of that batch over all ``batches`` is m 2^e with m in [1/2, 1) (frexp); 0 if every entry is 0.
    Returns an int tensor of the leading shape ``(...)`` (0-d for 2-D batches)."""
    top = torch.stack([z.detach().abs().amax(dim=(-2, -1)) for z in batches]).amax(dim=0)
    return torch.frexp(top.to(torch.float64))[1].to(torch.int64)


def times_power_of_two(x: Tensor, k) -> Tensor:
    """x * 2^k for a float64 ``x: (..., B, p)`` and an int (or int tensor of x's leading shape ``(...)``) with
    |k| <= 2046, without forming an overflowing 2^k (two factors). Exact unless the product under/overflows."""
    k = torch.as_tensor(k, dtype=torch.float64, device=x.device)
    half = torch.floor(k / 2)
    scale = lambda e: torch.pow(2.0, e)[..., None, None]
    return x * scale(half) * scale(k - half)


class _UnitScaleFloat64(torch.autograd.Function):
    """u = 2^-e z in float64; backward 2^-e g in float64, cast to z's dtype, ValueError if it does not fit."""

    @staticmethod
    def forward(ctx, z: Tensor, e: Tensor, name: str) -> Tensor:
        ctx.save_for_backward(e)
        ctx.name, ctx.dtype = name, z.dtype
        return times_power_of_two(z.to(torch.float64), -e)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g: Tensor):
        (e,) = ctx.saved_tensors
        full = times_power_of_two(g, -e)
        out = full.to(ctx.dtype)
        if not bool(torch.isfinite(out).all()) and bool(torch.isfinite(g).all()):
            bad = (~torch.isfinite(out)).flatten(start_dim=e.ndim).any(dim=-1)
            index = tuple(int(i) for i in bad.nonzero()[0]) if e.ndim else ()
            name = ctx.name + ("" if not index else "[" + ", ".join(map(str, index)) + "]")
            e_bad = int(e[index])
            dtype = str(ctx.dtype).replace("torch.", "")
            advice = "rescale the codes" if ctx.dtype == torch.float64 else "rescale the codes or use float64"
            log10_entry = math.log10(float(g[index].abs().max())) - e_bad * math.log10(2.0)   # of 2^-e max|g|
            raise ValueError(
                f"the gradient with respect to {name} overflows {dtype} (codes of size "
                f"~{math.ldexp(1.0, e_bad):.3g}, largest gradient entry ~1e{log10_entry:.1f}): the coupling is "
                f"scale-invariant, so its gradient grows like 1/|{ctx.name}|; {advice}")
        return out, None, None


def unit_scale_float64(z: Tensor, e: Tensor, name: str) -> Tensor:
    """``z: (..., B, p)`` of any float dtype -> float64 codes of the same shape on which a scale-invariant coupling
    has z's value.

    ``e`` from :func:`scale_exponents` (of z, or of both arms for a coupling invariant only under a COMMON
    scaling). A batch with |e| <= :data:`DIRECT_EXPONENT` is z in float64 (the direct computation, unchanged);
    otherwise 2^-e z (exact), whose gradient is 2^-e times the incoming one, cast to z's dtype, with a
    ValueError naming ``name`` (the batch) if it does not fit the dtype (see module docstring).
    """
    far = e.abs() > DIRECT_EXPONENT
    if not bool(far.any()):
        return z.to(torch.float64)
    return _UnitScaleFloat64.apply(z, torch.where(far, e, torch.zeros_like(e)), name)
