"""cae_core.diagnostics.batch_diagnostics transcribed from its definitions in running-error arithmetic.

For a batch ``z: (B, p)`` (Bounded; exact inputs, or inputs with a bound on their distance from the intended
ones) every diagnostic comes with a rigorous bound on the error of any float64 evaluation of its definition
(tests/rounding_bounds.py): the norms and gaps of Props. 1-2 (sums and one rounding each), the covariance
spectrum from the singular values of the centred batch (LAPACK's backward error), RankMe (Garrido et al., ICML
2023: exp of the Shannon entropy of sigma / ||sigma||_1) and the largest off-diagonal correlation.
``numerical_rank`` is an integer decision, not a rounded value, and is not transcribed here.
"""
from __future__ import annotations

import numpy as np

from bounded_couplings import centred
from cae_theory.rounding import Bounded, sqrt
from rounding_bounds import entropy_terms, exp, minimum, svdvals


def spectrum(z: Bounded) -> Bounded:
    """Covariance eigenvalues sigma_k^2 / (B - 1), descending, ``(p,)``; the p - B missing ones (B < p) are 0."""
    B, p = z.shape
    s = svdvals(centred(z))
    lam = s * s / (B - 1)
    if lam.shape[0] < p:
        lam = Bounded(np.concatenate([lam.value, np.zeros(p - lam.shape[0])]),
                      np.concatenate([lam.error, np.zeros(p - lam.shape[0])]))
    return lam


def effective_rank(z: Bounded) -> Bounded:
    """exp(-sum_k q_k log q_k), q = sigma / ||sigma||_1 (0 log 0 = 0)."""
    s = svdvals(centred(z))
    q = s / s.sum()
    return exp(entropy_terms(q).sum())


def max_abs_corr(z: Bounded) -> Bounded:
    """max_{m != m'} |corr(z(m), z(m'))|, clamped at 1 (|corr| <= 1 exactly, Cauchy-Schwarz); needs p >= 2 and
    no constant coordinate."""
    p = z.shape[1]
    c = centred(z)
    cs = c / sqrt((c * c).sum(axis=0, keepdims=True))
    corr = cs.mT @ cs
    off = abs(Bounded(corr.value * (1 - np.eye(p)), corr.error * (1 - np.eye(p)))).max()
    return minimum(off, Bounded.exact(1.0))


def diagnostics(z: Bounded) -> dict[str, Bounded]:
    """Every diagnostic of cae_core.diagnostics.batch_diagnostics but ``numerical_rank``."""
    B, p = z.shape
    norms = sqrt((z * z).sum(axis=1))
    gaps = _row_gaps(z)
    lam = spectrum(z)
    out = {"max_code_norm": norms.max(), "mean_code_norm": norms.sum() / B, "max_coordinate_gap": gaps.max(),
           "lambda_min": lam[p - 1], "lambda_max": lam[0], "total_variance": lam.sum(),
           "effective_rank": effective_rank(z), "batch_size": Bounded.exact(float(B)), "dim": Bounded.exact(float(p))}
    if p > 1:
        out["max_abs_corr"] = max_abs_corr(z)
    return out


def _row_gaps(z: Bounded) -> Bounded:
    """max_m z_s(m) - min_m z_s(m) per row ``(B,)``: the extremes are exact, the difference one rounding."""
    hi = z.max(axis=1)
    lo = -((-z).max(axis=1))
    return hi - lo
