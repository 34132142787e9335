"""The proof of Prop. 1: the shrunk k-CAE of Eqs. 3-4, the chain of the coupling and the closing sentence.

    Phi_hat = ({(beta I o E_i, D_i o beta^-1 I, r_i)}_{i in K}, c, lambda)                       (Eq. 3)
    beta = min(1/2, eps / (2 max_{s,i} ||z_si||))                                               (Eq. 4)
    "The latent representations due to Phi_hat, z_hat_si = beta z_si, satisfy ||z_hat_si|| = beta ||z_si|| < eps
     and sum_{s,i<j} c(z_hat_si - z_hat_sj) <= sum_{s,i<j} beta c(z_si - z_sj) < sum_{s,i<j} c(z_si - z_sj).
     Thus, C_recon,Phi_hat(X) = C_recon,Phi(X) and C_coupling,Phi_hat(X) < C_coupling,Phi(X), contradicting
     optimality with max_{s,i} ||z_si|| >= eps."

Phi_hat is again a k-CAE of the same class: the arm (E_i, Eq_i, D_i, Dq_i) becomes (beta E_i, beta Eq_i, D_i/beta,
Dq_i/beta^2), since D_i(z/beta) = D_i z/beta + Dq_i (z o z)/beta^2.

Norms ("for any norm"): l1, l2, l3, linf and weighted sqrt(z^T M z) (M positive definite), written as q-th powers
||z||^q (:func:`norm_power`, q = 1, 2, 3, 1, 2) so that every comparison needs no root. A case's eps is the exact
real u max_{s,i} ||z_si||; then Eq. 4 is beta = min(1/2, u/2) (:func:`eq4_beta`) and ||z_hat|| < eps is
||z_hat||^q < u^q max ||z||^q.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from cae_theory import arith
from cae_theory.cases.kcae import NORM_KINDS
from cae_theory.definition import (CORRECTED_DOMAIN, KCAECase, _any, codes, convex_cost, cost_at_zero,
                                   coupling_cost, lead, recon_cost, relation, squared_norm, symbolic_kcae)
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Chain, Identity, Proved, Searched, Witnessed
from cae_theory.validation import as_array, as_beta, as_codes, as_scalar

CLAIMS: list = []

NORM_EXPONENTS = {"l1": 1, "l2": 2, "l3": 3, "linf": 1, "weighted": 2}


# --- norms ------------------------------------------------------------------------------------------------------

def norm_power(z, kind, M):
    """||z||^q over the last axis, ``z: (B..., p) -> (B...)`` (B the batch axes of the per-case parameters,
    possibly followed by more axes), for ``kind: (B, 5)`` one-hot over :data:`NORM_KINDS` and ``M: (B, p, p)``
    (used by the weighted norm: ||z||^2 = z^T M z)."""
    nd = z.ndim
    a = arith.absolute(z)
    total = None
    for j, name in enumerate(NORM_KINDS):
        w = kind[..., j]
        if not _any(w):
            continue
        if name == "l1":
            v = a.sum(axis=-1)
        elif name == "l2":
            v = squared_norm(z)
        elif name == "l3":
            v = (a * a * a).sum(axis=-1)
        elif name == "linf":
            v = a.max(axis=-1)
        else:
            Mz = z @ M[(Ellipsis,) + (None,) * (nd - M.ndim) + (slice(None), slice(None))].mT
            v = (Mz * z).sum(axis=-1)
        term = lead(w, nd - 1) * v
        total = term if total is None else total + term
    return total


def power_of(x, kind):
    """x^q per case for the norm's exponent q: ``x, kind: (B,), (B, 5) -> (B,)``."""
    powers = {1: x, 2: x * x, 3: x * x * x}
    total = None
    for j, name in enumerate(NORM_KINDS):
        w = kind[..., j]
        if _any(w):
            term = w * powers[NORM_EXPONENTS[name]]
            total = term if total is None else total + term
    return total


def largest_code_power(Z, kind, M):
    """max_{s,i} ||z_si||^q: ``(B, k, S, p) -> (B,)``."""
    return norm_power(Z, kind, M).max(axis=-1).max(axis=-1)


@dataclass(frozen=True)
class Norm:
    """A norm on R^p for users: ``kind`` in :data:`NORM_KINDS`; ``M`` (weighted only): a symmetric (to 1e-12 of its
    largest entry; it is symmetrised) positive definite matrix, ||z|| = sqrt(z^T M z). Positive definite
    numerically: smallest eigenvalue > p eps_mach |largest eigenvalue| (eigvalsh's accuracy)."""
    kind: str = "l2"
    M: tuple | None = None

    def __post_init__(self) -> None:
        if self.kind not in NORM_KINDS:
            raise ValueError(f"kind must be one of {NORM_KINDS}, got {self.kind!r}")
        if (self.kind == "weighted") != (self.M is not None):
            raise ValueError("M must be given for the weighted norm, and only for it")
        if self.M is not None:
            M = as_array(self.M, "M", ndim=2)
            if M.shape[0] != M.shape[1] or not np.allclose(M, M.T, rtol=0, atol=1e-12 * np.abs(M).max()):
                raise ValueError(f"M must be a symmetric (p, p) matrix, got shape {M.shape}")
            eig = np.linalg.eigvalsh((M + M.T) / 2)
            tol = M.shape[0] * np.finfo(np.float64).eps * max(abs(eig[0]), abs(eig[-1]))
            if eig[-1] <= 0 or eig[0] <= tol:
                raise ValueError(f"M must be positive definite to define a norm: smallest eigenvalue {eig[0]:.3g} "
                                 f"must be > p * eps * largest |eigenvalue| = {tol:.3g}")

    def params(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        kind = (np.arange(len(NORM_KINDS)) == NORM_KINDS.index(self.kind)).astype(np.float64)
        M = np.eye(p) if self.M is None else np.asarray(self.M, dtype=np.float64)
        M = (M + M.T) / 2
        if M.shape != (p, p):
            raise ValueError(f"M must be ({p}, {p}) for vectors of length {p}, got {M.shape}")
        return kind, M

    def __call__(self, z) -> np.ndarray:
        """||z|| of each row: ``(..., p) -> (...)``."""
        z = as_array(z, "z")
        if z.ndim < 1:
            raise ValueError(f"z must have at least 1 dimension (..., p), got shape {z.shape}")
        kind, M = self.params(z.shape[-1])
        return np.asarray(norm_power(z, kind, M)) ** (1.0 / NORM_EXPONENTS[self.kind])


def max_code_norm(Z, norm: Norm = Norm()) -> float:
    """max_{s,i} ||z_si|| of codes ``Z: (k, S, p)``."""
    if not isinstance(norm, Norm):
        raise TypeError(f"norm must be a cae_theory.prop1.shrink.Norm, got {type(norm).__name__}")
    return float(norm(as_codes(Z)).max())


# --- Eqs. 3-4 ---------------------------------------------------------------------------------------------------

def eq4_beta(u):
    """Eq. 4 for eps = u max_{s,i} ||z_si||: beta = min(1/2, u/2)."""
    return arith.minimum(0.5, u / 2)


def shrunk_arms(a: dict, beta) -> dict:
    """The arms of Phi_hat (Eq. 3): (beta E, beta Eq, D/beta, Dq/beta^2) for arrays ``a`` of a batch of cases."""
    b = lead(beta, a["E"].ndim)
    out = {"E": b * a["E"], "D": a["D"] / b}
    if "Eq" in a:
        out["Eq"] = b * a["Eq"]
    if "Dq" in a:
        out["Dq"] = a["Dq"] / (b * b)
    return out


class Shrunk:
    """The quantities of the proof for a batch of k-CAEs (:class:`cae_theory.definition.KCAECase`), each computed
    once per batch."""

    def __init__(self, case: KCAECase):
        self.case = case
        self.a = case.a

    def _get(self, name, compute):
        return self.case.get(name, compute)

    @property
    def beta(self):
        return self._get("beta", lambda: eq4_beta(self.a["u"]))

    @property
    def arms(self) -> dict:
        return self._get("arms_hat", lambda: shrunk_arms(self.a, self.beta))

    @property
    def Z(self):
        return self._get("Z_hat", lambda: codes(self.a["X"], self.arms["E"], self.arms.get("Eq")))

    @property
    def recon(self):
        h = self.arms
        return self._get("recon_hat", lambda: recon_cost(self.a["X"], h["E"], h["D"], h.get("Eq"), h.get("Dq")))

    @property
    def coupling(self):
        return self._get("coupling_hat", lambda: coupling_cost(self.Z, self.case.c))

    @property
    def loss(self):
        return self._get("loss_hat", lambda: self.recon + self.a["lam"] * self.coupling)

    @property
    def top(self):
        """max ||z_si||^q of Phi (the codes of the case)."""
        return self._get("top", lambda: largest_code_power(self.case.Z, self.a["norm_kind"], self.a["norm_M"]))

    @property
    def top_hat(self):
        return self._get("top_hat", lambda: largest_code_power(self.Z, self.a["norm_kind"], self.a["norm_M"]))

    @property
    def eps_power(self):
        """eps^q = u^q max ||z||^q."""
        return self._get("eps_q", lambda: power_of(self.a["u"], self.a["norm_kind"]) * self.top)

    @property
    def n_terms(self) -> int:
        k, S = self.a["X"].shape[-3], self.a["X"].shape[-2]
        return S * k * (k - 1) // 2

    @property
    def c0(self):
        return self._get("c0_lifted", lambda: cost_at_zero(self.a, self.case.p))

    def mask(self, *, coupling=False, c0_zero=False, lam_positive=False, codes_nonzero=False) -> np.ndarray:
        """Cases inside the stated premises, decided on the float values (exact for c(0) = 0, lambda > 0; C > 0
        and max ||z|| > 0 are sums or maxima of non-negative terms)."""
        m = np.ones(arith.value(self.a["u"]).shape, dtype=bool)
        if coupling:
            m &= arith.value(self.case.coupling) > 0
        if c0_zero:
            m &= self.case.c0 == 0
        if lam_positive:
            m &= arith.value(self.a["lam"]) > 0
        if codes_nonzero:
            m &= arith.value(self.top) > 0
        return m


def _eq3(arrays, case: KCAECase) -> srch.Sides:
    h = Shrunk(case)
    return srch.Sides(h.Z, lead(h.beta, case.Z.ndim) * case.Z)


def _symbolic_shrink(quadratic: bool) -> tuple[dict, dict, sp.Symbol]:
    k, S, P, p = (2, 2, 2, 1) if quadratic else (2, 2, 3, 2)
    s = symbolic_kcae(k, S, P, p)
    if quadratic:
        s["Eq"] = arith.symbols("f", (k, p, P), real=True)
        s["Dq"] = arith.symbols("g", (k, P, p), real=True)
    beta = sp.Symbol("beta", positive=True)
    return s, shrunk_arms(s, beta), beta


def certify_eq3() -> dict:
    """sympy: the codes of Phi_hat, (beta E_i) x + (beta Eq_i)(x o x), expand to beta z_si (linear arms k = |S| = 2,
    p' = 3, p = 2; quadratic arms k = |S| = p' = 2, p = 1)."""
    for quadratic in (False, True):
        s, h, beta = _symbolic_shrink(quadratic)
        if not arith.expand_is_zero(codes(s["X"], h["E"], h.get("Eq")) - beta * codes(s["X"], s["E"], s.get("Eq"))):
            return {"ok": False, "failed_at": {"quadratic": quadratic}, "scope": ""}
    return {"ok": True, "sizes": {"linear (k, S, p', p)": [2, 2, 3, 2], "quadratic": [2, 2, 2, 1]},
            "scope": "symbolic X, arms and beta > 0; linear and quadratic arms"}


EQ3 = claim(
    "eq3", "Phi_hat = ({(beta I o E_i, D_i o beta^-1 I, r_i)}, c, lambda) (Eq. 3): its latent representations are "
    "z_hat_si = beta z_si", registry=CLAIMS, expected="certified", uses=("definition.kcae",),
    decide=Identity(relation("eq3", "=", _eq3, searched=False), certify_eq3,
                    "numbers: the codes of Phi_hat (its encoder matrices beta E_i applied to x) against beta z"))


def lemma_eq4(z3):
    """Eq. 4 for any m = max_{s,i} ||z_si|| > 0 and eps > 0: q = eps/(2m), beta = min(1/2, q) lies in (0, 1/2] and
    beta m <= eps/2."""
    m, eps, q, beta = z3.Reals("m eps q beta")
    hyp = [m > 0, eps > 0, 2 * m * q == eps, beta == z3.If(q < z3.RealVal("1/2"), q, z3.RealVal("1/2"))]
    return hyp, z3.And(beta > 0, 2 * beta <= 1, 2 * beta * m <= eps)


EQ4 = claim(
    "eq4", "beta = min(1/2, eps / (2 max_{s,i} ||z_si||)) (Eq. 4) lies in (0, 1/2] and beta max ||z_si|| <= eps/2",
    registry=CLAIMS, expected="proved",
    decide=Proved("every norm, k, |S|, p and eps > 0 (z3 on the scalars m = max ||z_si|| > 0 and eps)",
                  lemma=lemma_eq4))


# --- the latent representations of Phi_hat ---------------------------------------------------------------------

def lemma_norm(z3):
    """||z_hat_si|| = beta ||z_si|| < eps: for n = ||z_si|| in [0, m], m = max ||z|| > 0, beta of Eq. 4 and the
    homogeneity of a norm (||beta z|| = beta ||z|| for beta > 0)."""
    n, m, eps, q, beta, nh = z3.Reals("n m eps q beta n_hat")
    hyp = [n >= 0, n <= m, m > 0, eps > 0, 2 * m * q == eps,
           beta == z3.If(q < z3.RealVal("1/2"), q, z3.RealVal("1/2")), nh == beta * n]
    return hyp, nh < eps


def _norm(arrays, case: KCAECase) -> srch.Sides:
    h = Shrunk(case)
    return srch.Sides(h.top_hat, h.eps_power, applies=h.mask(codes_nonzero=True))


NORM = claim(
    "prop1.norm", "The latent representations due to Phi_hat, z_hat_si = beta z_si, satisfy ||z_hat_si|| = "
    "beta ||z_si|| < eps (for any norm)", origin="sentence", registry=CLAIMS, expected="proved",
    uses=("eq3", "eq4"),
    decide=Proved("every norm (homogeneity), every s, i, k, |S|, p, eps > 0 (z3 on n = ||z_si||, m = max ||z||)",
                  lemma=lemma_norm, cross_check=relation("prop1.norm", "<", _norm)))


def _recon(arrays, case: KCAECase) -> srch.Sides:
    return srch.Sides(Shrunk(case).recon, case.recon)


def certify_recon() -> dict:
    """sympy: C_recon of Phi_hat expands to C_recon of Phi (symbolic beta > 0; linear and quadratic arms)."""
    for quadratic in (False, True):
        s, h, _ = _symbolic_shrink(quadratic)
        diff = (recon_cost(s["X"], h["E"], h["D"], h.get("Eq"), h.get("Dq"))
                - recon_cost(s["X"], s["E"], s["D"], s.get("Eq"), s.get("Dq")))
        if not arith.expand_is_zero(diff):
            return {"ok": False, "failed_at": {"quadratic": quadratic}, "scope": ""}
    return {"ok": True, "scope": "symbolic X, arms and beta > 0; linear (k, S, p', p) = (2, 2, 3, 2) and quadratic "
                                 "(2, 2, 2, 1) arms; the argument of r_i is unchanged, so every r_i"}


RECON = claim(
    "prop1.recon", "C_recon,Phi_hat(X) = C_recon,Phi(X)", origin="sentence", registry=CLAIMS, expected="certified",
    uses=("remark", "eq3"),
    decide=Identity(relation("prop1.recon", "=", _recon, searched=False), certify_recon,
                    "the Remark with T = beta I"))


# --- the chain of the coupling --------------------------------------------------------------------------------

def _exact_cost(kind: str, offset=0, shift=None, p: int = 1) -> dict:
    """Exact (sympy) parameters of :func:`cae_theory.definition.convex_cost` for one cost."""
    return {"c_kind": np.array([int(k == kind) for k in ("sq", "l1", "linf", "huber", "quartic")], dtype=object),
            "c_weight": sp.Integer(1), "c_offset": sp.nsimplify(offset),
            "c_shift": arith.exact(np.zeros(p) if shift is None else np.asarray(shift, dtype=float)),
            "c_delta": sp.Integer(1)}


def _shrink_exact(Z, eps, params: dict) -> dict:
    """Codes ``Z: (k, S, p)`` (small dyadic numbers), eps and a cost, all exact: beta (Eq. 4, l2 norm), the codes of
    Phi_hat and both couplings."""
    Zx = arith.exact(np.asarray(Z, dtype=float))
    top = max(sp.sqrt(sum(v * v for v in z)) for zi in Zx for z in zi)
    beta = sp.Min(sp.Rational(1, 2), sp.nsimplify(eps) / (2 * top))
    c = lambda y: convex_cost(y, params)                             # noqa: E731
    return {"Z": Zx, "beta": beta, "Z_hat": beta * Zx, "C": coupling_cost(Zx, c),
            "C_hat": coupling_cost(beta * Zx, c)}


def _convexity_witness() -> tuple[bool, dict]:
    """c(x) = 1 + ||x||^2 (convex, non-negative, c(0) = 1), two equal arms (every difference 0), eps = 1:
    max ||z|| = 2, beta = 1/4, sum c(z_hat diff) = 2 > beta sum c(z diff) = 1/2."""
    Z = [[[1], [2]], [[1], [2]]]
    r = _shrink_exact(Z, 1, _exact_cost("sq", offset=1))
    holds = bool(r["C_hat"] <= r["beta"] * r["C"])
    return holds, {"Z": Z, "eps": 1, "norm": "l2", "c": "x -> 1 + ||x||_2^2", "beta": str(r["beta"]),
                   "Z_hat": [[[str(v) for v in z] for z in zi] for zi in r["Z_hat"]],
                   "lhs": str(r["C_hat"]), "rhs": str(r["beta"] * r["C"]), "relation": "<=", "exact": True,
                   "lhs_is": "sum_{s,i<j} c(z_hat_si - z_hat_sj)", "rhs_is": "sum_{s,i<j} beta c(z_si - z_sj)"}


def _convexity(arrays, case: KCAECase) -> srch.Sides:
    h = Shrunk(case)
    return srch.Sides(h.coupling, h.beta * case.coupling)


def _convexity_corrected(arrays, case: KCAECase) -> srch.Sides:
    h = Shrunk(case)
    return srch.Sides(h.coupling, h.beta * case.coupling + (1 - h.beta) * h.n_terms * h.c0)


def convexity_form() -> dict:
    """sympy bookkeeping of the termwise proof: for N terms t, beta sum_t c(d_t) + (1 - beta) N c(0) -
    sum_t c(beta d_t) expands to sum_t [beta c(d_t) + (1 - beta) c(0) - c(beta d_t)], and each bracket is >= 0 by
    the definition of convexity (c(beta d + (1 - beta) 0) <= beta c(d) + (1 - beta) c(0), 0 < beta <= 1)."""
    beta, c0 = sp.symbols("beta c0", positive=True)
    for N in (1, 2, 5):
        cd = sp.symbols(f"c_d0:{N}", nonnegative=True)
        cb = sp.symbols(f"c_bd0:{N}", nonnegative=True)
        diff = beta * sum(cd) + (1 - beta) * N * c0 - sum(cb)
        form = sum(beta * a + (1 - beta) * c0 - b for a, b in zip(cd, cb))
        if sp.expand(diff - form) != 0:
            return {"ok": False}
    return {"ok": True, "form": "sum_t [beta c(d_t) + (1 - beta) c(0) - c(beta d_t)], each term >= 0 (convexity)",
            "terms_checked": [1, 2, 5]}


CONVEXITY = claim(
    "prop1.coupling.convexity", "sum_{s,i<j} c(z_hat_si - z_hat_sj) <= sum_{s,i<j} beta c(z_si - z_sj)  (c "
    "non-negative convex, as the Definition allows)", origin="sentence", registry=CLAIMS, expected="fails",
    uses=("eq3", "eq4", "definition.kcae"),
    decide=Witnessed(_convexity_witness, "one exact case: c(x) = 1 + ||x||^2, two equal arms",
                     also=Searched(relation("prop1.coupling.convexity", "<=", _convexity)),
                     note="c(beta x) <= beta c(x) needs c(0) = 0, which the Definition does not require."),
    correction=Correction(
        "For every convex c: sum c(z_hat_si - z_hat_sj) <= beta sum c(z_si - z_sj) + (1 - beta) |S| k(k-1)/2 c(0); "
        "in particular the printed step holds when c(0) = 0",
        Proved("every convex c, every k, |S|, p: termwise the definition of convexity at d and 0 with weight beta",
               symbolic=convexity_form,
               cross_check=relation("prop1.coupling.convexity.corrected", "<=", _convexity_corrected)),
        "proved", kind="assumption"))


def lemma_strict(z3):
    """beta C < C for C > 0 and 0 < beta <= 1/2 (Eq. 4)."""
    beta, C = z3.Reals("beta C")
    return [C > 0, beta > 0, 2 * beta <= 1], beta * C < C


STRICT = claim(
    "prop1.coupling.strict", "sum_{s,i<j} beta c(z_si - z_sj) < sum_{s,i<j} c(z_si - z_sj)  (C_coupling > 0)",
    origin="sentence", registry=CLAIMS, expected="proved", uses=("eq4",),
    decide=Proved("every cost, k, |S|, p (z3 on C = C_coupling > 0 and beta in (0, 1/2])", lemma=lemma_strict))


def _coupling_witness() -> tuple[bool, dict]:
    """c(x) = ||x - 1||^2 (convex, non-negative, c(0) = 1), k = 2, |S| = 2, p = 1: z_s1 - z_s2 = 1, 3/2; eps = 1
    gives beta = 1/3 and C_coupling(Phi_hat) = 4/9 + 1/4 > C_coupling(Phi) = 0 + 1/4."""
    Z = [[[1], [1.5]], [[0], [0]]]
    r = _shrink_exact(Z, 1, _exact_cost("sq", shift=[1.0]))
    return bool(r["C_hat"] < r["C"]), {
        "Z": Z, "eps": 1, "norm": "l2", "c": "x -> ||x - 1||_2^2", "beta": str(r["beta"]),
        "Z_hat": [[[str(v) for v in z] for z in zi] for zi in r["Z_hat"]], "lhs": str(r["C_hat"]),
        "rhs": str(r["C"]), "relation": "<", "exact": True, "lhs_is": "C_coupling(Phi_hat)",
        "rhs_is": "C_coupling(Phi)"}


def _coupling(arrays, case: KCAECase) -> srch.Sides:
    h = Shrunk(case)
    return srch.Sides(h.coupling, case.coupling, applies=h.mask(coupling=True))


def _coupling_corrected(arrays, case: KCAECase) -> srch.Sides:
    h = Shrunk(case)
    return srch.Sides(h.coupling, case.coupling, applies=h.mask(coupling=True, c0_zero=True))


COUPLING = claim(
    "prop1.coupling", "C_coupling,Phi_hat(X) < C_coupling,Phi(X)  (c non-negative convex, C_coupling > 0)",
    origin="sentence", registry=CLAIMS, expected="fails", uses=("prop1.coupling.convexity", "prop1.coupling.strict"),
    decide=Witnessed(_coupling_witness, "one exact case: c(x) = ||x - 1||^2, k = |S| = 2, p = 1",
                     also=Searched(relation("prop1.coupling", "<", _coupling)),
                     note="c(x) = ||x - a||^2 rewards codes that differ by a: shrinking raises the coupling."),
    correction=Correction(
        "If c(0) = 0 (c >= 0 convex) and C_coupling(Phi) > 0: C_coupling(Phi_hat) <= beta C_coupling(Phi) < "
        "C_coupling(Phi)",
        Chain((("prop1.coupling.convexity", CONVEXITY.correction.decide), ("prop1.coupling.strict", STRICT.decide)),
              "C_hat <= beta C + (1 - beta) N c(0) = beta C < C", cross_check=relation(
                  "prop1.coupling.corrected", "<", _coupling_corrected, domain=CORRECTED_DOMAIN)),
        "proved", kind="assumption"))


# --- the closing sentence ----------------------------------------------------------------------------------------

def exact_kcae(X, E, D, lam, eps, c_params: dict) -> dict:
    """A linear k-CAE with exact (small dyadic) inputs and arms: its codes, beta (Eq. 4, l2 norm), Phi_hat's arms and
    every loss, in sympy rationals."""
    Xe, Ee, De = (arith.exact(np.asarray(v, dtype=float)) for v in (X, E, D))
    lam = sp.nsimplify(lam)
    Z = codes(Xe, Ee)
    top = max(sp.sqrt(sum(v * v for v in z)) for zi in Z for z in zi)
    beta = sp.Min(sp.Rational(1, 2), sp.nsimplify(eps) / (2 * top))
    h = shrunk_arms({"E": Ee, "D": De}, beta)
    c = lambda y: convex_cost(y, c_params)                       # noqa: E731
    out = {"Z": Z, "top": top, "beta": beta, "recon": recon_cost(Xe, Ee, De), "C": coupling_cost(Z, c),
           "recon_hat": recon_cost(Xe, h["E"], h["D"]), "C_hat": coupling_cost(codes(Xe, h["E"]), c)}
    out["loss"] = out["recon"] + lam * out["C"]
    out["loss_hat"] = out["recon_hat"] + lam * out["C_hat"]
    return out


def _closing_witness() -> tuple[bool, dict]:
    """lambda = 0 (allowed by the Definition), c = ||.||^2 (c(0) = 0): C_recon is unchanged and C_coupling drops,
    yet C_Phi_hat = C_Phi: no contradiction with optimality."""
    X = [[[1, 0], [2, 0]], [[3, 0], [-1, 0]]]
    E = [[[1, 0]], [[2, 0]]]
    D = [[[1], [0]], [[0.5], [0]]]
    r = exact_kcae(X, E, D, 0, 1, _exact_cost("sq"))
    return bool(r["loss_hat"] < r["loss"]), {
        "X": X, "E": E, "D": D, "lam": 0, "eps": 1, "norm": "l2", "c": "x -> ||x||_2^2", "r": "||.||_2^2",
        "beta": str(r["beta"]), "C_recon": str(r["recon"]), "C_recon_hat": str(r["recon_hat"]),
        "C_coupling": str(r["C"]), "C_coupling_hat": str(r["C_hat"]), "lhs": str(r["loss_hat"]),
        "rhs": str(r["loss"]), "relation": "<", "exact": True, "lhs_is": "C_Phi_hat(X)", "rhs_is": "C_Phi(X)"}


def lemma_lambda(z3):
    """R_hat = R, C_hat < C and lambda > 0 give R_hat + lambda C_hat < R + lambda C."""
    R, Rh, C, Ch, lam = z3.Reals("R R_hat C C_hat lam")
    return [Rh == R, Ch < C, lam > 0], Rh + lam * Ch < R + lam * C


CLOSING = claim(
    "prop1.closing", "Thus, C_recon,Phi_hat(X) = C_recon,Phi(X) and C_coupling,Phi_hat(X) < C_coupling,Phi(X), "
    "contradicting optimality  (read: C_Phi_hat(X) < C_Phi(X) for lambda >= 0, as the Definition allows)",
    origin="sentence", registry=CLAIMS, expected="fails", uses=("prop1.recon", "prop1.coupling"),
    decide=Witnessed(_closing_witness, "one exact k-CAE with lambda = 0, c = ||.||^2",
                     note="With lambda = 0 the loss does not change, so there is no contradiction; with c(0) > 0 the "
                          "coupling can rise (prop1.coupling)."),
    correction=Correction(
        "If lambda > 0, c(0) = 0 and C_coupling(Phi) > 0: C_Phi_hat(X) < C_Phi(X)",
        Chain((("prop1.recon", RECON.decide), ("prop1.coupling", COUPLING.correction.decide),
               ("lambda > 0", Proved("scalars", lemma=lemma_lambda))),
              "R_hat = R, C_hat < C, lambda > 0 give R_hat + lambda C_hat < R + lambda C (cross-checked with "
              "prop1.established)"),
        "proved", kind="assumption"),
    reading="'contradicting optimality' read as: the loss of Phi_hat is strictly smaller")


# --- what the proof establishes (the correction of Prop. 1, used by prop1.statement) --------------------------

def _established(arrays, case: KCAECase) -> srch.Sides:
    h = Shrunk(case)
    return srch.Sides((h.top_hat, h.loss), (h.eps_power, case.loss),
                      applies=h.mask(coupling=True, c0_zero=True, lam_positive=True, codes_nonzero=True))


ESTABLISHED_TEXT = (
    "Prop. 1 corrected: let lambda > 0 and c(0) = 0 (c >= 0 convex). For every k-CAE Phi with C_coupling > 0 and every "
    "eps > 0 (any norm), Phi_hat of Eqs. 3-4 has max ||z_hat_si|| < eps, the same C_recon and a strictly smaller "
    "loss. Hence no minimiser with C_coupling > 0 exists: the printed conclusion holds vacuously (codes below every "
    "eps are 0, with C_coupling = N c(0) = 0), and the infimum of the loss is approached by shrinking.")

ESTABLISHED_RELATION = relation("prop1.established", "<", _established, domain=CORRECTED_DOMAIN)
ESTABLISHED_LINKS = (("prop1.norm", NORM.decide), ("prop1.closing", CLOSING.correction.decide))

ESTABLISHED = Chain(ESTABLISHED_LINKS, "||z_hat|| < eps and C_Phi_hat < C_Phi for every Phi with C_coupling > 0",
                    cross_check=ESTABLISHED_RELATION)

#: The same chain, read for k-CAEs outside the assumptions below Eq. 1: no link uses |S| > 1 or p < p' (the
#: lemmas are about scalars, the identities hold for every size); its search includes |S| = 1 and p' <= p.
ESTABLISHED_OUTSIDE = Chain(ESTABLISHED_LINKS, "the same links, none of which uses |S| > 1 or p < p'",
                            cross_check=ESTABLISHED_RELATION,
                            note="The search covers the families single_sample (|S| = 1), no_compression (p' <= p) "
                                 "and both, next to those inside the assumptions.")


# --- validated entry points for users -------------------------------------------------------------------------

def shrink_beta(Z, eps: float, norm: Norm = Norm()) -> float:
    """beta = min(1/2, eps / (2 max_{s,i} ||z_si||)) (Eq. 4) for codes ``Z: (k, S, p)`` and ``eps > 0``; all-zero
    codes give 1/2."""
    eps = as_scalar(eps, "eps", low=0.0)
    top = max_code_norm(Z, norm)
    return 0.5 if top == 0.0 else min(0.5, eps / (2.0 * top))


def shrink(encoders, decoders, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Phi_hat of Eq. 3 for linear arms: (beta E_i, D_i / beta); ``encoders: (k, p, p')``, ``decoders: (k, p', p)``,
    0 < beta < 1."""
    beta = as_beta(beta)
    E = as_array(encoders, "encoders", ndim=3)
    D = as_array(decoders, "decoders", ndim=3)
    if D.shape[0] != E.shape[0]:
        raise ValueError(f"decoders must have one decoder per encoder ({E.shape[0]}), got {D.shape[0]}")
    h = shrunk_arms({"E": E, "D": D}, np.float64(beta))
    return h["E"], h["D"]


def shrink_codes(Z, beta: float) -> np.ndarray:
    """z_hat_si = beta z_si (Eq. 3) for ``Z: (k, S, p)``."""
    return as_beta(beta) * as_codes(Z)


__all__ = ["CLAIMS", "ESTABLISHED", "ESTABLISHED_OUTSIDE", "ESTABLISHED_TEXT", "NORM_EXPONENTS", "Norm", "Shrunk",
           "eq4_beta", "exact_kcae", "largest_code_power", "max_code_norm", "norm_power", "power_of", "shrink",
           "shrink_beta", "shrink_codes", "shrunk_arms"]
