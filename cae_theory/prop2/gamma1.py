"""Prop. 2's proof, Gamma_1 and its bound, Eqs. 16-22 (supplement).

    Gamma_1 = sum_s sum_{i<j} [M_i (z_si - z_sj)]^T [M_i (z_si - z_sj)]                                  (16)
            = sum_{i<j} tr([D_i 1 b^T + beta D_i] W_ij [b 1^T D_i^T + beta D_i^T])                       (17)
            = sum_{i<j} tr(1^T D_i^T D_i 1 (b^T W_ij b)) + 2 beta sum_{i<j} tr(D_i^T D_i 1 b^T W_ij)
              + beta^2 sum_{i<j} tr(D_i^T D_i W_ij)                                                      (18)
            = sum_m D_i(m,m)^2 tr(b^T W b) + (the same two terms)                                         (19)
            < p b^T W b/(1-beta)^2 + 2 beta/(1-beta)^2 tr(1 b^T W) + beta^2/(1-beta)^2 tr(W)              (20)
            < gamma C_c/(1-beta)^2 + 2 beta C_c/(1-beta)^2 + beta^2 C_c/(1-beta)^2                       (21)
            < (gamma + 3 beta) C_c/(1-beta)^2                                                            (22)
    "where we used Eq. 2 in Eq. 20, and Eqs. 5, 6 and 7 in Eq. 22."

A line that is a sum of three terms is also checked term by term (``eqN.termK``). Relations homogeneous in W
are measured relative to C_c = tr(W) (their margins would otherwise vanish with W).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from cae_theory import arith
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Chain, Proved, Searched, Witnessed
from cae_theory.prop2.construction import (Construction, entry_nn, exact_check, identity, per_case, relation,
                                           row_n, shared)
from cae_theory.prop2.eqs5_8 import EQ7, lemma_min_below_mean, lemma_weighted_sum
from cae_theory.prop2.notation import pair_differences, pairs

CLAIMS: list = []

#: Exact codes (|S| = 3, k = p = 2) with W(n, n) = 0 (both arms agree in coordinate 0) and V_0(n, 1) = -1: Gamma_1
#: equals the right side of Eq. 20 exactly, so every strict '<' of Eqs. 20-21 fails there by equality.
EQUALITY_CODES = [[[1, -1], [-1, 1], [0, 0]], [[1, 0], [-1, 1], [0, -1]]]
#: Exact codes on which the second term of Eq. 20 fails robustly: -0.825 > -4 (beta = 1/2).
TERM2_CODES = [[[-1, 0], [0, -1], [1, 1]], [[0, -1], [-1, 1], [1, 0]]]
#: Exact codes (k = 3) on which the first term of Eq. 19 differs from Eq. 18's for every reading of its arm index.
EQ19_CODES = [[[-1, -1], [0, 0], [1, 1]], [[0, 0], [-1, 1], [1, -1]], [[1, 1], [0, -1], [-1, 0]]]


def _first_arm(c: Construction, x):
    """The first arm i of every pair i < j: ``(..., k, p) -> (..., P, p)``."""
    I, _ = pairs(c.k)
    return x[..., I, :]


def _s(c: Construction, extra: int = 0):
    """1/(1-beta)^2 per case."""
    beta = per_case(c.beta, extra)
    return 1 / ((1 - beta) * (1 - beta))


# --- quantities -----------------------------------------------------------------------------------------------

def gamma1_eq16(c: Construction):
    """Gamma_1 by its definition, Eq. 16 (from the codes)."""
    I, _ = pairs(c.k)
    y = pair_differences(c.Z) @ c.M[..., I, :, :].mT                  # (..., P, S, p): M_i (z_si - z_sj)
    return (y * y).sum(axis=(-3, -2, -1))


@shared
def gamma1(c: Construction):
    """Gamma_1 in the form of Eq. 17, sum_{i<j} tr(M_i W_ij M_i^T) (from the statistics; equal to Eq. 16,
    certified by eq17), the form the searches use."""
    I, _ = pairs(c.k)
    MI = c.M[..., I, :, :]
    return arith.trace(MI @ c.Wp @ MI.mT).sum(axis=-1)


@shared
def eq18_terms(c: Construction):
    """(sum_{i<j} (1^T D_i^2 1)(b^T W_ij b), 2 beta sum_{i<j} tr(D_i^2 1 b^T W_ij), beta^2 sum_{i<j} tr(D_i^2 W_ij))."""
    d2 = _first_arm(c, c.d * c.d)                                      # (..., P, p): D_i(m,m)^2, i first in pair
    beta = c.beta
    t1 = (d2.sum(axis=-1) * entry_nn(c.Wp, c.b)).sum(axis=-1)
    t2 = 2 * beta * (d2 * row_n(c.Wp, c.b)).sum(axis=(-2, -1))          # tr(D^2 1 b^T W) = sum_m D_m^2 W(n, m)
    t3 = beta * beta * (d2 * arith.diagonal(c.Wp)).sum(axis=(-2, -1))
    return t1, t2, t3


@shared
def eq19_first_terms(c: Construction):
    """The first term of Eq. 19 as printed, sum_m D_i(m,m)^2 tr(b^T W b), for each arm i (its index is free):
    ``(..., k)``."""
    return (c.d * c.d).sum(axis=-1) * c.W_nn[..., None]


@shared
def eq20_terms(c: Construction):
    ones = np.ones(c.b.shape, dtype=c.b.dtype)
    s, beta = _s(c), c.beta
    return (c.p * c.W_nn * s, 2 * beta * s * arith.trace(arith.outer(ones, c.b) @ c.W),
            beta * beta * s * c.C)


@shared
def eq21_terms(c: Construction):
    s, beta = _s(c), c.beta
    return c.gamma * c.C * s, 2 * beta * c.C * s, beta * beta * c.C * s


@shared
def eq22(c: Construction):
    return (c.gamma + 3 * c.beta) * c.C * _s(c)


def _sum(terms):
    return terms[0] + terms[1] + terms[2]


def _step(before, after, name: str, k: int | None = None):
    """The sides of one step of the chain Eq. 18 -> Eq. 20 -> Eq. 21: ``before(c)`` and ``after(c)`` are the three
    terms of each side; the whole sums (``k`` None) or term ``k`` alone."""
    def sides(arrays, c: Construction) -> srch.Sides:
        lhs, rhs = before(c), after(c)
        return srch.Sides(_sum(lhs), _sum(rhs), scale=c.C) if k is None else srch.Sides(lhs[k], rhs[k], scale=c.C)
    sides.__name__ = name if k is None else f"{name}_term{k + 1}"
    return sides


# --- Eqs. 16-18: identities -------------------------------------------------------------------------------------

def _eq16(arrays, c: Construction) -> srch.Sides:
    """Gamma_1 (Eq. 16) is the sum over s and i < j of the squared first summand of Eq. 33, M_i (z_si - z_sj),
    and a sum of squares: it equals the same sum of squares computed summand by summand."""
    I, _ = pairs(c.k)
    d = pair_differences(c.Z)
    per_pair = ((d @ c.M[..., I, :, :].mT) * (d @ c.M[..., I, :, :].mT)).sum(axis=(-2, -1))
    return srch.Sides(gamma1_eq16(c), per_pair.sum(axis=-1))


EQ16 = claim("eq16", "Gamma_1 = sum_s sum_{i<j} [M_i (z_si - z_sj)]^T [M_i (z_si - z_sj)]  (the first part of the "
             "split of Eq. 33; a sum of squares, so Gamma_1 >= 0 as Eq. 34's square root needs)",
             registry=CLAIMS, expected="certified", uses=("eq9",),
             decide=identity("eq16", _eq16, "the definition evaluated two ways (all at once, pair by pair)"))


def _eq17(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(gamma1_eq16(c), gamma1(c), scale=c.C)


EQ17 = claim("eq17", "Gamma_1 (Eq. 16) = sum_{i<j} tr([D_i 1 b^T + beta D_i] W_ij [b 1^T D_i^T + beta D_i^T])",
             registry=CLAIMS, expected="certified", uses=("eq16",), decide=identity("eq17", _eq17))


def _eq18(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(gamma1(c), _sum(eq18_terms(c)), scale=c.C)


EQ18 = claim("eq18", "Eq. 17 = sum_{i<j} tr(1^T D_i^T D_i 1 (b^T W_ij b)) + 2 beta sum_{i<j} tr(D_i^T D_i 1 b^T W_ij) "
             "+ beta^2 sum_{i<j} tr(D_i^T D_i W_ij)", registry=CLAIMS, expected="certified", uses=("eq17",),
             decide=identity("eq18", _eq18))


# --- Eq. 19 --------------------------------------------------------------------------------------------------------

def _eq19_printed(arrays, c: Construction) -> srch.Sides:
    """Eq. 18's first term against the CLOSEST of the k readings of Eq. 19's free arm index (the printed line
    fails only if every reading fails): the relation is '=' on the reading with the smallest difference."""
    t1 = eq18_terms(c)[0]
    readings = eq19_first_terms(c)                                      # (..., k)
    gap = arith.value(readings) - arith.value(t1)[..., None]
    best = np.argmin(np.abs(gap), axis=-1)
    pick = (np.arange(c.k) == best[..., None]).astype(np.int64 if arith.is_symbolic(c.Z) else np.float64)
    if arith.is_symbolic(c.Z):
        pick = pick.astype(object)
    return srch.Sides(t1, (readings * pick).sum(axis=-1), scale=c.C)


def _eq19_corrected(arrays, c: Construction) -> srch.Sides:
    """sum_{i<j} tr(D_i^2) b^T W_ij b <= max_i tr(D_i^2) b^T W b (because b^T W_ij b >= 0)."""
    trd2 = (c.d * c.d).sum(axis=-1)                                     # (..., k)
    return srch.Sides(eq18_terms(c)[0], trd2.max(axis=-1) * c.W_nn, scale=c.C)


EQ19_PRINTED = relation("eq19", "=", _eq19_printed, steer=False)

EQ19 = claim(
    "eq19", "Eq. 18 = sum_m D_i(m,m)^2 tr(b^T W b) + 2 beta sum_{i<j} tr(D_i^T D_i 1 b^T W_ij) + beta^2 sum_{i<j} "
    "tr(D_i^T D_i W_ij)", registry=CLAIMS, expected="fails", uses=("eq18",),
    decide=Witnessed(lambda: exact_check(EQ19_PRINTED, EQ19_CODES, "1/2"), "one exact case, k = 3",
                     also=Searched(EQ19_PRINTED),
                     note="The first term drops the pair sum: sum_{i<j} tr(D_i^2) b^T W_ij b equals tr(D_i^2) b^T W b "
                          "only if tr(D_i^2) is the same for every arm that comes first in a pair (true for k = 2). "
                          "Checked against the closest of the k readings of the free index i."),
    correction=Correction(
        "sum_{i<j} (1^T D_i^2 1)(b^T W_ij b) <= max_i tr(D_i^2) b^T W b (since b^T W_ij b >= 0), which is all "
        "Eq. 20 needs (<= p b^T W b/(1-beta)^2 by Eq. 12)",
        Proved("every term, all k, p, |S| (z3): a weighted sum with weights b^T W_ij b >= 0 and values "
               "tr(D_i^2) <= max_i tr(D_i^2)", lemma=lemma_weighted_sum,
               cross_check=relation("eq19.corrected", "<=", _eq19_corrected)), "proved"))


# --- Eq. 20 --------------------------------------------------------------------------------------------------------

_eq20 = _step(eq18_terms, eq20_terms, "_eq20")


def _eq20_term(k: int):
    return _step(eq18_terms, eq20_terms, "_eq20", k)


def _eq20_term2_corrected(arrays, c: Construction) -> srch.Sides:
    """2 beta sum_{i<j} tr(D_i^2 1 b^T W_ij) <= 2 beta/(1-beta)^2 sum_m sqrt(W(n,n) W(m,m)) (the middle of Eq. 7)."""
    geo = arith.sqrt(c.W_nn[..., None] * c.W_diag).sum(axis=-1)
    return srch.Sides(eq18_terms(c)[1], 2 * c.beta * _s(c) * geo, scale=c.C)


def certify_quadratic_forms() -> dict:
    """Per pair, tr([D 1 b^T + beta D] W [b 1^T D + beta D]) = sum_m D(m,m)^2 (e_n + beta e_m)^T W (e_n + beta e_m)
    for symmetric W, diagonal D, b = e_n (p = 1..3, every n): each quadratic form is >= 0 for a scatter matrix
    W_ij, and D(m,m)^2 <= 1/(1-beta)^2 then bounds Gamma_1 by the right side of Eq. 20 without Eq. 2."""
    beta = sp.Symbol("beta", positive=True)
    for p in (1, 2, 3):
        W = arith.symbols("W", (p, p), real=True)
        W = np.triu(W) + np.triu(W, 1).T
        d = arith.symbols("d", (p,), positive=True)
        for n in range(p):
            e = np.eye(p, dtype=object)
            P = np.outer(np.ones(p, dtype=object), e[n]) + beta * np.eye(p, dtype=object)
            M = d[:, None] * P
            lhs = np.trace(M @ W @ M.T)
            rhs = sum(d[m] ** 2 * ((e[n] + beta * e[m]) @ W @ (e[n] + beta * e[m])) for m in range(p))
            if sp.expand(lhs - rhs) != 0:
                return {"ok": False, "failed_at": {"p": p, "n": n}}
    return {"ok": True, "sizes": "p = 1, 2, 3, every n", "scope": "p <= 3 (symbolic W, D, beta)"}


EQ20_SENTENCE = relation("eq20", "<", _eq20, steer=False)
EQ20_TERMS = [relation(f"eq20.term{k + 1}", "<", _eq20_term(k), steer=False) for k in range(3)]

EQ20 = claim(
    "eq20", "Eq. 19 < p b^T W b/(1-beta)^2 + 2 beta/(1-beta)^2 tr(1 b^T W) + beta^2/(1-beta)^2 tr(W)  (whole line; "
    "the left side read as Gamma_1 in the form of Eq. 18)", registry=CLAIMS, expected="fails",
    uses=("eq19", "eq2.bound", "eq10.bounds", "eq12"),
    decide=Witnessed(lambda: exact_check(EQ20_SENTENCE, EQUALITY_CODES, "1/2"), "one exact case (equality)",
                     also=Searched(EQ20_SENTENCE),
                     note="Fails only by equality: when W(n,n) = 0 and V_i(n,m) = -1 wherever W_ij(m,m) > 0 both "
                          "sides are equal. Eq. 21 is strict (Eq. 7), so the end result of the chain survives "
                          "(eq22.chain)."),
    correction=Correction(
        "Gamma_1 <= p b^T W b/(1-beta)^2 + 2 beta/(1-beta)^2 tr(1 b^T W) + beta^2/(1-beta)^2 tr(W) (non-strict). "
        "A valid proof: Gamma_1 = sum_{i<j} sum_m D_i(m,m)^2 (e_n + beta e_m)^T W_ij (e_n + beta e_m) (certified), "
        "each quadratic form >= 0, and D_i(m,m)^2 <= 1/(1-beta)^2 -- not Eq. 2 term by term",
        Proved("p <= 3 for the identity (sympy); the inequality then follows entry by entry from Eq. 10's bounds",
               symbolic=certify_quadratic_forms, cross_check=relation("eq20.corrected", "<=", _eq20)),
        "proved", kind="restatement"))

EQ20_TERM1 = claim(
    "eq20.term1", "sum_m D_i(m,m)^2 b^T W b < p b^T W b/(1-beta)^2  (first term; left side read as Eq. 18's first "
    "term)", registry=CLAIMS, expected="fails", uses=("eq12",),
    decide=Witnessed(lambda: exact_check(EQ20_TERMS[0], EQUALITY_CODES, "1/2"), "one exact case (equality)",
                     note="Strictness needs b^T W b = W(n,n) > 0, but W(n,n) = 0 is allowed (every arm agrees in "
                          "coordinate n): then 0 < 0."),
    correction=Correction("<= (non-strict): sum_{i<j} tr(D_i^2) b^T W_ij b <= p b^T W b/(1-beta)^2",
                          Proved("every term, all k, p, |S| (z3): values D_i(m,m)^2 <= 1/(1-beta)^2 (eq10.bounds), "
                                 "weights W_ij(n,n) >= 0", lemma=lemma_weighted_sum,
                                 cross_check=relation("eq20.term1.corrected", "<=", _eq20_term(0))), "proved"))

EQ20_TERM2 = claim(
    "eq20.term2", "2 beta sum_{i<j} tr(D_i^T D_i 1 b^T W_ij) < 2 beta/(1-beta)^2 tr(1 b^T W)  (second term, "
    "'we used Eq. 2 in Eq. 20')", registry=CLAIMS, expected="fails", uses=("eq2.bound", "eq10.bounds"),
    decide=Witnessed(lambda: exact_check(EQ20_TERMS[1], TERM2_CODES, "1/2"), "one exact case (robust: -0.825 > -4)",
                     also=Searched(EQ20_TERMS[1]),
                     note="Eq. 2 needs B = 1 b^T W_ij to have a non-negative diagonal, but its diagonal W_ij(n,m) "
                          "can be negative (and tr(1 b^T W) < 0): D_i(m,m)^2 then weights negative entries by less "
                          "than 1/(1-beta)^2. The cross-reference 'Eq. 2 in Eq. 20' does not hold."),
    correction=Correction(
        "2 beta sum_{i<j} tr(D_i^2 1 b^T W_ij) <= 2 beta/(1-beta)^2 sum_m sqrt(W(n,n) W(m,m)) (the middle of Eq. 7), "
        "still < 2 beta C_c/(1-beta)^2, so Eq. 21 and the chain are unaffected",
        Searched(relation("eq20.term2.corrected", "<=", _eq20_term2_corrected)), "searched"))

EQ20_TERM3 = claim(
    "eq20.term3", "beta^2 sum_{i<j} tr(D_i^T D_i W_ij) < beta^2/(1-beta)^2 tr(W)  (third term)", registry=CLAIMS,
    expected="fails", uses=("eq2.bound", "eq10.bounds"),
    decide=Witnessed(lambda: exact_check(EQ20_TERMS[2], EQUALITY_CODES, "1/2"), "one exact case (equality)",
                     note="Equality when D_i(m,m) = 1/(1-beta) (V_i(n,m) = -1) for every m with W_ij(m,m) > 0."),
    correction=Correction("<= (non-strict), by Eq. 2 with B = W_ij (non-negative diagonal) and "
                          "D_i(m,m)^2 <= 1/(1-beta)^2",
                          Proved("every term, all k, p, |S| (z3, Eq. 2's mechanism): values D_i(m,m)^2 <= "
                                 "1/(1-beta)^2 (eq10.bounds), weights W_ij(m,m) >= 0", lemma=lemma_weighted_sum,
                                 cross_check=relation("eq20.term3.corrected", "<=", _eq20_term(2))), "proved"))


# --- Eq. 21 --------------------------------------------------------------------------------------------------------

_eq21 = _step(eq20_terms, eq21_terms, "_eq21")


def _eq21_term(k: int):
    return _step(eq20_terms, eq21_terms, "_eq21", k)


EQ21_TERMS = [relation(f"eq21.term{k + 1}", "<", _eq21_term(k), steer=(k == 1)) for k in range(3)]
#: Terms 1 and 3 of Eqs. 20 and 21 are equal by the definitions of gamma and C_c = tr(W) (Eq. 5).
TERM1_EQUAL = identity("eq21.term1.corrected", _eq21_term(0), "p W(n,n)/(1-beta)^2 = gamma tr(W)/(1-beta)^2")
TERM3_EQUAL = identity("eq21.term3.corrected", _eq21_term(2), "beta^2 tr(W)/(1-beta)^2 = beta^2 C_c/(1-beta)^2")

EQ21 = claim(
    "eq21", "Eq. 20 < gamma C_c/(1-beta)^2 + 2 beta C_c/(1-beta)^2 + beta^2 C_c/(1-beta)^2  (whole line; "
    "gamma = p W(n,n)/tr(W))", registry=CLAIMS, expected="proved", uses=("eq5", "eq6", "eq7", "eq6.gamma"),
    decide=Chain((("eq7", EQ7.decide), ("eq21.term1 as '='", TERM1_EQUAL), ("eq21.term3 as '='", TERM3_EQUAL)),
                 "terms 1 and 3 are equal (certified), the middle one is strict by Eq. 7 (times 2 beta/(1-beta)^2 "
                 "> 0)", cross_check=relation("eq21", "<", _eq21)))

EQ21_TERM1 = claim(
    "eq21.term1", "p b^T W b/(1-beta)^2 < gamma C_c/(1-beta)^2  (first term; gamma = p W(n,n)/tr(W))",
    registry=CLAIMS, expected="fails", uses=("eq6.gamma",),
    decide=Witnessed(lambda: exact_check(EQ21_TERMS[0], EQUALITY_CODES, "1/2"), "every case (equality)",
                     note="With the gamma the proof needs (the smallest with p b^T W b <= gamma C_c) the two sides "
                          "are equal for every case; with the literal gamma = 1 the term is strict (Eq. 6) but "
                          "Q(0) = 0 (see eq6.gamma)."),
    correction=Correction("= (equality, by the definition of gamma)", TERM1_EQUAL, "certified"))

EQ21_TERM2 = claim(
    "eq21.term2", "2 beta tr(1 b^T W)/(1-beta)^2 < 2 beta C_c/(1-beta)^2  (second term, Eq. 7)", registry=CLAIMS,
    expected="proved", uses=("eq7",),
    decide=Chain((("eq7", EQ7.decide),), "Eq. 7 times 2 beta/(1-beta)^2 > 0", cross_check=EQ21_TERMS[1]))

EQ21_TERM3 = claim(
    "eq21.term3", "beta^2 tr(W)/(1-beta)^2 < beta^2 C_c/(1-beta)^2  (third term)", registry=CLAIMS,
    expected="fails", uses=("eq5",),
    decide=Witnessed(lambda: exact_check(EQ21_TERMS[2], EQUALITY_CODES, "1/2"), "every case (equality, Eq. 5)",
                     note="The two sides are equal for every case by Eq. 5; '<' should be '='."),
    correction=Correction("= (tr(W) = C_c is Eq. 5)", TERM3_EQUAL, "certified"))


# --- Eq. 22 and the end of the chain -----------------------------------------------------------------------------

def lemma_eq22(z3):
    """gamma C + 2 beta C + beta^2 C < (gamma + 3 beta) C for C > 0 and 0 < beta < 1 (beta^2 < beta); the common
    factor 1/(1-beta)^2 > 0 is dropped."""
    g, b, C = z3.Reals("gamma beta C")
    return [C > 0, b > 0, b < 1, g >= 0], g * C + 2 * b * C + b * b * C < (g + 3 * b) * C


def _eq22(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(_sum(eq21_terms(c)), eq22(c), scale=c.C)


def _eq22_chain(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(gamma1(c), eq22(c), scale=c.C)


EQ22 = claim(
    "eq22", "gamma C_c/(1-beta)^2 + 2 beta C_c/(1-beta)^2 + beta^2 C_c/(1-beta)^2 < (gamma + 3 beta) C_c/(1-beta)^2",
    registry=CLAIMS, expected="proved",
    decide=Proved("every case (a lemma in gamma, beta, C)", lemma=lemma_eq22, cross_check=relation("eq22", "<", _eq22)))

EQ22_CROSSREF = claim(
    "eq22.uses", "'we used Eq. 2 in Eq. 20, and Eqs. 5, 6 and 7 in Eq. 22'", origin="sentence", registry=CLAIMS,
    expected="fails", uses=("eq20.term2", "eq21"),
    decide=Witnessed(lambda: exact_check(EQ20_TERMS[1], TERM2_CODES, "1/2"),
                     "the cross-reference 'Eq. 2 in Eq. 20' on one exact case",
                     note="Eq. 2 does not give Eq. 20's second term (eq20.term2). Eqs. 5, 6 and 7 are used in Eq. 21 "
                          "(its three terms), not in Eq. 22, which needs only beta^2 < beta."),
    correction=Correction("Eq. 20 follows from Eq. 10's bounds applied to a sum of non-negative quadratic forms "
                          "(eq20's correction); Eqs. 5, 6, 7 give Eq. 21; beta^2 < beta gives Eq. 22",
                          Proved("every case", lemma=lemma_eq22), "proved", kind="restatement"))

EQ22_CHAIN = claim(
    "eq22.chain", "Gamma_1 (Eq. 16) < (gamma + 3 beta) C_c/(1-beta)^2 (Eq. 22): the end result used in Eq. 35",
    registry=CLAIMS, expected="searched", uses=("eq16", "eq20", "eq21", "eq22"),
    decide=Searched(relation("eq22.chain", "<", _eq22_chain),
                    note="Gamma_1 <= Eq. 20 (corrected, non-strict) < Eq. 21 (strict by Eq. 7) < Eq. 22: the end "
                         "result holds although Eqs. 19, 20 (terms) and 21 (terms) fail as printed."))


__all__ = ["CLAIMS", "eq18_terms", "eq20_terms", "eq21_terms", "eq22", "gamma1", "gamma1_eq16"]
