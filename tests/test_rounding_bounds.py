"""tests/rounding_bounds.py and tests/bounded_couplings.py: every bound contains the exact value.

Oracles: the same quantity in exact rational arithmetic (fractions.Fraction) on the same float inputs, or in
mpmath at 60 digits where it is irrational (square roots, eigenvalues, logarithms); the library kernels they
bound (torch.var, float32 sums and products) evaluated on those inputs. Inputs are drawn constructively with
magnitudes over many decades (float32: 1e-15 .. 1e15, away from its under- and overflow) and condition numbers
up to 1e4.
"""
from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import bounded_couplings as BC
from cae_theory.rounding import Bounded
from rounding_bounds import (cholesky, divide_either, eigvalsh, entropy_terms, exact, exp, float32_arithmetic,
                             inverse_sqrt_spd, log, solve_lower, svdvals)

mpmath.mp.dps = 60


def contains(b: Bounded, want) -> bool:
    """Every exact value (mpmath numbers or Fractions) lies within the bound of b's float value."""
    want = np.ravel(np.asarray(want, dtype=object))
    return all(abs(mpmath.mpf(float(v)) - mpmath.mpf(w) if not isinstance(w, Fraction)
                   else Fraction(float(v)) - w) <= (Fraction(float(e)) if isinstance(w, Fraction) else e)
               for v, e, w in zip(b.value.ravel(), b.error.ravel(), want))


@st.composite
def spd(draw, max_p: int = 4):
    """A = Q diag(l) Q^T + noise, symmetric, eigenvalues spread over up to 4 decades, magnitude 10^[-3, 3]."""
    p = draw(st.integers(1, max_p))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    Q = np.linalg.qr(rng.standard_normal((p, p)))[0]
    lam = 10.0 ** rng.uniform(-2, 2, p) * 10.0 ** draw(st.floats(-3, 3))
    A = (Q * lam) @ Q.T
    return (A + A.T) / 2


def mp_matrix(A) -> mpmath.matrix:
    return mpmath.matrix([[mpmath.mpf(float(x)) for x in row] for row in np.atleast_2d(A)])


@given(spd(), st.integers(0, 2 ** 32 - 1))
@example(np.array([[4.0]]), 0)
def test_cholesky_and_triangular_solve_contain_the_exact_values(A, seed):
    B = np.random.default_rng(seed).standard_normal((A.shape[0], 3))
    L = cholesky(exact(A))
    Y = solve_lower(L, exact(B))
    L_exact = mpmath.cholesky(mp_matrix(A))
    p = A.shape[0]
    assert contains(L, [[L_exact[i, j] for j in range(p)] for i in range(p)])
    # forward substitution with the exact L on the same B (exact rational right-hand side, 60 digits)
    for col in range(3):
        y = []
        for i in range(p):
            y.append((mpmath.mpf(float(B[i, col])) - sum(L_exact[i, k] * y[k] for k in range(i))) / L_exact[i, i])
        assert contains(Y[:, col], y)
    # and the library kernels themselves lie within the bound (torch's LAPACK)
    Lt = torch.linalg.cholesky(torch.tensor(A))
    assert np.all(np.abs(Lt.numpy() - L.value) <= 2 * L.error + 1e-300)


@given(spd())
@example(np.diag([1.0, 1.0, 1.0]))
def test_eigenvalues_singular_values_and_inverse_sqrt_contain_the_exact_values(A):
    p = A.shape[0]
    E, Q = mpmath.eigsy(mp_matrix(A))
    ev = sorted(E[i] for i in range(p))
    assert contains(eigvalsh(exact(A)), ev)
    assert contains(svdvals(exact(A)), sorted((abs(x) for x in ev), reverse=True))
    W = Q * mpmath.diag([1 / mpmath.sqrt(E[i]) for i in range(p)]) * Q.T
    assert contains(inverse_sqrt_spd(exact(A)), [[W[i, j] for j in range(p)] for i in range(p)])
    # a rectangular matrix: the singular values of a (p + 2, p) stack of A and two random rows
    X = np.vstack([A, np.random.default_rng(p).standard_normal((2, p))])
    s = mpmath.svd_r(mp_matrix(X), compute_uv=False)
    assert contains(svdvals(exact(X)), sorted((s[i] for i in range(p)), reverse=True))


@given(st.integers(0, 2 ** 32 - 1), st.floats(-15, 15), st.integers(2, 40), st.integers(1, 4))
@example(0, 0.0, 2, 1)
def test_float32_bounds_cover_torch_float32_kernels(seed, log_scale, B, p):
    """Sums, products, means and torch.var of float32 tensors (CPU kernels) within the float32 bound of the exact
    value; and torch.var in float64 within the float64 bound (bounded_couplings.variance covers both of
    torch's algorithms)."""
    rng = np.random.default_rng(seed)
    x32 = (rng.standard_normal((B, p)) * 10.0 ** log_scale + 3 * 10.0 ** log_scale).astype(np.float32)
    fx = [[Fraction(float(v)) for v in row] for row in x32]
    exact_mean = [sum(fx[s][m] for s in range(B)) / B for m in range(p)]
    exact_var = [sum((fx[s][m] - exact_mean[m]) ** 2 for s in range(B)) / (B - 1) for m in range(p)]
    exact_sq = sum(fx[s][m] * fx[s][m] for s in range(B) for m in range(p))
    t32 = torch.from_numpy(x32)
    with float32_arithmetic():
        b = exact(x32)
        sq = (b * b).sum()
        mean = BC.mean_rows(b)[0]
        var = BC.variance(b)
    for got, bound, want in ((t32.pow(2).sum(), sq, [exact_sq]), (t32.mean(dim=0), mean, exact_mean),
                             (t32.var(dim=0), var, exact_var)):
        assert contains(bound, want)
        assert np.all(np.abs(got.double().numpy() - bound.value) <= 2 * bound.error * (1 + 2.0 ** -15))
    var64 = BC.variance(exact(x32))
    assert contains(var64, exact_var)
    assert np.all(np.abs(t32.double().var(dim=0).numpy() - var64.value) <= 2 * var64.error)


@given(st.lists(st.floats(-300, 300), min_size=1, max_size=6), st.floats(-14, 0))
@example([0.0, 1e-300], -14.0)
@example([-162.0], 0.0)   # found: an interval reaching 0 (entropy's slope inf * 0) and a divisor ~1e-162 (below)
def test_log_exp_entropy_and_division_contain_the_exact_values(logs, log_rel):
    """log, exp and -q log q of inputs carrying an error bound e: the exact function of EVERY point within e of
    the input (its two ends) lies within the result's bound; division in either of its two forms."""
    x = 10.0 ** np.clip(np.array(logs, dtype=float), -300, 300)
    e = x * 10.0 ** log_rel

    def ends(v, err, low=None, high=None):            # the two exact ends v -+ err (60 digits), clipped
        out = []
        for sign in (-1, 1):
            pts = [mpmath.mpf(float(a)) + sign * mpmath.mpf(float(b)) for a, b in zip(v, err)]
            out.append([min(max(t, low), high) if low is not None else t for t in pts])
        return out
    if log_rel < 0:                                    # the interval excludes 0: log is defined on all of it
        for pts in ends(x, e):
            assert contains(log(Bounded(x, e)), [mpmath.log(t) for t in pts])
    y = np.clip(np.array(logs, dtype=float) / 300.0, -1, 1)
    ey = np.abs(y) * 10.0 ** log_rel
    for pts in ends(y, ey):
        assert contains(exp(Bounded(y, ey)), [mpmath.exp(t) for t in pts])
    q = np.clip(np.abs(y), 0, 1)
    for pts in ends(q, ey, mpmath.mpf(0), mpmath.mpf(1)):
        assert contains(entropy_terms(Bounded(q, ey)), [-t * mpmath.log(t) if t > 0 else mpmath.mpf(0) for t in pts])
    x = np.clip(x, 1e-150, 1e150)     # cae_theory.rounding's quotient bound squares the divisor (underflows below)
    d = Bounded(x, 0 * x)
    num = Bounded(y, 0 * y)
    assert contains(divide_either(num, d), [Fraction(float(a)) / Fraction(float(b)) for a, b in zip(y, x)])
    assert np.all(np.abs(y * (1.0 / x) - divide_either(num, d).value) <= 2 * divide_either(num, d).error)
