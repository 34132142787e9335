"""Couplings C_ij between two arms' batches of codes, by name.

    f = get("msv", floor=1e-2)          # options bound here (validated now) or passed at call time
    loss = f(z_i, z_j, paired=None)     # z_i: (B_i, p), z_j: (B_j, p), same dtype/device -> scalar tensor
    losses = f(zs_i, zs_j, paired=n)    # stacks (..., B_i, p), (..., B_j, p) -> one value per batch (...)

Inputs are torch tensors or numpy arrays of floats (wrapped without a copy); the value is always a tensor, so it
can carry a gradient. One module per coupling; formulas and sources in each function's docstring:

- ``mse``          mean_s ||z_si - z_sj||^2                               (Eq. 1, Prop. 1)
- ``msv``          mse / min(lambda_min(V_i), lambda_min(V_j)) [floor]    (C_MSV, public code)
- ``fc``           mse of each arm whitened by its own V^{-1/2}           (C_FC, poster)
- ``fc_code``      Mahalanobis under the other arm's V + ridge, both ways (C_FC, public code)
- ``vicreg``       VICReg, reference conventions
- ``barlow_twins`` Barlow Twins, reference conventions
- ``wmse``         W-MSE: Cholesky whitening, 2 - 2 cos
- ``dcca``         -(sum of canonical correlations), ridged

Partial pairing (``paired=n``): rows [:n] of both batches are paired samples, the other rows are unpaired rows of
each arm (the Patch-seq batches: 75 paired + 25 unpaired, supplement). The estimator of each coupling follows one
rule: a statistic that COMPARES the two arms (a distance, a cross-covariance, a cross-correlation) uses the n
paired rows, and so does every normalisation that the coupling's bound rests on; a statistic of ONE arm (a
denominator, a whitening, a variance or covariance penalty) uses all of that arm's rows, as the public code's
batch statistics do. Mixing the two inside one bounded statistic breaks the bound (issue 12: dcca's canonical
correlations from an all-row V_ii, V_jj and a paired-row V_ij reached -21.5 at p = 2):

============  =================================================  ==========================  =================
coupling      paired rows                                        all rows of each arm        range (any n)
============  =================================================  ==========================  =================
mse           distances                                          --                          [0, inf)
msv           distances                                          lambda_min(V_i), (V_j)      [0, inf)
fc            distances of whitened codes                        mu, V^{-1/2} (whitening)    [0, inf)
fc_code       distances                                          V_i, V_j (Mahalanobis)      [0, inf)
vicreg        invariance term                                    variance, covariance terms  [0, inf)
barlow_twins  standardisation AND cross-correlation c            --                          [0, 4p + lambd p(p-1)]
wmse          cosines of whitened codes                          mu, L (Cholesky whitening)  [0, 4]
dcca          V_ii, V_jj AND V_ij (the canonical correlations)   --                          [-p, 0]
============  =================================================  ==========================  =================

So barlow_twins and dcca ignore the unpaired rows: the canonical correlations of the n paired rows, and their
cross-correlation matrix, are each a statistic of the joint sample of n pairs (an all-row standardisation with a
paired-row cross-product is no correlation: |c_ab| was unbounded, 157 at p = 2 for identical paired codes). For
identical paired codes barlow_twins gives its value at c = the correlation matrix of those codes (diagonal
var/(var + bn_eps), about 1), whatever the unpaired rows, and dcca gives -(sum of p canonical correlations, each
1 without ridge). tests/test_couplings.py checks each range under partial pairing on the examples of issue 12.
"""
from __future__ import annotations

import functools
from typing import Callable

from torch import Tensor

from cae_core.couplings._registry import REGISTRY, accepts_stacks, check_options
from cae_core.couplings.mse import mse
from cae_core.couplings.msv import msv
from cae_core.couplings.fc import fc
from cae_core.couplings.fc_code import fc_code
from cae_core.couplings.vicreg import vicreg
from cae_core.couplings.barlow_twins import barlow_twins
from cae_core.couplings.wmse import wmse
from cae_core.couplings.dcca import dcca

__all__ = ["get", "names", "accepts_stacks", "mse", "msv", "fc", "fc_code", "vicreg", "barlow_twins", "wmse", "dcca"]


def names() -> tuple[str, ...]:
    """The registered coupling names."""
    return tuple(REGISTRY)


def get(name: str, **options) -> Callable[..., Tensor]:
    """The coupling ``name`` with ``options`` bound (checked now): ``f(z_i, z_j, paired=None, **more_options)``.

    Unknown name or option, or an invalid option value: ValueError naming it (TypeError for a non-str name or
    a non-numeric option value).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in REGISTRY:
        raise ValueError(f"name must be one of {', '.join(REGISTRY)}; got {name!r}")
    entry = REGISTRY[name]
    return functools.partial(entry.fn, **check_options(name, options, entry.rules))
