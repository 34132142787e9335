"""A family of non-negative convex functions, used as r_i and c in the checks of the Definition and Prop. 1.

    c(x) = offset + weight * g(x - shift),    g in {sq, l1, linf, huber, quartic},

with weight > 0, offset >= 0. Each g is convex, non-negative and zero only at 0, so c is non-negative and
convex, and c(0) = offset + weight * g(-shift): c(0) = 0 exactly when offset = 0 and shift = 0. The
Definition of a k-CAE allows every member; Prop. 1's proof silently needs c(0) = 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cae_theory.validation import as_array, as_scalar

KINDS = ("sq", "l1", "linf", "huber", "quartic")

_FORMULA = {"sq": "||y||_2^2", "l1": "||y||_1", "linf": "||y||_inf",
            "huber": "sum_m huber_delta(y_m), huber_delta(t) = t^2/2 if |t| <= delta else delta(|t| - delta/2)",
            "quartic": "||y||_2^4"}


@dataclass(frozen=True)
class ConvexCost:
    """c(x) = offset + weight * g(x - shift), batched: ``x: (B, d)`` -> ``(B,)``. ``shift: (d,)`` or empty (0)."""
    kind: str = "sq"
    weight: float = 1.0
    offset: float = 0.0
    shift: tuple[float, ...] = field(default=())
    delta: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        as_scalar(self.weight, "weight", low=0.0)
        as_scalar(self.offset, "offset", low=0.0, low_open=False)
        as_scalar(self.delta, "delta", low=0.0)
        if self.shift:
            as_array(self.shift, "shift", ndim=1)

    def g(self, y: np.ndarray) -> np.ndarray:
        if self.kind == "sq":
            return np.einsum("bd,bd->b", y, y)
        if self.kind == "l1":
            return np.abs(y).sum(axis=1)
        if self.kind == "linf":
            return np.abs(y).max(axis=1)
        if self.kind == "huber":
            a = np.abs(y)
            return np.where(a <= self.delta, 0.5 * a ** 2, self.delta * (a - 0.5 * self.delta)).sum(axis=1)
        return np.einsum("bd,bd->b", y, y) ** 2  # quartic

    def __call__(self, x) -> np.ndarray:
        """c of each row of ``x: (B, d)`` -> ``(B,)``; ValueError if ``shift`` is given and its length is not d."""
        x = as_array(x, "x", ndim=2)
        if self.shift and len(self.shift) != x.shape[1]:
            raise ValueError(f"shift must have one entry per column of x (length d = {x.shape[1]}), got "
                             f"length {len(self.shift)}")
        y = x - np.asarray(self.shift, dtype=np.float64) if self.shift else x
        return self.offset + self.weight * self.g(y)

    def at_zero(self, d: int) -> float:
        """c(0) for vectors of length ``d``."""
        return float(self(np.zeros((1, d)))[0])

    def describe(self) -> str:
        """Plain description, e.g. ``x -> 1.0 + 2.0 * ||y||_2^2, y = x - a, a = [1.0]``."""
        y = "y = x - a, a = " + str([float(v) for v in self.shift]) if self.shift else "y = x"
        extra = f", delta = {self.delta!r}" if self.kind == "huber" else ""
        return f"x -> {self.offset!r} + {self.weight!r} * {_FORMULA[self.kind]}, {y}{extra}"

    def to_json(self) -> dict:
        return {"description": self.describe(), "kind": self.kind, "weight": self.weight, "offset": self.offset,
                "shift": [float(v) for v in self.shift], "delta": self.delta}


__all__ = ["ConvexCost", "KINDS"]
