"""Gamma_1 of Prop. 2's proof and every printed step of its bound, Eqs. 16-22, plus the corrected bounds.

All functions take the construction ``c`` of :func:`cae_theory.batchnorm_construction.batchnorm_construction`
(codes ``c.Z: (k, S, p)``, ``c.D, c.M: (k, p, p)``, ``c.W: (p, p)``, ``c.b = e_n``, ``c.beta``, ``c.gamma``).
A line of the proof that is a sum of three terms is returned as a tuple of its three terms, in print order, so
the ledger can check a line both term by term and as a whole.

Printed (supplement):
  Gamma_1 = sum_s sum_{i<j} [M_i (z_si - z_sj)]^T [M_i (z_si - z_sj)]                                 (16)
          = sum_{i<j} tr([D_i 1 b^T + beta D_i] W_ij [b 1^T D_i^T + beta D_i^T])                      (17)
          = sum_{i<j} tr(1^T D_i^T D_i 1 (b^T W_ij b)) + 2 beta sum_{i<j} tr(D_i^T D_i 1 b^T W_ij)
            + beta^2 sum_{i<j} tr(D_i^T D_i W_ij)                                                    (18)
          = sum_m D_i(m, m)^2 tr(b^T W b) + (the same two terms)                                     (19)
          < p b^T W b / (1-beta)^2 + 2 beta tr(1 b^T W) / (1-beta)^2 + beta^2 tr(W) / (1-beta)^2     (20)
          < gamma C_c / (1-beta)^2 + 2 beta C_c / (1-beta)^2 + beta^2 C_c / (1-beta)^2               (21)
          < (gamma + 3 beta) C_c / (1-beta)^2                                                        (22)
"""
from __future__ import annotations

import numpy as np

from cae_theory.batchnorm_construction import BatchnormConstruction, require_construction
from cae_theory.statistics import pair_scatter

Terms = tuple[float, float, float]


def _construction(c) -> BatchnormConstruction:
    return require_construction(c, "c")


def _pairs(c: BatchnormConstruction):
    k = c.Z.shape[0]
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def gamma1(c) -> float:
    """Gamma_1 by its definition, Eq. 16: sum over s and i < j of ||M_i (z_si - z_sj)||^2."""
    c = _construction(c)
    total = 0.0
    for i, j in _pairs(c):
        diff = c.Z[i] - c.Z[j]                       # (S, p), rows z_si - z_sj
        total += float(((diff @ c.M[i].T) ** 2).sum())
    return total


def gamma1_eq17(c) -> float:
    """Eq. 17: sum_{i<j} tr([D_i 1 b^T + beta D_i] W_ij [b 1^T D_i^T + beta D_i^T])."""
    c = _construction(c)
    p = c.W.shape[0]
    one_b = np.outer(np.ones(p), c.b)
    total = 0.0
    for i, j in _pairs(c):
        left = c.D[i] @ one_b + c.beta * c.D[i]
        total += float(np.trace(left @ pair_scatter(c.Z, i, j) @ left.T))
    return total


#: Unit roundoff of float64 (round to nearest): fl(x op y) = (x op y)(1 + delta), |delta| <= U.
U = 2.0 ** -53


def _gamma(n: int) -> float:
    """Higham's gamma_n = n u / (1 - n u): the relative error bound of n successive roundings."""
    return n * U / (1.0 - n * U)


def gamma1_abs(c) -> float:
    """The error scale of Eqs. 16-17 in float64: sum_{i<j} sum_s || |M_i| |z_si - z_sj| ||^2 (>= Gamma_1, and
    equal to it when no coordinate of M_i (z_si - z_sj) cancels; |.| elementwise). ``c``: the construction."""
    c = _construction(c)
    return float(sum(((np.abs(c.Z[i] - c.Z[j]) @ np.abs(c.M[i]).T) ** 2).sum() for i, j in _pairs(c)))


def eq17_rounding_bound(c) -> float:
    """A rigorous bound on |gamma1(c) - gamma1_eq17(c)| -- the float64 results of Eq. 16 and Eq. 17, which are
    equal in exact arithmetic for the float M_i of ``c`` (Eq. 17 is an identity for every real M).

    Standard error analysis (Higham, Accuracy and Stability of Numerical Algorithms, Sec. 3.1 and Lemma 3.3;
    a dot product or sum of n terms, in any order, with or without FMA, errs by <= gamma_n times the sum of the
    absolute terms). Let M*_i = D_i (1 b^T + beta I) exactly, with the float D_i and beta; G = gamma1_abs(c)
    computed with M*_i. k arms, P = k (k-1)/2 pairs, S samples, p dims.

    - c.M[i] and Eq. 17's left factor are both M*_i (1 + theta_2) elementwise (D_i diagonal: each entry is one
      product or one sum, the other terms are exact zeros); z_si - z_sj is rounded once.
    - Eq. 16: y = M (z_si - z_sj) errs by <= gamma_{p+3} M*|d|, so y^2 by <= ((1 + gamma_{p+3})^2 - 1)(M*|d|)^2;
      squaring and the sum of S p P squares (per pair, then over pairs: depth <= S p + P) add gamma_{Sp+P+1}:
      |fl(Eq. 16) - Gamma_1*| <= gamma_{Sp + P + 2p + 7} G.
    - Eq. 17: W_ij = D^T D errs by <= gamma_{S+2} |D|^T |D| (elementwise); the product L W_ij L^T by
      <= gamma_{2p} |L| |W_ij| |L|^T; L's own error adds gamma_4; the trace and the sum over pairs
      gamma_{p+P}: |fl(Eq. 17) - Gamma_1*| <= gamma_{S + 3p + P + 6} G, since sum_{i<j} tr(M*_i |W_ij|_abs
      M*_i^T) = G.

    The bound is the sum of the two, with G taken from its float value divided by (1 - gamma_{Sp+P+2p+7}) (its
    own rounding). It scales like ulp * max_i,m D_i(m, m)^2 * C_c: D_i(m, m) reaches 1/(1 - beta), so for beta
    near 1 the two float values of the same identity legitimately differ far more than 1e-9 relative.
    """
    c = _construction(c)
    k, S, p = c.Z.shape
    P = k * (k - 1) // 2
    n16, n17 = S * p + P + 2 * p + 7, S + 3 * p + P + 6
    return (_gamma(n16) + _gamma(n17)) * gamma1_abs(c) / (1.0 - _gamma(n16))


def gamma1_eq18_terms(c) -> Terms:
    """The three terms of Eq. 18: sum_{i<j} (1^T D_i^2 1)(b^T W_ij b), 2 beta sum_{i<j} tr(D_i^2 1 b^T W_ij),
    beta^2 sum_{i<j} tr(D_i^2 W_ij)."""
    c = _construction(c)
    p = c.W.shape[0]
    one = np.ones(p)
    t1 = t2 = t3 = 0.0
    for i, j in _pairs(c):
        W_ij = pair_scatter(c.Z, i, j)
        DtD = c.D[i].T @ c.D[i]
        t1 += float(one @ DtD @ one) * float(c.b @ W_ij @ c.b)
        t2 += float(np.trace(DtD @ np.outer(one, c.b) @ W_ij))
        t3 += float(np.trace(DtD @ W_ij))
    return t1, 2.0 * c.beta * t2, c.beta ** 2 * t3


def eq19_first_term(c, i: int) -> float:
    """The first term of Eq. 19 as printed, sum_m D_i(m, m)^2 tr(b^T W b), for the arm ``i`` (the printed term
    has a free arm index: it is not summed over the pairs i < j)."""
    c = _construction(c)
    k = c.Z.shape[0]
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
        raise TypeError(f"i must be an integer arm index, got {type(i).__name__}")
    if not 0 <= i < k:
        raise ValueError(f"i must be an arm index in [0, {k}), got {i}")
    return float((np.diag(c.D[i]) ** 2).sum() * (c.b @ c.W @ c.b))


def eq19_first_term_bound(c) -> float:
    """Corrected Eq. 19, first term: max_i sum_m D_i(m, m)^2 b^T W b, an upper bound of Eq. 18's first term
    (because b^T W_ij b >= 0); it is <= p b^T W b / (1 - beta)^2 by the bounds after Eq. 10."""
    c = _construction(c)
    return float(max((np.diag(c.D[i]) ** 2).sum() for i in range(c.Z.shape[0])) * (c.b @ c.W @ c.b))


def eq20_terms(c) -> Terms:
    """The three terms of Eq. 20: p b^T W b / (1-beta)^2, 2 beta tr(1 b^T W) / (1-beta)^2, beta^2 tr(W) / (1-beta)^2."""
    c = _construction(c)
    p = c.W.shape[0]
    s = 1.0 / (1.0 - c.beta) ** 2
    return (p * float(c.b @ c.W @ c.b) * s,
            2.0 * c.beta * float(np.trace(np.outer(np.ones(p), c.b) @ c.W)) * s,
            c.beta ** 2 * float(np.trace(c.W)) * s)


def eq20_term2_bound(c) -> float:
    """Corrected Eq. 20, second term: 2 beta / (1-beta)^2 sum_m sqrt(W(n, n) W(m, m)). It bounds Eq. 18's second
    term because |W_ij(n, m)| <= sqrt(W_ij(n, n) W_ij(m, m)) and Cauchy-Schwarz over the pairs, and it is still
    < 2 beta C_c / (1-beta)^2 by the middle of Eq. 7, so Eq. 21 follows unchanged."""
    c = _construction(c)
    d = np.diag(c.W)
    return 2.0 * c.beta / (1.0 - c.beta) ** 2 * float(np.sqrt(d[c.n] * d).sum())


def eq21_terms(c) -> Terms:
    """The three terms of Eq. 21: gamma C_c / (1-beta)^2, 2 beta C_c / (1-beta)^2, beta^2 C_c / (1-beta)^2,
    with C_c = tr(W) (Eq. 5) and ``c.gamma`` = p W(n, n) / tr(W) (see the construction's docstring)."""
    c = _construction(c)
    C = float(np.trace(c.W))
    s = 1.0 / (1.0 - c.beta) ** 2
    return c.gamma * C * s, 2.0 * c.beta * C * s, c.beta ** 2 * C * s


def eq22_bound(c) -> float:
    """Eq. 22: (gamma + 3 beta) C_c / (1-beta)^2."""
    c = _construction(c)
    return (c.gamma + 3.0 * c.beta) * float(np.trace(c.W)) / (1.0 - c.beta) ** 2
