"""The printed quantities of Prop. 2's proof, Eqs. 5-15: the choice of n, b, gamma; Eqs. 6-8; D_i, M_i; the new
statistics of Phi-hat. One function per printed quantity, in the printed form; the ledger
(:mod:`cae_theory.checks_prop2_first`) compares them.

Notation (supplement, above Prop. 2 and Eqs. 5-15): codes ``Z: (k, S, p)``; V_i ``(p, p)``; W = sum_{i<j} W_ij
``(p, p)``; n = argmin_m W(m, m), b = e_n ``(p,)``; 1 the all-ones ``(p,)``; D_i diagonal ``(p, p)`` (Eq. 10);
M_i = D_i 1 b^T + beta D_i (Eq. 9). The construction itself is
:func:`cae_theory.batchnorm_construction.batchnorm_construction`.
"""
from __future__ import annotations

import numpy as np

from cae_theory.validation import as_array, as_beta


def _square(x, name: str) -> np.ndarray:
    a = as_array(x, name, ndim=2)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be a square (p, p) matrix, got shape {a.shape}")
    return a


def _index(n, p: int, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer coordinate index, got {type(n).__name__}")
    if not 0 <= n < p:
        raise ValueError(f"{name} must be a coordinate index in [0, {p}), got {n}")
    return int(n)


def _unit_vector(b, p: int) -> np.ndarray:
    b = as_array(b, "b", ndim=1)
    if b.shape != (p,):
        raise ValueError(f"b must have shape ({p},) to match W, got {b.shape}")
    return b


# --- the choice of n, b, gamma and Eq. 5 -------------------------------------------------------------------

def smallest_admitted_gamma(W, n: int) -> float:
    """The smallest gamma with "b^T W b <= gamma W(m, m) for any m" (sentence before Eq. 5), b = e_n.

    That is max_m W(n, n) / W(m, m) over m with W(m, m) > 0 (0 if W(n, n) = 0). Since n minimises the
    diagonal, the term m = n gives 1 whenever W(n, n) > 0: read literally the sentence forces gamma = 1 then.
    ``W: (p, p)`` positive semi-definite with tr(W) > 0."""
    W = _square(W, "W")
    n = _index(n, W.shape[0])
    d = np.diag(W)
    if np.any(d < 0) or d.sum() <= 0:
        raise ValueError("W must have a non-negative diagonal with tr(W) > 0 (a scatter matrix, C_c > 0)")
    if d[n] == 0.0:
        return 0.0
    return float(np.max(d[n] / d[d > 0]))


def coupling_trace(W) -> float:
    """Right side of Eq. 5: C_c = tr(W). ``W: (p, p)``. (The left side is
    :func:`cae_theory.statistics.squared_euclidean_coupling`.)"""
    return float(np.trace(_square(W, "W")))


# --- Eqs. 6-7 -----------------------------------------------------------------------------------------------

def quadratic_form(W, b) -> float:
    """b^T W b (Eq. 6 left side). ``W: (p, p)``, ``b: (p,)``."""
    W = _square(W, "W")
    b = _unit_vector(b, W.shape[0])
    return float(b @ W @ b)


def mean_diagonal(W) -> float:
    """tr(W) / p (Eq. 6 right side). ``W: (p, p)``."""
    W = _square(W, "W")
    return float(np.trace(W) / W.shape[0])


def trace_one_b_W(W, b) -> float:
    """tr(1 b^T W) (Eq. 7, first expression). ``W: (p, p)``, ``b: (p,)``."""
    W = _square(W, "W")
    b = _unit_vector(b, W.shape[0])
    return float(np.trace(np.outer(np.ones(W.shape[0]), b) @ W))


def row_sum(W, n: int) -> float:
    """sum_m W(n, m) (Eq. 7, first right side). ``W: (p, p)``."""
    W = _square(W, "W")
    return float(W[_index(n, W.shape[0])].sum())


def geometric_mean_sum(W, n: int) -> float:
    """sum_m sqrt(W(n, n) W(m, m)) (Eq. 7, Cauchy-Schwarz bound). ``W: (p, p)`` with non-negative diagonal."""
    W = _square(W, "W")
    n = _index(n, W.shape[0])
    d = np.diag(W)
    if np.any(d < 0):
        raise ValueError("W must have a non-negative diagonal (a scatter matrix)")
    return float(np.sqrt(d[n] * d).sum())


def arithmetic_mean_sum(W, n: int) -> float:
    """sum_m (W(n, n) + W(m, m)) / 2 (Eq. 7, AM-GM bound). ``W: (p, p)``."""
    W = _square(W, "W")
    n = _index(n, W.shape[0])
    d = np.diag(W)
    return float(((d[n] + d) / 2.0).sum())


# --- Eq. 8 --------------------------------------------------------------------------------------------------

def correlations_with_n(V, n: int) -> np.ndarray:
    """V_i(n, m) for every arm i and coordinate m (the sentence before Eq. 8). ``V: (k, p, p)`` -> ``(k, p)``."""
    V = as_array(V, "V", ndim=3)
    if V.shape[1] != V.shape[2]:
        raise ValueError(f"V must have shape (k, p, p), got {V.shape}")
    return V[:, _index(n, V.shape[1]), :].copy()


def min_correlation_with_n(V, n: int) -> np.ndarray:
    """min_m V_i(n, m) for every arm i (Eq. 8 left side). ``V: (k, p, p)`` -> ``(k,)``."""
    return correlations_with_n(V, n).min(axis=1)


# --- Eqs. 9-12 ----------------------------------------------------------------------------------------------

def transform_determinant(p: int, beta: float) -> float:
    """det(1 e_n^T + beta I) = beta^(p-1) (1 + beta), for every n: so M_i = D_i (1 b^T + beta I) (Eq. 9) is
    invertible for 0 < beta < 1 and D_i(m, m) > 0 (matrix determinant lemma; certified in the ledger)."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"p must be an integer >= 1, got {p!r}")
    beta = as_beta(beta)
    return float(beta ** (p - 1) * (1.0 + beta))


def scaling_bounds(beta: float) -> tuple[float, float]:
    """(1 / (1 + beta), 1 / (1 - beta)): the bounds printed after Eq. 10 on D_i(m, m)."""
    beta = as_beta(beta)
    return 1.0 / (1.0 + beta), 1.0 / (1.0 - beta)


def scaling_difference_bound(beta: float) -> float:
    """4 beta^2 / (1 - beta^2)^2: the bound printed after Eq. 10 on (D_i(m, m) - D_j(m, m))^2."""
    beta = as_beta(beta)
    return 4.0 * beta ** 2 / (1.0 - beta ** 2) ** 2


def _latent_dim(p) -> int:
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"p must be an int (the latent dimension), got {type(p).__name__}")
    if p < 1:
        raise ValueError(f"p must be >= 1 (the latent dimension), got {p}")
    return int(p)


def trace_bound_eq11(p: int, beta: float) -> float:
    """p / (1 - beta) (Eq. 11 right side)."""
    return _latent_dim(p) * scaling_bounds(beta)[1]


def trace_bound_eq12(p: int, beta: float) -> float:
    """p / (1 - beta)^2 (Eq. 12 right side)."""
    return _latent_dim(p) * scaling_bounds(beta)[1] ** 2


# --- Eqs. 14-15 ---------------------------------------------------------------------------------------------

def _square_pair(D_i, V_i) -> tuple[np.ndarray, np.ndarray]:
    """``D_i, V_i``: square matrices of one shape (p, p) (ValueError naming the argument otherwise)."""
    D_i = _square(D_i, "D_i")
    V_i = _square(V_i, "V_i")
    if V_i.shape != D_i.shape:
        raise ValueError(f"V_i must have the shape of D_i {D_i.shape}, got {V_i.shape}")
    return D_i, V_i


def new_covariance_printed(D_i, V_i, b, beta: float) -> np.ndarray:
    """D_i [1 b^T V_i b 1^T + beta (1 b^T V_i + V_i b 1^T) + beta^2 V_i] D_i^T (Eq. 14, last line).
    ``D_i, V_i: (p, p)``, ``b: (p,)`` -> ``(p, p)``."""
    D_i, V_i = _square_pair(D_i, V_i)
    b = _unit_vector(b, D_i.shape[0])
    beta = as_beta(beta)
    one = np.ones(D_i.shape[0])
    inner = (np.outer(one, one) * (b @ V_i @ b) + beta * (np.outer(one, b @ V_i) + np.outer(V_i @ b, one))
             + beta ** 2 * V_i)
    return D_i @ inner @ D_i.T


def new_variance_printed(D_i, V_i, n: int, beta: float) -> np.ndarray:
    """D_i(m, m)^2 [V_i(n, n) + 2 beta V_i(n, m) + beta^2 V_i(m, m)] for every m (Eq. 15, middle).
    ``D_i, V_i: (p, p)`` -> ``(p,)``."""
    D_i, V_i = _square_pair(D_i, V_i)
    n = _index(n, D_i.shape[0])
    beta = as_beta(beta)
    return np.diag(D_i) ** 2 * (V_i[n, n] + 2.0 * beta * V_i[n] + beta ** 2 * np.diag(V_i))
