"""Barlow Twins (Zbontar et al., ICML 2021) in its reference implementation's conventions (NOTES.md)."""
from __future__ import annotations

import torch
from torch import Tensor

from cae_core.couplings._registry import coupling, nonnegative, positive, require_finite_moments, require_rows


def batch_standardise(z: Tensor, eps: float, name: str = "z") -> Tensor:
    """(z - mean) / sqrt(var_biased + eps) per column, as a training-mode BatchNorm1d(affine=False).

    ``z: (B, p)`` -> ``(B, p)``; mean and biased (1/B) variance over all rows. ValueError naming ``name`` if a
    variance overflows (sqrt(inf) would silently map the column to 0).
    """
    c = z - z.mean(dim=0, keepdim=True)
    variance = require_finite_moments((c * c).mean(dim=0, keepdim=True), z, name)
    return c / torch.sqrt(variance + eps)


@coupling("barlow_twins", lambd=nonnegative, bn_eps=positive)
def barlow_twins(z_i: Tensor, z_j: Tensor, paired: int | None = None, *, lambd: float = 0.0051,
                 bn_eps: float = 1e-5) -> Tensor:
    """sum_a (c_aa - 1)^2 + lambd * sum_{a != b} c_ab^2, c = zn_i[:n]^T zn_j[:n] / n.

    ``z_i: (B_i, p)``, ``z_j: (B_j, p)`` -> scalar. zn = :func:`batch_standardise` of ALL rows of each arm (biased
    variance, eps 1e-5: torch's BatchNorm1d default); the cross-correlation c uses the n paired rows
    (= B when all rows are paired, matching the reference's division by the batch size). lambd = 0.0051 as in
    facebookresearch/barlowtwins (5e-3 in the paper). Needs B >= 2 in both arms.

    dtype: computed in float64 for any input dtype, the scalar cast back. The value is bounded
    (|c_ab| <= 1, so <= p + lambd p (p - 1)), but a float32 variance overflows for |z| > ~1e19: sqrt(inf) made
    every standardised code 0 and the value silently p (3.0 instead of 3.487 for the batches of
    tests/test_edge_cases.py at 1e20). A float64 variance that overflows (|z| > ~1e154) is a ValueError.
    """
    require_rows(z_i, "z_i", 2, "batch standardisation needs a batch")
    require_rows(z_j, "z_j", 2, "batch standardisation needs a batch")
    a = batch_standardise(z_i.to(torch.float64), bn_eps, "z_i")[:paired]
    b = batch_standardise(z_j.to(torch.float64), bn_eps, "z_j")[:paired]
    c = a.T @ b / paired
    on_diag = torch.diagonal(c)
    off = c - torch.diag(on_diag)
    return (((on_diag - 1.0) ** 2).sum() + lambd * (off * off).sum()).to(z_i.dtype)
