"""Prop. 2's proof, the coupling of Phi-hat and the quadratic Q, Eqs. 32-39 (supplement).

    C_c^Phi-hat = sum_s sum_{i<j} (M_i z_si - M_j z_sj)^T (M_i z_si - M_j z_sj)                              (32)
                = sum_s sum_{i<j} [M_i (z_si - z_sj) + (M_i - M_j) z_sj]^T [ ... ]                            (33)
               <= Gamma_1 + Gamma_2 + 2 sqrt(Gamma_1 Gamma_2)                                                  (34)
                < [(gamma + 3 beta) C + f beta^2 + 2 sqrt((gamma + 3 beta) f beta^2 C)] / (1-beta)^2          (35)
                < [(gamma + 3 beta) C + f beta + 4 beta sqrt(f C)] / (1-beta)^2                                (36)
    C - C_hat  >= [((1-beta)^2 - gamma - 3 beta) C - f beta - 4 beta sqrt(f C)] / (1-beta)^2                 (37)
               >= [C beta^2 - (5C + f + 4 sqrt(f C)) beta + C (1 - gamma)] / (1-beta)^2                      (38)
    "The determinant of the quadratic Q = C beta^2 - [5C + f + 4 sqrt(e C)] beta + C(1 - gamma) is positive, the
     coefficient of the quadratic term is positive, and the coefficient of the linear term is negative. When
     beta = 0, Q > 0. Therefore, both roots of Q are positive (0 < r1 <= r2), and for beta < min(1/2, r1/2),"
    C_c^Phi-hat < C_c^Phi                                                                                    (39)

C = C_c^Phi = tr(W) (Eq. 5), gamma = p W(n,n)/tr(W), f = 8 p^3 (|S|-1) as printed (f' = 2 p k (k-1)(|S|-1) where
corrected). Steps 35-38 are scalar: each is proved for all values by a symbolic identity with a positive
remainder; "(N).end" checks the same bound against the actual coupling of the new codes.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from cae_theory import arith
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Identity, Proved, Searched, Witnessed
from cae_theory.prop2.construction import Construction, construct, identity, relation, shared
from cae_theory.prop2.gamma1 import gamma1
from cae_theory.prop2.gamma2 import f_arm_pairs, f_printed, gamma2
from cae_theory.prop2.notation import coupling, pairs

CLAIMS: list = []


def coupling_of_new_codes(c: Construction):
    """C_c of the new codes z_hat = M_i z, from the codes (the definition behind Eq. 32)."""
    return coupling(c.Zh)


@shared
def coupling_hat(c: Construction):
    """C_c of Phi-hat from the statistics, by expanding Eq. 33: Gamma_1 + Gamma_2 + 2 sum_{i<j}
    tr(M_i [sum_s (z_si - z_sj) z_sj^T] (M_i - M_j)^T) (no cancellation: every factor is computed directly)."""
    I, J = pairs(c.k)
    MI, dM = c.M[..., I, :, :], c.M[..., I, :, :] - c.M[..., J, :, :]
    return gamma1(c) + gamma2(c) + 2 * arith.trace(MI @ c.X_pairs @ dM.mT).sum(axis=-1)


def eq32(c: Construction):
    I, J = pairs(c.k)
    a = c.Z[..., I, :, :] @ c.M[..., I, :, :].mT - c.Z[..., J, :, :] @ c.M[..., J, :, :].mT
    return (a * a).sum(axis=(-3, -2, -1))


def eq33(c: Construction):
    I, J = pairs(c.k)
    MI, MJ = c.M[..., I, :, :], c.M[..., J, :, :]
    a = (c.Z[..., I, :, :] - c.Z[..., J, :, :]) @ MI.mT + c.Z[..., J, :, :] @ (MI - MJ).mT
    return (a * a).sum(axis=(-3, -2, -1))


def eq34(g1, g2):
    return g1 + g2 + 2 * arith.sqrt(g1 * g2)


def eq35(C, g, b, f):
    return ((g + 3 * b) * C + f * b * b + 2 * arith.sqrt((g + 3 * b) * f * b * b * C)) / ((1 - b) * (1 - b))


def eq36(C, g, b, f):
    return ((g + 3 * b) * C + f * b + 4 * b * arith.sqrt(f * C)) / ((1 - b) * (1 - b))


def eq37(C, g, b, f):
    return (((1 - b) * (1 - b) - g - 3 * b) * C - f * b - 4 * b * arith.sqrt(f * C)) / ((1 - b) * (1 - b))


def q_linear(C, f):
    """B = 5C + f + 4 sqrt(f C): Q = C beta^2 - B beta + C (1 - gamma)."""
    return 5 * C + f + 4 * arith.sqrt(f * C)


def eq38(C, g, b, f):
    return (C * b * b - q_linear(C, f) * b + C * (1 - g)) / ((1 - b) * (1 - b))


def q_roots(C, g, f):
    """(r1, r2), r1 <= r2, without cancellation: r1 = 2 C (1 - gamma) / (B + sqrt(disc)), r2 = (B + sqrt(disc))/(2C)."""
    B = q_linear(C, f)
    root = arith.sqrt(B * B - 4 * C * C * (1 - g))
    return 2 * C * (1 - g) / (B + root), (B + root) / (2 * C)


def _f(c: Construction, corrected: bool = False):
    return f_arm_pairs(c.k, c.p, c.S) if corrected else f_printed(c.p, c.S)


def _scalars(c: Construction, corrected: bool = False):
    return c.C, c.gamma, c.beta, _f(c, corrected)


# --- Eqs. 32-34 ---------------------------------------------------------------------------------------------------

EQ32 = claim("eq32", "C_c^Phi-hat = sum_s sum_{i<j} (M_i z_si - M_j z_sj)^T (M_i z_si - M_j z_sj)  (the coupling of "
             "the codes of Phi-hat, z_hat_si = M_i z_si)", registry=CLAIMS, expected="certified", uses=("eq9",),
             decide=identity("eq32", lambda a, c: srch.Sides((coupling_of_new_codes(c), eq32(c)),
                                                             (eq32(c), coupling_hat(c)), scale=c.C),
                             "the coupling of z_hat, Eq. 32, and the expansion of Eq. 33 the searches use"))
EQ33 = claim("eq33", "(32) = sum_s sum_{i<j} [M_i(z_si - z_sj) + (M_i - M_j) z_sj]^T [M_i(z_si - z_sj) + "
             "(M_i - M_j) z_sj]", registry=CLAIMS, expected="certified", uses=("eq32",),
             decide=identity("eq33", lambda a, c: srch.Sides(eq32(c), eq33(c), scale=c.C)))
EQ34 = claim("eq34", "(33) <= Gamma_1 + Gamma_2 + 2 sqrt(Gamma_1 Gamma_2)  (Cauchy-Schwarz)", registry=CLAIMS,
             expected="searched", uses=("eq33", "eq16", "eq23"),
             decide=Searched(relation("eq34", "<=", lambda a, c: srch.Sides(
                 coupling_hat(c), eq34(gamma1(c), gamma2(c)), scale=c.C)),
                 note="Cauchy-Schwarz on the sum over s and i < j of the two summands of Eq. 33"))


# --- Eqs. 35-38: scalar steps ----------------------------------------------------------------------------------------

_C, _f_, _g = sp.symbols("C f gamma", positive=True)


#: beta = s/(1+s) with s > 0 covers exactly 0 < beta < 1, so sympy knows beta > 0 and 1 - beta = 1/(1+s) > 0.
_s_ = sp.Symbol("s", positive=True)
_B = _s_ / (1 + _s_)


def certify_eq35_step() -> dict:
    """Given Gamma_1 < A = (gamma + 3 beta) C/(1-beta)^2 (Eq. 22) and Gamma_2 < B = f beta^2/(1-beta)^2 (Eq. 31):
    Eq. 35 = (sqrt A + sqrt B)^2, and (x, y) -> x + y + 2 sqrt(x y) = (sqrt x + sqrt y)^2 is increasing in both,
    so (34) < (35)."""
    b = _B
    A = (_g + 3 * b) * _C / (1 - b) ** 2
    B = _f_ * b ** 2 / (1 - b) ** 2
    e35 = eq35(_C, _g, b, _f_)
    ok = sp.simplify(e35 - (sp.sqrt(A) + sp.sqrt(B)) ** 2) == 0
    return {"ok": bool(ok), "form": "Eq. 35 = (sqrt((gamma + 3 beta) C)/(1-beta) + sqrt(f) beta/(1-beta))^2",
            "positive_because": "a square of a sum of square roots is increasing in each premise",
            "scope": "all C, f > 0, gamma >= 0, 0 < beta < 1 (beta = s/(1+s), s > 0)"}


def certify_eq36_step() -> dict:
    """(36) - (35) = [f beta (1 - beta) + 2 beta sqrt(f C) (2 - sqrt(gamma + 3 beta))]/(1-beta)^2 > 0, because
    0 <= gamma < 1 and beta < 1 give gamma + 3 beta < 4."""
    b = _B
    form = (_f_ * b * (1 - b) + 2 * b * sp.sqrt(_f_ * _C) * (2 - sp.sqrt(_g + 3 * b))) / (1 - b) ** 2
    ok = sp.simplify(eq36(_C, _g, b, _f_) - eq35(_C, _g, b, _f_) - form) == 0
    return {"ok": bool(ok), "form": str(form).replace("s/(s + 1)", "beta"),
            "positive_because": "0 < beta < 1, f, C > 0 and gamma + 3 beta < 4",
            "scope": "all C, f > 0, 0 <= gamma < 1, 0 < beta < 1"}


def certify_eq37_step() -> dict:
    """C - (36) equals the right side of Eq. 37 exactly, so C - C_hat > (37) given C_hat < (36)."""
    b = _B
    ok = sp.simplify(_C - eq36(_C, _g, b, _f_) - eq37(_C, _g, b, _f_)) == 0
    return {"ok": bool(ok), "form": "C - (36) - (37) = 0", "positive_because": "an identity",
            "scope": "all C, f > 0, gamma, 0 < beta < 1"}


def certify_eq38() -> dict:
    """Eq. 37 = Eq. 38 (printed '>='): the numerators agree, (1-beta)^2 - gamma - 3 beta = beta^2 - 5 beta + 1 - gamma."""
    b = _B
    ok = sp.simplify(eq37(_C, _g, b, _f_) - eq38(_C, _g, b, _f_)) == 0
    return {"ok": bool(ok), "scope": "all C, f > 0, gamma, 0 < beta < 1 (symbolic scalars)"}


def _end(bound, corrected: bool = False):
    def sides(arrays, c: Construction) -> srch.Sides:
        return srch.Sides(coupling_hat(c), bound(*_scalars(c, corrected)), scale=c.C)
    sides.__name__ = f"_end_{bound.__name__}"
    return sides


def _step(lower, upper, corrected: bool = False):
    def sides(arrays, c: Construction) -> srch.Sides:
        args = _scalars(c, corrected)
        return srch.Sides(lower(*args), upper(*args), scale=c.C)
    return sides


def _eq35_step_sides(arrays, c: Construction) -> srch.Sides:
    """(34) at the premises' bounds (Gamma_1 = A, Gamma_2 = B) against (35): equal, and (34) increases in both."""
    C, g, b, f = _scalars(c)
    s = 1 / ((1 - b) * (1 - b))
    return srch.Sides(eq34((g + 3 * b) * C * s, f * b * b * s), eq35(C, g, b, f), scale=c.C)


EQ35_STEP = claim(
    "eq35.step", "(34) < (35) given Gamma_1 < (gamma + 3 beta) C/(1-beta)^2 (Eq. 22) and Gamma_2 < f beta^2/(1-beta)^2 "
    "(Eq. 31)", registry=CLAIMS, expected="proved", uses=("eq34", "eq22.chain", "eq31.gamma2"),
    decide=Proved("all C, f > 0, 0 <= gamma, 0 < beta < 1 (symbolic)", symbolic=certify_eq35_step,
                  cross_check=relation("eq35.step", "<=", _eq35_step_sides)))
EQ35_END = claim(
    "eq35.end", "(probe) C_hat < (35) on the actual codes (printed f)", origin="probe", registry=CLAIMS,
    expected="searched", uses=("eq35.step",),
    decide=Searched(relation("eq35.end", "<", _end(eq35)),
                    note="its premise Eq. 31 fails for k >> p (eq31.gamma2), so this end result is checked directly"))
EQ36_STEP = claim(
    "eq36.step", "(35) < (36)", registry=CLAIMS, expected="proved", uses=("eq35.step",),
    decide=Proved("all C, f > 0, 0 <= gamma < 1, 0 < beta < 1 (symbolic)", symbolic=certify_eq36_step,
                  cross_check=relation("eq36.step", "<", _step(eq35, eq36))))
EQ36_END = claim("eq36.end", "(probe) C_hat < (36) on the actual codes (printed f)", origin="probe", registry=CLAIMS,
                 expected="searched", uses=("eq36.step",), decide=Searched(relation("eq36.end", "<", _end(eq36))))


def _eq37_end(arrays, c: Construction) -> srch.Sides:
    C, g, b, f = _scalars(c)
    return srch.Sides(C - coupling_hat(c), eq37(C, g, b, f), scale=c.C)


EQ37_STEP = claim(
    "eq37.step", "C - C_hat >= [((1-beta)^2 - gamma - 3 beta) C - f beta - 4 beta sqrt(fC)]/(1-beta)^2 given (36)",
    registry=CLAIMS, expected="proved", uses=("eq36.step",),
    decide=Proved("all C, f > 0, gamma, beta (symbolic identity C - (36) = (37))", symbolic=certify_eq37_step))
EQ37_END = claim("eq37.end", "(probe) C - C_hat >= (37) on the actual codes (printed f)", origin="probe",
                 registry=CLAIMS, expected="searched", uses=("eq37.step",),
                 decide=Searched(relation("eq37.end", ">=", _eq37_end)))

EQ38 = claim("eq38", "(37) >= [C beta^2 - (5C + f + 4 sqrt(fC)) beta + C(1-gamma)]/(1-beta)^2  (printed '>=', an "
             "identity)", registry=CLAIMS, expected="certified", uses=("eq37.step",),
             decide=Identity(relation("eq38", "=", _step(eq37, eq38), steer=False), certify_eq38))


# --- the sentence after Eq. 38 --------------------------------------------------------------------------------------

def _q_hypotheses(z3):
    C, f, g, s = z3.Reals("C f gamma s")
    return (C, f, g, s), [C > 0, f > 0, g >= 0, g < 1, s >= 0, s * s == f * C]


def lemma_discriminant(z3):
    """B^2 - 4 C^2 (1 - gamma) > 0 for B = 5C + f + 4 s, s = sqrt(f C), C, f > 0, 0 <= gamma < 1."""
    (C, f, g, s), hyp = _q_hypotheses(z3)
    B = 5 * C + f + 4 * s
    return hyp, B * B - 4 * C * C * (1 - g) > 0


def lemma_coefficients(z3):
    """The quadratic coefficient C is positive and the linear coefficient -(5C + f + 4 sqrt(f C)) is negative."""
    (C, f, g, s), hyp = _q_hypotheses(z3)
    return hyp, z3.And(C > 0, -(5 * C + f + 4 * s) < 0)


def lemma_q_at_zero(z3):
    """Q(0) = C (1 - gamma) > 0 for gamma < 1 (gamma := p W(n,n)/tr W, eq6.gamma)."""
    (C, f, g, s), hyp = _q_hypotheses(z3)
    return hyp, C * (1 - g) > 0


def lemma_roots_positive(z3):
    """Every real root x of Q = C x^2 - B x + C (1 - gamma) is positive (so 0 < r1 <= r2)."""
    (C, f, g, s), hyp = _q_hypotheses(z3)
    x = z3.Real("x")
    B = 5 * C + f + 4 * s
    return hyp + [C * x * x - B * x + C * (1 - g) == 0], x > 0


def _q_sides(arrays, c: Construction) -> srch.Sides:
    r1, r2 = q_roots(c.C, c.gamma, _f(c))
    return srch.Sides((0.0, r1), (r1, r2))                       # 0 < r1 <= r2 (checked as 0 <= r1 <= r2)


SCOPE_Q = "all C, f > 0, 0 <= gamma < 1 (z3, QF_NRA; gamma := p W(n,n)/tr W, see eq6.gamma)"

EQ38_DISC = claim("eq38.q_discriminant", "The determinant (discriminant) of the quadratic Q is positive",
                  origin="sentence", registry=CLAIMS, expected="proved", uses=("eq38",),
                  decide=Proved(SCOPE_Q, lemma=lemma_discriminant))
EQ38_COEF = claim("eq38.q_coefficients", "the coefficient of the quadratic term, C, is positive, and the coefficient "
                  "of the linear term, -(5C + f + 4 sqrt(fC)), is negative", origin="sentence", registry=CLAIMS,
                  expected="proved", uses=("eq38",), decide=Proved(SCOPE_Q, lemma=lemma_coefficients))
EQ38_ZERO = claim("eq38.q_at_zero", "When beta = 0, Q > 0", origin="sentence", registry=CLAIMS, expected="proved",
                  uses=("eq38", "eq6.gamma"), decide=Proved(SCOPE_Q, lemma=lemma_q_at_zero,
                                                            note="with the literal gamma = 1 (eq6.gamma), Q(0) = 0"))
EQ38_ROOTS = claim("eq38.q_roots_positive", "Therefore, both roots of Q, r1 and r2, are positive (0 < r1 <= r2)",
                   origin="sentence", registry=CLAIMS, expected="proved",
                   uses=("eq38.q_discriminant", "eq38.q_coefficients", "eq38.q_at_zero"),
                   decide=Proved(SCOPE_Q, lemma=lemma_roots_positive,
                                 cross_check=relation("eq38.q_roots_positive", "<=", _q_sides)))


def _q_typo() -> tuple[bool, dict]:
    """The printed Q with sqrt(e C) (e read as Euler's number, the only e defined) against the numerator of Eq. 38
    with sqrt(f C), at C = f = 1, gamma = 1/2, beta = 1/10: exactly 2/5 (sqrt(e) - 1) apart."""
    C, f, g, b = 1, 1, sp.Rational(1, 2), sp.Rational(1, 10)
    printed = C * b ** 2 - (5 * C + f + 4 * sp.sqrt(sp.E * C)) * b + C * (1 - g)
    eq38_num = C * b ** 2 - (5 * C + f + 4 * sp.sqrt(f * C)) * b + C * (1 - g)
    holds = sp.simplify(printed - eq38_num) == 0
    return bool(holds), {"C": 1, "f": 1, "gamma": "1/2", "beta": "1/10", "e": "Euler's number",
                         "lhs_exact": str(sp.nsimplify(printed)), "rhs_exact": str(eq38_num),
                         "lhs": float(printed), "rhs": float(eq38_num), "relation": "=",
                         "lhs_is": "Q as printed, sqrt(e C)", "rhs_is": "numerator of Eq. 38, sqrt(f C)"}


EQ38_TYPO = claim(
    "eq38.q_sqrt_typo", "Q = C beta^2 - [5C + f + 4 sqrt(e C)] beta + C(1-gamma)  (as printed, 'e')", origin="sentence",
    registry=CLAIMS, expected="fails", uses=("eq38",),
    decide=Witnessed(_q_typo, "one exact case", note="'e' is undefined; read as Euler's number, Q is not Eq. 38's "
                                                      "numerator; sqrt(f C) is meant"),
    correction=Correction("Q = C beta^2 - [5C + f + 4 sqrt(f C)] beta + C(1-gamma), the numerator of Eq. 38",
                          Identity(relation("eq38.q_sqrt_typo.corrected", "=", _step(eq37, eq38), steer=False),
                                   certify_eq38), "certified", kind="restatement"))


# --- Eq. 39 ---------------------------------------------------------------------------------------------------------

def _eq39(corrected: bool):
    def sides(arrays, c: Construction) -> srch.Sides:
        """beta = u min(1/2, r1/2), u = the case's beta in (0, 1): every beta in Eq. 39's range is reachable."""
        r1, _ = q_roots(c.C, c.gamma, _f(c, corrected))
        limit = arith.value(r1) / 2
        beta = arith.value(c.beta) * np.minimum(0.5, limit)
        beta = beta if not hasattr(c.Z, "error") else type(c.Z).exact(beta)
        c2 = c.with_beta(beta, key=sides.__name__)
        return srch.Sides(coupling_hat(c2), c2.C, scale=c.C)
    sides.__name__ = "_eq39_corrected" if corrected else "_eq39_printed"
    return sides


EQ39 = claim("eq39", "for beta < min(1/2, r1/2), C_c^Phi-hat < C_c^Phi  (printed f)", registry=CLAIMS,
             expected="searched", uses=("eq38.q_roots_positive", "eq37.step", "eq36.step", "eq35.step"),
             decide=Searched(relation("eq39", "<", _eq39(False)),
                             note="beta = u min(1/2, r1/2) with u the case's beta in (0, 1); searched including "
                                  "k >> p, where the printed f is too small (eq31.gamma2)"))
EQ39_CORRECTED = claim(
    "eq39.corrected_f", "(probe) C_hat < C for beta < min(1/2, r1/2), r1 from Q with f' = 2pk(k-1)(|S|-1)",
    origin="probe", registry=CLAIMS, expected="searched", uses=("eq31.gamma2",),
    decide=Searched(relation("eq39.corrected_f", "<", _eq39(True))))


__all__ = ["CLAIMS", "coupling_hat", "eq34", "eq35", "eq36", "eq37", "eq38", "q_linear", "q_roots"]
