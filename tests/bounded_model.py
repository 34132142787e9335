"""The model's forward pass and Eq. 1 transcribed in running-error arithmetic.

:func:`forward` walks an arm's modules -- Linear, ReLU, the random layers (identity in eval mode), the latent
batch standardisation, the feature scaler -- with :class:`cae_theory.rounding.Bounded` values, reading only the
modules' weights and buffers (exact inputs) and writing each layer's formula here: Linear is ONE sum of the
bias and the d products per output (torch's addmm accumulates the products onto the bias, in any order),
BatchStandardize (c / sqrt(var + eps) with the two-pass variance in training mode, (z - running_mean) /
sqrt(running_var + eps) in eval mode), FeatureScaler ((x - mean) / scale). :func:`eq1` is Eq. 1 in the public
code's mean form: sum_i alpha_i mean((x_i - D_i(z_i))^2) + lam * sum_{i<j} C_ij with the squared Euclidean
coupling of tests/bounded_couplings.py. The bounds hold for any evaluation of these formulas in the arithmetic
of ``dtype`` (float32: within rounding_bounds.float32_arithmetic).
"""
from __future__ import annotations

import contextlib

import numpy as np
from torch import nn

import bounded_couplings as BC
from cae_core.dropout import RandomLayer
from cae_core.latent_norm import BatchStandardize
from cae_core.preprocessing import FeatureScaler
from cae_theory.rounding import Bounded, sqrt
from rounding_bounds import exact, float32_arithmetic, relu


def arithmetic(dtype):
    """The bounds of ``dtype`` arithmetic (torch or numpy dtype)."""
    return float32_arithmetic() if str(dtype).endswith("float32") else contextlib.nullcontext()


def linear(x: Bounded, weight: Bounded, bias: Bounded | None) -> Bounded:
    """x W^T + b as one sum per output of d products and the bias, ``(B, d) -> (B, out)``."""
    prod = Bounded(x.value[:, None, :], x.error[:, None, :]) * Bounded(weight.value[None, :, :],
                                                                     weight.error[None, :, :])
    if bias is None:
        return prod.sum(axis=2)
    B, out = prod.shape[:2]
    b = Bounded(np.broadcast_to(bias.value, (B, out))[:, :, None], np.broadcast_to(bias.error, (B, out))[:, :, None])
    both = Bounded(np.concatenate([prod.value, b.value], axis=2), np.concatenate([prod.error, b.error], axis=2))
    return both.sum(axis=2)


def forward(module: nn.Module, x: Bounded) -> Bounded:
    """``module``'s output on ``x`` in its current mode (train/eval), bounded. Raises TypeError for a module it
    does not transcribe."""
    if isinstance(module, nn.Sequential):
        for m in module:
            x = forward(m, x)
        return x
    if isinstance(module, nn.Linear):
        return linear(x, exact(module.weight), None if module.bias is None else exact(module.bias))
    if isinstance(module, nn.ReLU):
        return relu(x)
    if isinstance(module, (nn.Identity, nn.Dropout)) or (isinstance(module, RandomLayer) and not module.training):
        return x
    if isinstance(module, BatchStandardize):
        if not module.training:
            return (x - exact(module.running_mean)) / sqrt(exact(module.running_var) + module.eps)
        B = x.shape[0]
        c = BC.centred(x)
        var = (c * c).sum(axis=0, keepdims=True) / (B - 1 if module.unbiased else B)
        return c / sqrt(var + module.eps)
    if isinstance(module, FeatureScaler):
        return x if module.is_identity else (x - exact(module.mean)) / exact(module.scale)
    raise TypeError(f"no transcription of {type(module).__name__}")


def codes(model, i: int, x) -> Bounded:
    """Arm i's codes N_i(E_i(scaler_i(x))), ``(B, p)``."""
    x = x if isinstance(x, Bounded) else exact(x)
    return forward(model.norms[i], forward(model.arms[i].encoder, forward(model.scalers[i], x)))


def eq1(model, xs, n_paired: int) -> tuple[Bounded, list[Bounded], Bounded]:
    """(total, [R_i], C) of Eq. 1, mean form, as model.loss sums them: Python's sum of alpha_i R_i, then
    + lam * (the sum of the pair couplings), each R_i the mean over the B d_i squared differences."""
    with arithmetic(next(model.parameters()).dtype):
        inputs = [forward(model.scalers[i], exact(x)) for i, x in enumerate(xs)]
        zs = [forward(model.norms[i], forward(model.arms[i].encoder, x)) for i, x in enumerate(inputs)]
        recon = []
        for i, (x, z) in enumerate(zip(inputs, zs)):
            d = x - forward(model.arms[i].decoder, z)
            recon.append((d * d).sum() / (d.shape[0] * d.shape[1]))
        pairs = [BC.mse(zs[i], zs[j], n_paired) for i in range(len(xs)) for j in range(i + 1, len(xs))]
        coupling = Bounded(np.array([p.value for p in pairs]), np.array([p.error for p in pairs])).sum()
        total = Bounded.exact(0.0)
        for a, r in zip(model.alphas, recon):
            total = total + a * r
        return total + model.lam * coupling, recon, coupling


__all__ = ["codes", "eq1", "forward", "linear"]
