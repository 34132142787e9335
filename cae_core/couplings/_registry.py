"""The coupling registry and the checks every coupling shares.

A coupling is a function ``f(z_i, z_j, paired=None, **options) -> scalar tensor`` of two batches of codes
``z_i: (B_i, p)``, ``z_j: (B_j, p)`` (same dtype and device), or of two stacks of batches ``(..., B_i, p)``,
``(..., B_j, p)`` with the same leading shape, giving one value per batch ``(...)`` -- the runs of a sweep
(:mod:`cae_core.sweep`) go through the same code as one run. :func:`coupling` registers it under a name together
with one validation rule per option, and wraps it so that, before its body runs,

- ``z_i`` and ``z_j`` are finite real floating-point tensors of at least 2 dimensions with the same p, leading
  shape, dtype and device; numpy arrays of floats are accepted and wrapped (``torch.from_numpy``, no copy), and
  the value is then a tensor too;
- ``paired`` is normalised to an int n: rows ``[:n]`` of both batches are paired samples (``None``: all rows,
  which needs B_i = B_j). Which rows each statistic uses is the rule of ``cae_core.couplings`` (its module
  docstring): a statistic that compares the two arms uses the paired rows only, together with every
  normalisation that its bound rests on; a statistic of one arm alone uses all of that arm's rows;
- every option is known and valid (the same rules are applied by ``couplings.get`` when options are bound);

and, after it, that the scalar it returns is finite (:func:`require_finite_result`). Inputs are finite, so a
non-finite result can only come from an overflow of the input's dtype (e.g. mse of float32 codes with
|z| ~ 1e20: |z|^2 > 3.4e38); it is a ValueError naming z_i and z_j, never a silent inf/NaN.

dtype policy (docs/hardening.md): the result always has the inputs' dtype. Scale-invariant or bounded
couplings whose float32 arithmetic under/overflows at moderate scales (covariances ~ |z|^2, lambda_min,
Cholesky / eigen-solvers) compute in float64 internally and cast the scalar back (msv, fc, fc_code, wmse,
dcca, barlow_twins); mse and vicreg, whose values grow like |z|^2 and |z|^4, compute in the input dtype.
The scale-invariant msv (floor=None), fc and wmse compute on codes rescaled by an exact power of two when the
largest |z| is extreme (:mod:`cae_core.power_of_two`); their gradient, if it does not fit the dtype, is a ValueError raised
by the backward pass.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from cae_core.spectral import as_stack, batch_label, first_index
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
    """Check two batches (or two stacks of batches with the same leading shape) and ``paired``; return
    (z_i, z_j, n) as tensors (numpy arrays wrapped), n the number of paired leading rows."""
    z_i = as_stack(z_i, "z_i")
    z_j = as_stack(z_j, "z_j")
    if z_i.dtype != z_j.dtype:
        raise TypeError(f"z_i and z_j must have the same dtype, got {z_i.dtype} and {z_j.dtype}")
    if z_i.device != z_j.device:
        raise ValueError(f"z_i and z_j must be on the same device, got {z_i.device} and {z_j.device}")
    if z_i.shape[:-2] != z_j.shape[:-2]:
        raise ValueError(f"z_i and z_j must have the same leading (stack) dimensions, got shapes "
                         f"{tuple(z_i.shape)} and {tuple(z_j.shape)}")
    if z_i.shape[-1] != z_j.shape[-1]:
        raise ValueError(f"z_i and z_j must have the same latent dimension p (columns), got "
                         f"{z_i.shape[-1]} and {z_j.shape[-1]}")
    B_i, B_j = z_i.shape[-2], z_j.shape[-2]
    if paired is None:
        if B_i != B_j:
            raise ValueError(f"z_i and z_j must have the same number of rows when paired is None (all rows "
                             f"paired), got {B_i} and {B_j}")
        return z_i, z_j, B_i
    if isinstance(paired, bool) or not isinstance(paired, int):
        raise TypeError(f"paired must be None or an int (number of leading paired rows), got "
                        f"{type(paired).__name__}")
    limit = min(B_i, B_j)
    if not 1 <= paired <= limit:
        raise ValueError(f"paired must be in [1, min(B_i, B_j)] = [1, {limit}], got {paired}")
    return z_i, z_j, paired


def require_rows(z: Tensor, name: str, minimum: int, why: str) -> None:
    """Raise ValueError unless the batch ``z: (..., B, p)`` has at least ``minimum`` rows."""
    if z.shape[-2] < minimum:
        raise ValueError(f"{name} must have at least {minimum} rows ({why}), got B = {z.shape[-2]}")


def require_paired_rows(n: int, minimum: int, coupling_name: str, why: str) -> None:
    """Raise ValueError unless at least ``minimum`` rows are paired."""
    if n < minimum:
        raise ValueError(f"paired must be >= {minimum} for {coupling_name} ({why}), got {n}")


def require_finite_result(value: Tensor, coupling_name: str, z_i: Tensor, z_j: Tensor) -> Tensor:
    """Return ``value`` (a scalar, or one value per batch of a stack) unchanged if it is finite; otherwise
    ValueError naming z_i and z_j (``z_i[r]``, ``z_j[r]`` for the first non-finite batch r of a stack).

    One reduction per call (no per-element Python work). The message gives the largest |z| of the two batches
    and the remedy: rescale the codes, or (for float32/float16 codes) use float64.
    """
    index = first_index(~torch.isfinite(value.detach()))
    if index is None:
        return value
    largest = max(float(z_i[index].detach().abs().max()), float(z_j[index].detach().abs().max()))
    dtype = str(value.dtype).replace("torch.", "")
    advice = "rescale the codes" if value.dtype == torch.float64 else "rescale the codes or use float64"
    pair = f"{batch_label('z_i', index)} and {batch_label('z_j', index)}"
    raise ValueError(f"{coupling_name} of {pair} overflows {dtype} (largest |z| of {pair.replace(' and ', ', ')} = "
                     f"{largest:.3g}); {advice}")


def require_finite_moments(moments: Tensor, z: Tensor, name: str) -> Tensor:
    """Return ``moments`` (covariances or variances of the batch ``z``, or of each batch of a stack) if finite;
    otherwise ValueError naming the batch: its second moments overflow the dtype they are computed in
    (|z| ~ 1e154 in float64)."""
    bad = ~torch.isfinite(moments.detach())
    index = first_index(bad.flatten(start_dim=z.ndim - 2).any(dim=-1))
    if index is None:
        return moments
    dtype = str(moments.dtype).replace("torch.", "")
    label = batch_label(name, index)
    raise ValueError(f"the second moments (covariance) of {label} overflow {dtype} (largest |{name}| = "
                     f"{float(z[index].detach().abs().max()):.3g}); rescale the codes")


def require_cholesky(info: Tensor, name: str, message: str) -> None:
    """Raise ValueError naming the batch (``name[i]`` in a stack) whose Cholesky factorisation failed
    (``info`` of ``torch.linalg.cholesky_ex``, one per batch); ``message`` is formatted with ``minor``."""
    index = first_index(info != 0)
    if index is not None:
        raise ValueError(f"{batch_label(name, index)} {message.format(minor=int(info[index]))}")


def accepts_stacks(f) -> bool:
    """True if ``f`` is a registered coupling (``couplings.get(...)`` or a coupling function itself): those take
    stacks of batches ``(..., B, p)`` and return one value per batch. A user's callable is not assumed to."""
    fn = f.func if isinstance(f, functools.partial) else f
    return any(fn is entry.fn for entry in REGISTRY.values())


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
