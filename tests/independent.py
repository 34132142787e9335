"""An independent transcription of Prop. 2's construction and of the printed quantities of Eqs. 5-43, for
re-checking the ledger's witnesses from their JSON alone. It imports nothing from cae_theory.

Arithmetic: mpmath at 60 significant digits, from the witness's numbers taken exactly (a float64 is a dyadic
rational of 53 bits, exact in 200 bits; '1/2' is read as a fraction). Every quantity below is a sum of at most a
few thousand products of such numbers and of square roots, so its error is below 1e-50 relative to the sum of
the magnitudes of its terms: far below any difference the tests decide (they compare with 1e-30 of those
magnitudes).

Notation as printed (supplement, above Prop. 2 and Eqs. 5-43): V_i with 1/(|S|-1); W = sum_{i<j} W_ij;
n = argmin_m W(m,m) (first on ties); gamma = p W(n,n)/tr W (the value Eq. 21 needs); D_i(m,m) =
[1 + beta^2 + 2 beta V_i(n,m)]^(-1/2) (Eq. 10, as printed); M_i = D_i 1 b^T + beta D_i (Eq. 9).
"""
from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import mpmath

mp = mpmath.mp.clone() if hasattr(mpmath.mp, "clone") else mpmath.mp
mp.dps = 60


def num(x):
    """An exact number from a float, an int or a fraction string."""
    if isinstance(x, str):
        f = Fraction(x)
        return mp.mpf(f.numerator) / f.denominator
    return mp.mpf(Fraction(x).numerator) / Fraction(x).denominator


def small(x, scale) -> bool:
    """|x| is at the level of the arithmetic's error relative to ``scale`` (an equality decided here)."""
    return abs(x) <= mp.mpf("1e-40") * (1 + abs(scale))


class Ref:
    def __init__(self, Z, beta):
        self.Z = [[[num(v) for v in row] for row in arm] for arm in Z]
        self.beta = num(beta)
        self.k, self.S, self.p = len(Z), len(Z[0]), len(Z[0][0])
        k, S, p, b = self.k, self.S, self.p, self.beta
        self.pairs = list(combinations(range(k), 2))
        self.mu = [[sum(self.Z[i][s][m] for s in range(S)) / S for m in range(p)] for i in range(k)]
        self.V = [[[sum((self.Z[i][s][a] - self.mu[i][a]) * (self.Z[i][s][c] - self.mu[i][c]) for s in range(S))
                    / (S - 1) for c in range(p)] for a in range(p)] for i in range(k)]
        self.Wp = {(i, j): [[sum((self.Z[i][s][a] - self.Z[j][s][a]) * (self.Z[i][s][c] - self.Z[j][s][c])
                                 for s in range(S)) for c in range(p)] for a in range(p)] for i, j in self.pairs}
        self.W = [[sum(self.Wp[q][a][c] for q in self.pairs) for c in range(p)] for a in range(p)]
        diag = [self.W[m][m] for m in range(p)]
        self.n = diag.index(min(diag))
        self.C = sum(diag)
        self.gamma = p * self.W[self.n][self.n] / self.C
        n = self.n
        self.D = [[1 / mp.sqrt(1 + b * b + 2 * b * self.V[i][n][m]) for m in range(p)] for i in range(k)]
        # M_i = D_i (1 b^T + beta I): M_i(m, c) = D_i(m) ([c == n] + beta [c == m])
        self.M = [[[self.D[i][m] * ((1 if c == n else 0) + (b if c == m else 0)) for c in range(p)]
                   for m in range(p)] for i in range(k)]
        self.Zh = [[self.apply(self.M[i], self.Z[i][s]) for s in range(S)] for i in range(k)]

    @staticmethod
    def apply(M, z):
        return [sum(M[r][c] * z[c] for c in range(len(z))) for r in range(len(M))]

    # --- Eqs. 16-22 --------------------------------------------------------------------------------------------
    def gamma1(self):
        return sum(sum(v * v for v in self.apply(self.M[i], [a - c for a, c in zip(self.Z[i][s], self.Z[j][s])]))
                   for i, j in self.pairs for s in range(self.S))

    def eq18_terms(self):
        n, b, p = self.n, self.beta, self.p
        t1 = sum(sum(self.D[i][m] ** 2 for m in range(p)) * self.Wp[(i, j)][n][n] for i, j in self.pairs)
        t2 = 2 * b * sum(sum(self.D[i][m] ** 2 * self.Wp[(i, j)][n][m] for m in range(p)) for i, j in self.pairs)
        t3 = b * b * sum(sum(self.D[i][m] ** 2 * self.Wp[(i, j)][m][m] for m in range(p)) for i, j in self.pairs)
        return t1, t2, t3

    def eq19_first_terms(self):
        return [sum(self.D[i][m] ** 2 for m in range(self.p)) * self.W[self.n][self.n] for i in range(self.k)]

    def eq20_terms(self):
        n, b, p = self.n, self.beta, self.p
        s = 1 / (1 - b) ** 2
        return (p * self.W[n][n] * s, 2 * b * s * sum(self.W[n][m] for m in range(p)), b * b * s * self.C)

    def eq21_terms(self):
        b = self.beta
        s = 1 / (1 - b) ** 2
        return self.gamma * self.C * s, 2 * b * self.C * s, b * b * self.C * s

    # --- Eqs. 23-31 --------------------------------------------------------------------------------------------
    def gamma2(self):
        p = self.p
        return sum(sum(v * v for v in self.apply([[self.M[i][r][c] - self.M[j][r][c] for c in range(p)]
                                                  for r in range(p)], self.Z[j][s]))
                   for i, j in self.pairs for s in range(self.S))

    def factor27(self):
        b = self.beta
        return 4 * b * b * (self.S - 1) / (1 - b * b) ** 2

    def eq28(self):
        n, b, p = self.n, self.beta, self.p
        return self.factor27() * sum(self.V[j][n][n] * p + 2 * b * sum(self.V[j][n][m] for m in range(p))
                                     + b * b * sum(self.V[j][m][m] for m in range(p)) for _, j in self.pairs)

    def eq29(self):
        n, b = self.n, self.beta
        return self.p * self.factor27() * sum(self.V[j][n][n] + 2 * b + b * b for _, j in self.pairs)

    def eq30_pairs(self):
        p, b = self.p, self.beta
        return p * self.factor27() * p * (p - 1) / 2 * (1 + 2 * b + b * b)

    def f(self):
        return 8 * self.p ** 3 * (self.S - 1)

    def bound31(self, f):
        return f * self.beta ** 2 / (1 - self.beta) ** 2

    # --- Eqs. 32-43 --------------------------------------------------------------------------------------------
    def coupling_hat(self):
        return sum(sum((a - c) ** 2 for a, c in zip(self.Zh[i][s], self.Zh[j][s])) for i, j in self.pairs
                   for s in range(self.S))

    def max_norm(self):
        return max(max(abs(v) for v in self.Z[i][s]) for i in range(self.k) for s in range(self.S))

    def max_gap_hat(self):
        return max(max(z) - min(z) for arm in self.Zh for z in arm)

    def max_gap(self):
        return max(max(z) - min(z) for arm in self.Z for z in arm)

    def q_r1(self, f):
        C, g = self.C, self.gamma
        B = 5 * C + f + 4 * mp.sqrt(f * C)
        return 2 * C * (1 - g) / (B + mp.sqrt(B * B - 4 * C * C * (1 - g)))


def with_beta(ref: Ref, beta) -> Ref:
    """The same codes with another beta (a float taken exactly)."""
    Z = [[[float(v) for v in row] for row in arm] for arm in ref.Z]
    return Ref(Z, beta)


def sides(claim_id: str, w: dict):
    """(lhs, rhs) of a Prop. 2 claim recomputed from its witness JSON alone (Z, beta, eps), as printed."""
    r = Ref(w["Z"], w["beta"])
    if claim_id in ("eq6.gamma",):
        return [r.W[r.n][r.n]] * r.p, [r.W[m][m] for m in range(r.p)]
    if claim_id == "eq8":
        return ([min(r.V[i][r.n][m] for m in range(r.p)) for i in range(r.k)], [1] * r.k)
    if claim_id == "eq19":
        t1 = r.eq18_terms()[0]
        return [t1], [min(r.eq19_first_terms(), key=lambda x: abs(x - t1))]
    if claim_id in ("eq20", "eq20.corrected"):
        return [sum(r.eq18_terms())], [sum(r.eq20_terms())]
    if claim_id.startswith("eq20.term") or claim_id == "eq22.uses":
        k = 1 if claim_id == "eq22.uses" else int(claim_id[-1]) - 1
        return [r.eq18_terms()[k]], [r.eq20_terms()[k]]
    if claim_id.startswith("eq21.term"):
        k = int(claim_id[-1]) - 1
        return [r.eq20_terms()[k]], [r.eq21_terms()[k]]
    if claim_id in ("eq29", "eq31.uses"):
        return [r.eq28()], [r.eq29()]
    if claim_id == "eq30.pairs":
        return [r.eq29()], [r.eq30_pairs()]
    if claim_id == "eq31.gamma2":
        return [r.gamma2()], [r.bound31(r.f())]
    if claim_id == "eq42.eps_sentence":
        eps = num(w["eps"])
        beta = r.beta * eps / (4 * r.max_norm())
        return [with_beta(r, float(beta)).max_gap_hat()], [eps]
    raise KeyError(claim_id)


__all__ = ["Ref", "num", "sides", "small", "with_beta"]


# --- every Prop. 2 witness, re-checked from its JSON alone: True when the printed claim is violated --------------

def _violated(lhs, rhs, relation: str) -> bool:
    """Whether some pair violates ``lhs REL rhs`` (60-digit numbers; equality up to 1e-40 counts as equal)."""
    for a, b in zip(lhs, rhs):
        eq = small(a - b, max(abs(a), abs(b)))
        holds = {"<": a < b and not eq, "<=": a <= b or eq, ">": a > b and not eq, ">=": a >= b or eq,
                 "=": eq}[relation]
        if not holds:
            return True
    return False


def _printed(claim_id: str):
    def check(w: dict) -> bool:
        lhs, rhs = sides(claim_id, w)
        return _violated(lhs, rhs, w["relation"])
    return check


def _closing(w: dict) -> bool:
    """The printed '|z_hat(m) - z_hat(m')| >= eps' for Phi-hat at Eq. 43's beta (f' = 2pk(k-1)(|S|-1))."""
    r = Ref(w["Z"], w["beta"])
    eps = num(w["eps"])
    f = 2 * r.p * r.k * (r.k - 1) * (r.S - 1)
    beta = min(mp.mpf("0.5"), r.q_r1(f) / 2, eps / (4 * r.max_norm())) / 2
    return with_beta(r, float(beta)).max_gap_hat() < eps


def _lambda_zero(w: dict) -> bool:
    """lambda = 0: the loss is C_recon, 0 for this k-CAE (its least value); its codes are batch-normalised, with
    C_c > 0, a non-constant diag(W) and a gap >= eps, against Prop. 2's conclusion."""
    X, E, D = w["X"], w["E_i"], w["D_i"]
    recon = sum((num(x[c]) - sum(num(D[c][a]) * sum(num(E[a][b]) * num(x[b]) for b in range(len(x)))
                                  for a in range(len(E)))) ** 2 for arm in X for x in arm for c in range(len(x)))
    codes = [[[sum(num(E[a][b]) * num(x[b]) for b in range(len(x))) for a in range(len(E))] for x in arm]
             for arm in X]
    r = Ref([[[float(v) for v in z] for z in arm] for arm in codes], "1/2")
    standardised = all(small(r.mu[i][m], 1) and small(r.V[i][m][m] - 1, 1) for i in range(r.k) for m in range(r.p))
    diag = [r.W[m][m] for m in range(r.p)]
    return recon == 0 and standardised and r.C > 0 and len(set(diag)) > 1 and r.max_gap() >= num(w["eps"])


def _constant_diagonal(w: dict) -> bool:
    """diag(W) constant gives gamma = 1, so Q = C beta^2 - B beta has the root r1 = 0: no beta is left."""
    r = Ref(w["Z"], "1/2")
    return small(r.gamma - 1, 1) and small(r.q_r1(2 * r.p * r.k * (r.k - 1) * (r.S - 1)), 1)


def _kcbnae_definition(w: dict) -> bool:
    """Equal inputs give equal codes for any encoder: zero variance, not 1."""
    z = [sum(num(e) * num(x) for e, x in zip(w["E_i"][0], row)) for row in w["X_arm"]]
    mean = sum(z) / len(z)
    return sum((v - mean) ** 2 for v in z) / (len(z) - 1) != 1


def _q_typo(w: dict) -> bool:
    C, f, g, b = num(w["C"]), num(w["f"]), num(w["gamma"]), num(w["beta"])
    printed = C * b * b - (5 * C + f + 4 * mp.sqrt(mp.e * C)) * b + C * (1 - g)
    eq38 = C * b * b - (5 * C + f + 4 * mp.sqrt(f * C)) * b + C * (1 - g)
    return not small(printed - eq38, eq38)


RECHECKS = {cid: _printed(cid) for cid in (
    "eq6.gamma", "eq8", "eq19", "eq20", "eq20.term1", "eq20.term2", "eq20.term3", "eq21.term1", "eq21.term3",
    "eq22.uses", "eq29", "eq31.uses", "eq30.pairs", "eq31.gamma2")}
RECHECKS.update({"eq42.eps_sentence": lambda w: (lambda lr: lr[0][0] >= lr[1][0])(sides("eq42.eps_sentence", w)),
                 "prop2.closing": _closing, "prop2.lambda_zero": _lambda_zero,
                 "prop2.constant_diagonal": _constant_diagonal, "definition.kcbnae": _kcbnae_definition,
                 "eq38.q_sqrt_typo": _q_typo})
