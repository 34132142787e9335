"""Proposition 1 as printed, and its hypotheses varied to their edges.

    "Proposition 1. Latent representations of the k-CAE minimizing the loss in Eq. 1 with C_coupling > 0 satisfy
     ||z_si|| < eps, for any norm ||.||, input set X, eps > 0, and all s, i."

The hypotheses (the Definition, the assumptions below Eq. 1) and where each edge is checked:

- lambda >= 0: lambda = 0 (``prop1.lambda_zero``, fails); lambda from 1e-12 to 1e12 in the correction's search
  (family ``lambda_edges``);
- c non-negative convex: c constant (``prop1`` itself fails), c(0) > 0 and not constant (``prop1.c0_positive``,
  fails); c(0) = 0 in the correction (family ``c_zero_at_origin``; five kinds of c);
- the norm: l1, l2, l3, linf and weighted norms (every case of :data:`cae_theory.definition.DOMAIN` draws one);
- |S| > 1: |S| = 2 (family ``edge_sizes``); |S| = 1 in ``prop1.assumptions_unused`` (and the correction's search);
- p < p': p' = p + 1 (``edge_sizes``); p' <= p in ``prop1.assumptions_unused`` (and the correction's search);
- E_i, D_i continuous operators that express every linear map: linear and quadratic arms (``quadratic_arms``).

The proof (:mod:`cae_theory.prop1.shrink`) establishes, under lambda > 0 and c(0) = 0, that every k-CAE with
C_coupling > 0 is strictly beaten by its shrunk Phi_hat; so the printed statement holds only vacuously there, and
fails at the edges lambda = 0 and c(0) > 0, where minimisers with C_coupling > 0 and long codes exist.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import sympy as sp

from cae_theory import arith
from cae_theory.definition import codes, coupling_cost, recon_cost, squared_norm
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Witnessed
from cae_theory.prop1.shrink import ESTABLISHED, ESTABLISHED_OUTSIDE, ESTABLISHED_TEXT

CLAIMS: list = []

#: Both arms see the same inputs, all on the line R (1, 0): a rank-one linear arm reconstructs them exactly.
LINE_INPUTS = [[[1, 0], [2, 0]], [[1, 0], [2, 0]]]


def global_minimiser(c: Callable, lam, scales: tuple[int, int], c_text: str, lower_bound,
                     why: str) -> tuple[bool, dict]:
    """A k-CAE on :data:`LINE_INPUTS` with E_i = [[t_i, 0]], D_i = [[1/t_i], [0]] (t_i powers of 2), decided
    exactly: C_recon = 0 (its least value), loss = ``lower_bound`` (a bound valid for every k-CAE on these inputs,
    argued in ``why``), so it minimises Eq. 1; Prop. 1 then claims max ||z_si|| < eps = 1 (l2 norm). Returns
    (whether the claim holds on it, the witness); RuntimeError if the construction is not such a minimiser."""
    X = arith.exact(np.asarray(LINE_INPUTS, dtype=float))
    E = arith.exact(np.array([[[t, 0.0]] for t in scales]))
    D = arith.exact(np.array([[[1.0 / t], [0.0]] for t in scales]))
    Z = codes(X, E)
    recon, coup = recon_cost(X, E, D), coupling_cost(Z, c)
    lam = sp.nsimplify(lam)
    loss = recon + lam * coup
    top = max(sp.sqrt(sum(v * v for v in z)) for zi in Z for z in zi)
    eps = sp.Integer(1)
    if not (loss == lower_bound and recon == 0 and coup > 0):
        raise RuntimeError("the construction is not a minimiser with C_coupling > 0: a bug in the witness")
    return bool(top < eps), {
        "X": LINE_INPUTS, "E": [[[t, 0]] for t in scales], "D": [[[str(sp.Rational(1, t))], [0]] for t in scales],
        "lam": str(lam), "r": "||.||_2^2", "c": c_text, "norm": "l2", "eps": 1,
        "Z": [[[str(v) for v in z] for z in zi] for zi in Z], "C_recon": str(recon), "C_coupling": str(coup),
        "loss": str(loss), "lower_bound": str(lower_bound), "why_minimiser": why, "lhs": str(top), "rhs": "1",
        "relation": "<", "exact": True, "lhs_is": "max_{s,i} ||z_si||_2",
        "rhs_is": "eps: Prop. 1 claims every code of a minimiser with C_coupling > 0 is shorter"}


def _constant_cost() -> tuple[bool, dict]:
    """c = 1 (non-negative and convex; c(0) = 1): every k-CAE on the inputs has C_recon >= 0 and C_coupling =
    |S| k(k-1)/2 = 2, so loss >= 2 lambda; this one attains it, with codes of length up to 2048."""
    return global_minimiser(lambda y: squared_norm(y) * 0 + 1, 1, (1024, 1024), "x -> 1 (constant)", 2,
                            "every k-CAE on X has C_recon >= 0 and C_coupling = |S| k(k-1)/2 * 1 = 2: loss >= 2 lam")


def _lambda_zero() -> tuple[bool, dict]:
    """lambda = 0, c = ||.||^2: the loss is C_recon >= 0, and C_recon = 0 here; the arms use t = 1024, 2048, so the
    codes of the two arms differ (C_coupling > 0) and are long."""
    return global_minimiser(squared_norm, 0, (1024, 2048), "x -> ||x||_2^2", 0,
                            "lam = 0: the loss is C_recon >= 0 for every k-CAE, and C_recon = 0 here")


def _c0_positive() -> tuple[bool, dict]:
    """c(x) = 1 + ||x||^2 (convex, c(0) = 1, not constant), lambda = 1: C_coupling >= |S| k(k-1)/2 = 2 for every
    k-CAE, with equality when the arms' codes agree, as here (same inputs, same t = 1024)."""
    return global_minimiser(lambda y: 1 + squared_norm(y), 1, (1024, 1024), "x -> 1 + ||x||_2^2", 2,
                            "c >= 1, so C_coupling >= |S| k(k-1)/2 = 2 and loss >= 2 lam for every k-CAE on X; here "
                            "C_recon = 0 and the codes of the two arms agree")


def _correction(kind: str) -> Correction:
    return Correction(ESTABLISHED_TEXT, ESTABLISHED, "proved", kind=kind)


PROOF_STEPS = ("eq3", "eq4", "prop1.norm", "prop1.recon", "prop1.coupling", "prop1.closing")

PROP1 = claim(
    "prop1", "Proposition 1: latent representations of the k-CAE minimizing the loss in Eq. 1 with C_coupling > 0 "
    "satisfy ||z_si|| < eps, for any norm, input set X, eps > 0, and all s, i", registry=CLAIMS, expected="fails",
    uses=PROOF_STEPS,
    decide=Witnessed(
        _constant_cost, "one exact minimiser: c = 1 (constant), lambda = 1, k = |S| = 2, p' = 2, p = 1",
        note="c = 1 is non-negative and convex; every perfect-reconstruction k-CAE is a global minimiser, and the "
             "Remark (T = t I) makes its codes as long as we like."),
    correction=_correction("assumption"))

LAMBDA_ZERO = claim(
    "prop1.lambda_zero", "Probe: Prop. 1 with lambda = 0 (allowed by the Definition, lambda >= 0) and c = ||.||^2",
    origin="probe", registry=CLAIMS, expected="fails", uses=("prop1",),
    decide=Witnessed(
        _lambda_zero, "one exact minimiser: lambda = 0, c = ||.||^2",
        note="With lambda = 0 shrinking does not lower the loss; every perfect reconstruction is optimal."),
    correction=_correction("assumption"))

C0_POSITIVE = claim(
    "prop1.c0_positive", "Probe: Prop. 1 with a non-constant c, c(0) > 0: c(x) = 1 + ||x||^2", origin="probe",
    registry=CLAIMS, expected="fails", uses=("prop1",),
    decide=Witnessed(
        _c0_positive, "one exact minimiser: c(x) = 1 + ||x||^2, lambda = 1",
        note="The coupling cannot fall below |S| k(k-1)/2 c(0) > 0; a minimiser with agreeing codes of any length "
             "exists."),
    correction=_correction("assumption"))

UNUSED = claim(
    "prop1.assumptions_unused", "Probe: what the proof establishes (Phi_hat has max ||z_hat|| < eps and a strictly "
    "smaller loss, lambda > 0, c(0) = 0, C_coupling > 0) also holds without the assumptions below Eq. 1: |S| = 1, "
    "p' <= p", origin="probe", registry=CLAIMS, expected="proved", uses=("prop1",), decide=ESTABLISHED_OUTSIDE)


__all__ = ["CLAIMS", "LINE_INPUTS", "global_minimiser"]
