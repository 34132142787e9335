"""One expression, four kinds of number: the few operations the quantities of the proofs need, for

- float64 numpy arrays (the vectorised search; leading axes are batches of cases),
- :class:`cae_theory.rounding.Bounded` (float64 with a rigorous rounding bound: identities checked by numbers),
- numpy object arrays of sympy symbols (certificates: the expanded difference of two forms is 0),
- numpy object arrays of sympy rationals and algebraic numbers (exact witnesses).

Every quantity in the section modules is written with ``+ - * /``, ``@``, ``.sum(axis)``, ``.mT``, indexing and
the functions below, so the same code runs on all four. Shapes follow numpy (``(..., k, S, p)`` codes).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp

from cae_theory import rounding
from cae_theory.rounding import Bounded


def is_symbolic(x) -> bool:
    """An object array (sympy numbers or symbols) or a sympy expression."""
    return isinstance(x, sp.Basic) or (isinstance(x, np.ndarray) and x.dtype == object)


def sqrt(x):
    """Square root of a quantity whose exact value is >= 0, elementwise (exact for sympy, bounded for Bounded).
    In floats a value that rounding made slightly negative (a sum of squares computed as a trace, say) is read
    as 0, as Bounded does; its bound says how far that is from the exact value."""
    if isinstance(x, Bounded):
        return rounding.sqrt(x)
    if isinstance(x, sp.Basic):
        return sp.sqrt(x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        return np.vectorize(sp.sqrt, otypes=[object])(x)
    return np.sqrt(np.maximum(x, 0.0))


def trace(x):
    """Trace over the last two axes: ``(..., p, p) -> (...)``."""
    if isinstance(x, Bounded):
        return rounding.trace(x)
    return diagonal(x).sum(axis=-1)


def diagonal(x):
    """Diagonal of the last two axes: ``(..., p, p) -> (..., p)``."""
    if isinstance(x, Bounded):
        return Bounded(np.diagonal(x.value, axis1=-2, axis2=-1), np.diagonal(x.error, axis1=-2, axis2=-1))
    return np.diagonal(x, axis1=-2, axis2=-1)


def diag_embed(d):
    """``(..., p) -> (..., p, p)`` diagonal matrices (products with exact 0 and 1: no rounding)."""
    p = d.shape[-1]
    eye = np.eye(p, dtype=object) if is_symbolic(d) else np.eye(p)
    return d[..., :, None] * eye


def outer(a, b):
    """``(..., p), (..., q) -> (..., p, q)``."""
    return a[..., :, None] * b[..., None, :]


def absolute(x):
    if isinstance(x, Bounded):
        return abs(x)
    if is_symbolic(x):
        return np.vectorize(sp.Abs, otypes=[object])(x) if isinstance(x, np.ndarray) else sp.Abs(x)
    return np.abs(x)


def minimum(a, b):
    """Elementwise min (broadcast). Exact in floats; for Bounded the bound is the larger of the two bounds (min is
    1-Lipschitz in each argument); sympy ``Min`` for symbolic or exact numbers."""
    if isinstance(a, Bounded) or isinstance(b, Bounded):
        a = a if isinstance(a, Bounded) else Bounded.exact(a)
        b = b if isinstance(b, Bounded) else Bounded.exact(b)
        va, ea, vb, eb = np.broadcast_arrays(a.value, a.error, b.value, b.error)
        return Bounded(np.minimum(va, vb), np.maximum(ea, eb))
    if is_symbolic(a) or is_symbolic(b):
        return np.vectorize(sp.Min, otypes=[object])(a, b) if isinstance(a, np.ndarray) or isinstance(
            b, np.ndarray) else sp.Min(a, b)
    return np.minimum(a, b)


def coordinate_range(x):
    """max_m x(m) - min_m x(m) over the last axis: ``(..., p)`` -> ``(...)``, for every kind of number. For float64
    arrays the p slices are compared elementwise (the same numbers as the reductions, which are slow over a short
    last axis: ~10x for p <= 6)."""
    if isinstance(x, np.ndarray) and x.dtype == np.float64:
        hi = lo = x[..., 0]
        for m in range(1, x.shape[-1]):
            hi, lo = np.maximum(hi, x[..., m]), np.minimum(lo, x[..., m])
        return hi - lo
    return x.max(axis=-1) + (-x).max(axis=-1)


def value(x) -> np.ndarray:
    """float64 values of any of the four kinds (sympy numbers evaluated)."""
    if isinstance(x, Bounded):
        return x.value
    if is_symbolic(x):
        return np.vectorize(lambda e: float(sp.N(e, 30)), otypes=[float])(np.asarray(x, dtype=object))
    return np.asarray(x, dtype=np.float64)


def symbols(name: str, shape: tuple[int, ...], **assumptions) -> np.ndarray:
    """An object array of distinct sympy symbols ``name_i_j...`` with the given assumptions (e.g. real=True)."""
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.Symbol(f"{name}_{'_'.join(map(str, idx))}", **assumptions)
    return out


def exact(x) -> np.ndarray:
    """float64 numbers as exact sympy rationals (every float is a dyadic rational): an object array."""
    arr = np.asarray(x, dtype=np.float64)
    return np.vectorize(lambda v: sp.Rational(Fraction(float(v))), otypes=[object])(arr)


def expand_is_zero(x) -> bool:
    """Every entry of a symbolic array (or expression) expands to exactly 0 (radicals simplified when needed)."""
    for e in np.asarray(x, dtype=object).ravel():
        e = sp.sympify(e)
        if sp.expand(e) != 0 and sp.simplify(e) != 0:
            return False
    return True


__all__ = ["absolute", "coordinate_range", "diag_embed", "diagonal", "exact", "expand_is_zero", "is_symbolic",
           "minimum", "outer", "sqrt", "symbols", "trace", "value"]
