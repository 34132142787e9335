"""The shrinking construction in the proof of Prop. 1, Eqs. 3-4.

    Phi_hat = ({(beta I o E_i, D_i o beta^{-1} I, r_i)}, c, lambda)            (Eq. 3)
    beta    = min(1/2, eps / (2 max_{s,i} ||z_si||))                          (Eq. 4)

Codes of Phi_hat are z_hat_si = beta z_si; reconstructions are unchanged (the Remark with T = beta I).
A norm is a batched callable ``(B, p) -> (B,)``; the default is the Euclidean norm, and :func:`lp_norm` /
:func:`weighted_norm` build others (Prop. 1 claims its bound "for any norm").
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from cae_theory.kcae import latent_transform
from cae_theory.validation import as_array, as_beta, as_codes, as_scalar

Norm = Callable[[np.ndarray], np.ndarray]


def euclidean_norm(z: np.ndarray) -> np.ndarray:
    """||z||_2 of each row. ``z: (B, p)`` -> ``(B,)``."""
    return np.linalg.norm(np.asarray(z, dtype=np.float64), axis=-1)


def lp_norm(q: float) -> Norm:
    """The l_q norm (q >= 1, or ``np.inf``) of each row, as a batched callable."""
    if q != np.inf:
        q = as_scalar(q, "q", low=1.0, low_open=False)

    def norm(z: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.asarray(z, dtype=np.float64), ord=q, axis=-1)
    norm.__name__ = f"l{q}_norm"
    return norm


def weighted_norm(M) -> Norm:
    """||z||_M = sqrt(z^T M z) for a symmetric positive definite ``M: (p, p)``, as a batched callable.

    Positive definite numerically: smallest eigenvalue > p * eps * largest eigenvalue (eps = float64 machine
    epsilon; the relative accuracy of eigvalsh is ~ eps * ||M||_2, so a smaller eigenvalue is indistinguishable
    from 0 or negative). A singular PSD M can come back from eigvalsh as +1e-17 and then fail Cholesky; it is a
    ValueError naming M here.
    """
    M = as_array(M, "M", ndim=2)
    if M.shape[0] != M.shape[1] or not np.allclose(M, M.T, rtol=0, atol=1e-12 * np.abs(M).max()):
        raise ValueError(f"M must be a symmetric (p, p) matrix, got shape {M.shape}")
    eig = np.linalg.eigvalsh(M)
    tol = M.shape[0] * np.finfo(np.float64).eps * max(abs(eig[0]), abs(eig[-1]))
    if eig[-1] <= 0 or eig[0] <= tol:
        raise ValueError(f"M must be positive definite to define a norm: smallest eigenvalue {eig[0]:.3g} must be "
                         f"> p * eps * largest |eigenvalue| = {tol:.3g}")
    try:
        L = np.linalg.cholesky(M)
    except np.linalg.LinAlgError:  # eigvalsh passed but Cholesky of the (slightly asymmetric) M did not
        raise ValueError(f"M must be positive definite to define a norm: Cholesky failed although the smallest "
                         f"eigenvalue is {eig[0]:.3g}") from None

    def norm(z: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.asarray(z, dtype=np.float64) @ L, axis=-1)
    norm.__name__ = "weighted_norm"
    return norm


def max_code_norm(Z, norm: Norm = euclidean_norm) -> float:
    """max_{s,i} ||z_si|| for codes ``Z: (k, S, p)``."""
    Z = as_codes(Z)
    k, S, p = Z.shape
    values = as_array(norm(Z.reshape(k * S, p)), "norm(z)", ndim=1)
    if values.shape[0] != k * S or np.any(values < 0):
        raise ValueError("norm must map (B, p) to B non-negative values")
    return float(values.max())


def shrink_beta(Z, eps: float, norm: Norm = euclidean_norm) -> float:
    """beta = min(1/2, eps / (2 max_{s,i} ||z_si||))  (Eq. 4). ``Z: (k, S, p)``, ``eps > 0``.
    All-zero codes give beta = 1/2 (the second term is +inf)."""
    eps = as_scalar(eps, "eps", low=0.0)
    top = max_code_norm(Z, norm)
    return 0.5 if top == 0.0 else min(0.5, eps / (2.0 * top))


def shrink(encoders, decoders, beta: float) -> tuple[list, list]:
    """Phi_hat of Eq. 3: encoders beta E_i, decoders D_i / beta, for ``0 < beta < 1``."""
    beta = as_beta(beta)
    if not isinstance(encoders, (list, tuple)) or not encoders:
        raise TypeError("encoders must be a non-empty sequence of matrices or callables")
    if not isinstance(decoders, (list, tuple)) or len(decoders) != len(encoders):
        raise ValueError(f"decoders must be a sequence with one decoder per encoder ({len(encoders)})")
    first = encoders[0]
    if callable(first):  # code dimension unknown without data: scale outputs directly
        enc = [lambda x, E=E: beta * E(x) for E in encoders]
        dec = [lambda z, D=D: D(z / beta) for D in decoders]
        return enc, dec
    p = as_array(first, "encoders[0]", ndim=2).shape[0]
    return latent_transform(encoders, decoders, beta * np.eye(p))


def shrink_codes(Z, beta: float) -> np.ndarray:
    """z_hat_si = beta z_si (codes of Phi_hat, Eq. 3). ``Z: (k, S, p)`` -> ``(k, S, p)``."""
    return as_beta(beta) * as_codes(Z)


__all__ = ["Norm", "euclidean_norm", "lp_norm", "max_code_norm", "shrink", "shrink_beta", "shrink_codes",
           "weighted_norm"]
