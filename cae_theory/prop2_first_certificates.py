"""Sympy certificates of the identities among Eqs. 5-18 of Prop. 2's proof.

Each certificate returns True when ``simplify(lhs - rhs) == 0`` for every size it tries (explicit symbolic
matrices, several p and, where it matters, every choice of n). They are cached: each runs once per process.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp


def _sym_matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{name}_{r}_{c}", real=True))


def _sym_symmetric(name: str, p: int) -> sp.Matrix:
    return sp.Matrix(p, p, lambda r, c: sp.Symbol(f"{name}_{min(r, c)}_{max(r, c)}", real=True))


def _sym_diag(name: str, p: int) -> sp.Matrix:
    return sp.diag(*[sp.Symbol(f"{name}_{m}", positive=True) for m in range(p)])


def _e(n: int, p: int) -> sp.Matrix:
    b = sp.zeros(p, 1)
    b[n] = 1
    return b


BETA = sp.Symbol("beta", positive=True)


@lru_cache(maxsize=None)
def certify_eq5() -> bool:
    """Eq. 5: sum_s sum_{i<j} ||z_si - z_sj||^2 = tr(W), W = sum_{i<j} sum_s (z_si - z_sj)(z_si - z_sj)^T;
    k in {2, 3}, |S| in {2, 3}, p in {1, 2, 3}."""
    for k in (2, 3):
        for S in (2, 3):
            for p in (1, 2, 3):
                Z = [_sym_matrix(f"z{i}", S, p) for i in range(k)]
                lhs = sum(((Z[i][s, :] - Z[j][s, :]) * (Z[i][s, :] - Z[j][s, :]).T)[0, 0]
                          for s in range(S) for i in range(k) for j in range(i + 1, k))
                W = sp.zeros(p, p)
                for i in range(k):
                    for j in range(i + 1, k):
                        d = Z[i] - Z[j]
                        W += d.T * d
                if sp.expand(lhs - W.trace()) != 0:
                    return False
    return True


@lru_cache(maxsize=None)
def certify_eq7_trace() -> bool:
    """Eq. 7, first equality: tr(1 b^T W) = sum_m W(n, m) for b = e_n; symmetric W, p in 1..4, every n."""
    for p in range(1, 5):
        W = _sym_symmetric("W", p)
        for n in range(p):
            lhs = (sp.ones(p, 1) * _e(n, p).T * W).trace()
            if sp.expand(lhs - sum(W[n, m] for m in range(p))) != 0:
                return False
    return True


@lru_cache(maxsize=None)
def certify_eq9_determinant() -> bool:
    """Eq. 9: det(M_i) = det(D_i) beta^(p-1) (1 + beta) for M_i = D_i 1 b^T + beta D_i, p in 1..5, every n; so
    M_i is invertible for beta > 0 and D_i(m, m) > 0, and D_i o M_i^-1 is a valid decoder."""
    for p in range(1, 6):
        D = _sym_diag("d", p)
        for n in range(p):
            M = D * sp.ones(p, 1) * _e(n, p).T + BETA * D
            if sp.factor(M.det() - D.det() * BETA ** (p - 1) * (1 + BETA)) != 0:
                return False
    return True


@lru_cache(maxsize=None)
def certify_eq13() -> bool:
    """Eq. 13: 1/|S| sum_s M_i z_si = M_i (1/|S| sum_s z_si), hence 0 when mu_i = 0; general M, |S| in {2, 3},
    p in {1, 2, 3}."""
    for S in (2, 3):
        for p in (1, 2, 3):
            Z = _sym_matrix("z", S, p)
            M = _sym_matrix("M", p, p)
            new_mean = sum((M * Z[s, :].T for s in range(S)), sp.zeros(p, 1)) / S
            old_mean = sum((Z[s, :].T for s in range(S)), sp.zeros(p, 1)) / S
            if (new_mean - M * old_mean).expand() != sp.zeros(p, 1):
                return False
            # with mu_i = 0 (last sample = minus the sum of the others) the new mean is exactly 0
            Z0 = Z.copy()
            Z0[S - 1, :] = -sum((Z[s, :] for s in range(S - 1)), sp.zeros(1, p))
            new_mean0 = sum((M * Z0[s, :].T for s in range(S)), sp.zeros(p, 1)) / S
            if new_mean0.expand() != sp.zeros(p, 1):
                return False
    return True


def _eq14_printed(D, V, b):
    """Eq. 14, last line: D [1 b^T V b 1^T + beta (1 b^T V + V b 1^T) + beta^2 V] D^T (sympy, p x p)."""
    one = sp.ones(D.shape[0], 1)
    return D * (one * (b.T * V * b) * one.T + BETA * (one * b.T * V + V * b * one.T) + BETA ** 2 * V) * D.T


@lru_cache(maxsize=None)
def certify_eq14() -> bool:
    """Eq. 14: (a) for zero-mean codes, 1/(|S|-1) sum_s (M z_s)(M z_s)^T = M V M^T (|S| = 3, p = 2, general M);
    (b) M_i V_i M_i^T = D_i [1 b^T V_i b 1^T + beta (1 b^T V_i + V_i b 1^T) + beta^2 V_i] D_i^T for symmetric V_i,
    diagonal D_i, b = e_n (p in 1..3, every n)."""
    S, p = 3, 2
    Z = _sym_matrix("z", S, p)
    Z[S - 1, :] = -(Z[0, :] + Z[1, :])
    M = _sym_matrix("M", p, p)
    V = Z.T * Z / (S - 1)
    lhs = sum(((M * Z[s, :].T) * (M * Z[s, :].T).T for s in range(S)), sp.zeros(p, p)) / (S - 1)
    if (lhs - M * V * M.T).expand() != sp.zeros(p, p):
        return False
    for p in (1, 2, 3):
        V = _sym_symmetric("V", p)
        D = _sym_diag("d", p)
        one = sp.ones(p, 1)
        for n in range(p):
            b = _e(n, p)
            M = D * one * b.T + BETA * D
            printed = _eq14_printed(D, V, b)
            if (M * V * M.T - printed).expand() != sp.zeros(p, p):
                return False
    return True


@lru_cache(maxsize=None)
def certify_eq15() -> bool:
    """Eq. 15: diag of Eq. 14 is D_i(m, m)^2 [V_i(n, n) + 2 beta V_i(n, m) + beta^2 V_i(m, m)] (symmetric V), and
    with diag(V_i) = 1 and D_i(m, m) = [1 + beta^2 + 2 beta V_i(n, m)]^(-1/2) (Eq. 10) it equals 1 (p in 1..3)."""
    for p in (1, 2, 3):
        V = _sym_symmetric("V", p)
        D = _sym_diag("d", p)
        for n in range(p):
            b = _e(n, p)
            Vhat = _eq14_printed(D, V, b)
            for m in range(p):
                middle = D[m, m] ** 2 * (V[n, n] + 2 * BETA * V[n, m] + BETA ** 2 * V[m, m])
                if sp.expand(Vhat[m, m] - middle) != 0:
                    return False
                unit = {V[q, q]: 1 for q in range(p)}
                unit[D[m, m]] = 1 / sp.sqrt(1 + BETA ** 2 + 2 * BETA * V[n, m].subs(unit))
                if sp.simplify(middle.subs(unit) - 1) != 0:
                    return False
    return True


@lru_cache(maxsize=None)
def certify_eq17() -> bool:
    """Eq. 17: sum_s ||M (z_si - z_sj)||^2 = tr(M W_ij M^T), W_ij = sum_s d_s d_s^T (general M; |S| in {2, 3},
    p in {1, 2, 3}); with M_i = D_i 1 b^T + beta D_i, M_i^T = b 1^T D_i^T + beta D_i^T."""
    for S in (2, 3):
        for p in (1, 2, 3):
            d = _sym_matrix("d", S, p)
            M = _sym_matrix("M", p, p)
            lhs = sum(((M * d[s, :].T).T * (M * d[s, :].T))[0, 0] for s in range(S))
            if sp.expand(lhs - (M * (d.T * d) * M.T).trace()) != 0:
                return False
    return True


@lru_cache(maxsize=None)
def certify_eq18() -> bool:
    """Eq. 18, per pair: tr([D 1 b^T + beta D] W [b 1^T D^T + beta D^T]) = tr(1^T D^T D 1 (b^T W b))
    + 2 beta tr(D^T D 1 b^T W) + beta^2 tr(D^T D W), symmetric W, diagonal D, b = e_n, p in 1..3, every n."""
    for p in (1, 2, 3):
        W = _sym_symmetric("W", p)
        D = _sym_diag("d", p)
        one = sp.ones(p, 1)
        for n in range(p):
            b = _e(n, p)
            left = D * one * b.T + BETA * D
            lhs = (left * W * left.T).trace()
            rhs = ((one.T * D.T * D * one)[0, 0] * (b.T * W * b)[0, 0] + 2 * BETA * (D.T * D * one * b.T * W).trace()
                   + BETA ** 2 * (D.T * D * W).trace())
            if sp.expand(lhs - rhs) != 0:
                return False
    return True


@lru_cache(maxsize=None)
def certify_eq20_quadratic_form() -> bool:
    """The identity behind the corrected Eq. 20: per pair, tr([D 1 b^T + beta D] W [b 1^T D + beta D]) =
    sum_m D(m, m)^2 (e_n + beta e_m)^T W (e_n + beta e_m), symmetric W, diagonal D, p in 1..3, every n. Each
    quadratic form is >= 0 for W = W_ij (a scatter matrix), so D(m, m)^2 <= 1/(1-beta)^2 bounds Gamma_1 by the
    right side of Eq. 20 without Eq. 2's term-by-term use."""
    for p in (1, 2, 3):
        W = _sym_symmetric("W", p)
        D = _sym_diag("d", p)
        one = sp.ones(p, 1)
        for n in range(p):
            left = D * one * _e(n, p).T + BETA * D
            forms = sum(D[m, m] ** 2 * ((_e(n, p) + BETA * _e(m, p)).T * W * (_e(n, p) + BETA * _e(m, p)))[0, 0]
                        for m in range(p))
            if sp.expand((left * W * left.T).trace() - forms) != 0:
                return False
    return True
