"""Canonical correlations of two data sets (Hotelling's canonical correlation analysis), and the floor they put
under the mse coupling of batch-standardised linear codes (the setting of Prop. 2 with linear arms).

Computed with scipy alone (independent of cae_core): centre both inputs, Cholesky-whiten each by its own
covariance and take the singular values of the whitened cross-covariance,
rho = svd(L1^{-1} C12 L2^{-T}) with C11 = L1 L1^T, C22 = L2 L2^T.

The floor. Let z_s(m) = standardised(u_m^T x_s1) and w_s(m) = standardised(v_m^T x_s2) be codes of linear arms
after batch standardisation over the rows S (zero mean, sum_s z_s(m)^2 = n_var for every m, where n_var is
|S| - 1 for the unbiased variance of the supplement's V_i and |S| for the biased 1/|S| variance). Then

    sum_s ||z_s - w_s||^2 = sum_m (2 n_var - 2 n_var corr_m) = n_var * sum_m (2 - 2 corr_m)

and corr_m = corr(u_m^T x_1, v_m^T x_2) <= rho_1 (the top canonical correlation is the largest correlation of
any two linear projections), so the sum is >= n_var * p * (2 - 2 rho_1), with equality iff every coordinate
is the top canonical pair (the collapse of Prop. 2). The bound holds for the rows S it is computed on; rho_1
of a sub-batch is larger than rho_1 of the whole data (sample canonical correlations are biased upward), so a
per-batch coupling may sit below the whole-data floor; compare like with like.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from cae_theory.validation import as_array, as_scalar


def canonical_correlations(X1, X2) -> np.ndarray:
    """All canonical correlations rho_1 >= rho_2 >= ... of ``X1: (N, d1)`` and ``X2: (N, d2)`` (rows paired).

    Needs N > d1 + d2 and both covariances positive definite (no ridge: a ridge would move the floor)."""
    X1 = as_array(X1, "X1", ndim=2)
    X2 = as_array(X2, "X2", ndim=2)
    if X1.shape[0] != X2.shape[0]:
        raise ValueError(f"X1 and X2 must have the same number of rows (paired), got {X1.shape[0]} and {X2.shape[0]}")
    n, d1 = X1.shape
    d2 = X2.shape[1]
    if n <= d1 + d2:
        raise ValueError(f"X1, X2 need more rows than d1 + d2 = {d1 + d2} (else rho_1 = 1 trivially), got {n}")
    C1 = X1 - X1.mean(axis=0)
    C2 = X2 - X2.mean(axis=0)
    factors = []
    for name, C in (("X1", C1), ("X2", C2)):
        try:
            factors.append(scipy.linalg.cholesky(C.T @ C, lower=True))
        except scipy.linalg.LinAlgError as exc:
            raise ValueError(f"{name} must have a positive definite covariance (no constant or collinear columns)") from exc
    L1, L2 = factors
    K = scipy.linalg.solve_triangular(L1, C1.T @ C2, lower=True)            # L1^{-1} C12
    K = scipy.linalg.solve_triangular(L2, K.T, lower=True).T                # ... L2^{-T}
    rho = scipy.linalg.svd(K, compute_uv=False)
    return np.clip(rho, 0.0, 1.0)


def top_canonical_correlation(X1, X2) -> float:
    """rho_1, the largest canonical correlation of ``X1: (N, d1)`` and ``X2: (N, d2)``."""
    return float(canonical_correlations(X1, X2)[0])


def coupling_floor(rho1: float, n_rows: int, p: int, *, unbiased: bool = True) -> float:
    """Lower bound n_var * p * (2 - 2 rho_1) of sum_s ||z_s1 - z_s2||^2 for batch-standardised linear codes
    of width ``p`` over ``n_rows`` rows; n_var = n_rows - 1 (``unbiased``, the supplement's V_i) or n_rows:
    (|S| - 1) p (2 - 2 rho_1) for the supplement's variance (derivation in the module docstring)."""
    rho1 = as_scalar(rho1, "rho1", low=0.0, high=1.0, low_open=False, high_open=False)
    for name, v, low in (("n_rows", n_rows, 2), ("p", p, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if v < low:
            raise ValueError(f"{name} must be >= {low}, got {v}")
    n_var = n_rows - 1 if unbiased else n_rows
    return float(n_var * p * (2.0 - 2.0 * rho1))
