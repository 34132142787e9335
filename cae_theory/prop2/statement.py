"""Prop. 2 as printed, its hypotheses at their edges, what the proof establishes, and its closing sentence.

    "Proposition 2. If c is the squared Euclidean norm and the diagonal values of W are not all identical,
     latent representations of the k-CBNAE minimizing the loss in Eq. 1 with C_coupling > 0 satisfy
     |z_si(m) - z_si(m')| < eps, for any 1 <= m, m' <= p, s in S, 1 <= i <= k, eps > 0."
    Closing sentence: "Thus, for beta = (43), C_recon,Phi-hat = C_recon,Phi and C_coupling,Phi-hat <
     C_coupling,Phi, contradicting optimality with |z_hat_si(m) - z_hat_si(m')| >= eps for some ... any eps > 0."

Findings: the conclusion (a gap below every eps, i.e. 0) forces diag(W) to be constant, against the hypothesis,
so the proposition can only hold vacuously: it says that no minimiser meets its hypotheses. As printed it is also
about an empty class (definition.kcbnae). What the proof does establish is ``prop2.construction``.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from cae_theory import arith
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Identity, Searched, Witnessed
from cae_theory.prop2.construction import Construction, construct, exact_check, identity, relation
from cae_theory.prop2.gamma2 import EQ29_CODES, f_arm_pairs
from cae_theory.prop2.gap import eq43_beta, max_gap
from cae_theory.prop2.new_coupling import coupling_hat, q_roots
from cae_theory.prop2.notation import latent_covariance, latent_mean, total_scatter

CLAIMS: list = []


def certify_collapse_makes_diag_constant() -> dict:
    """If every coordinate of every code is equal, z_si(m) = u_si (a gap below every eps), then
    W(m,m) = sum_s sum_{i<j} (u_si - u_sj)^2 for every m: diag(W) is constant (k = 3, |S| = 3, p = 2, 3)."""
    for p in (2, 3):
        u = arith.symbols("u", (3, 3, 1), real=True)
        Z = np.repeat(u, p, axis=-1)
        W = total_scatter(Z)
        if any(sp.expand(W[m, m] - W[0, 0]) != 0 for m in range(p)):
            return {"ok": False}
    return {"ok": True, "form": "diag(W) = (w, ..., w)", "scope": "k = 3, |S| = 3, p = 2, 3"}


def _vacuous() -> tuple[bool, dict]:
    """Prop. 2 holds vacuously: its conclusion contradicts its hypothesis (sympy), and the class it is about is
    empty as printed (definition.kcbnae)."""
    cert = certify_collapse_makes_diag_constant()
    return cert["ok"], {"certificate": cert}


def _construction_sides(arrays, c: Construction) -> srch.Sides:
    """The corrected Prop. 2 on one case, beta of Eq. 43 with f': C_hat < C, the gap < eps, and the new codes
    keep mean 0 (relative to the old means) and unit variance (relative to the old variances)."""
    eps = arith.value(arrays["eps"])
    beta = eq43_beta(c, eps, corrected=True)
    if hasattr(c.Z, "error"):
        beta = type(c.Z).exact(beta)
    c2 = c.with_beta(beta, key="eq43_corrected")
    gap = max_gap(c2)
    return srch.Sides((coupling_hat(c2), gap), (c2.C, eps), scale=(c.C, eps))


CONSTRUCTION = relation("prop2.construction", "<", _construction_sides)

PROP2 = claim(
    "prop2", "Prop. 2: if c is the squared Euclidean norm and diag(W) is not constant, latent representations of the "
    "k-CBNAE minimizing Eq. 1 with C_coupling > 0 satisfy |z_si(m) - z_si(m')| < eps for all m, m', s, i, eps > 0",
    registry=CLAIMS, expected="proved", uses=("definition.kcbnae", "eq43", "eq9", "eq13", "eq15"),
    decide=Witnessed(_vacuous, "vacuously: the conclusion (a zero gap) makes diag(W) constant, against the "
                               "hypothesis (sympy); so it asserts that no minimiser meets the hypotheses",
                     note="True only vacuously; it does not say that minimisers collapse (a minimiser with constant "
                          "diag(W) is not covered, and a minimiser need not exist)."),
    correction=Correction(
        "For every k-CBNAE codes on X (standardised on X) with tr(W) > 0, non-constant diag(W) and a gap >= eps, "
        "Phi-hat with M_i of Eq. 9 and beta of Eq. 43 (with f' = 2pk(k-1)(|S|-1)) has a strictly smaller "
        "C_coupling, mean 0 and unit variance on X (Eqs. 13-15), the same C_recon (M_i invertible, Eq. 9) and a gap "
        "< eps. Hence, for lambda > 0, no minimiser has a non-constant diag(W).",
        Searched(CONSTRUCTION), "searched", kind="restatement"))


def _lambda_zero() -> tuple[bool, dict]:
    """lambda = 0 (allowed: lambda >= 0): the loss is C_recon. Two arms on inputs x_si = (z_si, 0) in R^3 with
    exact k-CBNAE codes z (|S| = 3), E_i = [I_2 0], D_i = E_i^T: C_recon = 0, the least value, so this k-CAE is a
    minimiser; C_coupling > 0, diag(W) is not constant, and the gap is 2 >= eps = 1."""
    Z = np.asarray(EQ29_CODES, dtype=float)
    X = np.concatenate([Z, np.zeros(Z.shape[:2] + (1,))], axis=-1)
    E = np.eye(3)[:2]
    codes = X @ E.T
    recon = float(((X - codes @ E) ** 2).sum())
    W = total_scatter(Z)
    gap = float((Z.max(axis=-1) - Z.min(axis=-1)).max())
    holds = gap < 1.0
    return holds, {"lambda": 0.0, "X": X.tolist(), "E_i": E.tolist(), "D_i": E.T.tolist(), "Z": codes.tolist(),
                   "C_recon": recon, "C_coupling": float(np.trace(W)), "diag_W": np.diag(W).tolist(), "eps": 1.0,
                   "lhs": gap, "rhs": 1.0, "relation": "<", "lhs_is": "max gap |z_si(m) - z_si(m')|",
                   "why_minimiser": "lambda = 0: the loss is C_recon >= 0, and C_recon = 0 here"}


PROP2_LAMBDA0 = claim(
    "prop2.lambda_zero", "(probe) Prop. 2 with lambda = 0 (allowed by the Definition, lambda >= 0)", origin="probe",
    registry=CLAIMS, expected="fails", uses=("prop2",),
    decide=Witnessed(_lambda_zero, "one exact linear k-CAE with perfect reconstruction"),
    correction=Correction("Prop. 2 needs lambda > 0 (as in prop2's correction)", Searched(CONSTRUCTION), "searched",
                          kind="assumption"))


def _constant_diagonal() -> tuple[bool, dict]:
    """diag(W) constant (the hypothesis at its edge): then gamma = p W(n,n)/tr W = 1, Q(0) = 0 and r1 = 0, so
    Eq. 43's beta is 0 and the construction gives nothing. Exact codes with W = diag(2, 2)."""
    Z = arith.exact([[[1, -1], [-1, 1], [0, 0]], [[0, 0], [-1, 1], [1, -1]]])[None]
    c = construct(Z, np.array([sp.Rational(1, 2)], dtype=object))
    f = f_arm_pairs(2, 2, 3)
    r1, _ = q_roots(c.C, c.gamma, f)
    r1 = sp.nsimplify(r1[0])
    return bool(r1 > 0), {"Z": [[[float(v) for v in row] for row in arm] for arm in Z[0]],
                          "diag_W": [str(v) for v in arith.diagonal(c.W)[0]], "gamma": str(c.gamma[0]),
                          "lhs": 0.0, "rhs": float(r1), "relation": "<", "lhs_is": "0",
                          "rhs_is": "r1, the smaller root of Q (Eq. 39 needs r1 > 0)", "r1_exact": str(r1)}


PROP2_CONSTANT = claim(
    "prop2.constant_diagonal", "(probe) with diag(W) constant, the proof's guarantee survives: Q still has a root "
    "r1 > 0, so Eq. 39 leaves a positive range of beta",
    origin="probe", registry=CLAIMS, expected="fails", uses=("eq38.q_roots_positive",),
    decide=Witnessed(_constant_diagonal, "one exact case with diag(W) constant"),
    correction=Correction("the hypothesis 'diag(W) not constant' is needed by the proof: it gives gamma < 1 and "
                          "r1 > 0 (the construction itself may still lower the coupling: the argument is empty, "
                          "not false)",
                          Searched(relation("prop2.constant_diagonal.corrected", ">", lambda a, c: srch.Sides(
                              q_roots(c.C, c.gamma, f_arm_pairs(c.k, c.p, c.S))[0], 0.0, scale=1.0))),
                          "searched", kind="assumption"))


def _closing(arrays, c: Construction) -> srch.Sides:
    """The printed '|z_hat(m) - z_hat(m')| >= eps for some m, m', s, i' for Phi-hat at the beta of Eq. 43."""
    eps = arith.value(arrays["eps"])
    beta = eq43_beta(c, eps, corrected=True)
    if hasattr(c.Z, "error"):
        beta = type(c.Z).exact(beta)
    c2 = c.with_beta(beta, key="eq43_corrected")
    return srch.Sides(max_gap(c2), eps, scale=eps)


PROP2_CLOSING = claim(
    "prop2.closing", "Thus, for beta = (43), C_recon,Phi-hat = C_recon,Phi and C_coupling,Phi-hat < C_coupling,Phi, "
    "contradicting optimality with |z_hat_si(m) - z_hat_si(m')| >= eps for some m, m', s, i", origin="sentence",
    registry=CLAIMS, expected="fails", uses=("eq43", "eq9"),
    decide=Searched(relation("prop2.closing", ">=", _closing),
                    note="Phi-hat's own gap is below eps (Eq. 43): the '>= eps' belongs to Phi, the optimal k-CBNAE "
                         "assumed at the start of the proof, whose optimality Phi-hat contradicts."),
    correction=Correction("... contradicting the optimality of Phi, whose codes have |z_si(m) - z_si(m')| >= eps "
                          "for some m, m', s, i", Searched(CONSTRUCTION), "searched", kind="restatement"))


def _sign_symmetry(arrays, c: Construction) -> srch.Sides:
    """Flip the sign of every other coordinate in every arm, z(m) -> s_m z(m): the mean, the variances, C_c and
    diag(W) are unchanged (the flipped codes are again a k-CBNAE with the same loss)."""
    s = np.where(np.arange(c.p) % 2 == 1, -1.0, 1.0)
    Zs = c.Z * s
    return srch.Sides((total_scatter(Zs) * np.eye(c.p), latent_covariance(Zs) * np.eye(c.p), latent_mean(Zs) * s),
                      (total_scatter(c.Z) * np.eye(c.p), latent_covariance(c.Z) * np.eye(c.p), latent_mean(c.Z)))


PROP2_SIGNS = claim(
    "prop2.sign_symmetry", "(probe) Eq. 1 on a k-CBNAE with c = ||.||^2 is invariant under z(m) -> s_m z(m) in every "
    "arm, s in {+-1}^p, which maps the line of Prop. 2's conclusion (spanned by 1) onto the line spanned by s",
    origin="probe", registry=CLAIMS, expected="certified",
    decide=identity("prop2.sign_symmetry", _sign_symmetry,
                    "nothing in Eq. 1 prefers the line spanned by 1: collapse is onto one of 2^(p-1) lines, detected "
                    "by |corr(z(m), z(m'))| -> 1, not by |z(m) - z(m')| -> 0"))


__all__ = ["CLAIMS", "CONSTRUCTION", "certify_collapse_makes_diag_constant"]
