"""The couplings of cae_core.couplings transcribed from their formulas in running-error arithmetic.

Each function takes the two batches as :class:`cae_theory.rounding.Bounded` arrays ``(B, p)`` (inputs: exact
float64 numbers, or numbers with a bound on how far they are from the intended ones) and returns the coupling as
a Bounded scalar: the float64 value of the transcription and a rigorous bound on the error of ANY evaluation of
the same formula in float64 (summation orders, LAPACK implementations; tests/rounding_bounds.py), so the library's
value lies within twice the bound of the transcription's (``rounding_bounds.assert_within``).

The formulas (the paper's public code AllenInstitute/coupledAE for C_FC and C_MSV, the Patch-seq code's floor,
the supplement's V_i above Prop. 2, the reference implementations named in each cae_core.couplings module) are
written here from those sources; nothing is imported from cae_core. Where the library computes in
float32 (mse and vicreg on float32 codes; the float32 whitened codes of fc and wmse) the functions take
``dtype=np.float32`` and bound that arithmetic (u = 2^-24, plus ``tiny``, the absolute error of a product or
quotient that may underflow, 0 unless a caller works near the subnormal range); the couplings that compute in
float64 and cast the scalar back get that one rounding (``rounding_bounds.round_to``).
"""
from __future__ import annotations

import contextlib

import numpy as np

from cae_theory.rounding import Bounded, sqrt
from rounding_bounds import (cholesky, divide_either, float32_arithmetic, inverse_sqrt_spd, maximum, minimum, relu, round_to,
                             solve_lower, svdvals)


def arithmetic(dtype):
    """The context in which Bounded operations bound ``dtype`` arithmetic."""
    return float32_arithmetic() if np.dtype(dtype) == np.float32 else contextlib.nullcontext()


def times(a, b, tiny: float = 0.0) -> Bounded:
    """a * b with the absolute error ``tiny`` of a product that may underflow."""
    out = a * b
    return Bounded(out.value, out.error + tiny) if tiny else out


def mean_rows(z: Bounded, tiny: float = 0.0) -> Bounded:
    """Column means of ``z: (B, p)`` -> ``(1, p)``: a sum of B terms and one division."""
    m = z.sum(axis=0, keepdims=True) / z.shape[0]
    return Bounded(m.value, m.error + tiny) if tiny else m


def centred(z: Bounded, tiny: float = 0.0) -> Bounded:
    """z - column means, ``(B, p)``."""
    return z - mean_rows(z, tiny)


def covariance(z: Bounded, tiny: float = 0.0) -> Bounded:
    """V = c^T c / (B - 1), c = z - mean (supplement, above Prop. 2), ``(p, p)``; ``tiny``: each of the B
    products of an entry and the division may underflow (<= (B / (B - 1) + 1) tiny <= 3 tiny)."""
    c = centred(z, tiny)
    V = (c.mT @ c) / (z.shape[0] - 1)
    return Bounded(V.value, V.error + 3 * tiny) if tiny else V


def symmetric_part(V: Bounded) -> Bounded:
    """(V + V^T) / 2: what cae_core.spectral hands to its eigen-solvers (one addition, an exact halving)."""
    return (V + V.mT) * 0.5


def variance(z: Bounded, tiny: float = 0.0, ddof: int = 1) -> Bounded:
    """Column variances ``(p,)`` (divisor B - ddof; unbiased by default) as torch.var computes them on the CPU, which is not one expression tree:
    over a strided dimension (p >= 2) Welford's recurrence in row order with a float64 accumulator
    (m_k = m_{k-1} + (x_k - m_{k-1}) / k, M_k = M_{k-1} + (x_k - m_{k-1})(x_k - m_k); bitwise equal on 300 random
    batches, torch 2.13), over a contiguous one (p = 1) a two-pass sum. The value is the two-pass one and the bound
    the larger of the two algorithms' bounds (Welford's shifted by its distance from the two-pass value), so it
    holds for either."""
    B = z.shape[0]
    c = centred(z, tiny)
    two_pass = times(c, c, tiny).sum(axis=0) / (B - ddof) + Bounded(0.0, tiny)
    m = Bounded.exact(np.zeros(z.shape[1]))
    M = Bounded.exact(np.zeros(z.shape[1]))
    for k in range(B):
        delta = z[k] - m
        m = m + delta / (k + 1) + Bounded(0.0, tiny)
        M = M + times(delta, z[k] - m, tiny)
    welford = M / (B - ddof) + Bounded(0.0, tiny)
    shift = np.abs(welford.value - two_pass.value)
    return Bounded(two_pass.value, np.maximum(two_pass.error, welford.error + shift))


def mse(a: Bounded, b: Bounded, n: int, dtype=np.float64, tiny: float = 0.0) -> Bounded:
    """mean_{s < n} ||a_s - b_s||^2 (Eq. 1 with the squared Euclidean cost, averaged over the paired rows)."""
    with arithmetic(dtype):
        d = a[:n] - b[:n]
        out = times(d, d, tiny).sum(axis=1).sum() / n
        return Bounded(out.value, out.error + tiny) if tiny else out


def lambda_min(z: Bounded) -> Bounded:
    """lambda_min(V) = sigma_min(c)^2 / (B - 1) (the public code's SVD route); exactly 0 when B < p."""
    B, p = z.shape
    if B < p:
        return Bounded.exact(0.0)
    s = svdvals(centred(z))[p - 1]
    return s * s / (B - 1)


def msv(a: Bounded, b: Bounded, n: int, floor: float | None = None, dtype=np.float64) -> Bounded:
    """mse / min(lambda_min(V_a), lambda_min(V_b)), the denominator floored at ``floor`` (C_MSV of the
    public code AllenInstitute/coupledAE; the floor of its Patch-seq code); computed in float64, the scalar cast to ``dtype``."""
    denominator = minimum(lambda_min(a), lambda_min(b))
    if floor is not None:
        denominator = maximum(denominator, Bounded.exact(floor))
    return round_to(mse(a, b, n) / denominator, dtype)


def whiten_symmetric(z: Bounded) -> Bounded:
    """V^{-1/2} (z_s - mu) for every row (the poster's C_FC whitening), ``(B, p)``."""
    return centred(z) @ inverse_sqrt_spd(symmetric_part(covariance(z)))


def fc(a: Bounded, b: Bounded, n: int, dtype=np.float64, tiny: float = 0.0) -> Bounded:
    """mse of each arm whitened by its own V^{-1/2} (poster C_FC); for float32 codes the whitened codes are
    float32 numbers (one rounding each) and the mse float32 arithmetic."""
    wa, wb = whiten_symmetric(a), whiten_symmetric(b)
    return mse(round_to(wa, dtype), round_to(wb, dtype), n, dtype, tiny)


def fc_code(a: Bounded, b: Bounded, n: int, ridge: float = 1e-3, dtype=np.float64) -> Bounded:
    """mean_s d_s^T (V_b + ridge I)^{-1} d_s + mean_s d_s^T (V_a + ridge I)^{-1} d_s, d = a - b on the paired
    rows (the C_FC of the public code AllenInstitute/coupledAE), by Cholesky A = L L^T and y = L^{-1} d: d^T A^{-1} d = ||y||^2."""
    p = a.shape[1]
    d = a[:n] - b[:n]
    total = Bounded.exact(0.0)
    for V in (covariance(b), covariance(a)):
        L = cholesky(V + ridge * Bounded.exact(np.eye(p)))
        y = solve_lower(L, d.mT)
        total = total + (y * y).sum(axis=0).sum() / n
    return round_to(total, dtype)


def vicreg(a: Bounded, b: Bounded, n: int, sim_weight: float = 25.0, var_weight: float = 25.0,
           cov_weight: float = 1.0, eps: float = 1e-4, dtype=np.float64, tiny: float = 0.0) -> Bounded:
    """sim_weight mean_{s<n, m}(a - b)^2 + var_weight [hinge(a) + hinge(b)] / 2 + cov_weight [off(a) + off(b)] (VICReg's
    reference conventions, facebookresearch/vicreg): hinge(z) = mean_m relu(1 - sqrt(var_m(z) + eps)) with the 1/(B-1)
    variance, off(z) = sum_{m != m'} V_mm'^2 / p."""
    p = a.shape[1]
    with arithmetic(dtype):
        d = a[:n] - b[:n]
        invariance = times(d, d, tiny).sum() / (n * p)

        def hinge(z):
            return relu(1.0 - sqrt(variance(z, tiny) + eps)).sum() / p

        def off(z):
            V = covariance(z, tiny)
            mask = 1.0 - np.eye(p)
            o = Bounded(V.value * mask, V.error * mask)           # the diagonal is V_mm - V_mm = 0 exactly
            return times(o, o, tiny).sum() / p
        variance_term = (hinge(a) + hinge(b)) / 2.0
        total = sim_weight * invariance + var_weight * variance_term + cov_weight * (off(a) + off(b))
        return Bounded(total.value, total.error + 4 * tiny) if tiny else total


def barlow_twins(a: Bounded, b: Bounded, n: int, lambd: float = 0.0051, bn_eps: float = 1e-5,
                 dtype=np.float64) -> Bounded:
    """sum_m (c_mm - 1)^2 + lambd sum_{m != m'} c_mm'^2, c = zn_a^T zn_b / n over the n paired rows, each arm's
    paired rows standardised with the biased variance and bn_eps (Barlow Twins' reference code, facebookresearch/barlowtwins)."""
    p = a.shape[1]

    def standardise(z):
        c = centred(z[:n])
        v = (c * c).sum(axis=0, keepdims=True) / n
        return divide_either(c, sqrt(v + bn_eps))      # torch's batch_norm multiplies by 1 / sqrt(v + eps)
    c = (standardise(a).mT @ standardise(b)) / n
    diag = Bounded(np.diagonal(c.value), np.diagonal(c.error))
    mask = 1.0 - np.eye(p)
    o = Bounded(c.value * mask, c.error * mask)
    return round_to(((diag - 1.0) * (diag - 1.0)).sum() + lambd * (o * o).sum(), dtype)


def whiten_cholesky(z: Bounded) -> Bounded:
    """(z_s - mu) L^{-T} for every row, V = L L^T (W-MSE's Cholesky whitening), ``(B, p)``."""
    return solve_lower(cholesky(covariance(z)), centred(z).mT).mT


def wmse(a: Bounded, b: Bounded, n: int, dtype=np.float64, tiny: float = 0.0) -> Bounded:
    """mean_{s<n} [2 - 2 cos(w_a,s, w_b,s)], w = Cholesky-whitened codes of each arm (W-MSE, Ermolov et al. 2021); for
    float32 codes the whitened codes are float32 numbers and the rest float32 arithmetic."""
    wa, wb = round_to(whiten_cholesky(a), dtype)[:n], round_to(whiten_cholesky(b), dtype)[:n]
    with arithmetic(dtype):
        floor = Bounded.exact(1e-12)    # F.normalize's floor on the norm (NORM_FLOOR of the reference)
        na = maximum(sqrt(times(wa, wa, tiny).sum(axis=1, keepdims=True)), floor)
        nb = maximum(sqrt(times(wb, wb, tiny).sum(axis=1, keepdims=True)), floor)
        cos = times(wa / na, wb / nb, tiny).sum(axis=1)
        return 2.0 - 2.0 * (cos.sum() / n)


def dcca(a: Bounded, b: Bounded, n: int, ridge: float = 1e-3, dtype=np.float64) -> Bounded:
    """-(sum of the singular values of T), T = (V_aa + ridge I)^{-1/2} V_ab (V_bb + ridge I)^{-1/2}, all from
    the n paired rows (Deep CCA, Andrew et al. 2013, with the ridge of its common PyTorch port)."""
    p = a.shape[1]
    a, b = a[:n], b[:n]
    V_ab = (centred(a).mT @ centred(b)) / (n - 1)
    eye = Bounded.exact(np.eye(p))
    Wa = inverse_sqrt_spd(symmetric_part(covariance(a) + ridge * eye))
    Wb = inverse_sqrt_spd(symmetric_part(covariance(b) + ridge * eye))
    return round_to(-svdvals(Wa @ V_ab @ Wb).sum(), dtype)


TRANSCRIPTIONS = {"mse": mse, "msv": msv, "fc": fc, "fc_code": fc_code, "vicreg": vicreg,
                  "barlow_twins": barlow_twins, "wmse": wmse, "dcca": dcca}
