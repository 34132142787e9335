"""Prop. 2's proof, the coordinate gap of the new codes and the choice of beta, Eqs. 40-43 (supplement).

    |z_hat_si(m) - z_hat_si(m')| = |(D_i(m,m) - D_i(m',m')) z_si(n) + beta (D_i(m,m) z_si(m) - D_i(m',m') z_si(m'))|   (40)
                                <= 2 beta/(1-beta^2) ||z_si|| + beta/(1-beta) ||z_si|| + beta/(1-beta) ||z_si||       (41)
                                <= 4 beta/(1-beta) ||z_si||                                                        (42)
    "so that |z_hat_si(m) - z_hat_si(m')| < eps for beta <= eps / (4 max_{s,i} ||z_si||)."
    beta = 1/2 min(1/2, r1/2, eps / (4 max_{s,i} ||z_si||))                                                        (43)

The norm is not named. Eq. 41 needs |z(m)| <= ||z|| for every coordinate, true for every l_q norm; the checks use
the max-norm ||z||_inf, the smallest of them (the tightest bound and the largest beta).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from cae_theory import arith
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Proved, Searched
from cae_theory.prop2.construction import Construction, construct, identity, per_case, relation, shared
from cae_theory.prop2.gamma2 import f_printed
from cae_theory.prop2.new_coupling import coupling_hat, q_roots

CLAIMS: list = []


def gaps_hat(c: Construction):
    """z_hat_si(m) - z_hat_si(m') for all i, s, m, m': (..., k, S, p, p)."""
    return c.Zh[..., :, None] - c.Zh[..., None, :]


@shared
def max_gap(c: Construction):
    """max over i, s, m, m' of |z_hat_si(m) - z_hat_si(m')| per case: the largest coordinate minus the smallest."""
    return arith.coordinate_range(c.Zh).max(axis=(-2, -1))


def eq40(c: Construction):
    d = c.d[..., :, None, :]                                            # (..., k, 1, p)
    zn = (c.Z * c.b[..., None, None, :]).sum(axis=-1)[..., None, None]  # (..., k, S, 1, 1): z_si(n)
    dz = d * c.Z
    beta = per_case(c.beta, 4)
    return (d[..., :, None] - d[..., None, :]) * zn + beta * (dz[..., :, None] - dz[..., None, :])


def eq41(c: Construction):
    beta = per_case(c.beta, 2)
    r = c.code_norm
    return (2 * beta / (1 - beta * beta) + 2 * beta / (1 - beta)) * r


def eq42(c: Construction):
    beta = per_case(c.beta, 2)
    return 4 * beta / (1 - beta) * c.code_norm


EQ40 = claim("eq40", "z_hat(m) - z_hat(m') = (D(m,m) - D(m',m')) z(n) + beta (D(m,m) z(m) - D(m',m') z(m'))",
             registry=CLAIMS, expected="certified", uses=("eq9",),
             decide=identity("eq40", lambda a, c: srch.Sides(gaps_hat(c), eq40(c))))


def _eq41(arrays, c: Construction) -> srch.Sides:
    """max_{m, m'} |z_hat_si(m) - z_hat_si(m')| = max_m z_hat_si(m) - min_m z_hat_si(m), per (i, s)."""
    return srch.Sides(arith.coordinate_range(c.Zh), eq41(c), scale=eq41(c))


EQ41 = claim("eq41", "|(40)| <= 2 beta/(1-beta^2) ||z|| + beta/(1-beta) ||z|| + beta/(1-beta) ||z||", registry=CLAIMS,
             expected="searched", uses=("eq40", "eq10.diff_bound", "eq10.bounds"),
             assumes="the norm is not named: it must satisfy |z(m)| <= ||z|| (true for every l_q norm); checked with "
                     "the max-norm, the smallest of them",
             decide=Searched(relation("eq41", "<=", _eq41)))


def certify_eq42() -> dict:
    """4 beta/(1-beta) - [2 beta/(1-beta^2) + 2 beta/(1-beta)] = 2 beta^2/(1-beta^2) >= 0."""
    b = sp.Symbol("beta", positive=True)
    diff = 4 * b / (1 - b) - (2 * b / (1 - b ** 2) + 2 * b / (1 - b))
    return {"ok": bool(sp.simplify(diff - 2 * b ** 2 / (1 - b ** 2)) == 0), "form": "2 beta^2/(1-beta^2)",
            "positive_because": "0 < beta < 1"}


EQ42 = claim("eq42", "(41) <= 4 beta/(1-beta) ||z||", registry=CLAIMS, expected="proved", uses=("eq41",),
             decide=Proved("all 0 < beta < 1, every norm value (symbolic)", symbolic=certify_eq42,
                           cross_check=relation("eq42", "<=", lambda a, c: srch.Sides(eq41(c), eq42(c), scale=eq42(c)))))


def _eps_sentence(factor: int):
    def sides(arrays, c: Construction) -> srch.Sides:
        """At beta = u eps / (factor max ||z||), u = the case's beta in (0, 1) (u near 1 probes the end of the
        range): the actual gap of the new codes against eps."""
        eps = arith.value(arrays["eps"])
        R = arith.value(c.code_norm).max(axis=(-2, -1))
        beta = arith.value(c.beta) * eps / (factor * R)
        ok = beta < 1
        beta = np.where(ok, beta, 0.5)
        if hasattr(c.Z, "error"):
            beta = type(c.Z).exact(beta)
        c2 = c.with_beta(beta, key=sides.__name__)
        gap = max_gap(c2)
        return srch.Sides(gap, eps, scale=eps, applies=ok)
    sides.__name__ = f"_eps_sentence_{factor}"
    return sides


def lemma_eps_corrected(z3):
    """With R = max ||z||_inf >= 1/2 the gap of the old codes (>= eps, so eps <= 2R), beta <= eps/(8R) and the
    bound of Eq. 41, gap <= 2 beta (2 + beta) R/(1 - beta^2) < eps."""
    b, R, e, gap = z3.Reals("beta R eps gap")
    hyp = [R > 0, e > 0, e <= 2 * R, b > 0, 8 * R * b <= e, gap * (1 - b * b) <= 2 * b * (2 + b) * R]
    return hyp, gap < e


EQ42_EPS = claim(
    "eq42.eps_sentence", "so that |z_hat_si(m) - z_hat_si(m')| < eps for beta <= eps/(4 max_{s,i} ||z_si||)",
    origin="sentence", registry=CLAIMS, expected="fails", uses=("eq42",),
    reading="checked on the actual new codes with the max-norm (the largest range of beta among l_q norms)",
    decide=Searched(relation("eq42.eps_sentence", "<", _eps_sentence(4)),
                    extra=lambda case: {"beta_used": float(case["beta"][0] * case["eps"][0]
                                                           / (4 * np.abs(case["Z"][0]).max())),
                                        "beta_is": "u: the fraction of the range; the beta used is u eps/(4 max|z|)"},
                    note="Eq. 42 gives only eps/(1-beta) > eps at the end of the range. On actual codes the gap "
                         "exceeds eps when one sample's code is far from a line whose correlations are still near "
                         "+-1: possible only for large |S| (the family 'outliers'); it tends to eps/(1-beta^2)."),
    correction=Correction(
        "|z_hat_si(m) - z_hat_si(m')| < eps for beta <= eps/(8 max ||z_si||_inf), the range Eq. 43 uses: by Eq. 41 "
        "the gap is at most 2 beta (2 + beta) R/(1 - beta^2) < eps there (eps <= 2R)",
        Proved("every case (z3; the reduction is Eq. 41, searched)", lemma=lemma_eps_corrected,
               cross_check=relation("eq42.eps_sentence.corrected", "<", _eps_sentence(8))), "proved"))


def eq43_beta(c: Construction, eps, corrected: bool = False):
    """beta = 1/2 min(1/2, r1/2, eps/(4 max ||z||_inf)) (Eq. 43), floats."""
    from cae_theory.prop2.gamma2 import f_arm_pairs
    f = f_arm_pairs(c.k, c.p, c.S) if corrected else f_printed(c.p, c.S)
    r1, _ = q_roots(arith.value(c.C), arith.value(c.gamma), f)
    R = arith.value(c.code_norm).max(axis=(-2, -1))
    return 0.5 * np.minimum(np.minimum(0.5, r1 / 2), arith.value(eps) / (4 * R))


def eq43_sides(corrected: bool):
    def sides(arrays, c: Construction) -> srch.Sides:
        """Both conclusions of Eq. 43: C_hat < C and the largest gap of the new codes < eps."""
        eps = arith.value(arrays["eps"])
        beta = eq43_beta(c, eps, corrected)
        if hasattr(c.Z, "error"):
            beta = type(c.Z).exact(beta)
        c2 = c.with_beta(beta, key=sides.__name__)
        gap = max_gap(c2)
        return srch.Sides((coupling_hat(c2), gap), (c2.C, eps), scale=(c.C, eps))
    sides.__name__ = "eq43_corrected" if corrected else "eq43_printed"
    return sides


EQ43 = claim("eq43", "beta = 1/2 min(1/2, r1/2, eps/(4 max ||z||)) gives C_c^Phi-hat < C_c^Phi and "
             "|z_hat(m) - z_hat(m')| < eps (printed f)", registry=CLAIMS, expected="searched",
             uses=("eq39", "eq42"), decide=Searched(relation("eq43", "<", eq43_sides(False))))


__all__ = ["CLAIMS", "eq40", "eq41", "eq42", "eq43_beta", "eq43_sides", "gaps_hat", "max_gap"]
