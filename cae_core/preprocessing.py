"""Per-feature standardisation of each modality, stored with the model (issue 12 item 4).

The reconstruction term R_i of Eq. 1 is a mean of squared errors over the features of modality i, so features
(and modalities) on large scales dominate it (issue 12: raw features around 40 trained to a far larger
reconstruction error than the same data z-scored). :class:`FeatureScaler` holds ``mean: (d,)`` and ``scale: (d,)`` fitted on the training
rows (``fit(..., standardize=True)``); the model applies ``(x - mean) / scale`` in front of its encoder, computes
R_i on that scale, and maps decoder outputs back with ``x_hat * scale + mean``, so ``encode``, ``decode``,
``reconstruct`` and ``translate`` take and return data in its own units.

The statistics are those of scikit-learn's ``StandardScaler``: the mean and the population standard deviation
(1/n) of each feature over all training rows of the modality (paired and unpaired); a constant feature keeps
scale 1 (it is only centred), as in ``StandardScaler``.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

#: Feature standard deviations that differ by more than this factor (three orders of magnitude: the larger
#: feature then weighs 10^6 times more in the squared error) trigger a :class:`FeatureScaleWarning` when training
#: without standardisation. Image pixels in [0, 1] with nearly empty borders (scikit-learn's digits: 0.0015 to
#: 0.41, a factor 277) stay below it: z-scoring those border pixels would amplify their noise, not help.
SCALE_RATIO_WARNING = 1000.0


class FeatureScaleWarning(UserWarning):
    """Training on features whose scales differ by orders of magnitude, without ``standardize=True``."""


class FeatureScaler(nn.Module):
    """``x: (B, d) -> (x - mean) / scale``; identity (mean 0, scale 1) until :meth:`set_statistics`.

    Buffers ``mean: (d,)`` and ``scale: (d,)`` travel with the model's ``state_dict`` (checkpoints, ``save``).
    """

    def __init__(self, in_dim: int):
        super().__init__()
        self.in_dim = int(in_dim)
        self.register_buffer("mean", torch.zeros(self.in_dim))
        self.register_buffer("scale", torch.ones(self.in_dim))
        self.register_load_state_dict_post_hook(lambda module, keys: module._refresh())
        self.is_identity = True

    def _refresh(self) -> None:
        self.is_identity = bool(torch.all(self.mean == 0) and torch.all(self.scale == 1))

    @torch.no_grad()
    def set_statistics(self, mean: np.ndarray, scale: np.ndarray) -> None:
        """Store ``mean: (d,)`` and ``scale: (d,)`` (finite, scale > 0) in the buffers' dtype and device."""
        mean, scale = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
        if mean.shape != (self.in_dim,) or scale.shape != (self.in_dim,):
            raise ValueError(f"mean and scale must have shape ({self.in_dim},), got {mean.shape} and {scale.shape}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError("mean must be finite and scale finite and > 0")
        self.mean.copy_(torch.from_numpy(mean))
        self.scale.copy_(torch.from_numpy(scale))
        self._refresh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.is_identity:
            return x
        return (x - self.mean) / self.scale

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """``x * scale + mean``: model units back to data units."""
        if self.is_identity:
            return x
        return x * self.scale + self.mean

    def extra_repr(self) -> str:
        return f"{self.in_dim}, fitted={not self.is_identity}"


def feature_statistics(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) of ``rows: (n, d)`` per feature: the mean and the 1/n standard deviation (scikit-learn's
    ``StandardScaler``), with scale 1 where a feature is constant (standard deviation 0)."""
    mean = rows.mean(axis=0)
    std = rows.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def warn_if_scales_differ(modalities: list[np.ndarray], feature_names: list | None = None,
                          stacklevel: int = 3) -> None:
    """Issue a :class:`FeatureScaleWarning` when the largest feature standard deviation over all modalities is
    more than :data:`SCALE_RATIO_WARNING` times the smallest non-zero one. ``modalities[i]: (n_i, d_i)``."""
    where, stds = [], []
    for i, x in enumerate(modalities):
        s = x.std(axis=0)
        for c in np.flatnonzero(s > 0):
            stds.append(s[c])
            name = feature_names[i][c] if feature_names is not None and feature_names[i] is not None else c
            where.append(f"modality {i}, feature {name!r}" if isinstance(name, str) else f"modality {i}, column {name}")
    if len(stds) < 2:
        return
    lo, hi = int(np.argmin(stds)), int(np.argmax(stds))
    ratio = stds[hi] / stds[lo]
    if ratio > SCALE_RATIO_WARNING:
        warnings.warn(f"feature scales differ by orders of magnitude: standard deviation {stds[lo]:.3g} ({where[lo]}) "
                      f"to {stds[hi]:.3g} ({where[hi]}), a factor {ratio:.3g} > {SCALE_RATIO_WARNING:g}; the "
                      f"reconstruction error is dominated by the largest features. Pass standardize=True to fit "
                      f"(z-scores fitted on the training rows and stored with the model)",
                      FeatureScaleWarning, stacklevel=stacklevel)
