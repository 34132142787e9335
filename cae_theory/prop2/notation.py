"""Prop. 2, notation (supplement, the paragraph and the Definition above Prop. 2, and the sentence before Eq. 5).

Codes ``Z: (..., k, S, p)`` (leading axes: a batch of cases), ``Z[..., i, s, :]`` = z_si. Arm pairs i < j are
enumerated by ``pairs(k)`` (``np.triu_indices(k, 1)``).

- mu_i  = 1/|S| sum_s z_si                                    :func:`latent_mean`        (..., k, p)
- V_i   = 1/(|S|-1) sum_s (z_si - mu_i)(z_si - mu_i)^T        :func:`latent_covariance`  (..., k, p, p)
- W_ij  = sum_s (z_si - z_sj)(z_si - z_sj)^T                  :func:`pair_scatter`       (..., P, p, p)
- W     = sum_{i<j} W_ij                                       :func:`total_scatter`      (..., p, p)
- C_c   = sum_s sum_{i<j} ||z_si - z_sj||^2                    :func:`coupling`           (...)
- the k-CBNAE: mu_i = 0 and diag(V_i) = diag(I)               :func:`standardize`, :func:`kcbnae_deviation`
- n: b^T W b minimised over b = e_n, i.e. n = argmin_m W(m, m) (the first index on ties)   :func:`select_n`

Every function is written with the operations of :mod:`cae_theory.arith`, so it runs on float arrays, on
Bounded numbers and on sympy object arrays alike.
"""
from __future__ import annotations

import numpy as np

from cae_theory import arith
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Witnessed
from cae_theory.validation import as_codes

CLAIMS: list = []


def pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (I, J) of the arm pairs i < j, in the order of ``np.triu_indices(k, 1)``."""
    return np.triu_indices(k, 1)


def latent_mean(Z):
    """mu_i: ``(..., k, S, p) -> (..., k, p)``."""
    return Z.sum(axis=-2) / Z.shape[-2]


def latent_covariance(Z):
    """V_i with the supplement's 1/(|S|-1): ``(..., k, S, p) -> (..., k, p, p)``."""
    Zc = Z - Z.sum(axis=-2, keepdims=True) / Z.shape[-2]
    return (Zc.mT @ Zc) / (Z.shape[-2] - 1)


def pair_differences(Z):
    """z_si - z_sj for every pair i < j: ``(..., k, S, p) -> (..., P, S, p)``."""
    I, J = pairs(Z.shape[-3])
    return Z[..., I, :, :] - Z[..., J, :, :]


def pair_scatter(Z):
    """W_ij for every pair i < j: ``(..., k, S, p) -> (..., P, p, p)``."""
    d = pair_differences(Z)
    return d.mT @ d


def total_scatter(Z):
    """W = sum_{i<j} W_ij: ``(..., k, S, p) -> (..., p, p)``."""
    return pair_scatter(Z).sum(axis=-3)


def coupling(Z):
    """C_c = sum_s sum_{i<j} ||z_si - z_sj||^2 (Eq. 1 with c = ||.||^2): ``(..., k, S, p) -> (...)``."""
    d = pair_differences(Z)
    return (d * d).sum(axis=(-3, -2, -1))


def select_n(W) -> np.ndarray:
    """n = argmin_m W(m, m) (first on ties) of float or Bounded W ``(..., p, p) -> (...)`` int: the coordinate that
    minimises b^T W b over unit vectors b = e_n (sentence before Eq. 5)."""
    return np.argmin(arith.value(arith.diagonal(W)), axis=-1)


def one_hot(n: np.ndarray, p: int) -> np.ndarray:
    """b = e_n as float arrays ``(...,) -> (..., p)`` (exact 0 and 1)."""
    return (np.arange(p) == np.asarray(n)[..., None]).astype(np.float64)


def standardize(X) -> np.ndarray:
    """k-CBNAE codes from raw codes ``X: (..., k, S, p)`` (floats): per arm and coordinate, mean 0 and variance 1
    with 1/(|S|-1). Raises ValueError if a coordinate of an arm is constant (it cannot be standardised)."""
    from cae_theory.validation import as_array
    X = as_array(X, "X")
    if X.ndim < 3:
        raise ValueError(f"X must have 3 dimensions (k, |S|, p) or more (a batch first), got shape {X.shape}")
    if X.shape[-3] < 2:
        raise ValueError(f"X must hold codes of k >= 2 arms (axis -3), got k = {X.shape[-3]}")
    if X.shape[-2] < 2:
        raise ValueError(f"X must hold |S| >= 2 samples (axis -2; the supplement assumes |S| > 1), got {X.shape[-2]}")
    C = X - X.mean(axis=-2, keepdims=True)
    sd = np.sqrt((C ** 2).sum(axis=-2, keepdims=True) / (X.shape[-2] - 1))
    if np.any(sd <= 1e-12 * (1.0 + np.abs(X).max(axis=-2, keepdims=True))):
        raise ValueError("X must not have a constant coordinate in any arm (it cannot be standardised)")
    return C / sd


def kcbnae_deviation(Z) -> tuple[np.ndarray, np.ndarray]:
    """(max |mu_i(m)|, max |V_i(m, m) - 1|) per case of float codes ``(..., k, S, p)``: how far float codes are
    from the k-CBNAE constraint (a few ulps after :func:`standardize`)."""
    Z = np.asarray(Z, dtype=np.float64)
    mu = np.abs(Z.mean(axis=-2)).max(axis=(-2, -1))
    var = np.abs((Z ** 2).sum(axis=-2) / (Z.shape[-2] - 1) - 1.0).max(axis=(-2, -1))
    return mu, var


def max_coordinate_gap(Z) -> np.ndarray:
    """max over i, s, m, m' of |z_si(m) - z_si(m')|, per case: the quantity Prop. 2 drives below every eps."""
    return arith.coordinate_range(np.asarray(Z, dtype=np.float64)).max(axis=(-2, -1))


# --- the Definition of the k-CBNAE, read literally ------------------------------------------------------------

def _constant_input_set() -> tuple[bool, dict]:
    """Any encoder E_i maps an input set whose samples are all equal, x_s1 = x_s2 (|S| = 2), to equal codes, so
    V_i = 0 and diag(V_i) = diag(I) fails: no k-CAE satisfies the constraint 'for any input set X'."""
    x = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])          # |S| = 2 identical samples, p' = 3
    E = np.array([[0.5, -1.0, 2.0]])                           # any encoder (here linear, p = 1)
    z = x @ E.T
    V = float(((z - z.mean(axis=0)) ** 2).sum() / (len(z) - 1))
    return V == 1.0, {"X_arm": x.tolist(), "E_i": E.tolist(), "codes": z.tolist(), "lhs": V, "rhs": 1.0,
                      "relation": "=", "lhs_is": "V_i(1,1) of the codes", "rhs_is": "the k-CBNAE constraint",
                      "why": "every map sends equal inputs to equal codes: zero variance, for every encoder"}


def _standardised_codes_exist() -> tuple[bool, dict]:
    """On an input set whose codes have no constant coordinate, per-batch standardisation (a batch norm without
    scale and shift) meets mu_i = 0 and diag(V_i) = 1: shown exactly on |S| = 3 integer codes."""
    Z = arith.exact([[[1, -1], [-1, 0], [0, 1]], [[0, 1], [1, -1], [-1, 0]]])
    mu = latent_mean(Z)
    V = latent_covariance(Z)
    ok = all(v == 0 for v in mu.ravel()) and all(v == 1 for v in arith.diagonal(V).ravel())
    return ok, {"Z": Z.astype(float).tolist(), "mu": [[str(v) for v in r] for r in mu], "diag_V":
                [[str(v) for v in r] for r in arith.diagonal(V)]}


KCBNAE_DEFINITION = claim(
    "definition.kcbnae",
    "Definition: a k-CBNAE is a k-CAE whose latent representations satisfy mu_i = 0 and diag(V_i) = diag(I), "
    "for any input set X",
    origin="sentence", expected="fails", registry=CLAIMS,
    decide=Witnessed(_constant_input_set, "one input set with two equal samples: every encoder"),
    correction=Correction(
        "Read as batch-normalised codes: for each input set X on which no arm's code has a constant coordinate "
        "(so it can be standardised), the encoders standardise their codes on X (mu_i = 0, diag(V_i) = 1 on X). "
        "The proof of Prop. 2 only uses the constraint on the given X; its M_i (Eq. 9) depends on V_i of that X.",
        Witnessed(_standardised_codes_exist, "exact integer codes, |S| = 3, k = p = 2"), "proved",
        kind="restatement"),
    reading="'for any input set X' read literally: one fixed k-CAE meeting the constraint on every X")


__all__ = ["CLAIMS", "coupling", "kcbnae_deviation", "latent_covariance", "latent_mean", "max_coordinate_gap",
           "one_hot", "pair_differences", "pair_scatter", "pairs", "select_n", "standardize", "total_scatter"]
