"""Barlow Twins (Zbontar et al., ICML 2021) in its reference implementation's conventions
(github.com/facebookresearch/barlowtwins)."""
from __future__ import annotations

import torch
from torch import Tensor

from cae_core.couplings._registry import (coupling, nonnegative, positive, require_finite_moments,
                                          require_paired_rows, require_rows)


def batch_standardise(z: Tensor, eps: float, name: str = "z") -> Tensor:
    """(z - mean) / sqrt(var_biased + eps) per column, as a training-mode BatchNorm1d(affine=False).

    ``z: (..., B, p)`` -> same shape; mean and biased (1/B) variance over the B rows of each batch. ValueError
    naming ``name`` if a variance overflows (sqrt(inf) would silently map the column to 0).
    """
    c = z - z.mean(dim=-2, keepdim=True)
    variance = require_finite_moments((c * c).mean(dim=-2, keepdim=True), z, name)
    return c / torch.sqrt(variance + eps)


@coupling("barlow_twins", lambd=nonnegative, bn_eps=positive)
def barlow_twins(z_i: Tensor, z_j: Tensor, paired: int | None = None, *, lambd: float = 0.0051,
                 bn_eps: float = 1e-5) -> Tensor:
    """sum_a (c_aa - 1)^2 + lambd * sum_{a != b} c_ab^2, c = zn_i^T zn_j / n over the n paired rows.

    ``z_i: (..., B_i, p)``, ``z_j: (..., B_j, p)`` -> ``(...)``. zn = :func:`batch_standardise` of the n PAIRED
    rows of each arm (biased variance, eps 1e-5: torch's BatchNorm1d default), so c is the cross-correlation
    matrix of the n pairs (|c_ab| <= 1): with all rows paired exactly the reference's loss (division by the batch
    size), and under partial pairing the loss of the paired rows alone -- the unpaired rows, which have no
    partner, do not enter (``cae_core.couplings``: a cross statistic and the standardisation its bound rests on
    come from the same rows; an all-row standardisation gave 157 at p = 2 for identical paired codes). Range
    [0, 4 p + lambd p (p - 1)] (|c_ab| <= 1); identical paired codes give sum_a (bn_eps / (var_a + bn_eps))^2 + lambd *
    sum_{a != b} corr_ab^2 of those codes. lambd = 0.0051 as in facebookresearch/barlowtwins (5e-3 in the
    paper). Needs B >= 2 in both arms and n >= 2.

    dtype: computed in float64 for any input dtype, the scalar cast back. The value is bounded, but a float32
    variance overflows for |z| > ~1e19: sqrt(inf) made every standardised code 0 and the value silently p (3.0
    instead of 3.487 for the batches of tests/test_edge_cases.py at 1e20). A float64 variance that overflows
    (|z| > ~1e154) is a ValueError.
    """
    require_rows(z_i, "z_i", 2, "batch standardisation needs a batch")
    require_rows(z_j, "z_j", 2, "batch standardisation needs a batch")
    require_paired_rows(paired, 2, "barlow_twins", "the paired rows are standardised")
    a = batch_standardise(z_i[..., :paired, :].to(torch.float64), bn_eps, "z_i")
    b = batch_standardise(z_j[..., :paired, :].to(torch.float64), bn_eps, "z_j")
    c = a.mT @ b / paired
    on_diag = torch.diagonal(c, dim1=-2, dim2=-1)
    off = c - torch.diag_embed(on_diag)
    return (((on_diag - 1.0) ** 2).sum(dim=-1) + lambd * (off * off).sum(dim=(-2, -1))).to(z_i.dtype)
