"""Prop. 2, the construction of Phi-hat (supplement Eqs. 9-15): D_i, M_i and the statistics of the new codes.

    D_i(m, m) = [1 + beta^2 + 2 beta V_i(n, m)]^(-1/2)                        (Eq. 10)
    M_i       = D_i 1 b^T + beta D_i = D_i (1 b^T + beta I)                  (Eq. 9)
    z_hat_si  = M_i z_si                                                      (the codes of Phi-hat)
    m_hat_i   = M_i mu_i = 0                                                  (Eq. 13)
    V_hat_i   = M_i V_i M_i^T = D_i [1 b^T V_i b 1^T + beta (1 b^T V_i + V_i b 1^T) + beta^2 V_i] D_i^T   (Eq. 14)
    V_hat_i(m, m) = D_i(m, m)^2 [V_i(n, n) + 2 beta V_i(n, m) + beta^2 V_i(m, m)] = 1                   (Eq. 15)

:func:`construct` builds everything from codes ``Z: (..., k, S, p)`` and ``beta: (...)``, on any kind of number
(:mod:`cae_theory.arith`). The bracket of Eq. 10 is evaluated as the equal (1 - beta)^2 + 2 beta (1 + V_i(n, m)),
with V_i(n, m) clipped to [-1, 1] in floats (its exact value lies there, Eq. 8's sentence): the printed form
cancels to 0 or below in floats when V_i(n, m) = -1 and beta is near 1.

:data:`DOMAIN` is the search domain of every Prop. 2 step: the case families of :mod:`cae_theory.cases.codes`,
each case built into its construction once and shared by all the relations.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from cae_theory import arith
from cae_theory.cases import codes
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import claim
from cae_theory.ledger.decide import Identity, Proved
from cae_theory.prop2.notation import (latent_covariance, latent_mean, one_hot, pair_scatter, select_n,
                                       total_scatter)
from cae_theory.rounding import Bounded, clip

CLAIMS: list = []


@dataclass
class Construction:
    """Everything the proof of Prop. 2 builds from codes and beta (shapes for a batch ``...`` of cases)."""
    Z: Any          # (..., k, S, p) codes z_si
    beta: Any       # (...)
    V: Any          # (..., k, p, p) V_i
    Wp: Any         # (..., P, p, p) W_ij, pairs i < j
    W: Any          # (..., p, p)
    C: Any          # (...) C_c = tr(W) (Eq. 5)
    n: np.ndarray   # (...) int, argmin_m W(m, m)
    b: np.ndarray   # (..., p) e_n
    gamma: Any      # (...) p W(n, n) / tr(W) (the gamma Eq. 21 needs; see eq6.gamma)
    d: Any          # (..., k, p) D_i(m, m), Eq. 10
    P: Any          # (..., p, p) 1 b^T + beta I
    M: Any          # (..., k, p, p) M_i, Eq. 9
    memo: dict = field(default_factory=dict, repr=False)   # quantities shared by several relations (see shared)

    @functools.cached_property
    def Zh(self):
        """z_hat_si = M_i z_si: (..., k, S, p) (computed when a relation needs single codes)."""
        return self.Z @ self.M.mT

    @functools.cached_property
    def code_norm(self):
        """||z_si||_inf = max_m |z_si(m)|: (..., k, S) (the norm of Eqs. 41-43, see cae_theory.prop2.gap)."""
        if "code_norm" not in self.memo:
            self.memo["code_norm"] = arith.absolute(self.Z).max(axis=-1)
        return self.memo["code_norm"]

    @functools.cached_property
    def G_second(self):
        """sum_s z_sj z_sj^T for the second arm j of every pair i < j: (..., P, p, p) (independent of beta)."""
        if "G_second" in self.memo:
            return self.memo["G_second"]
        from cae_theory.prop2.notation import pairs
        _, J = pairs(self.k)
        ZJ = self.Z[..., J, :, :]
        self.memo["G_second"] = ZJ.mT @ ZJ
        return self.memo["G_second"]

    @functools.cached_property
    def X_pairs(self):
        """sum_s (z_si - z_sj) z_sj^T for every pair i < j: (..., P, p, p) (independent of beta)."""
        if "X_pairs" in self.memo:
            return self.memo["X_pairs"]
        from cae_theory.prop2.notation import pair_differences, pairs
        _, J = pairs(self.k)
        self.memo["X_pairs"] = pair_differences(self.Z).mT @ self.Z[..., J, :, :]
        return self.memo["X_pairs"]

    @functools.cached_property
    def V_row(self):
        """V_i(n, m): (..., k, p)."""
        return row_n(self.V, self.b)

    @functools.cached_property
    def W_nn(self):
        """W(n, n) = b^T W b: (...)."""
        return entry_nn(self.W, self.b)

    @functools.cached_property
    def W_diag(self):
        """W(m, m): (..., p)."""
        return arith.diagonal(self.W)

    def with_beta(self, beta, key: str | None = None) -> "Construction":
        """The construction of the same codes with another beta (same n): V, W, n, b, gamma are reused, D_i, M_i
        and the new codes recomputed. ``key``: remember it under this name (several relations use one beta)."""
        if key is not None and ("beta", key) in self.memo:
            return self.memo[("beta", key)]
        c = construct(self.Z, beta, n=self.n, stats=self)
        for name in ("G_second", "X_pairs", "code_norm"):   # beta-independent: shared with the new construction
            if name in self.memo:
                c.memo[name] = self.memo[name]
        if key is not None:
            self.memo[("beta", key)] = c
        return c

    @property
    def D(self):
        """D_i as diagonal matrices: (..., k, p, p)."""
        return arith.diag_embed(self.d)

    @property
    def k(self) -> int:
        return self.Z.shape[-3]

    @property
    def S(self) -> int:
        return self.Z.shape[-2]

    @property
    def p(self) -> int:
        return self.Z.shape[-1]


def shared(fn):
    """Compute ``fn(c)`` once per construction (several relations use the same quantity)."""
    @functools.wraps(fn)
    def wrapper(c):
        if fn.__name__ not in c.memo:
            c.memo[fn.__name__] = fn(c)
        return c.memo[fn.__name__]
    return wrapper


def row_n(A, b):
    """A(n, :) of ``(..., p, p)`` matrices (or ``(..., k, p, p)`` per arm) for b = e_n ``(..., p)``: exact."""
    bb = b[..., None, :, None] if A.ndim == b.ndim + 2 else b[..., :, None]
    return (A * bb).sum(axis=-2)


def entry_nn(A, b):
    """A(n, n) of ``(..., p, p)`` or ``(..., k, p, p)`` for b = e_n."""
    bb = b[..., None, :] if A.ndim == b.ndim + 2 else b
    return (row_n(A, b) * bb).sum(axis=-1)


def bracket_eq10(beta, rho):
    """(1 - beta)^2 + 2 beta (1 + rho) = 1 + beta^2 + 2 beta rho (Eq. 10's bracket), rho = V_i(n, m)."""
    return (1 - beta) * (1 - beta) + 2 * beta * (1 + rho)


def per_case(x, extra: int):
    """A per-case array ``(...)`` with ``extra`` trailing axes added for broadcasting; a symbol stays as it is."""
    if isinstance(x, (sp.Basic, int, float)) or not getattr(x, "ndim", 0):
        return x
    return x[(...,) + (None,) * extra]


def _clip_correlation(x):
    if isinstance(x, Bounded):
        return clip(x, -1.0, 1.0)
    if arith.is_symbolic(x):
        return x
    return np.clip(x, -1.0, 1.0)


def construct(Z, beta, n=None, d=None, stats: Construction | None = None) -> Construction:
    """The construction for codes ``Z: (..., k, S, p)`` and ``beta: (...)``. ``n``: the coordinate (default
    argmin_m W(m, m)); ``d``: D_i(m, m) ``(..., k, p)`` (default Eq. 10) -- symbolic certificates pass free
    symbols, for identities that hold for every diagonal D_i; ``stats``: a construction of the same codes whose
    V_i, W_ij, W are reused (see Construction.with_beta)."""
    k, S, p = Z.shape[-3:]
    if stats is not None:
        V, Wp, W, C = stats.V, stats.Wp, stats.W, stats.C
    else:
        V = latent_covariance(Z)
        Wp = pair_scatter(Z)
        W = Wp.sum(axis=-3)
        C = arith.trace(W)
    n = select_n(W) if n is None else np.asarray(n)
    b = one_hot(n, p)
    if arith.is_symbolic(Z):                                        # exact 0 and 1, no float in sympy terms
        b = np.vectorize(sp.Integer, otypes=[object])(b.astype(int))
    gamma = p * entry_nn(W, b) / C
    beta_ = per_case(beta, 2)
    if d is None:
        rho = _clip_correlation(row_n(V, b))                       # (..., k, p): V_i(n, m)
        d = 1 / arith.sqrt(bracket_eq10(beta_, rho))
    eye = np.eye(p, dtype=object) if arith.is_symbolic(Z) else np.eye(p)
    P = arith.outer(np.ones(b.shape, dtype=b.dtype), b) + beta_ * eye   # (..., p, p): 1 b^T + beta I
    M = d[..., :, :, None] * P[..., None, :, :]                   # (..., k, p, p): D_i (1 b^T + beta I)
    return Construction(Z, beta, V, Wp, W, C, n, b, gamma, d, P, M)


def batchnorm_construction(Z, beta) -> Construction:
    """The construction of Prop. 2's proof for one case, with its arguments checked: k-CBNAE codes
    ``Z: (k, S, p)`` (k >= 2, |S| >= 2; mean 0 and unit variance within KCBNAE_ATOL) with tr(W) > 0, and
    ``0 < beta < 1``. Raises ValueError or TypeError naming the argument and the rule."""
    from cae_theory.validation import as_beta, as_codes, require_kcbnae
    Z = as_codes(Z)
    require_kcbnae(Z)
    beta = as_beta(beta)
    if not float(arith.trace(pair_scatter(Z).sum(axis=-3))) > 0:
        raise ValueError("Z must have C_coupling = tr(W) > 0 (Prop. 2 assumes C_coupling > 0); all arms coincide")
    return construct(Z, beta)


def derive(arrays: dict, lift) -> Construction:
    return construct(arrays["Z"], arrays["beta"])


DOMAIN = srch.Domain("k-CBNAE codes", codes.prop2_families(), derive, codes.perturb, codes.witness, codes.cells,
                     "k-CBNAE codes Z: (k, |S|, p) inside Prop. 2's hypotheses, beta in (0, 1), eps <= the gap")


# --- symbolic constructions for certificates ------------------------------------------------------------------

def symbolic_codes(k: int, S: int, p: int) -> np.ndarray:
    """Real symbols z_i_s_m with mean exactly 0 per arm and coordinate (the last sample is minus the sum of the
    others): symbolic k-CBNAE means (the unit variances are not imposed)."""
    Z = arith.symbols("z", (k, S, p), real=True)
    Z[:, S - 1, :] = -Z[:, : S - 1, :].sum(axis=1)
    return Z


def symbolic_construction(k: int, S: int, p: int, n: int, free_d: bool = True) -> Construction:
    """The construction on symbolic zero-mean codes, symbolic beta > 0, coordinate ``n``, and D_i free positive
    symbols (``free_d``) or Eq. 10 of the symbolic V_i."""
    beta = sp.Symbol("beta", positive=True)
    d = arith.symbols("d", (k, p), positive=True) if free_d else None
    return construct(symbolic_codes(k, S, p), beta, n=n, d=d)


SIZES = ((2, 3, 2), (3, 3, 2), (2, 3, 3))


def certify(relation: srch.Relation, sizes=SIZES, free_d: bool = True) -> dict:
    """sympy: the two sides of ``relation`` (an identity of the construction) expand to the same expression on
    symbolic constructions of every size in ``sizes`` and every coordinate n."""
    done = []
    for k, S, p in sizes:
        for n in range(p):
            c = symbolic_construction(k, S, p, n, free_d)
            for lhs, rhs, _ in relation.sides({}, c).parts():
                lhs, rhs = srch.left_aligned(np.asarray(lhs, dtype=object), np.asarray(rhs, dtype=object))
                if not arith.expand_is_zero(lhs - rhs):
                    return {"ok": False, "failed_at": {"k": k, "S": S, "p": p, "n": n}, "scope": ""}
            done.append([k, S, p])
    scope = "symbolic zero-mean codes (k, |S|, p) in " + ", ".join(map(str, sorted({tuple(x) for x in done}))) + \
            ", every n; D_i " + ("free positive diagonal" if free_d else "from Eq. 10")
    return {"ok": True, "sizes": sorted({tuple(x) for x in done}), "scope": scope}


def identity(id_: str, sides, note: str = "", sizes=SIZES, free_d: bool = True) -> Identity:
    """An identity of the construction, decided once: sympy on symbolic constructions + numbers in Bounded."""
    rel = srch.Relation(id_, DOMAIN, "=", sides, steer=False)   # decided in Bounded numbers, not searched

    def certificate() -> dict:
        return certify(rel, sizes, free_d)
    certificate.__name__ = f"certify_{id_.replace('.', '_')}"
    certificate.__qualname__ = certificate.__name__
    return Identity(rel, certificate, note)


def relation(id_: str, rel: str, sides, steer: bool = True, searched: bool = True) -> srch.Relation:
    """A relation over the Prop. 2 domain; ``searched``: explored by the search (else only decided exactly)."""
    r = srch.Relation(id_, DOMAIN, rel, sides, steer)
    return srch.register(r) if searched else r


def exact_check(rel: srch.Relation, Z, beta: str, eps: str = "1") -> tuple[bool, dict]:
    """Decide ``rel`` exactly on one case: integer (or dyadic) codes ``Z: (k, S, p)`` that are exactly k-CBNAE,
    a rational ``beta`` and ``eps`` (strings such as '1/2'). Returns (holds, witness JSON with exact values)."""
    from cae_theory.ledger.exact import as_float, as_text, holds_exactly
    Zx = arith.exact(np.asarray(Z, dtype=float))[None]
    b, e = sp.Rational(beta), sp.Rational(eps)
    mu, V = latent_mean(Zx), latent_covariance(Zx)
    if any(v != 0 for v in mu.ravel()) or any(v != 1 for v in arith.diagonal(V).ravel()):
        raise ValueError("Z must be exactly k-CBNAE (mean 0, variance 1 with 1/(|S|-1)) for an exact witness")
    arrays = {"Z": Zx, "beta": np.array([b], dtype=object), "eps": np.array([e], dtype=object)}
    c = construct(arrays["Z"], arrays["beta"])
    sides = rel.sides(arrays, c)
    aligned = [srch.left_aligned(np.asarray(l, dtype=object), np.asarray(r, dtype=object))
               for l, r, _ in sides.parts()]
    holds = all(holds_exactly(l, r, rel.relation) for l, r in aligned)
    lhs = np.concatenate([l.ravel() for l, _ in aligned])
    rhs = np.concatenate([r.ravel() for _, r in aligned])
    return holds, {"Z": np.asarray(Z, dtype=float).tolist(), "beta": str(b), "eps": str(e), "n": int(c.n[0]),
                   "exact": True, "relation": rel.relation, "lhs_exact": as_text(lhs), "rhs_exact": as_text(rhs),
                   "lhs": as_float(lhs), "rhs": as_float(rhs)}


# --- Eq. 9: M_i is invertible ---------------------------------------------------------------------------------

def leibniz_det(A):
    """det of ``(..., p, p)`` by the Leibniz formula (p <= 5 in the families: at most 120 products), on any kind of
    number."""
    import itertools
    p = A.shape[-1]
    total = None
    for perm in itertools.permutations(range(p)):
        inversions = sum(1 for a in range(p) for b2 in range(a + 1, p) if perm[a] > perm[b2])
        term = A[..., 0, perm[0]]
        for r in range(1, p):
            term = term * A[..., r, perm[r]]
        term = term if inversions % 2 == 0 else -term
        total = term if total is None else total + term
    return total


def _eq9(arrays, c: Construction) -> srch.Sides:
    lhs = leibniz_det(c.M)                                                    # (..., k)
    prod_d = c.d[..., 0]
    for m in range(1, c.p):
        prod_d = prod_d * c.d[..., m]
    beta = per_case(c.beta, 1)
    rhs = prod_d * (1 + beta)
    for _ in range(c.p - 1):
        rhs = rhs * beta
    return srch.Sides(lhs, rhs)


EQ9 = claim(
    "eq9", "M_i = D_i 1 b^T + beta D_i (Eq. 9) is invertible for 0 < beta < 1, so D_i o M_i^-1 is a decoder and "
    "C_recon is unchanged: det M_i = det D_i beta^(p-1) (1 + beta) != 0", registry=CLAIMS, expected="certified",
    uses=("eq10",), decide=identity("eq9", _eq9, "matrix determinant lemma; non-zero since D_i(m,m) > 0 (Eq. 10)",
                                    sizes=((2, 3, 2), (2, 3, 3), (2, 3, 4))))


# --- Eq. 10 and the sentence after it: D_i is real, positive and bounded ------------------------------------------

def _d_entries(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(c.d, 0.0)


def lemma_eq10(z3):
    """For 0 < beta < 1 and -1 <= rho <= 1 (Eq. 8's sentence): the bracket of Eq. 10 is > 0, so D(m, m) =
    bracket^(-1/2) is real and positive."""
    beta, rho = z3.Reals("beta rho")
    return [beta > 0, beta < 1, rho >= -1, rho <= 1], 1 + beta * beta + 2 * beta * rho > 0


EQ10 = claim(
    "eq10", "D_i(m,m) = [1 + beta^2 + 2 beta V_i(n,m)]^(-1/2) (Eq. 10) is real and positive for 0 < beta < 1",
    registry=CLAIMS, expected="proved", uses=("eq8.abs_bound",),
    decide=Proved("every entry, all k, p, |S| (a lemma in beta and rho = V_i(n,m) in [-1, 1])", lemma=lemma_eq10,
                  cross_check=relation("eq10", ">", _d_entries)))


def lemma_eq10_bounds(z3):
    """1/(1+beta) <= D <= 1/(1-beta) where D^2 (1 + beta^2 + 2 beta rho) = 1, D > 0, |rho| <= 1."""
    beta, rho, D = z3.Reals("beta rho D")
    hyp = [beta > 0, beta < 1, rho >= -1, rho <= 1, D > 0, D * D * (1 + beta * beta + 2 * beta * rho) == 1]
    return hyp, z3.And(D * (1 + beta) >= 1, D * (1 - beta) <= 1)


def _eq10_bounds(arrays, c: Construction) -> srch.Sides:
    beta = per_case(c.beta, 2)
    return srch.Sides((c.d * (1 - beta), 1.0), (1.0, c.d * (1 + beta)))   # D (1-beta) <= 1 <= D (1+beta)


EQ10_BOUNDS = claim(
    "eq10.bounds", "Therefore, 1/(1+beta) <= D_i(m,m) <= 1/(1-beta)", origin="sentence", registry=CLAIMS,
    expected="proved", uses=("eq10", "eq8.abs_bound"),
    decide=Proved("every entry, all k, p, |S|", lemma=lemma_eq10_bounds,
                  cross_check=relation("eq10.bounds", "<=", _eq10_bounds)))


def lemma_eq10_diff(z3):
    """(D - D')^2 <= 4 beta^2 / (1 - beta^2)^2 for D, D' of two correlations rho, rho' in [-1, 1]."""
    beta, r1, r2, D1, D2 = z3.Reals("beta rho rho2 D D2")
    hyp = [beta > 0, beta < 1, r1 >= -1, r1 <= 1, r2 >= -1, r2 <= 1, D1 > 0, D2 > 0,
           D1 * D1 * (1 + beta * beta + 2 * beta * r1) == 1, D2 * D2 * (1 + beta * beta + 2 * beta * r2) == 1]
    return hyp, (D1 - D2) * (D1 - D2) * (1 - beta * beta) * (1 - beta * beta) <= 4 * beta * beta


def _eq10_diff(arrays, c: Construction) -> srch.Sides:
    from cae_theory.prop2.notation import pairs
    I, J = pairs(c.k)
    beta = per_case(c.beta, 2)
    dd = c.d[..., I, :] - c.d[..., J, :]
    return srch.Sides(dd * dd, 4 * beta * beta / ((1 - beta * beta) * (1 - beta * beta)))


EQ10_DIFF = claim(
    "eq10.diff_bound", "(D_i(m,m) - D_j(m,m))^2 <= 4 beta^2 / (1 - beta^2)^2", origin="sentence", registry=CLAIMS,
    expected="proved", uses=("eq10.bounds",),
    decide=Proved("every pair of entries, all k, p, |S|", lemma=lemma_eq10_diff,
                  cross_check=relation("eq10.diff_bound", "<=", _eq10_diff)))


# --- Eqs. 11-12 ----------------------------------------------------------------------------------------------

def _eq11(arrays, c: Construction) -> srch.Sides:
    beta = per_case(c.beta, 1)
    return srch.Sides(c.d.sum(axis=-1), c.p / (1 - beta))


def _eq12(arrays, c: Construction) -> srch.Sides:
    beta = per_case(c.beta, 1)
    return srch.Sides((c.d * c.d).sum(axis=-1), c.p / ((1 - beta) * (1 - beta)))


def lemma_trace_bounds(z3):
    """For p = 1..6 entries D(m, m) with D(m, m)^2 (1 + beta^2 + 2 beta rho_m) = 1, |rho_m| <= 1, and rho_n = 1
    (V_i(n, n) = 1: unit variance), sum_m D(m, m) < p/(1-beta) and sum_m D(m, m)^2 < p/(1-beta)^2."""
    hyps, concl = [], []
    beta = z3.Real("beta")
    hyps += [beta > 0, beta < 1]
    for p in range(1, 7):
        D = z3.Reals(" ".join(f"D{p}_{m}" for m in range(p)))
        rho = z3.Reals(" ".join(f"rho{p}_{m}" for m in range(p)))
        hyps += [rho[0] == 1] + [r >= -1 for r in rho] + [r <= 1 for r in rho] + [x > 0 for x in D]
        hyps += [x * x * (1 + beta * beta + 2 * beta * r) == 1 for x, r in zip(D, rho)]
        concl += [z3.Sum(D) * (1 - beta) < p, z3.Sum([x * x for x in D]) * (1 - beta) * (1 - beta) < p]
    return hyps, z3.And(concl)


EQ11 = claim(
    "eq11", "By Eq. 8, tr(D_i) < p/(1-beta)", registry=CLAIMS, expected="proved", uses=("eq8", "eq10.bounds"),
    decide=Proved("p <= 6, every k and |S| (z3); the strictness comes from V_i(n,n) = 1, i.e. D_i(n,n) = "
                  "1/(1+beta), not from Eq. 8", lemma=lemma_trace_bounds, cross_check=relation("eq11", "<", _eq11),
                  note="Holds for every arm, also where Eq. 8 fails (an arm on the line has tr(D_i) = p/(1+beta)): "
                       "the reason is V_i(n,n) = 1, not Eq. 8 (min_m V_i(n,m) < 1 bounds D_i from BELOW)."))
EQ12 = claim(
    "eq12", "By Eq. 8, tr(D_i D_i) < p/(1-beta)^2", registry=CLAIMS, expected="proved", uses=("eq8", "eq10.bounds"),
    decide=Proved("p <= 6, every k and |S| (z3; the same lemma as Eq. 11)", lemma=lemma_trace_bounds,
                  cross_check=relation("eq12", "<", _eq12), note="As Eq. 11: true for every arm, because "
                                                                   "V_i(n,n) = 1."))


# --- Eqs. 13-15: the new codes are again batch-normalised ------------------------------------------------------

def _eq13(arrays, c: Construction) -> srch.Sides:
    """The mean of the new codes against M_i (mean of the codes): Eq. 13's identity for ANY codes; it is 0 because
    mu_i = 0 (the k-CBNAE; float codes have |mu_i| of a few ulps, carried by both sides)."""
    return srch.Sides(latent_mean(c.Zh), (c.M @ latent_mean(c.Z)[..., :, None])[..., 0])


def _eq13_zero(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(latent_mean(c.Zh), 0)


def _eq14_printed(c: Construction):
    """D_i [1 b^T V_i b 1^T + beta (1 b^T V_i + V_i b 1^T) + beta^2 V_i] D_i^T (Eq. 14, last form)."""
    p = c.p
    ones = np.ones(c.b.shape, dtype=c.b.dtype)
    beta = per_case(c.beta, 3)
    vnn = entry_nn(c.V, c.b)                                        # (..., k)
    bV = row_n(c.V, c.b)                                            # (..., k, p): (V_i b)^T = b^T V_i
    one_one = arith.outer(ones, ones)[..., None, :, :]               # (..., 1, p, p)
    inner = (vnn[..., None, None] * one_one + beta * (arith.outer(ones[..., None, :], bV)
                                                     + arith.outer(bV, ones[..., None, :])) + beta * beta * c.V)
    return c.d[..., :, None] * inner * c.d[..., None, :]


def _eq14(arrays, c: Construction) -> srch.Sides:
    """V_hat_i (covariance of the new codes) = M_i V_i M_i^T = the printed form."""
    mvm = c.M @ c.V @ c.M.mT
    return srch.Sides((latent_covariance(c.Zh), mvm), (mvm, _eq14_printed(c)))


def _eq15(arrays, c: Construction) -> srch.Sides:
    """V_hat_i(m, m) = D_i(m, m)^2 [V_i(n, n) + 2 beta V_i(n, m) + beta^2 V_i(m, m)] (any codes), and that is
    1 + D_i(m, m)^2 [(V_i(n,n) - 1) + beta^2 (V_i(m,m) - 1)] by Eq. 10, i.e. 1 for unit variances."""
    beta = per_case(c.beta, 2)
    vmm = arith.diagonal(c.V)
    vnn = entry_nn(c.V, c.b)[..., None]
    middle = c.d * c.d * (vnn + 2 * beta * row_n(c.V, c.b) + beta * beta * vmm)
    return srch.Sides((arith.diagonal(latent_covariance(c.Zh)), middle),
                      (middle, 1 + c.d * c.d * ((vnn - 1) + beta * beta * (vmm - 1))))


def _eq15_unit(arrays, c: Construction) -> srch.Sides:
    return srch.Sides(arith.diagonal(latent_covariance(c.Zh)), 1)


EQ13 = claim(
    "eq13", "m_hat_i = 1/|S| sum_s z_hat_si = (D_i 1 b^T + beta D_i) 1/|S| sum_s z_si = 0", registry=CLAIMS,
    expected="certified", uses=("definition.kcbnae",),
    decide=identity("eq13", _eq13, "numbers: the mean of z_hat against M_i mu_i (exact for any codes); = 0 since "
                                   "mu_i = 0"))
EQ14 = claim(
    "eq14", "V_hat_i = M_i (1/(|S|-1) sum_s z_si z_si^T) M_i^T = D_i[1 b^T V_i b 1^T + beta(1 b^T V_i + V_i b 1^T) "
    "+ beta^2 V_i] D_i^T", registry=CLAIMS, expected="certified", uses=("eq13",),
    decide=identity("eq14", _eq14, "both equalities: the covariance of z_hat, M_i V_i M_i^T, the printed form"))
EQ15 = claim(
    "eq15", "V_hat_i(m,m) = D_i(m,m)^2 [V_i(n,n) + 2 beta V_i(n,m) + beta^2 V_i(m,m)] = 1", registry=CLAIMS,
    expected="certified", uses=("eq14", "eq10"),
    decide=identity("eq15", _eq15, "numbers: with D_i of Eq. 10 the middle equals 1 + D^2 [(V(n,n) - 1) + beta^2 "
                                   "(V(m,m) - 1)], i.e. 1 for the unit variances of a k-CBNAE",
                    sizes=((2, 3, 2),), free_d=False))
