"""Exact decisions on sympy numbers: rationals and the square roots the construction of Prop. 2 introduces.

A relation between two algebraic numbers is decided exactly: their difference is 0 exactly when its minimal
polynomial is x (sympy's ``minimal_polynomial``, an exact algorithm for algebraic numbers); otherwise it is
non-zero and its sign is that of a 60-digit evaluation, which cannot be wrong for a non-zero number of these sizes
(it is checked to exceed 1e-40 in magnitude, else the decision is refused).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

_x = sp.Symbol("x")


def exact_sign(expr) -> int:
    """-1, 0 or 1: the exact sign of an algebraic number given as a sympy expression."""
    e = sp.nsimplify(sp.sympify(expr)) if not isinstance(expr, sp.Basic) else expr
    if e == 0:
        return 0
    if e.is_Rational:
        return int(sp.sign(e))
    if sp.minimal_polynomial(e, _x) == _x:
        return 0
    v = sp.N(e, 60)
    if abs(v) < sp.Float("1e-40", 60):
        raise ValueError(f"cannot certify the sign of the non-zero number {e} at 60 digits")
    return 1 if v > 0 else -1


def holds_exactly(lhs, rhs, relation: str) -> bool:
    """Whether ``lhs REL rhs`` holds for every entry (arrays broadcast), decided exactly."""
    L, R = np.broadcast_arrays(np.asarray(lhs, dtype=object), np.asarray(rhs, dtype=object))
    for a, b in zip(L.ravel(), R.ravel()):
        s = exact_sign(sp.sympify(b) - sp.sympify(a))       # sign of rhs - lhs
        ok = {"<": s > 0, "<=": s >= 0, ">": s < 0, ">=": s <= 0, "=": s == 0}[relation]
        if not ok:
            return False
    return True


def as_text(x):
    """Plain JSON of exact values: strings (e.g. '1/2', 'sqrt(2)/3') in nested lists."""
    if isinstance(x, np.ndarray):
        return [as_text(v) for v in x]
    return str(sp.nsimplify(x) if not isinstance(x, sp.Basic) else x)


def as_float(x):
    if isinstance(x, np.ndarray):
        return [as_float(v) for v in x]
    return float(sp.N(x, 30))


__all__ = ["as_float", "as_text", "exact_sign", "holds_exactly"]
