"""Collapse diagnostics of one batch of codes ``z: (B, p)`` (no gradients; computed in float64).

The literal quantities of the propositions, plus the usual rank measures:

- Prop. 1 (complete collapse, ||z_si|| < eps):            ``max_code_norm``, ``mean_code_norm``
- Prop. 2 (dimensional collapse, |z_si(m) - z_si(m')| < eps): ``max_coordinate_gap``
- spectrum of V (1/(B-1) covariance):                    ``lambda_min``, ``lambda_max``, ``total_variance``,
                                                          ``numerical_rank``
- RankMe (Garrido et al., ICML 2023):                    ``effective_rank`` = exp(H(sigma / ||sigma||_1))
- correlation:                                           ``max_abs_corr``

Pure shrinkage z -> beta z changes only the norms, gaps and eigenvalues; effective_rank, numerical_rank and
max_abs_corr are blind to it (they are scale-free), which is why both kinds are reported.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from cae_core.spectral import as_batch, covariance_spectrum, rank_tolerance


def _as_float64_batch(z) -> Tensor:
    if isinstance(z, np.ndarray):
        if not np.issubdtype(z.dtype, np.floating):
            raise TypeError(f"z must have a real floating-point dtype, got {z.dtype}")
        z = torch.from_numpy(z)
    return as_batch(z, "z").detach().to(torch.float64)


def effective_rank(sigma: Tensor) -> float:
    """RankMe: exp(-sum_k q_k log q_k), q = sigma / ||sigma||_1, with 0 log 0 = 0. ``sigma: (r,)`` >= 0.

    In [1, number of non-zero sigma]. RankMe adds 1e-7 to q; we use the exact limit 0 log 0 = 0 instead. A
    batch with zero spread (all sigma = 0, every row the same point) has effective rank 0 by definition here.
    """
    total = float(sigma.sum())
    if total == 0.0:
        return 0.0
    q = sigma / total
    q = q[q > 0]
    return float(torch.exp(-(q * torch.log(q)).sum()))


def max_abs_corr(z: Tensor) -> float:
    """max_{m != m'} |corr(z(m), z(m'))| over the batch. ``z: (B, p)`` (float64).

    Conventions: 1.0 when p = 1 (a single coordinate lies on a line: no second direction); a coordinate that is
    numerically constant (standard deviation <= B * eps * the largest one) counts as perfectly correlated
    with every other coordinate (1.0): its correlation is 0/0, and a constant coordinate is itself a collapse.
    """
    B, p = z.shape
    if p == 1:
        return 1.0
    c = z - z.mean(dim=0, keepdim=True)
    sd = torch.sqrt((c * c).sum(dim=0))
    if float(sd.min()) <= B * torch.finfo(z.dtype).eps * float(sd.max()):
        return 1.0
    corr = (c / sd).T @ (c / sd)
    off = corr - torch.diag(torch.diagonal(corr))
    return float(off.abs().max().clamp(max=1.0))


def batch_diagnostics(z) -> dict[str, float]:
    """Collapse diagnostics of ``z: (B, p)`` (torch tensor or numpy array, B >= 2), as plain floats.

    Keys: ``max_code_norm`` max_s ||z_s||_2; ``mean_code_norm`` mean_s ||z_s||_2; ``max_coordinate_gap``
    max_s max_{m,m'} |z_s(m) - z_s(m')| (0 when p = 1); ``lambda_min``, ``lambda_max`` extreme eigenvalues of V
    (1/(B-1); lambda_min = 0 when B <= p); ``total_variance`` tr V; ``numerical_rank`` number of singular values
    of the centred batch above max(B, p) * eps * sigma_max + 2 eps ||z||_F (numpy.linalg.matrix_rank's rule plus
    the rounding of the centring, as :func:`cae_core.spectral.require_full_rank_batch`);
    ``effective_rank`` RankMe of the singular values of the centred batch; ``max_abs_corr`` (see
    :func:`max_abs_corr`); ``batch_size`` B and ``dim`` p.
    """
    z = _as_float64_batch(z)
    B, p = z.shape
    norms = torch.linalg.vector_norm(z, dim=1)
    gaps = z.max(dim=1).values - z.min(dim=1).values
    c = z - z.mean(dim=0, keepdim=True)
    sigma = torch.linalg.svdvals(c)
    lam = covariance_spectrum(z)
    # the rank rule of require_full_rank: numpy.matrix_rank's tolerance plus the rounding of the centring,
    # 2 eps ||z||_F (a batch far from the origin keeps a rounding residue of that size in its "zero" directions)
    tol = rank_tolerance(c) * float(sigma[0]) + 2 * torch.finfo(torch.float64).eps * float(torch.linalg.norm(z))
    rank = int((sigma > tol).sum()) if float(sigma[0]) > tol else 0
    return {
        "max_code_norm": float(norms.max()),
        "mean_code_norm": float(norms.mean()),
        "max_coordinate_gap": float(gaps.max()),
        "lambda_min": float(lam[-1]),
        "lambda_max": float(lam[0]),
        "total_variance": float(lam.sum()),
        "numerical_rank": float(rank),
        "effective_rank": effective_rank(sigma),
        "max_abs_corr": max_abs_corr(z),
        "batch_size": float(B),
        "dim": float(p),
    }


def log10_spectrum(z, floor: float = 1e-300) -> np.ndarray:
    """log10 of the covariance spectrum of ``z: (B, p)``, descending, for plotting -> ``(p,)`` numpy array.

    Eigenvalues below ``floor`` (exact zeros when B <= p) are reported as log10(floor) instead of -inf.
    """
    lam = covariance_spectrum(_as_float64_batch(z)).numpy()
    if not (isinstance(floor, (int, float)) and not isinstance(floor, bool) and math.isfinite(floor) and floor > 0):
        raise ValueError(f"floor must be a finite number > 0, got {floor!r}")
    return np.log10(np.maximum(lam, floor))
