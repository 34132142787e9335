"""Prop. 2's proof, its first steps: the choice of n, b and gamma, and Eqs. 5-8 (supplement).

    "Let 1 <= n <= p be such that b^T W b is minimized for the p x 1 vector b with b(m) = 0 for m != n and
     b(n) = 1: b^T W b <= gamma W(m,m) for any m, gamma <= 1."
    C_c = tr(W)                                                                              (5)
    b^T W b < tr(W)/p                                                                        (6)
    tr(1 b^T W) = sum_m W(n,m) <= sum_m sqrt(W(n,n) W(m,m)) < sum_m (W(n,n) + W(m,m))/2 < tr(W)   (7)
    "|V_i(n,m)| <= 1 due to the Cauchy-Schwarz inequality. Moreover, min_m V_i(n,m) < 1        (8)
     because equality implies |z_si(m) - z_si(m')| < eps ..."

Each quantity is followed by its claim. The z3 lemmas reduce a step to a few reals: the diagonal entries
w_m = W(m, m) >= 0 with w_n their minimum, and the 2 x 2 principal minors of the positive semi-definite W and V_i.
"""
from __future__ import annotations

import numpy as np

from cae_theory import arith
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Chain, Identity, Proved, Searched, Witnessed
from cae_theory.prop2.construction import (Construction, entry_nn, exact_check, identity, relation, row_n)
from cae_theory.prop2.notation import coupling, max_coordinate_gap
from cae_theory.ledger import search as srch

CLAIMS: list = []

#: Exact k-CBNAE codes (|S| = 3: every column a signed permutation of (1, -1, 0), mean 0, variance 1): arm 0 lies
#: on the line (its coordinates are equal), arm 1 does not; diag(W) = (2, 6), n = 0, W(n, n) > 0.
ON_LINE = [[[1, 1], [-1, -1], [0, 0]], [[1, 0], [0, 1], [-1, -1]]]

P_RANGE = range(2, 7)


def _diag(c: Construction):
    return c.W_diag


# --- the choice of n, b and gamma ---------------------------------------------------------------------------

def _gamma_sentence(arrays, c: Construction) -> srch.Sides:
    """'b^T W b <= gamma W(m,m) for any m' with some gamma < 1 (what Q(0) > 0 needs, Eq. 38), i.e.
    W(n, n) < W(m, m) for every m -- including m = n."""
    return srch.Sides(c.W_nn[..., None], _diag(c))


GAMMA_SENTENCE = relation("eq6.gamma", "<", _gamma_sentence, searched=False)


def _gamma_corrected(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(c.gamma, 1.0)


def lemma_min_below_mean(z3, strict_terms: bool = False):
    """For p = 2..6 reals w_0..w_{p-1} >= 0, not all equal, with w_0 the smallest (n = 0 without loss of
    generality): p w_0 < sum_m w_m. One query holds every p."""
    hyps, concl = [], []
    for p in P_RANGE:
        w = z3.Reals(" ".join(f"w{p}_{m}" for m in range(p)))
        hyps += [x >= 0 for x in w] + [w[0] <= x for x in w] + [z3.Or([x != w[0] for x in w[1:]])]
        concl.append(p * w[0] < z3.Sum(w))
    return hyps, z3.And(concl)


GAMMA = claim(
    "eq6.gamma",
    "Let 1 <= n <= p be such that b^T W b is minimized (b = e_n): b^T W b <= gamma W(m,m) for any m, gamma <= 1",
    origin="sentence", expected="fails", registry=CLAIMS, uses=("eq6",),
    decide=Witnessed(lambda: exact_check(GAMMA_SENTENCE, ON_LINE, "1/2"),
                     "one exact case (every case: the term m = n forces gamma >= 1)",
                     note="Read literally (m = n) the sentence forces gamma = 1 whenever W(n,n) > 0. The proof needs "
                          "gamma < 1: Q(0) = C_c (1 - gamma) > 0 (Eq. 38's sentence); with gamma = 1, r1 = 0 and no "
                          "beta is left in Eq. 39."),
    correction=Correction(
        "Define gamma := p W(n,n) / tr(W) (= p b^T W b / C_c): every use in Eq. 21 holds with equality, and "
        "0 <= gamma < 1 by Eq. 6 (diag(W) not constant).",
        Proved("p <= 6, every k and |S| (z3; gamma < 1 is p W(n,n) < tr(W))", lemma=lemma_min_below_mean,
               cross_check=relation("eq6.gamma.corrected", "<", _gamma_corrected)),
        "proved", kind="restatement"))


def lemma_weighted_sum(z3):
    """Eq. 2's mechanism, one term at a time: 0 <= a <= c and x >= 0 give a x <= c x; summed over the terms (any
    number of them), sum_m a_m x_m <= c sum_m x_m."""
    a, c, x = z3.Reals("a c x")
    return [a >= 0, a <= c, x >= 0], a * x <= c * x


# --- Eq. 5 ---------------------------------------------------------------------------------------------------

def _eq5(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(coupling(c.Z), arith.trace(c.W))


EQ5 = claim("eq5", "C_c = tr(W)", registry=CLAIMS, expected="certified",
            decide=identity("eq5", _eq5, "sum_s sum_{i<j} ||z_si - z_sj||^2 against tr(sum_{i<j} W_ij)"))


# --- Eq. 6 ---------------------------------------------------------------------------------------------------

def _eq6(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(c.W_nn, arith.trace(c.W) / c.p, scale=c.C)


EQ6 = claim(
    "eq6", "b^T W b < tr(W)/p  (the strict inequality is due to the non-identical diagonal values assumption)",
    registry=CLAIMS, expected="proved",
    decide=Proved("p <= 6, every k and |S| (z3: the smallest of p non-negative reals, not all equal, is below "
                  "their mean)", lemma=lemma_min_below_mean, cross_check=relation("eq6", "<", _eq6)))


# --- Eq. 7 ---------------------------------------------------------------------------------------------------

def _eq7_trace(arrays, c: Construction) -> srch.Sides:
    ones = np.ones(c.b.shape, dtype=c.b.dtype)
    return srch.Sides(arith.trace(arith.outer(ones, c.b) @ c.W), row_n(c.W, c.b).sum(axis=-1))


def _geometric(c: Construction):
    """sum_m sqrt(W(n,n) W(m,m))."""
    return arith.sqrt(c.W_nn[..., None] * _diag(c)).sum(axis=-1)


def _arithmetic(c: Construction):
    """sum_m (W(n,n) + W(m,m)) / 2."""
    return ((c.W_nn[..., None] + _diag(c)) / 2).sum(axis=-1)


def _eq7_cs(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(row_n(c.W, c.b), arith.sqrt(c.W_nn[..., None] * _diag(c)), scale=c.C)


def _eq7_am_gm(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(_geometric(c), _arithmetic(c), scale=c.C)


def _eq7_total(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(_arithmetic(c), arith.trace(c.W), scale=c.C)


def _eq7(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(row_n(c.W, c.b).sum(axis=-1), arith.trace(c.W), scale=c.C)


def lemma_cauchy_schwarz(z3):
    """A term of Eq. 7's first '<=': W(n,m) <= sqrt(W(n,n) W(m,m)) for a positive semi-definite W, whose 2 x 2
    principal minor gives W(n,m)^2 <= W(n,n) W(m,m); s = sqrt(W(n,n) W(m,m)) >= 0."""
    a, cc, x, s = z3.Reals("Wnn Wmm Wnm s")
    return [a >= 0, cc >= 0, x * x <= a * cc, s >= 0, s * s == a * cc], x <= s


def lemma_am_gm(z3):
    """One term of Eq. 7's AM-GM step: s = sqrt(W(n,n) W(m,m)) <= (W(n,n) + W(m,m))/2, with equality only when
    W(m,m) = W(n,n). Summed over m this is the printed '<' as soon as one W(m,m) differs from W(n,n), which the
    non-identical diagonal values assumption provides."""
    a, cc, s = z3.Reals("Wnn Wmm s")
    return ([a >= 0, cc >= 0, s >= 0, s * s == a * cc],
            z3.And(s <= (a + cc) / 2, z3.Implies(a != cc, s < (a + cc) / 2)))


def lemma_total(z3):
    """sum_m (w_n + w_m)/2 < sum_m w_m for p = 2..6 non-negative reals, not all equal, w_n the smallest."""
    hyps, concl = [], []
    for p in P_RANGE:
        w = z3.Reals(" ".join(f"w{p}_{m}" for m in range(p)))
        hyps += [x >= 0 for x in w] + [w[0] <= x for x in w] + [z3.Or([x != w[0] for x in w[1:]])]
        concl.append(z3.Sum([(w[0] + wm) / 2 for wm in w]) < z3.Sum(w))
    return hyps, z3.And(concl)


EQ7_TRACE = claim("eq7.trace", "tr(1 b^T W) = sum_m W(n,m)", registry=CLAIMS, expected="certified",
                  decide=identity("eq7.trace", _eq7_trace))
EQ7_CS = claim(
    "eq7.cauchy_schwarz", "sum_m W(n,m) <= sum_m sqrt(W(n,n) W(m,m))  (the first inequality, by Cauchy-Schwarz)",
    registry=CLAIMS, expected="proved",
    decide=Proved("every term m, all k, p, |S| (W is positive semi-definite)", lemma=lemma_cauchy_schwarz,
                  cross_check=relation("eq7.cauchy_schwarz", "<=", _eq7_cs)))
EQ7_AM_GM = claim(
    "eq7.am_gm", "sum_m sqrt(W(n,n) W(m,m)) < sum_m (W(n,n) + W(m,m))/2  (AM-GM, strict by the non-identical "
    "diagonal values assumption)", registry=CLAIMS, expected="proved",
    decide=Proved("every term m, all k, p, |S| (strict for the m with W(m,m) != W(n,n), which the hypothesis "
                  "provides)", lemma=lemma_am_gm,
                  cross_check=relation("eq7.am_gm", "<", _eq7_am_gm)))
EQ7_TOTAL = claim(
    "eq7.total", "sum_m (W(n,n) + W(m,m))/2 < tr(W)", registry=CLAIMS, expected="proved", uses=("eq6",),
    decide=Proved("p <= 6, every k and |S| (z3; equivalent to p W(n,n) < tr(W), Eq. 6)", lemma=lemma_total,
                  cross_check=relation("eq7.total", "<", _eq7_total)))
EQ7 = claim(
    "eq7", "tr(1 b^T W) < tr(W)  (the whole chain of Eq. 7)", registry=CLAIMS, expected="proved",
    uses=("eq7.trace", "eq7.cauchy_schwarz", "eq7.am_gm", "eq7.total"),
    decide=Chain(tuple((c.id, c.decide) for c in (EQ7_TRACE, EQ7_CS, EQ7_AM_GM, EQ7_TOTAL)),
                 "a = b <= c < d < e gives a < e", cross_check=relation("eq7", "<", _eq7),
                 note="tr(1 b^T W) itself can be negative; the bound still holds."))


# --- Eq. 8 ---------------------------------------------------------------------------------------------------

def _eq8_abs(arrays, c: Construction) -> srch.Sides:
    r = c.V_row                                                   # (..., k, p): V_i(n, m)
    return srch.Sides((r, -1.0), (1.0, r))                                # -1 <= V_i(n, m) <= 1


def lemma_correlation(z3):
    """|x| <= 1 for the off-diagonal entry x of a 2 x 2 principal minor [[1, x], [x, 1]] >= 0 of V_i (positive
    semi-definite with unit diagonal: the k-CBNAE)."""
    x = z3.Real("Vnm")
    return [1 - x * x >= 0], z3.And(x <= 1, x >= -1)


EQ8_ABS = claim(
    "eq8.abs_bound", "|V_i(n,m)| <= 1 due to the Cauchy-Schwarz inequality", origin="sentence", registry=CLAIMS,
    expected="proved",
    decide=Proved("every entry, all k, p, |S| (V_i is positive semi-definite with unit diagonal)",
                  lemma=lemma_correlation, cross_check=relation("eq8.abs_bound", "<=", _eq8_abs)))


def _min_corr(c: Construction):
    """min_m V_i(n, m) per arm: (..., k)."""
    return -((-c.V_row).max(axis=-1))


def _eq8(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(_min_corr(c), 1.0)


def _gap_arms(arrays, c: Construction) -> np.ndarray:
    """1.0 for the arms with a coordinate gap >= eps somewhere, 0.0 otherwise: (..., k), exact floats."""
    gaps = arith.coordinate_range(arith.value(c.Z)).max(axis=-1)        # (..., k)
    eps = arith.value(arrays["eps"])[..., None]
    return (gaps >= eps).astype(np.float64)


def _eq8_gap_arms(arrays, c: Construction) -> srch.Sides:
    """min_m V_i(n,m) < 1 on the arms with a gap; the other arms are given -1 (always below 1)."""
    g = _gap_arms(arrays, c)
    return srch.Sides(_min_corr(c) * g - (1.0 - g), 1.0)


EQ8_SENTENCE = relation("eq8", "<", _eq8, steer=False)

EQ8 = claim(
    "eq8", "min_m V_i(n,m) < 1 (every arm i), because equality implies |z_si(m) - z_si(m')| < eps for any m, m', s, "
    "i, eps > 0, again due to Cauchy-Schwarz", registry=CLAIMS, expected="fails", uses=("eq8.abs_bound",),
    decide=Witnessed(lambda: exact_check(EQ8_SENTENCE, ON_LINE, "1/2"), "one exact case: an arm on the line",
                     also=Searched(EQ8_SENTENCE),
                     note="Equality min_m V_i(n,m) = 1 puts arm i itself on the line; the hypothesis gives a gap for "
                          "SOME s, i, not for every arm. Eq. 8 is used for Eqs. 11-12 only, which hold for every arm "
                          "anyway (V_i(n,n) = 1 gives D_i(n,n) = 1/(1+beta) < 1/(1-beta))."),
    correction=Correction(
        "min_m V_i(n,m) < 1 for every arm i that has a coordinate gap >= eps (at least one arm, by hypothesis): "
        "if V_i(n,m) = 1 for all m, then sum_s (z_si(m) - z_si(n))^2 = 2(|S|-1)(1 - V_i(n,m)) = 0 and the arm lies "
        "on the line", Searched(relation("eq8.corrected", "<", _eq8_gap_arms)), "searched", kind="restatement"))


__all__ = ["CLAIMS", "ON_LINE", "lemma_min_below_mean"]
