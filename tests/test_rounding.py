"""cae_theory.rounding.Bounded: the running error bound contains the exact value.

Oracle: the same expression evaluated in exact rational arithmetic (fractions.Fraction) on the same float64
inputs; for square roots, the exact root r of a rational x lies in [v - e, v + e] iff (v - e)^2 <= x <= (v + e)^2
(rationals, v - e >= 0). Inputs are drawn constructively with magnitudes from 1e-12 to 1e12 and with
cancellation (a + b with b ~ -a), the case where a tolerance relative to the result fails.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cae_theory.rounding import Bounded, agreement, clip, gamma, outer, sqrt, trace


def exact(a) -> np.ndarray:
    return np.vectorize(Fraction, otypes=[object])(np.asarray(a, dtype=np.float64))


def contains(b: Bounded, exact_value) -> bool:
    ex = np.asarray(exact_value, dtype=object)
    return all(abs(Fraction(float(v)) - x) <= Fraction(float(e)) for v, e, x in
               zip(b.value.ravel(), b.error.ravel(), ex.ravel()))


@st.composite
def arrays(draw, shape):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    scale = 10.0 ** draw(st.floats(-12, 12))
    x = rng.standard_normal(shape) * scale
    if draw(st.booleans()):  # near-cancelling entries
        x[..., -1] = -x[..., 0] * (1 + 10.0 ** -draw(st.floats(1, 15)))
    return x


@given(arrays((3, 4)), arrays((4, 2)), arrays((3, 2)))
@example(np.full((3, 4), 0.1), np.full((4, 2), 3.0), np.full((3, 2), -1.2))
def test_polynomial_expression_is_enclosed(A, B, C):
    """((A @ B) - C * C).sum(axis=0) and its sum: the rational value lies within the bound."""
    a, b, c = Bounded.exact(A), Bounded.exact(B), Bounded.exact(C)
    expr = (a @ b - c * c).sum(axis=0)
    ea, eb, ec = exact(A), exact(B), exact(C)
    want = (ea.dot(eb) - ec * ec).sum(axis=0)
    assert contains(expr, want)
    assert contains(expr.sum(), [want.sum()])
    ab, eab = a @ b, ea.dot(eb)
    assert contains(trace(ab @ ab.T), [np.trace(eab.dot(eab.T))])


@given(arrays((5,)), arrays((5,)))
def test_division_and_sqrt_are_enclosed(x, y):
    """(x * x) / (y * y + 1) and sqrt of it: exact rational quotient; root checked by squaring."""
    bx, by = Bounded.exact(x), Bounded.exact(y)
    q = (bx * bx) / (by * by + 1.0)
    ex, ey = exact(x), exact(y)
    want = (ex * ex) / (ey * ey + 1)
    assert contains(q, want)
    r = sqrt(q)
    for v, e, w in zip(r.value, r.error, want):
        lo, hi = Fraction(float(v)) - Fraction(float(e)), Fraction(float(v)) + Fraction(float(e))
        assert max(lo, 0) ** 2 <= w <= hi ** 2


def test_sqrt_of_an_uncertain_value_near_zero_and_division_by_an_interval_containing_zero():
    """sqrt of [0, 2e-300]: the bound is sqrt(e); division by a value whose interval contains 0: infinite."""
    z = Bounded(np.array([0.0]), np.array([2e-300]))
    assert sqrt(z).error[0] == pytest.approx(np.sqrt(2e-300))  # closed form sqrt(e)
    assert np.isinf((Bounded.exact(1.0) / z).error).all()


def test_cancellation_tolerance_comes_from_the_terms_not_the_result():
    """1e16 + 1 - 1e16: result 0 in floats (the 1 is lost), exact 1; the bound ~ u * 1e16 = 1.1 covers it, while
    any tolerance relative to the float result (0) would reject the exact value."""
    a = Bounded.exact(1e16) + 1.0 - 1e16
    assert a.value == 0.0 and a.error >= 1.0
    assert agreement(a, 1.0) <= 1.0
    assert agreement(Bounded.exact(1.0) + 1.0, 3.0) > 1.0  # a wrong value is rejected (error 0 in exact inputs)


def test_helpers_outer_clip_gamma():
    o = outer(Bounded.exact([1.0, 2.0]), [3.0, 0.1])
    assert contains(o, [[Fraction(3), Fraction(0.1)], [Fraction(6), 2 * Fraction(0.1)]])
    c = clip(Bounded(np.array([1.0 + 2 ** -52]), np.array([1e-15])), -1.0, 1.0)
    assert c.value[0] == 1.0 and c.error[0] == 1e-15
    assert gamma(2) == pytest.approx(2 * 2.0 ** -53 / (1 - 2 * 2.0 ** -53), rel=0, abs=0)
    with pytest.raises(ValueError, match="n must satisfy"):
        gamma(2 ** 60)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        Bounded.exact(2.0) ** 0.5
