"""The coupling registry and the checks every coupling shares.

A coupling is a function ``f(z_i, z_j, paired=None, **options) -> scalar tensor`` of two batches of codes
``z_i: (B_i, p)``, ``z_j: (B_j, p)`` (same dtype and device). :func:`coupling` registers it under a name together
with one validation rule per option, and wraps it so that, before its body runs,

- ``z_i`` and ``z_j`` are finite real floating-point 2-D tensors with the same p, dtype and device;
- ``paired`` is normalised to an int n: rows ``[:n]`` of both batches are paired samples (``None``: all rows,
  which needs B_i = B_j). Distances use the paired rows only; batch statistics (means, covariances, lambda_min,
  whitening, batch standardisation) use ALL rows of each batch (NOTES.md: 75 paired + 25 unpaired rows per
  Patch-seq batch);
- every option is known and valid (the same rules are applied by ``couplings.get`` when options are bound);

and, after it, that the scalar it returns is finite (:func:`require_finite_result`). Inputs are finite, so a
non-finite result can only come from an overflow of the input's dtype (e.g. mse of float32 codes with
|z| ~ 1e20: |z|^2 > 3.4e38); it is a ValueError naming z_i and z_j, never a silent inf/NaN.

dtype policy (docs/hardening.md): the result always has the inputs' dtype. Scale-invariant or bounded
couplings whose float32 arithmetic under/overflows at moderate scales (covariances ~ |z|^2, lambda_min,
Cholesky / eigen-solvers) compute in float64 internally and cast the scalar back (msv, fc, fc_code, wmse,
dcca, barlow_twins); mse and vicreg, whose values grow like |z|^2 and |z|^4, compute in the input dtype.
The scale-invariant msv (floor=None), fc and wmse compute on codes rescaled by an exact power of two when the
largest |z| is extreme (``_unit_scale``); their gradient, if it does not fit the dtype, is a ValueError raised
by the backward pass.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from cae_core.spectral import as_matrix
from cae_theory.validation import as_scalar

Rule = Callable[[object, str], object]


def nonnegative(x, name: str) -> float:
    """A finite real number >= 0."""
    return as_scalar(x, name, low=0.0, low_open=False)


def positive(x, name: str) -> float:
    """A finite real number > 0."""
    return as_scalar(x, name, low=0.0)


def positive_or_none(x, name: str) -> float | None:
    """None, or a finite real number > 0."""
    return None if x is None else positive(x, name)


@dataclass(frozen=True)
class Entry:
    """A registered coupling: the checked function and one rule per option."""
    fn: Callable[..., Tensor]
    rules: dict[str, Rule]


REGISTRY: dict[str, Entry] = {}


def check_options(name: str, options: dict, rules: dict[str, Rule]) -> dict:
    """Validate option names and values against ``rules``; return the normalised options."""
    for key in options:
        if key not in rules:
            allowed = ", ".join(rules) or "none"
            raise ValueError(f"{key!r} is not an option of coupling {name!r} (its options: {allowed})")
    return {key: rules[key](value, key) for key, value in options.items()}


def check_pair(z_i, z_j, paired) -> tuple[Tensor, Tensor, int]:
    """Check two batches and ``paired``; return (z_i, z_j, n) with n the number of paired leading rows."""
    z_i = as_matrix(z_i, "z_i")
    z_j = as_matrix(z_j, "z_j")
    if z_i.dtype != z_j.dtype:
        raise TypeError(f"z_i and z_j must have the same dtype, got {z_i.dtype} and {z_j.dtype}")
    if z_i.device != z_j.device:
        raise ValueError(f"z_i and z_j must be on the same device, got {z_i.device} and {z_j.device}")
    if z_i.shape[1] != z_j.shape[1]:
        raise ValueError(f"z_i and z_j must have the same latent dimension p (columns), got "
                         f"{z_i.shape[1]} and {z_j.shape[1]}")
    if paired is None:
        if z_i.shape[0] != z_j.shape[0]:
            raise ValueError(f"z_i and z_j must have the same number of rows when paired is None (all rows "
                             f"paired), got {z_i.shape[0]} and {z_j.shape[0]}")
        return z_i, z_j, z_i.shape[0]
    if isinstance(paired, bool) or not isinstance(paired, int):
        raise TypeError(f"paired must be None or an int (number of leading paired rows), got "
                        f"{type(paired).__name__}")
    limit = min(z_i.shape[0], z_j.shape[0])
    if not 1 <= paired <= limit:
        raise ValueError(f"paired must be in [1, min(B_i, B_j)] = [1, {limit}], got {paired}")
    return z_i, z_j, paired


def require_rows(z: Tensor, name: str, minimum: int, why: str) -> None:
    """Raise ValueError unless ``z`` has at least ``minimum`` rows."""
    if z.shape[0] < minimum:
        raise ValueError(f"{name} must have at least {minimum} rows ({why}), got B = {z.shape[0]}")


def require_finite_result(value: Tensor, coupling_name: str, z_i: Tensor, z_j: Tensor) -> Tensor:
    """Return the scalar ``value`` unchanged if it is finite; otherwise ValueError naming z_i and z_j.

    One scalar check per call (no per-element work). The message gives the largest |z| of the two batches and
    the remedy: rescale the codes, or (for float32/float16 codes) use float64.
    """
    if math.isfinite(float(value.detach())):
        return value
    largest = max(float(z_i.detach().abs().max()), float(z_j.detach().abs().max()))
    dtype = str(value.dtype).replace("torch.", "")
    advice = "rescale the codes" if value.dtype == torch.float64 else "rescale the codes or use float64"
    raise ValueError(f"{coupling_name} of z_i and z_j overflows {dtype} (largest |z| of z_i, z_j = {largest:.3g}); "
                     f"{advice}")


def require_finite_moments(moments: Tensor, z: Tensor, name: str) -> Tensor:
    """Return ``moments`` (a covariance or variances of the batch ``z``) if finite; otherwise ValueError naming
    the batch: its second moments overflow the dtype they are computed in (|z| ~ 1e154 in float64)."""
    if bool(torch.isfinite(moments.detach()).all()):
        return moments
    dtype = str(moments.dtype).replace("torch.", "")
    raise ValueError(f"the second moments (covariance) of {name} overflow {dtype} (largest |{name}| = "
                     f"{float(z.detach().abs().max()):.3g}); rescale the codes")


def coupling(name: str, **rules: Rule):
    """Register the decorated coupling under ``name`` with one validation rule per keyword-only option.

    The body receives checked tensors, ``paired`` as an int n and validated options (see module docstring).
    """
    def register(body: Callable[..., Tensor]) -> Callable[..., Tensor]:
        @functools.wraps(body)
        def checked(z_i: Tensor, z_j: Tensor, paired: int | None = None, **options) -> Tensor:
            z_i, z_j, n = check_pair(z_i, z_j, paired)
            value = body(z_i, z_j, n, **check_options(name, options, rules))
            return require_finite_result(value, name, z_i, z_j)

        REGISTRY[name] = Entry(checked, dict(rules))
        return checked

    return register
