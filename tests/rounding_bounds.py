"""Derived tolerances for tests that compare a library value with an independent transcription of its formula.

The tests write the transcription with :class:`cae_theory.rounding.Bounded` numbers (read that module's
docstring): every quantity carries a rigorous bound on its rounding error in terms of the magnitudes of what was
summed, subtracted, multiplied or divided, never a fraction of the result. Those bounds hold for any summation
order, so they also bound the library's value when it evaluates the same expression tree; a library value x and
the transcription b then satisfy |x - b.value| <= 2 b.error (:func:`assert_within`). This module adds what the
couplings, the model and the diagnostics need beyond + - * / @ sum sqrt:

- float32 arithmetic (:func:`float32_arithmetic`): the same running-error bounds with the float32 unit roundoff
  u = 2^-24 (the float64 value of the transcription is then within the float32 bound of the exact value too);
  :func:`round_to` adds the final rounding of a value computed in float64 and cast to float32, :func:`underflow`
  the absolute error of a product or quotient that may fall below the dtype's normal range;
- the LAPACK kernels the library calls through torch.linalg (:func:`eigvalsh`, :func:`svdvals`,
  :func:`inverse_sqrt_spd`): iterative algorithms whose results are not an expression tree, bounded by their
  documented backward error (LAPACK Users' Guide, 3rd ed., Sec. 4.7 and 4.9: the computed decomposition is an
  exact one of A + E with ||E|| <= p(n) eps ||A|| and nearly orthogonal factors). p(n) is given there only as "a
  modestly growing function of n"; we take p(n) = :data:`LAPACK_RATIO` n, LAPACK's own acceptance rule: its test
  suite (TESTING/sep.in) passes a symmetric eigensolver when ||A - Z D Z^T||_1 / (||A||_1 n ulp) and
  ||I - Z^T Z||_1 / (n ulp) are below a threshold whose theoretical limit it states as ~500 (the SVD drivers are
  tested the same way, TESTING/svd.in, with threshold 35). Perturbation theory (Weyl, Ostrowski, the operator
  Lipschitz bound of t^(-1/2)) carries the backward error to the value, so these bounds, too, hold for any LAPACK
  implementation (numpy's, torch's) and compare the library with the transcription at 2x;
- Cholesky and triangular solves (:func:`cholesky`, :func:`solve_lower`) as the recurrences they evaluate (any
  summation order, division or multiplication by a reciprocal), and log/exp/max/min/relu.

Every bound is computed in float64 and enlarged by :data:`cae_theory.rounding.INFLATE` where compared.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from cae_theory import rounding
from cae_theory.rounding import INFLATE, Bounded, gamma, sqrt

U64 = 2.0 ** -53
U32 = 2.0 ** -24
#: LAPACK's backward-error ratio ||E|| / (||A|| n ulp) at its theoretical limit (TESTING/sep.in: "theoretical
#: limit ~500"); p(n) = LAPACK_RATIO * n in the Users' Guide's bound p(n) eps ||A||.
LAPACK_RATIO = 500.0
#: Second-order slack for float32 bounds: the running-error terms u |v| are evaluated at the float64 values v of
#: the transcription, not at the float32 intermediates, which differ from them by at most the bound itself, i.e.
#: a relative u32 per operation along a path; (1 + 2^-24)^256 < 1 + 2^-15 covers paths of up to 256 operations.
FLOAT32_SLACK = 1.0 + 2.0 ** -15
#: Half the smallest subnormal: the absolute error of one rounded product or quotient below the normal range.
HALF_SUBNORMAL = {np.float64: 2.0 ** -1075, np.float32: 2.0 ** -150}


def exact(x) -> Bounded:
    """Inputs (a torch tensor, numpy array or number) as exact float64 numbers (error 0)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().to(dtype=__import__("torch").float64).numpy()
    return Bounded.exact(np.asarray(x, dtype=np.float64))


def unit_roundoff() -> float:
    """The unit roundoff the Bounded operations currently assume (2^-53, or 2^-24 inside float32_arithmetic)."""
    return rounding.U


@contextlib.contextmanager
def float32_arithmetic():
    """Inside, Bounded operations bound float32 evaluation: u = 2^-24 in every rounding term and in gamma_n."""
    previous = rounding.U
    rounding.U = U32
    try:
        yield
    finally:
        rounding.U = previous


def round_to(b: Bounded, dtype) -> Bounded:
    """One more rounding: a value computed in float64 and cast to ``dtype`` (float32: u32 |v| plus half a
    subnormal for results below the normal range; float64: nothing)."""
    if np.dtype(dtype) == np.float64:
        return b
    return Bounded(b.value, b.error + U32 * np.abs(b.value) + HALF_SUBNORMAL[np.float32])


def underflow(b: Bounded, dtype) -> Bounded:
    """A product or quotient evaluated in ``dtype`` may underflow: add its absolute error, half a subnormal
    (the relative part u |v| is already in the bound; additions and subtractions of subnormals are exact)."""
    return Bounded(b.value, b.error + HALF_SUBNORMAL[np.dtype(dtype).type])


# --------------------------------------------------------------------------------------------- comparisons


def excess(x, b: Bounded, factor: float = 2.0) -> np.ndarray:
    """|x - b.value| / (factor * b.error): <= 1 where the float value x is within ``factor`` times the bound.
    ``factor = 2``: x is another evaluation of the same tree (both within b.error of the exact value)."""
    x = np.asarray(x.detach().cpu().double().numpy() if hasattr(x, "detach") else x, dtype=np.float64)
    slack = INFLATE * (FLOAT32_SLACK if rounding.U == U32 else 1.0)
    diff = np.abs(x - b.value)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(diff == 0, 0.0, diff / (factor * b.error * slack))


def assert_within(x, b: Bounded, what: str = "", factor: float = 2.0) -> None:
    """Assert that the library value ``x`` is within ``factor`` times the transcription's bound of its value."""
    r = excess(x, b, factor)
    assert np.all(r <= 1.0), (f"{what}: library value outside the rounding bound: max |x - t| / bound = "
                              f"{float(np.max(r)):.3g}; x = {x}, transcription = {b.value}, bound = {b.error}")


def carried(x, b: Bounded) -> Bounded:
    """The library's float value ``x`` with the transcription's bound (valid when it evaluates b's tree)."""
    x = x.detach().cpu().double().numpy() if hasattr(x, "detach") else x
    return Bounded(np.asarray(x, dtype=np.float64), b.error)


def agree(a: Bounded, b: Bounded) -> bool:
    """Two bounded values of one exact quantity agree within the sum of their bounds."""
    return bool(np.all(rounding.agreement(a, b) <= 1.0))


# ------------------------------------------------------------------------------------------------ norms


def upper(b: Bounded) -> np.ndarray:
    """Elementwise upper bound of |exact|."""
    return np.abs(b.value) + b.error


def frobenius_upper(b) -> float:
    """Upper bound of the Frobenius norm of the exact array (of ``b``'s exact value, or of a plain array)."""
    w = Bounded.exact(upper(b) if isinstance(b, Bounded) else np.abs(np.asarray(b, dtype=np.float64)))
    n = sqrt((w * w).sum())
    return float((n.value + n.error) * INFLATE)


def norm1_upper(b) -> float:
    """Upper bound of the 1-norm (largest column sum of |entries|) of a matrix, exact or Bounded."""
    w = Bounded.exact(upper(b) if isinstance(b, Bounded) else np.abs(np.asarray(b, dtype=np.float64)))
    col = w.sum(axis=-2)
    return float(np.max(col.value + col.error) * INFLATE)


# ------------------------------------------------------------------------------------- elementwise extras


def relu(b: Bounded) -> Bounded:
    """max(x, 0): 1-Lipschitz and exact in floats, so the bound carries over."""
    return Bounded(np.maximum(b.value, 0.0), b.error)


def maximum(a: Bounded, b: Bounded) -> Bounded:
    """Elementwise max (exact in floats). Where the two intervals are disjoint the larger one wins for the
    exact values too, so its own bound carries over; elsewhere max is 1-Lipschitz in the max-norm:
    |max(a', b') - max(a, b)| <= max(|a' - a|, |b' - b|)."""
    a = a if isinstance(a, Bounded) else Bounded.exact(a)
    b = b if isinstance(b, Bounded) else Bounded.exact(b)
    a_wins = a.value - a.error > b.value + b.error
    b_wins = b.value - b.error > a.value + a.error
    err = np.where(a_wins, a.error, np.where(b_wins, b.error, np.maximum(a.error, b.error)))
    return Bounded(np.maximum(a.value, b.value), err)


def minimum(a: Bounded, b: Bounded) -> Bounded:
    """Elementwise min: -max(-a, -b)."""
    a = a if isinstance(a, Bounded) else Bounded.exact(a)
    b = b if isinstance(b, Bounded) else Bounded.exact(b)
    return -maximum(-a, -b)


def divide_either(x, d) -> Bounded:
    """x / d evaluated either as one division or as x * fl(1 / d) (LAPACK's scaling by a reciprocal, DSCAL in
    DPOTF2/DTRSM): the larger of the two bounds, valid for both."""
    x = x if isinstance(x, Bounded) else Bounded.exact(x)
    d = d if isinstance(d, Bounded) else Bounded.exact(d)
    one, two = x / d, x * (1.0 / d)
    return Bounded(one.value, np.maximum(one.error, two.error + np.abs(two.value - one.value)))


def log(b: Bounded) -> Bounded:
    """Natural log of a quantity whose exact value is > 0: |log x' - log x| <= e / (x' - e), plus the math
    library's rounding, 1 ulp <= 2u |log x'| (glibc, SLEEF's u10 kernels: <= 1.0 ulp)."""
    v, e = b.value, b.error
    lo = v - e
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(v)
        err = np.where(lo > 0, e / np.where(lo > 0, lo, 1.0), np.inf) + 2 * rounding.U * np.abs(out)
    return Bounded(out, err)


def log10(b: Bounded) -> Bounded:
    """log10 of a quantity whose exact value is > 0: |log10 x' - log10 x| <= e / ((x' - e) ln 10), plus 1 ulp."""
    v, e = b.value, b.error
    lo = v - e
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(v)
        err = (np.where(lo > 0, e / np.where(lo > 0, lo, 1.0), np.inf) / math.log(10.0) * INFLATE
               + 2 * rounding.U * np.abs(out))
    return Bounded(out, err)


def exp(b: Bounded) -> Bounded:
    """exp: |exp x' - exp x| <= exp(x') (exp(e) - 1), plus 1 ulp <= 2u exp(x') of the math library."""
    out = np.exp(b.value)
    return Bounded(out, out * np.expm1(b.error) + 2 * rounding.U * out)


def entropy_terms(q: Bounded) -> Bounded:
    """h(q) = -q log q (h(0) = 0) of quantities whose exact value lies in [0, 1], with a bound that stays finite
    when q's interval reaches 0 (rounding-level singular values). Exact Q in [lo, hi] = [v - e, v + e]:
    if lo > 0, h is Lipschitz there with constant max |1 + log t| (at an end); otherwise both h(v) and h(Q) lie in
    [0, h(min(hi, 1/e))] (h increases on [0, 1/e] to its maximum 1/e), which bounds their distance. Plus the
    rounding of log (1 ulp) and of the product."""
    v, e = q.value, q.error
    lo, hi = v - e, np.minimum(v + e, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(v > 0, -v * np.log(np.where(v > 0, v, 1.0)), 0.0)
        safe_lo = np.where(lo > 0, lo, 1.0)
        lipschitz = np.maximum(np.abs(1.0 + np.log(safe_lo)), np.abs(1.0 + np.log(np.maximum(hi, safe_lo))))
        top = np.clip(hi, 0.0, 1 / math.e)
        h_top = np.where(top > 0, -top * np.log(np.where(top > 0, top, 1.0)), 0.0)
    err = np.where(lo > 0, lipschitz * e, np.maximum(h_top, np.abs(h)))
    return Bounded(h, err + 3 * rounding.U * np.abs(h))


# --------------------------------------------------------------------------------------- LAPACK kernels


def lapack_ulp() -> float:
    """LAPACK's ulp (DLAMCH('P') = eps * base) of the arithmetic the bounds currently assume."""
    return 2.0 * rounding.U


def eigvalsh(V: Bounded) -> Bounded:
    """Ascending eigenvalues of a symmetric ``V: (p, p)`` given with its rounding bound, as any LAPACK symmetric
    eigensolver computes them (numpy.linalg.eigvalsh / torch.linalg.eigvalsh on its own float V).

    Bound: ||V_float - V_exact||_2 <= ||error||_F (Weyl) plus the solver's error on the float matrix: its
    eigenvalues are those of Z D Z^T = A + E, ||E||_2 <= ||E||_1 <= r n ulp ||A||_1, and Ostrowski moves each by
    at most |d_k| ||Z^T Z - I||_2 <= |d_k| r n ulp (r = LAPACK_RATIO)."""
    p = V.shape[-1]
    lam = np.linalg.eigvalsh(V.value)
    e_input = frobenius_upper(Bounded(np.zeros_like(V.error), V.error))
    norm1 = norm1_upper(V)
    e = e_input + LAPACK_RATIO * p * lapack_ulp() * (norm1 + np.abs(lam) + e_input)
    return Bounded(lam, e)


def svdvals(X: Bounded) -> Bounded:
    """Descending singular values of ``X: (m, n)`` given with its rounding bound, as any LAPACK SVD computes them.

    Bound: Weyl (||X_float - X_exact||_2 <= ||error||_F) plus the driver's backward error on the float matrix,
    ||E||_2 <= sqrt(n) ||E||_1 <= sqrt(n) r max(m, n) ulp ||X||_1, and the non-orthogonality of both factors
    (<= r max(m, n) ulp each) scaling sigma_k (Ostrowski for singular values)."""
    m, n = X.shape[-2:]
    s = np.linalg.svd(X.value, compute_uv=False)
    e_input = frobenius_upper(Bounded(np.zeros_like(X.error), X.error))
    norm1 = norm1_upper(X)
    big = max(m, n)
    e = e_input + LAPACK_RATIO * big * lapack_ulp() * (math.sqrt(n) * norm1 + 2 * (s + e_input))
    return Bounded(s, e)


def inverse_sqrt_spd(V: Bounded) -> Bounded:
    """V^(-1/2) of a symmetric positive definite ``V: (p, p)`` given with its rounding bound, as the library
    computes it: (Z / sqrt(d)) Z^T from a LAPACK eigendecomposition Z D Z^T of its float V. One bound, valid
    for any such computation (numpy's or torch's Z):

    - recombination: each entry sum_k Z_ik Z_jk / fl(sqrt d_k) carries <= gamma_{p+2} (1 + delta) / sqrt(lo)
      (rows of Z have norm <= sqrt(1 + delta); delta = r p ulp bounds ||Z^T Z - I||_2);
    - non-orthogonality: Z = Q P (polar), ||P - I|| <= delta, moves Z f(D) Z^T by (2 delta + delta^2) f_max;
    - the eigendecomposition is exact for A + E'', ||E''|| <= r p ulp ||A||_1 + (2 delta + delta^2) ||D||, and
      t -> t^(-1/2) is operator monotone decreasing, so ||(A + E'')^(-1/2) - V^(-1/2)||_2 <=
      a^(-3/2) / 2 * (||E''|| + ||V_float - V||_F) with a a lower bound of both smallest eigenvalues (Bhatia,
      Matrix Analysis, Thm X.3.8);
    lo = a lower bound of every computed and exact smallest eigenvalue (from :func:`eigvalsh`'s bound)."""
    p = V.shape[-1]
    lam, Z = np.linalg.eigh(V.value)
    value = (Z / np.sqrt(lam)) @ Z.T
    ev = eigvalsh(V)
    lo = float(ev.value[0] - 2 * np.max(ev.error))
    if not lo > 0:
        return Bounded(value, np.full_like(value, np.inf))
    delta = LAPACK_RATIO * p * lapack_ulp()
    f_max = lo ** -0.5
    e_input = frobenius_upper(Bounded(np.zeros_like(V.error), V.error))
    norm1 = norm1_upper(V)
    e_back = LAPACK_RATIO * p * lapack_ulp() * norm1 + (2 * delta + delta ** 2) * norm1 * (1 + delta)
    err = (gamma(p + 2) * (1 + delta) * f_max + (2 * delta + delta ** 2) * f_max
           + 0.5 * lo ** -1.5 * (e_back + e_input))
    return Bounded(value, np.full_like(value, err))


def cholesky(A: Bounded) -> Bounded:
    """Lower Cholesky factor of ``A: (p, p)`` by its recurrences, L_jj = sqrt(A_jj - sum_k L_jk^2) and
    L_ij = (A_ij - sum_{k<j} L_ik L_jk) / L_jj, each sum bounded for any order and association (LAPACK's
    blocked and recursive variants evaluate the same formulas in pieces) and the division for either form."""
    p = A.shape[-1]
    L = [[Bounded.exact(0.0) for _ in range(p)] for _ in range(p)]
    for j in range(p):
        L[j][j] = sqrt(_terms_sum(A[j, j], [-(L[j][k] * L[j][k]) for k in range(j)]))
        for i in range(j + 1, p):
            L[i][j] = divide_either(_terms_sum(A[i, j], [-(L[i][k] * L[j][k]) for k in range(j)]), L[j][j])
    return _assemble(L)


def solve_lower(L: Bounded, B: Bounded) -> Bounded:
    """Y = L^{-1} B by forward substitution, y_i = (b_i - sum_{k<i} L_ik y_k) / L_ii for every column of
    ``B: (p, m)`` (LAPACK's TRSM/TRSV: any order, division or reciprocal)."""
    p = B.shape[0]
    Y = []
    for i in range(p):
        Y.append(divide_either(_terms_sum(B[i], [-(L[i, k] * Y[k]) for k in range(i)]), L[i, i]))
    return Bounded(np.stack([y.value for y in Y]), np.stack([y.error for y in Y]))


def _assemble(rows: list) -> Bounded:
    """A (p, q) Bounded from a list of lists of Bounded scalars."""
    return Bounded(np.array([[x.value for x in r] for r in rows], dtype=np.float64),
                   np.array([[x.error for x in r] for r in rows], dtype=np.float64))


def _terms_sum(first: Bounded, rest: list) -> Bounded:
    """first + sum(rest) as ONE sum of len(rest) + 1 terms (bounded for any order and association)."""
    if not rest:
        return first
    terms = [first] + rest
    stacked = Bounded(np.stack([t.value for t in terms]), np.stack([t.error for t in terms]))
    return stacked.sum(axis=0)


__all__ = ["FLOAT32_SLACK", "LAPACK_RATIO", "U32", "U64", "agree", "assert_within", "carried", "cholesky",
           "divide_either", "eigvalsh", "entropy_terms", "exact", "excess", "exp", "float32_arithmetic",
           "frobenius_upper", "inverse_sqrt_spd", "log", "log10", "maximum", "minimum", "norm1_upper", "relu", "round_to",
           "solve_lower", "svdvals", "underflow", "unit_roundoff", "upper"]
