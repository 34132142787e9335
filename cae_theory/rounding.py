"""Rigorous float64 rounding bounds by running error analysis: an array together with a bound on its error.

Two float computations of one quantity (two printed forms of an identity, or a library function and an
independent transcription of it) agree only up to rounding, and how much they may differ depends on what was
summed or subtracted along the way, not on the size of the result: Gamma_2 of two nearly equal arms is ~1e-17
while each of its terms carries an absolute error of ~1e-16 times the size of D_i. A tolerance relative to the
result cannot be right for every case; a bound derived from the computation can.

:class:`Bounded` carries a float64 array ``value`` and an elementwise bound ``error`` with
``|value - exact| <= error``, where ``exact`` is the same expression evaluated in exact real arithmetic on the
same exact inputs. Every operation returns the float result numpy computes and propagates the bound
(Wilkinson's running error analysis; Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., Sec. 3.1,
Lemma 3.3 and Sec. 3.5), with u = 2^-53 the unit roundoff and gamma_n = n u / (1 - n u):

- ``a + b``, ``a - b``:  e_a + e_b + u |a + b|
- ``a * b``:             |a| e_b + e_a |b| + e_a e_b + u |a b|
- ``a / b`` (|b| > e_b): (e_a + |a / b| e_b) / (|b| - e_b) + u |a / b|
- ``sqrt(a)`` (a >= 0):  min(sqrt(e_a), e_a / sqrt(a)) + u sqrt(a)
- ``a.sum(axis)`` of N terms: sum e + gamma_{N-1} sum |a|           (any summation order)
- ``a @ b``, inner size n:    gamma_n |a| |b| + |a| e_b + e_a |b| + e_a e_b   (any order, with or without FMA)

Inputs enter through :meth:`Bounded.exact` (error 0: the float64 numbers ARE the inputs). Plain Python or numpy
numbers mixed into an expression are taken as exact too, so an input computed in floats (``1 - beta``) must be
computed inside the expression (``1 - Bounded.exact(beta)``), never before it. The bounds are order-independent,
so they also bound any other evaluation of the same expression tree (e.g. a library function that sums in
another order). The bound itself is computed in floats; :func:`agreement` inflates it by 1 + 2^-30, far above
the relative rounding of a sum of non-negative numbers of these sizes.

Functions: :func:`sqrt`, :func:`trace`, :func:`outer`, :func:`clip` (for a quantity whose exact value is known
to lie in the interval), :func:`agreement`.
"""
from __future__ import annotations

import numpy as np

#: Unit roundoff of float64 (round to nearest).
U = 2.0 ** -53
#: Safety factor on a computed bound (its own float rounding, see module docstring).
INFLATE = 1.0 + 2.0 ** -30


def gamma(n: int | float) -> float:
    """Higham's gamma_n = n u / (1 - n u): the relative error bound of n successive roundings (n u < 1)."""
    nu = float(n) * U
    if not 0.0 <= nu < 1.0:
        raise ValueError(f"n must satisfy 0 <= n u < 1, got n = {n}")
    return nu / (1.0 - nu)


def _parts(x) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(x, Bounded):
        return x.value, x.error
    v = np.asarray(x, dtype=np.float64)
    return v, np.zeros_like(v)


class Bounded:
    """A float64 array ``value`` with ``error >= |value - exact|`` elementwise (see module docstring).

    Shapes follow numpy broadcasting; ``@`` is numpy's (batched) matmul on the last two axes."""

    __array_priority__ = 1000.0  # ndarray op Bounded -> Bounded's reflected operator

    def __init__(self, value, error=None):
        self.value = np.asarray(value, dtype=np.float64)
        self.error = (np.zeros_like(self.value) if error is None
                      else np.broadcast_to(np.asarray(error, dtype=np.float64), self.value.shape).copy())
        if error is not None:
            self.error[np.isnan(self.error)] = np.inf     # 0 * inf in a bound: no bound, never "exact"

    @classmethod
    def exact(cls, x) -> "Bounded":
        """Inputs: float64 numbers taken as exact (error 0)."""
        return cls(x)

    # --- shape -----------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def mT(self) -> "Bounded":
        """Transpose of the last two axes (exact)."""
        return Bounded(np.swapaxes(self.value, -1, -2), np.swapaxes(self.error, -1, -2))

    @property
    def T(self) -> "Bounded":
        return self.mT if self.ndim >= 2 else self

    def __getitem__(self, idx) -> "Bounded":
        return Bounded(self.value[idx], self.error[idx])

    def reshape(self, *shape) -> "Bounded":
        return Bounded(self.value.reshape(*shape), self.error.reshape(*shape))

    def __repr__(self) -> str:
        return f"Bounded(value={self.value!r}, error={self.error!r})"

    # --- arithmetic ------------------------------------------------------------------------------------
    def __add__(self, other) -> "Bounded":
        (a, ea), (b, eb) = _parts(self), _parts(other)
        v = a + b
        return Bounded(v, ea + eb + U * np.abs(v))

    __radd__ = __add__

    def __abs__(self) -> "Bounded":
        """|x| is 1-Lipschitz: the bound carries over."""
        return Bounded(np.abs(self.value), self.error)

    def max(self, axis=None, keepdims: bool = False) -> "Bounded":
        """Largest entry along ``axis``: |max(x_hat) - max(x)| <= max |x_hat - x| (exact in floats)."""
        return Bounded(self.value.max(axis=axis, keepdims=keepdims), self.error.max(axis=axis, keepdims=keepdims))

    def __neg__(self) -> "Bounded":
        return Bounded(-self.value, self.error)

    def __sub__(self, other) -> "Bounded":
        (a, ea), (b, eb) = _parts(self), _parts(other)
        v = a - b
        return Bounded(v, ea + eb + U * np.abs(v))

    def __rsub__(self, other) -> "Bounded":
        return Bounded.exact(other) - self if not isinstance(other, Bounded) else other - self

    def __mul__(self, other) -> "Bounded":
        (a, ea), (b, eb) = _parts(self), _parts(other)
        v = a * b
        with np.errstate(invalid="ignore"):
            return Bounded(v, np.abs(a) * eb + ea * np.abs(b) + ea * eb + U * np.abs(v))

    __rmul__ = __mul__

    def __truediv__(self, other) -> "Bounded":
        (a, ea), (b, eb) = _parts(self), _parts(other)
        ab = np.abs(b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            v = a / b
            # (e_a |b| + |a| e_b) / (|b| (|b| - e_b)) written as (e_a + |a/b| e_b) / (|b| - e_b): no product of
            # two small divisors, which underflows for |b| below ~1e-154
            err = (ea + np.abs(v) * eb) / (ab - eb) + U * np.abs(v)
        err = np.where(ab > eb, err, np.inf)   # the divisor's interval contains 0: no bound
        return Bounded(v, err)

    def __rtruediv__(self, other) -> "Bounded":
        return Bounded.exact(other) / self

    def __pow__(self, n: int) -> "Bounded":
        """Integer powers n >= 1 by repeated multiplication (each product bounded as above)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be an integer >= 1 (use sqrt and 1 / x otherwise), got {n!r}")
        out = self
        for _ in range(int(n) - 1):
            out = out * self
        return out

    def __matmul__(self, other) -> "Bounded":
        (a, ea), (b, eb) = _parts(self), _parts(other)
        n = a.shape[-1]
        v = a @ b
        aa, ab = np.abs(a), np.abs(b)
        with np.errstate(invalid="ignore"):
            err = gamma(n) * (aa @ ab) + aa @ eb + ea @ ab + ea @ eb
        return Bounded(v, err)

    def __rmatmul__(self, other) -> "Bounded":
        return Bounded.exact(other) @ self

    def sum(self, axis=None, keepdims: bool = False) -> "Bounded":
        """Sum along ``axis`` (None: all), bounded for any summation order."""
        v = self.value.sum(axis=axis, keepdims=keepdims)
        n = self.value.size if axis is None else int(np.prod([self.value.shape[a] for a in np.atleast_1d(axis)]))
        err = self.error.sum(axis=axis, keepdims=keepdims) + gamma(max(n - 1, 0)) * np.abs(self.value).sum(
            axis=axis, keepdims=keepdims)
        return Bounded(v, err)


def sqrt(x) -> Bounded:
    """Square root of a quantity whose exact value is >= 0; the bound is infinite where it cannot be given."""
    a, ea = _parts(x)
    v = np.sqrt(np.maximum(a, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.minimum(np.sqrt(ea), np.where(a > 0, ea / np.where(a > 0, v, 1.0), np.inf)) + U * v
    err = np.where(a + ea >= 0, err, np.inf)
    return Bounded(v, err)


def trace(x) -> Bounded:
    """Trace over the last two axes: ``(..., p, p) -> (...)``."""
    x = x if isinstance(x, Bounded) else Bounded.exact(x)
    return Bounded(np.diagonal(x.value, axis1=-2, axis2=-1), np.diagonal(x.error, axis1=-2, axis2=-1)).sum(axis=-1)


def outer(a, b) -> Bounded:
    """Outer product of the last axes: ``(..., p), (..., q) -> (..., p, q)`` (one rounding per entry)."""
    a = a if isinstance(a, Bounded) else Bounded.exact(a)
    b = b if isinstance(b, Bounded) else Bounded.exact(b)
    return a[..., :, None] * b[..., None, :]


def clip(x, low: float, high: float) -> Bounded:
    """Clip a quantity whose EXACT value is known to lie in [low, high] (e.g. a correlation, by
    Cauchy-Schwarz): clipping is 1-Lipschitz and leaves the exact value unchanged, so the bound carries over."""
    a, ea = _parts(x)
    return Bounded(np.clip(a, low, high), ea)


def agreement(a, b) -> np.ndarray:
    """|a - b| / (bound on |a - b| from rounding): <= 1 where two computations of one exact quantity agree as
    well as their rounding allows, > 1 where they differ by more (a wrong identity or a bug). Elementwise.
    A plain float or array is an exact value (error 0)."""
    (va, ea), (vb, eb) = _parts(a), _parts(b)
    diff = np.abs(va - vb)
    tol = (ea + eb) * INFLATE
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(diff == 0, 0.0, diff / tol)


__all__ = ["Bounded", "INFLATE", "U", "agreement", "clip", "gamma", "outer", "sqrt", "trace"]
