"""Independent re-checks of the failing claims of the Definition, Eq. 2, Prop. 1 and Algorithm 1, from their witness
JSON alone, in exact rational arithmetic (``fractions``; numpy only for the float run of Algorithm 1). Nothing here
imports cae_theory: Eq. 1, Eq. 4, the costs and the printed loop are transcribed again from the supplement.

:data:`RECHECKS` maps a claim id to a function of its witness that returns True when the witness violates the
printed claim AND the values stored in the witness are the ones recomputed here.
"""
from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np


def q(v) -> F:
    """A JSON number or a rational string ('1/1024') as an exact Fraction (floats are exact binary fractions)."""
    return F(v)


def sq(v) -> F:
    return sum(t * t for t in v)


def matvec(M, x):
    return [sum(q(a) * b for a, b in zip(row, x)) for row in M]


def linear_kcae(w):
    """Codes and C_recon (r_i = ||.||^2) of the linear k-CAE (X, E, D) of a witness, exactly."""
    X, E, D = w["X"], w["E"], w["D"]
    Z = [[matvec(E[i], [q(t) for t in x]) for x in X[i]] for i in range(len(X))]
    recon = sum(sq([q(a) - b for a, b in zip(X[i][s], matvec(D[i], Z[i][s]))])
                for i in range(len(X)) for s in range(len(X[0])))
    return Z, recon


def pair_sum(Z, c) -> F:
    """sum_s sum_{i<j} c(z_si - z_sj) (Eq. 1)."""
    k, S = len(Z), len(Z[0])
    return sum(c([a - b for a, b in zip(Z[i][s], Z[j][s])]) for s in range(S) for i in range(k) for j in range(i + 1, k))


#: The costs named in the witnesses, by their description.
COSTS = {"x -> 1 (constant)": lambda d: F(1), "x -> ||x||_2^2": sq, "x -> 1 + ||x||_2^2": lambda d: 1 + sq(d),
         "x -> ||x - 1||_2^2": lambda d: sq([t - 1 for t in d])}


def eq2_negative_diagonal(w) -> bool:
    """A diagonal, A >= 0, some B(m,m) < 0, and sum_m A(m,m) B(m,m) > max_m A(m,m) tr(B)."""
    A, B = w["A"], w["B"]
    p = len(A)
    diagonal = all(A[i][j] == 0 for i in range(p) for j in range(p) if i != j)
    lhs = sum(F(A[m][m]) * B[m][m] for m in range(p))
    rhs = max(F(A[m][m]) for m in range(p)) * sum(F(B[m][m]) for m in range(p))
    return (diagonal and min(A[m][m] for m in range(p)) >= 0 and min(B[m][m] for m in range(p)) < 0
            and lhs > rhs and (lhs, rhs) == (q(w["lhs"]), q(w["rhs"])))


def global_minimiser_with_long_codes(w) -> bool:
    """A k-CAE with C_recon = 0 whose loss equals a lower bound valid for every k-CAE on its inputs (re-derived from
    c: c >= 1 gives lambda |S| k(k-1)/2; lambda = 0 gives 0), with C_coupling > 0 and a code at least as long as
    eps (l2): Prop. 1 says every such code is shorter."""
    Z, recon = linear_kcae(w)
    c = COSTS[w["c"]]
    coupling, lam = pair_sum(Z, c), q(w["lam"])
    k, S = len(Z), len(Z[0])
    if w["c"] in ("x -> 1 (constant)", "x -> 1 + ||x||_2^2"):
        bound = lam * (S * k * (k - 1) // 2)
    elif lam == 0:
        bound = F(0)
    else:
        return False
    return (recon == 0 and recon + lam * coupling == bound == q(w["loss"]) and coupling > 0
            and max(sq(z) for zi in Z for z in zi) >= F(w["eps"]) ** 2)


def eq4_beta_1d(Z, eps) -> F:
    """beta = min(1/2, eps / (2 max ||z||_2)) for one-dimensional codes (||z||_2 = |z|, exact)."""
    if not all(len(z) == 1 for zi in Z for z in zi):
        raise ValueError("one-dimensional codes expected")
    return min(F(1, 2), F(eps) / (2 * max(abs(q(z[0])) for zi in Z for z in zi)))


def _shrunk_couplings(w):
    Z = [[[q(t) for t in z] for z in zi] for zi in w["Z"]]
    beta = eq4_beta_1d(w["Z"], w["eps"])
    c = COSTS[w["c"]]
    return beta, pair_sum(Z, c), pair_sum([[[beta * t for t in z] for z in zi] for zi in Z], c)


def convexity_step(w) -> bool:
    """sum c(z_hat diff) > beta sum c(z diff) on the witness (c convex and non-negative, c(0) > 0)."""
    beta, before, after = _shrunk_couplings(w)
    return beta == q(w["beta"]) and after > beta * before and (after, beta * before) == (q(w["lhs"]), q(w["rhs"]))


def coupling_rises(w) -> bool:
    """C_coupling(Phi_hat) >= C_coupling(Phi) > 0 on the witness."""
    beta, before, after = _shrunk_couplings(w)
    return beta == q(w["beta"]) and before > 0 and after >= before and (after, before) == (q(w["lhs"]), q(w["rhs"]))


def closing_sentence(w) -> bool:
    """Phi_hat = (beta E_i, D_i / beta) with beta of Eq. 4 (l2) keeps C_recon and lowers C_coupling, yet its loss is
    not smaller (lambda = 0): no contradiction with optimality."""
    Z, recon = linear_kcae(w)
    top2 = max(sq(z) for zi in Z for z in zi)
    top = F(math.isqrt(top2.numerator), math.isqrt(top2.denominator))
    if top * top != top2:
        return False                                             # an exact square root is needed here
    beta = min(F(1, 2), F(w["eps"]) / (2 * top))
    hat = {"X": w["X"], "E": [[[beta * q(t) for t in row] for row in E] for E in w["E"]],
           "D": [[[q(t) / beta for t in row] for row in D] for D in w["D"]]}
    Zh, recon_h = linear_kcae(hat)
    lam = q(w["lam"])
    loss, loss_h = recon + lam * pair_sum(Z, sq), recon_h + lam * pair_sum(Zh, sq)
    return (beta == q(w["beta"]) and recon_h == recon and 0 < pair_sum(Zh, sq) < pair_sum(Z, sq)
            and not loss_h < loss and (loss_h, loss) == (q(w["lhs"]), q(w["rhs"])))


def diagonal_of(w):
    A = [[q(v) for v in row] for row in w["A"]]
    if any(A[i][j] != 0 for i in range(len(A)) for j in range(len(A)) if i != j):
        raise ValueError("a diagonal A expected")
    return [A[m][m] for m in range(len(A))]


def printed_loop_exact(A_diag, x0, eps, cap=10_000):
    """Algorithm 1 for a diagonal A in fractions: x_{i+1} = x_i / A(m,m) until |x_{i+1} - x_i|^2 <= eps^2."""
    prev = [q(v) for v in x0]
    x = [p / a for p, a in zip(prev, A_diag)]
    solves = 1
    while sum((a - b) ** 2 for a, b in zip(x, prev)) > eps * eps and solves <= cap:
        prev, x = x, [p / a for p, a in zip(x, A_diag)]
        solves += 1
    return x, solves


def printed_loop_float(A, eps, x0, max_iter):
    """The printed loop in numpy (numpy.linalg.solve every step); NaN > eps is False, as in the printed test."""
    with np.errstate(all="ignore"):
        prev, x = np.asarray(x0, float), np.linalg.solve(A, x0)
        n = 1
        while np.linalg.norm(x - prev) > eps and n <= max_iter:
            prev, x = x, np.linalg.solve(A, x)
            n += 1
    return x, n


def rayleigh(A_diag, x) -> F:
    return sum(a * v * v for a, v in zip(A_diag, x)) / sum(v * v for v in x)


def alg1_returns_a_vector(w) -> bool:
    """The printed loop returns the vector x_{i+1}; its length is not within a factor 2 of lambda_min(A)."""
    d = diagonal_of(w)
    x, solves = printed_loop_exact(d, w["x0"], q(w["eps"]))
    lam = min(d)
    return ([str(v) for v in x] == w["returned_x"] and solves == w["solves"] and lam == q(w["lambda_min"])
            and not (lam / 2) ** 2 <= sq(x) <= (2 * lam) ** 2)


def alg1_never_ends(w) -> bool:
    """Every eigenvalue of A^-1 is >= 1, so no step is shorter than the first, which exceeds eps: the exact loop
    never ends; in floats it overflows and exits on NaN."""
    d = diagonal_of(w)
    eps = q(w["eps"])
    x1 = [q(v) / a for v, a in zip(w["x0"], d)]
    first = sum((a - q(b)) ** 2 for a, b in zip(x1, w["x0"]))
    x, n = printed_loop_float(np.diag([float(a) for a in d]), float(eps), np.array(w["x0"], float),
                              w["float_run"]["max_iter"])
    return (all(1 / a >= 1 for a in d) and first == q(w["first_step_squared"]) and first > eps * eps
            and not np.all(np.isfinite(x)) and n == w["float_run"]["solves"])


def alg1_rayleigh_error(w) -> bool:
    """The Rayleigh quotient of the returned x is off lambda_min(A) by more than the stated relative bound."""
    d = diagonal_of(w)
    x, solves = printed_loop_exact(d, w["x0"], q(w["eps"]))
    rq = rayleigh(d, x)
    return ([str(v) for v in x] == w["returned_x"] and solves == w["solves"] and rq == q(w["rayleigh_quotient"])
            and abs(rq - min(d)) / min(d) > q(w["rhs"]))


def alg1_gram(w) -> bool:
    """B = U S V^T with orthonormal U, V (so sigma(B) = diag(S)); an eigenvalue of B^T B is not a squared singular
    value: B^T B has more eigenvalues than B has singular values."""
    B, U, S, V = (np.vectorize(F)(np.array(w[k], dtype=object)) for k in ("B", "U", "S", "V"))
    r = S.shape[0]
    svd_ok = (np.array_equal(U @ S @ V.T, B) and np.array_equal(U.T @ U, np.eye(r, dtype=int))
              and np.array_equal(V.T @ V, np.eye(r, dtype=int)))
    BtB = B.T @ B
    diagonal = all(BtB[i, j] == 0 for i in range(len(BtB)) for j in range(len(BtB)) if i != j)
    eig = sorted(BtB[i, i] for i in range(len(BtB)))
    squares = sorted(S[i, i] ** 2 for i in range(r))
    return svd_ok and diagonal and eig != squares and min(eig) != min(squares)


def alg1_reciprocal(w) -> bool:
    """lambda_max(A^-1) = 1 / lambda_min(A) differs from lambda_min(A)."""
    d = [q(w["A"][m][m]) for m in range(len(w["A"]))]
    return max(1 / a for a in d) == q(w["lhs"]) and min(d) == q(w["rhs"]) and q(w["lhs"]) != q(w["rhs"])


RECHECKS = {
    "eq2.negative_diagonal": eq2_negative_diagonal,
    "prop1": global_minimiser_with_long_codes,
    "prop1.lambda_zero": global_minimiser_with_long_codes,
    "prop1.c0_positive": global_minimiser_with_long_codes,
    "prop1.coupling.convexity": convexity_step,
    "prop1.coupling": coupling_rises,
    "prop1.closing": closing_sentence,
    "alg1": alg1_returns_a_vector,
    "alg1.termination": alg1_never_ends,
    "alg1.precision": alg1_rayleigh_error,
    "alg1.direction": alg1_rayleigh_error,
    "alg1.gram": alg1_gram,
    "alg1.reciprocal": alg1_reciprocal,
}

__all__ = ["COSTS", "RECHECKS", "linear_kcae", "pair_sum", "printed_loop_exact", "printed_loop_float", "q", "sq"]
