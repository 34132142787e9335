"""The Definition of the k-CAE, Eq. 1 and the assumptions below it (supplement, first page).

    Phi = ({(E_i, D_i, r_i)}_{i in K}, c, lambda): E_i, D_i continuous operators that can express any linear
    transformation, codomain(E_i) = domain(D_j), lambda >= 0, r_i and c non-negative convex functions.
    C_Phi(X) = C_recon,Phi(X) + lambda C_coupling,Phi(X)                                           (Eq. 1)
    C_recon,Phi(X) = sum_s sum_i r_i(x_si - D_i(E_i(x_si)))
    C_coupling,Phi(X) = sum_s sum_{i<j} c(E_i(x_si) - E_j(x_sj))
    "We assume x_si in R^p', z_si = E_i(x_si) in R^p, p < p', and |S| > 1."

Shapes (leading axes ``...`` are a batch of cases): inputs ``X: (..., k, S, P)`` (P = p'), encoders
``E, Eq: (..., k, p, P)`` and decoders ``D, Dq: (..., k, P, p)`` of the arms

    E_i(x) = E_i x + Eq_i (x o x),    D_i(z) = D_i z + Dq_i (z o z)     (o: entrywise product),

linear when Eq = Dq = 0 (every linear map is expressed), and continuous non-linear operators otherwise. The
reconstruction cost is r_i = ||.||_2^2 (the paper's "mse"); what the supplement says about C_recon (the Remark,
Eq. 3) is an identity of the argument of r_i and is certified for every r_i. The coupling cost c is a member of
the family of non-negative convex functions (:func:`convex_cost`)

    c(x) = offset + weight g(x - shift),   g in {||y||_2^2, ||y||_1, ||y||_inf, Huber_delta, ||y||_2^4},

weight > 0, offset >= 0: each g is convex, non-negative and 0 only at 0, so c(0) = 0 exactly when offset = 0 and
shift = 0 (Prop. 1's proof needs that; the Definition does not ask for it).

Every quantity is written with :mod:`cae_theory.arith` operations (floats, Bounded, sympy). :data:`DOMAIN` is the
search domain of the claims about k-CAEs (Definition, Eq. 1, Remark, Prop. 1): the families of
:mod:`cae_theory.cases.kcae`; :data:`CORRECTED_DOMAIN` keeps to the corrected Prop. 1 (lambda > 0, c(0) = 0). The validated entry points for users are :func:`encode`, :func:`recon_loss`,
:func:`coupling_loss`, :func:`kcae_loss` and :class:`ConvexCost`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp

from cae_theory import arith
from cae_theory.cases import kcae as cases
from cae_theory.cases.kcae import COST_KINDS
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import claim
from cae_theory.ledger.decide import Identity, Searched, Witnessed
from cae_theory.prop2.notation import pair_differences
from cae_theory.rounding import Bounded
from cae_theory.validation import as_array, as_scalar

CLAIMS: list = []


# --- broadcasting per-case parameters ------------------------------------------------------------------------

def lead(x, ndim: int, vector: bool = False):
    """A per-case parameter ``x: (...)`` (or ``(..., p)`` if ``vector``) with axes appended (inserted before the
    last axis if ``vector``) so that it broadcasts against an array of ``ndim`` axes whose leading axes are the
    batch. Plain numbers and sympy scalars are returned as they are."""
    if isinstance(x, (int, float, sp.Basic)) or np.ndim(x) == 0:
        return x
    missing = ndim - np.ndim(x)
    if vector:
        return x[(Ellipsis,) + (None,) * missing + (slice(None),)]
    return x[(Ellipsis,) + (None,) * missing]


def _any(x) -> bool:
    """Whether an array may hold a non-zero entry (symbolic entries count unless exactly 0)."""
    if isinstance(x, np.ndarray) and x.dtype != object:
        return bool(x.any())
    if isinstance(x, Bounded):
        return bool(x.value.any() or x.error.any())
    if arith.is_symbolic(x):
        return any(v != 0 for v in np.asarray(x, dtype=object).ravel())
    return bool(np.any(np.asarray(x) != 0))


# --- the convex cost family -----------------------------------------------------------------------------------

def squared_norm(y):
    """||y||_2^2 over the last axis: ``(..., p) -> (...)`` (r_i, and c of the paper's "mse" coupling)."""
    return (y * y).sum(axis=-1)


def convex_cost(y, params: dict):
    """c(y) = offset + weight g(y - shift) over the last axis, ``y: (..., p) -> (...)``, for the per-case
    parameters ``params`` (keys ``c_kind (B, 5)`` one-hot over :data:`COST_KINDS`, ``c_weight (B,)``,
    ``c_offset (B,)``, ``c_shift (B, p)``, ``c_delta (B,)``; B the leading batch axes of y). Huber:
    h(t) = t^2/2 for |t| <= delta, delta (|t| - delta/2) beyond, written h = m^2/2 + delta (|t| - m) with
    m = min(|t|, delta)."""
    nd = y.ndim
    kind = params["c_kind"]
    shift = params["c_shift"]
    yy = y - lead(shift, nd, vector=True) if _any(shift) else y
    a = arith.absolute(yy)
    sq = squared_norm(yy)
    g = None
    for j, name in enumerate(COST_KINDS):
        weight_j = kind[..., j]
        if not _any(weight_j):
            continue
        if name == "sq":
            gj = sq
        elif name == "l1":
            gj = a.sum(axis=-1)
        elif name == "linf":
            gj = a.max(axis=-1)
        elif name == "huber":
            delta = lead(params["c_delta"], nd)
            m = arith.minimum(a, delta)
            gj = (m * m / 2 + delta * (a - m)).sum(axis=-1)
        else:
            gj = sq * sq
        term = lead(weight_j, nd - 1) * gj
        g = term if g is None else g + term
    if g is None:
        raise ValueError("c_kind must select one of " + ", ".join(COST_KINDS))
    return lead(params["c_offset"], nd - 1) + lead(params["c_weight"], nd - 1) * g


def cost_at_zero(params: dict, p: int):
    """c(0) per case: ``(B,)``."""
    zero = np.zeros(np.shape(params["c_weight"]) + (p,))
    return convex_cost(zero, params)


# --- the arms, Eq. 1 ------------------------------------------------------------------------------------------

def codes(X, E, Eq=None):
    """z_si = E_i(x_si) = E_i x_si + Eq_i (x_si o x_si): ``(..., k, S, P), (..., k, p, P) -> (..., k, S, p)``."""
    Z = X @ E.mT
    if Eq is not None and _any(Eq):
        Z = Z + (X * X) @ Eq.mT
    return Z


def decoded(Z, D, Dq=None):
    """D_i(z_si) = D_i z + Dq_i (z o z): ``(..., k, S, p), (..., k, P, p) -> (..., k, S, P)``."""
    out = Z @ D.mT
    if Dq is not None and _any(Dq):
        out = out + (Z * Z) @ Dq.mT
    return out


def recon_cost(X, E, D, Eq=None, Dq=None):
    """C_recon = sum_s sum_i ||x_si - D_i(E_i(x_si))||^2 (Eq. 1, r_i = ||.||^2): ``(...)``."""
    res = X - decoded(codes(X, E, Eq), D, Dq)
    return (res * res).sum(axis=(-3, -2, -1))


def coupling_cost(Z, c: Callable = squared_norm):
    """C_coupling = sum_s sum_{i<j} c(z_si - z_sj) (Eq. 1) from codes ``Z: (..., k, S, p)``: ``(...)``."""
    return c(pair_differences(Z)).sum(axis=(-2, -1))


def loss(X, E, D, lam, c: Callable = squared_norm, Eq=None, Dq=None):
    """C_Phi(X) = C_recon + lambda C_coupling (Eq. 1): ``(...)``."""
    return recon_cost(X, E, D, Eq, Dq) + lam * coupling_cost(codes(X, E, Eq), c)


def recon_cost_trace(X, E, D):
    """The trace form of C_recon for linear arms: sum_i tr((I - D_i E_i) G_i (I - D_i E_i)^T), G_i = sum_s x_si
    x_si^T."""
    P = X.shape[-1]
    eye = np.eye(P, dtype=object) if arith.is_symbolic(X) else np.eye(P)
    R = eye - D @ E
    return arith.trace(R @ (X.mT @ X) @ R.mT).sum(axis=-1)


def coupling_cost_trace(Z, params: dict):
    """The trace form of C_coupling for c(y) = offset + weight ||y - shift||^2: N offset + weight tr(W_a),
    W_a = sum_s sum_{i<j} (d_sij - shift)(d_sij - shift)^T, N = |S| k(k-1)/2 (for shift = 0, W_a = W)."""
    d = pair_differences(Z)
    d = d - lead(params["c_shift"], d.ndim, vector=True)
    n_terms = d.shape[-3] * d.shape[-2]
    W_a = (d.mT @ d).sum(axis=-3)
    return params["c_offset"] * n_terms + params["c_weight"] * arith.trace(W_a)


# --- the search domain ------------------------------------------------------------------------------------------

class KCAECase:
    """What the relations about a batch of k-CAEs share, each computed on first use (``get``)."""

    def __init__(self, arrays: dict, lift: Callable):
        self.a = arrays
        self.lift = lift
        self._memo: dict[str, Any] = {}

    def get(self, name: str, compute: Callable[[], Any]) -> Any:
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]

    @property
    def p(self) -> int:
        return self.a["E"].shape[-2]

    def c(self, y):
        """The case's coupling cost on ``y: (B, ..., p)``."""
        return convex_cost(y, self.a)

    @property
    def Z(self):
        return self.get("Z", lambda: codes(self.a["X"], self.a["E"], self.a.get("Eq")))

    @property
    def recon(self):
        a = self.a
        return self.get("recon", lambda: recon_cost(a["X"], a["E"], a["D"], a.get("Eq"), a.get("Dq")))

    @property
    def coupling(self):
        return self.get("coupling", lambda: coupling_cost(self.Z, self.c))

    @property
    def loss(self):
        return self.get("loss", lambda: self.recon + self.a["lam"] * self.coupling)

    @property
    def c0(self):
        """c(0) per case, as floats (exact: 0 for offset 0 and shift 0)."""
        return self.get("c0", lambda: arith.value(cost_at_zero(self.a, self.p)))

    @property
    def linear(self) -> np.ndarray:
        """Cases whose arms are linear (no Eq, Dq, or both 0): ``(B,)`` bool."""
        out = np.ones(arith.value(self.a["u"]).shape, dtype=bool)
        for key in ("Eq", "Dq"):
            if key in self.a:
                out &= ~np.any(arith.value(self.a[key]) != 0, axis=(-3, -2, -1))
        return out


DOMAIN = srch.Domain("k-CAEs", cases.kcae_families(), KCAECase, cases.perturb, cases.witness, cases.cells,
                     "k-CAEs (linear and quadratic arms) with a convex cost c, a norm, eps = u max||z|| and lambda")
CORRECTED_DOMAIN = srch.Domain("k-CAEs with lambda > 0 and c(0) = 0", cases.corrected_families(), KCAECase,
                               cases.perturb, cases.witness, cases.cells, cases.CORRECTED_NOTE)


def relation(id_: str, rel: str, sides, domain: srch.Domain = DOMAIN, steer: bool = True,
             searched: bool = True) -> srch.Relation:
    """A relation about k-CAEs; ``searched``: registered in its domain's search (an identity is decided by
    :class:`cae_theory.ledger.decide.Identity` on its own cases and is not)."""
    r = srch.Relation(id_, domain, rel, sides, steer)
    return srch.register(r) if searched else r


def symbolic_kcae(k: int, S: int, P: int, p: int) -> dict:
    """Real symbols for the inputs and linear arms of a k-CAE: X (k, S, P), E (k, p, P), D (k, P, p)."""
    return {"X": arith.symbols("x", (k, S, P), real=True), "E": arith.symbols("e", (k, p, P), real=True),
            "D": arith.symbols("d", (k, P, p), real=True)}


SYMBOLIC_SIZES = ((2, 2, 2, 1), (2, 2, 3, 2), (3, 2, 2, 1))   # (k, |S|, p', p)


# --- the Definition -----------------------------------------------------------------------------------------

def _kcae_instance() -> tuple[bool, dict]:
    """One k-CAE meeting every condition of the Definition and the assumptions below Eq. 1, with its loss computed
    exactly: k = 2 linear arms, |S| = 2, p' = 2, p = 1, r_i = c = ||.||^2, lambda = 1."""
    X = [[[1, 0], [0, 2]], [[1, 1], [2, -1]]]
    E = [[[1, 0]], [[1, -1]]]
    D = [[[1], [0]], [[1], [1]]]
    Xe, Ee, De = (arith.exact(np.asarray(v, dtype=float)) for v in (X, E, D))
    Z = codes(Xe, Ee)
    recon, coup = recon_cost(Xe, Ee, De), coupling_cost(Z)
    lam = sp.Integer(1)
    total = recon + lam * coup
    k, S, P = Xe.shape
    p = Ee.shape[1]
    conditions = {"p < p'": bool(p < P), "|S| > 1": bool(S > 1), "lambda >= 0": bool(lam >= 0),
                  "codomain(E_i) = domain(D_j) = R^p": bool(Ee.shape[1] == De.shape[2]),
                  "r_i, c >= 0 (||.||^2)": True, "C_Phi >= 0": bool(total >= 0)}
    return all(conditions.values()), {
        "X": X, "E": E, "D": D, "lam": 1, "r": "||.||_2^2", "c": "||.||_2^2", "Z": np.asarray(Z, float).tolist(),
        "C_recon": str(recon), "C_coupling": str(coup), "C_Phi": str(total), "conditions": conditions}


def _loss_nonnegative(arrays, case: KCAECase) -> srch.Sides:
    return srch.Sides(case.loss, 0.0)


DEFINITION = claim(
    "definition.kcae",
    "Definition: a k-CAE Phi = ({(E_i, D_i, r_i)}, c, lambda) has continuous E_i, D_i that can express any "
    "linear transformation, codomain(E_i) = domain(D_j), lambda >= 0 and non-negative convex r_i, c; with "
    "x_si in R^p', z_si in R^p, p < p', |S| > 1 (below Eq. 1) it can be met, and its loss (Eq. 1) is >= 0",
    registry=CLAIMS, expected="proved",
    decide=Witnessed(_kcae_instance, "existence: one exact instance (k = 2, |S| = 2, p' = 2, p = 1); C_Phi >= 0: "
                                     "a sum of non-negative terms with lambda >= 0 (searched as well)",
                     also=Searched(relation("definition.kcae", ">=", _loss_nonnegative))))


# --- Eq. 1 ----------------------------------------------------------------------------------------------------

def _eq1(arrays, case: KCAECase) -> srch.Sides:
    """The sum forms of Eq. 1 against their trace forms, for linear arms and c = ||.||^2 (the form Eq. 5 uses)."""
    a = arrays
    unit = {"c_offset": 0.0, "c_weight": 1.0, "c_shift": np.zeros(case.p)}
    return srch.Sides((case.recon, coupling_cost(case.Z)),
                      (recon_cost_trace(a["X"], a["E"], a["D"]), coupling_cost_trace(case.Z, unit)),
                      applies=case.linear)


def certify_eq1() -> dict:
    """sympy: for symbolic inputs and linear arms of every size in :data:`SYMBOLIC_SIZES` and a symbolic squared
    cost (offset o, weight w, shift a), the sum forms of C_recon and C_coupling expand to their trace forms."""
    for k, S, P, p in SYMBOLIC_SIZES:
        s = symbolic_kcae(k, S, P, p)
        params = {"c_kind": np.array([1, 0, 0, 0, 0], dtype=object), "c_weight": sp.Symbol("w", positive=True),
                  "c_offset": sp.Symbol("o", nonnegative=True), "c_shift": arith.symbols("a", (p,), real=True),
                  "c_delta": sp.Integer(1)}
        Z = codes(s["X"], s["E"])
        diffs = [recon_cost(s["X"], s["E"], s["D"]) - recon_cost_trace(s["X"], s["E"], s["D"]),
                 coupling_cost(Z, lambda y: convex_cost(y, params)) - coupling_cost_trace(Z, params)]
        if not all(arith.expand_is_zero(d) for d in diffs):
            return {"ok": False, "failed_at": [k, S, P, p], "scope": ""}
    return {"ok": True, "sizes": [list(s) for s in SYMBOLIC_SIZES],
            "scope": "symbolic X, E_i, D_i for (k, |S|, p', p) in " + ", ".join(map(str, SYMBOLIC_SIZES)) +
                     "; c = o + w ||y - a||^2 with symbolic o, w, a"}


EQ1 = claim(
    "eq1", "C_Phi(X) = C_recon,Phi(X) + lambda C_coupling,Phi(X), C_recon = sum_s sum_i r_i(x_si - D_i(E_i(x_si))), "
    "C_coupling = sum_s sum_{i<j} c(E_i(x_si) - E_j(x_sj))  (checked: the sum forms equal the trace forms "
    "sum_i tr((I - D_i E_i) G_i (I - D_i E_i)^T) and N o + w tr(W) for c = o + w ||.||^2)",
    registry=CLAIMS, expected="certified", uses=("definition.kcae",),
    decide=Identity(srch.Relation("eq1", DOMAIN, "=", _eq1), certify_eq1,
                    "numbers: linear arms (the quadratic ones have no trace form), c = ||.||^2; the sum form is what "
                    "every other check evaluates"))


# --- validated entry points for users -------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvexCost:
    """A member of the convex cost family: c(x) = offset + weight g(x - shift) (:func:`convex_cost`). ``shift``
    empty means 0."""
    kind: str = "sq"
    weight: float = 1.0
    offset: float = 0.0
    shift: tuple[float, ...] = field(default=())
    delta: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in COST_KINDS:
            raise ValueError(f"kind must be one of {COST_KINDS}, got {self.kind!r}")
        as_scalar(self.weight, "weight", low=0.0)
        as_scalar(self.offset, "offset", low=0.0, low_open=False)
        as_scalar(self.delta, "delta", low=0.0)
        if self.shift:
            as_array(self.shift, "shift", ndim=1)

    def params(self, p: int) -> dict[str, np.ndarray]:
        """The per-case parameters of :func:`convex_cost` for vectors of length ``p`` (one case)."""
        if self.shift and len(self.shift) != p:
            raise ValueError(f"shift must have one entry per coordinate (length {p}), got length {len(self.shift)}")
        return {"c_kind": (np.arange(len(COST_KINDS)) == COST_KINDS.index(self.kind)).astype(float),
                "c_weight": np.float64(self.weight), "c_offset": np.float64(self.offset),
                "c_shift": np.asarray(self.shift if self.shift else np.zeros(p), dtype=np.float64),
                "c_delta": np.float64(self.delta)}

    def __call__(self, y) -> np.ndarray:
        """c of each row: ``y: (..., p) -> (...)``."""
        y = as_array(y, "y")
        if y.ndim < 1:
            raise ValueError(f"y must have at least 1 dimension (..., p), got shape {y.shape}")
        return np.asarray(convex_cost(y, self.params(y.shape[-1])))

    def at_zero(self, p: int) -> float:
        return float(self(np.zeros((1, p)))[0])

    def describe(self) -> str:
        y = f"y = x - {list(self.shift)}" if self.shift else "y = x"
        extra = f", delta = {self.delta!r}" if self.kind == "huber" else ""
        return f"x -> {self.offset!r} + {self.weight!r} * {self.kind}(y), {y}{extra}"


def check_kcae(X, encoders, decoders=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate a linear k-CAE: ``X: (k, S, p')`` with k >= 2 and |S| > 1, ``encoders: (k, p, p')`` with p < p',
    ``decoders: (k, p', p)``; ValueError/TypeError naming the argument and the rule."""
    X = as_array(X, "X", ndim=3)
    k, S, P = X.shape
    if k < 2:
        raise ValueError(f"X must hold inputs of k >= 2 arms (axis 0), got k = {k}")
    if S < 2:
        raise ValueError(f"X must hold |S| >= 2 samples (axis 1; the supplement assumes |S| > 1), got {S}")
    E = as_array(encoders, "encoders", ndim=3)
    if E.shape[0] != k or E.shape[2] != P:
        raise ValueError(f"encoders must have shape (k, p, p') = ({k}, p, {P}), got {E.shape}")
    if E.shape[1] >= P:
        raise ValueError(f"encoders must map R^p' to R^p with p < p' (below Eq. 1), got p = {E.shape[1]}, "
                         f"p' = {P}")
    if decoders is None:
        return X, E, None
    D = as_array(decoders, "decoders", ndim=3)
    if D.shape != (k, P, E.shape[1]):
        raise ValueError(f"decoders must have shape (k, p', p) = ({k}, {P}, {E.shape[1]}) "
                         f"(codomain(E_i) = domain(D_j)), got {D.shape}")
    return X, E, D


def encode(X, encoders) -> np.ndarray:
    """Codes ``Z: (k, S, p)`` of a linear k-CAE (validated, :func:`check_kcae`)."""
    X, E, _ = check_kcae(X, encoders)
    return codes(X, E)


def recon_loss(X, encoders, decoders) -> float:
    """C_recon of a linear k-CAE with r_i = ||.||^2 (Eq. 1)."""
    return float(recon_cost(*check_kcae(X, encoders, decoders)))


def coupling_loss(X, encoders, c: Callable = squared_norm) -> float:
    """C_coupling of a linear k-CAE (Eq. 1); ``c``: a callable ``(..., p) -> (...)`` such as :class:`ConvexCost`,
    whose values must be finite and non-negative (the Definition)."""
    if not callable(c):
        raise TypeError(f"c must be callable (..., p) -> (...), got {type(c).__name__}")

    def checked(y):
        v = as_array(c(y), "c(...)")
        if v.shape != y.shape[:-1]:
            raise ValueError(f"c must return one value per vector, shape {y.shape[:-1]}, got {v.shape}")
        if np.any(v < 0):
            raise ValueError(f"c must be non-negative (the Definition), got {float(v.min())!r}")
        return v
    return float(coupling_cost(encode(X, encoders), checked))


def kcae_loss(X, encoders, decoders, lam: float, c: Callable = squared_norm) -> float:
    """C_Phi(X) = C_recon + lambda C_coupling (Eq. 1) of a linear k-CAE; ``lam >= 0``."""
    lam = as_scalar(lam, "lam", low=0.0, low_open=False)
    return recon_loss(X, encoders, decoders) + lam * coupling_loss(X, encoders, c)


__all__ = ["CLAIMS", "CORRECTED_DOMAIN", "COST_KINDS", "ConvexCost", "DOMAIN", "KCAECase", "check_kcae", "codes",
           "convex_cost", "cost_at_zero", "coupling_cost", "coupling_loss", "decoded", "encode", "kcae_loss",
           "lead", "loss", "recon_cost", "recon_cost_trace", "coupling_cost_trace", "recon_loss", "relation",
           "squared_norm", "symbolic_kcae"]
