"""The Remark and Eq. 2 (supplement, between the Definition and Prop. 1).

    "The reconstruction loss C_recon,Phi(X) is invariant under invertible transformations of the latent
     representations z_si = E_i(x_si). In particular, for an invertible matrix T, r_i(x_si - D_i(E_i(x_si))) =
     r_i(x_si - D_i(z_si)) = r_i(x_si - D_hat_i(z_hat_si)), where D_hat_i = D_i o T^-1, and z_hat_si = T z_si."
    "for a diagonal matrix A with non-negative diagonal entries, and a matrix B with non-negative diagonal
     entries, we have tr(AB) = sum_m A(m,m) B(m,m) <= max_m A(m,m) tr(B)."                          (Eq. 2)

The Remark is checked on the k-CAE domain (:data:`cae_theory.definition.DOMAIN`), whose cases carry an invertible
T with its exact inverse; Eq. 2 on domains of pairs ``a: (..., p)`` (the diagonal of A) and ``B: (..., p, p)``
(:mod:`cae_theory.cases.matrices`): inside its hypotheses, with diag(B) >= 0 dropped, with A >= 0 dropped.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from cae_theory import arith
from cae_theory.cases import matrices
from cae_theory.definition import KCAECase, decoded, relation, squared_norm
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Identity, Proved, Searched, Witnessed
from cae_theory.validation import as_array

CLAIMS: list = []


# --- the Remark ---------------------------------------------------------------------------------------------

def transformed_codes(Z, T):
    """z_hat_si = T z_si for one T per case: ``(..., k, S, p), (..., p, p) -> (..., k, S, p)``."""
    return Z @ T.mT[..., None, :, :]


def _remark(arrays, case: KCAECase) -> srch.Sides:
    """r_i(x_si - D_i(z_si)) against r_i(x_si - D_hat_i(z_hat_si)), D_hat_i(z_hat) = D_i(T^-1 z_hat), per (i, s)."""
    a = arrays
    direct = a["X"] - decoded(case.Z, a["D"], a.get("Dq"))
    z_hat = transformed_codes(case.Z, a["T"])
    through_T = a["X"] - decoded(transformed_codes(z_hat, a["Tinv"]), a["D"], a.get("Dq"))
    return srch.Sides(squared_norm(direct), squared_norm(through_T))


def certify_remark() -> dict:
    """sympy: adj(T) (T z) = det(T) z for symbolic T and z (p = 1, 2, 3), i.e. T^-1 (T z) = z whenever T is
    invertible; so D_hat_i(z_hat_si) = D_i(T^-1 T z_si) = D_i(z_si) for every operator D_i and r_i(...) agree for
    every r_i. And for linear arms of size p = 2, p' = 3: x - (D T^-1)(T E x) = x - D E x (times det T)."""
    for p in (1, 2, 3):
        T = sp.Matrix(arith.symbols("t", (p, p), real=True))
        z = sp.Matrix(arith.symbols("z", (p, 1), real=True))
        if not arith.expand_is_zero(np.asarray(T.adjugate() * (T * z) - T.det() * z, dtype=object)):
            return {"ok": False, "failed_at": p, "scope": ""}
    T = sp.Matrix(arith.symbols("t", (2, 2), real=True))
    E = sp.Matrix(arith.symbols("e", (2, 3), real=True))
    D = sp.Matrix(arith.symbols("d", (3, 2), real=True))
    x = sp.Matrix(arith.symbols("x", (3, 1), real=True))
    linear = (D * T.adjugate()) * (T * E * x) - T.det() * (D * E * x)
    ok = arith.expand_is_zero(np.asarray(linear, dtype=object))
    return {"ok": ok, "sizes": {"T^-1 T z = z": [1, 2, 3], "linear arms (p, p')": [2, 3]},
            "scope": "symbolic T (p = 1, 2, 3) through adj(T) T = det(T) I: every operator D_i, every r_i"}


REMARK = claim(
    "remark", "Remark: C_recon,Phi(X) is invariant under invertible transformations of the latent representations: "
    "r_i(x_si - D_i(E_i(x_si))) = r_i(x_si - D_hat_i(z_hat_si)), D_hat_i = D_i o T^-1, z_hat_si = T z_si",
    registry=CLAIMS, expected="certified", uses=("eq1",),
    decide=Identity(relation("remark", "=", _remark, searched=False), certify_remark,
                    "numbers: linear and quadratic decoders, T = Pi 2^a L U with its exact inverse, "
                    "r_i = ||.||^2"))


def latent_transform(encoders, decoders, T) -> tuple[np.ndarray, np.ndarray]:
    """The Remark for linear arms: (E_i, D_i) -> (T E_i, D_i T^-1). ``encoders: (k, p, p')``,
    ``decoders: (k, p', p)``, ``T: (p, p)`` invertible (condition number below 1e12)."""
    E = as_array(encoders, "encoders", ndim=3)
    D = as_array(decoders, "decoders", ndim=3)
    T = as_array(T, "T", ndim=2)
    if T.shape != (E.shape[1], E.shape[1]):
        raise ValueError(f"T must be square (p, p) with p = {E.shape[1]} (the code dimension), got {T.shape}")
    sv = np.linalg.svd(T, compute_uv=False)
    if not sv[-1] > sv[0] * 1e-12:
        raise ValueError(f"T must be invertible (condition number below 1e12), got singular values from "
                         f"{sv[0]:.3g} down to {sv[-1]:.3g}")
    return T @ E, D @ np.linalg.inv(T)


# --- Eq. 2 --------------------------------------------------------------------------------------------------

def trace_of_product(a, B):
    """tr(AB) for A = diag(a): ``(..., p), (..., p, p) -> (...)``."""
    return arith.trace(arith.diag_embed(a) @ B)


def diagonal_sum(a, B):
    """sum_m A(m,m) B(m,m)."""
    return (a * arith.diagonal(B)).sum(axis=-1)


def eq2_bound(a, B):
    """max_m A(m,m) tr(B)."""
    return a.max(axis=-1) * arith.trace(B)


def positive_part_bound(a, B):
    """max_m A(m,m) sum_m max(B(m,m), 0): the bound for any square B (the correction)."""
    d = arith.diagonal(B)
    return a.max(axis=-1) * ((d + arith.absolute(d)) / 2).sum(axis=-1)


def _signs(arrays) -> tuple[np.ndarray, np.ndarray]:
    """(a >= 0, diag(B) >= 0) per case, exact on the float inputs."""
    a, B = arith.value(arrays["a"]), arith.value(arrays["B"])
    return np.all(a >= 0, axis=-1), np.all(np.diagonal(B, axis1=-2, axis2=-1) >= 0, axis=-1)


def _eq2_domain(variant: str, what: str) -> srch.Domain:
    return srch.Domain(f"Eq. 2 pairs (A, B), {what}", matrices.eq2_families(variant), lambda arrays, lift: None,
                       matrices.eq2_perturb, matrices.eq2_witness, matrices.eq2_cells, f"A = diag(a), B square; {what}")


EQ2_DOMAIN = _eq2_domain("hypotheses", "a >= 0 and diag(B) >= 0")
EQ2_NEGATIVE_DIAGONAL_DOMAIN = _eq2_domain("negative_diagonal", "a >= 0 and some B(m,m) < 0")
EQ2_NEGATIVE_A_DOMAIN = _eq2_domain("negative_a", "some a_m < 0 and diag(B) >= 0")


def eq2_relation(id_: str, rel: str, sides, domain: srch.Domain = EQ2_DOMAIN) -> srch.Relation:
    return srch.register(srch.Relation(id_, domain, rel, sides))


def _eq2(arrays, _) -> srch.Sides:
    return srch.Sides(trace_of_product(arrays["a"], arrays["B"]), diagonal_sum(arrays["a"], arrays["B"]))


def certify_eq2() -> dict:
    """sympy: tr(diag(a) B) expands to sum_m a_m B(m,m) for symbolic a, B, p = 1..5."""
    for p in range(1, 6):
        a, B = arith.symbols("a", (p,), real=True), arith.symbols("b", (p, p), real=True)
        if not arith.expand_is_zero(trace_of_product(a, B) - diagonal_sum(a, B)):
            return {"ok": False, "failed_at": p, "scope": ""}
    return {"ok": True, "sizes": list(range(1, 6)), "scope": "symbolic a, B for p = 1..5"}


EQ2 = claim(
    "eq2", "tr(AB) = sum_m A(m,m) B(m,m) for a diagonal matrix A  (Eq. 2, the identity)", registry=CLAIMS,
    expected="certified",
    decide=Identity(srch.Relation("eq2", EQ2_DOMAIN, "=", _eq2), certify_eq2, "needs only A diagonal"))


def lemma_eq2_term(z3):
    """One term of Eq. 2's bound: A(m,m) B(m,m) <= M B(m,m) for M = max_m A(m,m) >= A(m,m) and B(m,m) >= 0.
    Summed over m it is sum_m A(m,m) B(m,m) <= M tr(B). (A >= 0 is not needed.)"""
    a, M, b = z3.Reals("Amm M Bmm")
    return [a <= M, b >= 0], a * b <= M * b


def _eq2_bound(arrays, _) -> srch.Sides:
    nonneg_a, nonneg_b = _signs(arrays)
    return srch.Sides(diagonal_sum(arrays["a"], arrays["B"]), eq2_bound(arrays["a"], arrays["B"]),
                      applies=nonneg_a & nonneg_b)


EQ2_BOUND = claim(
    "eq2.bound", "sum_m A(m,m) B(m,m) <= max_m A(m,m) tr(B) for a diagonal A with non-negative diagonal entries and "
    "a B with non-negative diagonal entries  (Eq. 2, the bound)", registry=CLAIMS, expected="proved",
    uses=("eq2",),
    decide=Proved("every p: termwise (z3: A(m,m) B(m,m) <= max_m A(m,m) B(m,m) for B(m,m) >= 0), summed over m",
                  lemma=lemma_eq2_term, cross_check=eq2_relation("eq2.bound", "<=", _eq2_bound)))


def _eq2_any_sign_a(arrays, _) -> srch.Sides:
    nonneg_a, nonneg_b = _signs(arrays)
    return srch.Sides(diagonal_sum(arrays["a"], arrays["B"]), eq2_bound(arrays["a"], arrays["B"]),
                      applies=~nonneg_a & nonneg_b)


EQ2_ANY_SIGN_A = claim(
    "eq2.bound.any_sign_a", "Probe: Eq. 2's bound with A(m,m) of any sign (the hypothesis A >= 0 dropped), "
    "diag(B) >= 0", origin="probe", registry=CLAIMS, expected="proved", uses=("eq2",),
    decide=Proved("every p: the termwise lemma of eq2.bound does not use A(m,m) >= 0", lemma=lemma_eq2_term,
                  cross_check=eq2_relation("eq2.bound.any_sign_a", "<=", _eq2_any_sign_a, EQ2_NEGATIVE_A_DOMAIN),
                  note="A(m,m) >= 0 is not needed for the bound; diag(B) >= 0 is (eq2.negative_diagonal)."))


def _eq2_negative_diagonal(arrays, _) -> srch.Sides:
    nonneg_a, nonneg_b = _signs(arrays)
    return srch.Sides(diagonal_sum(arrays["a"], arrays["B"]), eq2_bound(arrays["a"], arrays["B"]),
                      applies=nonneg_a & ~nonneg_b)


def _eq2_negative_diagonal_witness() -> tuple[bool, dict]:
    """A = diag(1, 0), B = diag(1, -1): sum_m A(m,m) B(m,m) = 1 > max_m A(m,m) tr(B) = 1 * 0."""
    a = arith.exact(np.array([1.0, 0.0]))
    B = arith.exact(np.diag([1.0, -1.0]))
    lhs, rhs = diagonal_sum(a, B), eq2_bound(a, B)
    return bool(lhs <= rhs), {"A": [[1, 0], [0, 0]], "B": [[1, 0], [0, -1]], "lhs": str(lhs), "rhs": str(rhs),
                              "relation": "<=", "lhs_is": "sum_m A(m,m) B(m,m)", "rhs_is": "max_m A(m,m) tr(B)",
                              "exact": True}


def lemma_eq2_positive_part(z3):
    """One term of the corrected bound: A(m,m) B(m,m) <= M max(B(m,m), 0) for 0 <= A(m,m) <= M, any B(m,m)."""
    a, M, b, bp = z3.Reals("Amm M Bmm Bpos")
    return ([a >= 0, a <= M, z3.Or(z3.And(b >= 0, bp == b), z3.And(b < 0, bp == 0))], a * b <= M * bp)


def _eq2_positive_part(arrays, _) -> srch.Sides:
    nonneg_a, _ = _signs(arrays)
    return srch.Sides(diagonal_sum(arrays["a"], arrays["B"]), positive_part_bound(arrays["a"], arrays["B"]),
                      applies=nonneg_a)


EQ2_NEGATIVE_DIAGONAL = claim(
    "eq2.negative_diagonal", "Probe: Eq. 2's bound for a B with a negative diagonal entry (the hypothesis "
    "diag(B) >= 0 dropped, as Eq. 20 does)", origin="probe", registry=CLAIMS, expected="fails", uses=("eq2",),
    decide=Witnessed(_eq2_negative_diagonal_witness, "one exact case: A = diag(1, 0), B = diag(1, -1)",
                     also=Searched(eq2_relation("eq2.negative_diagonal", "<=", _eq2_negative_diagonal,
                                                EQ2_NEGATIVE_DIAGONAL_DOMAIN))),
    correction=Correction(
        "For a diagonal A >= 0 and any square B: sum_m A(m,m) B(m,m) <= max_m A(m,m) sum_m max(B(m,m), 0)",
        Proved("every p: termwise (z3), summed over m", lemma=lemma_eq2_positive_part,
               cross_check=eq2_relation("eq2.negative_diagonal.corrected", "<=", _eq2_positive_part,
                                        EQ2_NEGATIVE_DIAGONAL_DOMAIN)),
        "proved", kind="restatement"))


def eq2_sides(A, B, *, require_hypotheses: bool = True) -> dict[str, float]:
    """Eq. 2's quantities for one ``A: (p, p)`` diagonal with A(m,m) >= 0 and ``B: (p, p)``: ``trace_ab``,
    ``diagonal_sum``, ``bound``, ``positive_part_bound``. With ``require_hypotheses`` a B with a negative diagonal
    entry is a ValueError."""
    A = as_array(A, "A", ndim=2)
    B = as_array(B, "B", ndim=2)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square (p, p), got shape {A.shape}")
    if B.shape != A.shape:
        raise ValueError(f"B must have the shape of A {A.shape}, got {B.shape}")
    a = np.diag(A)
    if np.any(A - np.diag(a) != 0):
        raise ValueError("A must be diagonal (Eq. 2)")
    if np.any(a < 0):
        raise ValueError(f"A must have non-negative diagonal entries (Eq. 2), got min {float(a.min())!r}")
    if require_hypotheses and np.any(np.diag(B) < 0):
        raise ValueError(f"B must have non-negative diagonal entries (Eq. 2), got min {float(np.diag(B).min())!r}")
    return {"trace_ab": float(trace_of_product(a, B)), "diagonal_sum": float(diagonal_sum(a, B)),
            "bound": float(eq2_bound(a, B)), "positive_part_bound": float(positive_part_bound(a, B))}


__all__ = ["CLAIMS", "EQ2_DOMAIN", "EQ2_NEGATIVE_A_DOMAIN", "EQ2_NEGATIVE_DIAGONAL_DOMAIN", "diagonal_sum", "eq2_bound", "eq2_sides", "latent_transform",
           "positive_part_bound", "trace_of_product", "transformed_codes"]
