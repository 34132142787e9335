"""Dropout with the keep mask drawn from ``torch.rand`` -- the one dropout of every arm (:mod:`cae_core.arms`)
and of the vectorised sweep (:mod:`cae_core.sweep`).

Inverted dropout (Srivastava et al. 2014; Keras ``Dropout(rate)`` as in the supplement's architectures): in
training mode ``y = x * m / (1 - p)`` with ``m_ij ~ Bernoulli(1 - p)`` independent; the identity in eval mode.
This is the distribution of ``torch.nn.Dropout(p)``. The mask is drawn as ``m = 1[U >= p]`` with
``U = torch.rand(...)`` uniform on [0, 1) (float32: the grid k / 2^24, so P(keep) = 1 - p up to 2^-24;
float64: 2^-53) instead of torch's ``bernoulli_(1 - p)``, which on CPU is 2-4x slower for the 100 x 1252
Patch-seq batch (it was the largest non-matmul cost of a training step; ``cae bench``). The random STREAM
therefore differs from ``nn.Dropout``'s: the same seed gives other masks than before this module existed.

Shapes: ``x: (..., d)`` -> same shape; the mask has the shape, dtype and device of ``x``.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def check_probability(p, name: str = "p") -> float:
    """``p`` as a float in [0, 1): TypeError for a non-number, ValueError outside the range."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(p).__name__}")
    if not 0.0 <= float(p) < 1.0:
        raise ValueError(f"{name} must be in [0, 1) (the probability of dropping a unit), got {p}")
    return float(p)


def scaled_keep_mask(shape, p: float, *, dtype=torch.float32, device=None,
                     generator: torch.Generator | None = None, out: Tensor | None = None) -> Tensor:
    """``1[U >= p] / (1 - p)`` with ``U = torch.rand(shape, generator=generator)``: entries are 0 with
    probability p and 1 / (1 - p) otherwise (mean 1). ``generator=None`` draws from torch's global RNG.
    ``out``: fill this tensor (of ``shape``) in place instead -- the same draws (``torch.rand`` is
    ``uniform_(0, 1)`` on a new tensor); ``dtype``/``device`` are then those of ``out``."""
    if out is None:
        u = torch.rand(shape, dtype=dtype, device=device, generator=generator)
    else:
        if tuple(out.shape) != tuple(shape):
            raise ValueError(f"out must have shape {tuple(shape)}, got {tuple(out.shape)}")
        u = out.uniform_(0.0, 1.0, generator=generator)
    return u.ge_(p).div_(1.0 - p)


def dropout(x: Tensor, p: float, training: bool = True, generator: torch.Generator | None = None) -> Tensor:
    """Inverted dropout of ``x: (..., d)``: ``x * scaled_keep_mask(x.shape, p)`` when ``training`` and p > 0,
    else ``x`` itself. Differentiable in ``x`` (the gradient is ``grad * mask``)."""
    if not training or p == 0.0:
        return x
    return x * scaled_keep_mask(x.shape, p, dtype=x.dtype, device=x.device, generator=generator)


class Dropout(nn.Module):
    """Inverted dropout layer, ``p`` = probability of dropping a unit (Keras' rate). ``x: (..., d) -> (..., d)``;
    active in training mode only (:func:`dropout`)."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_probability(p, "p")

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
