"""Numerical edge cases of the couplings, the latent normalisation and the diagnostics (issue 7, part 3).

Each case ends in one of two documented outcomes (docs/hardening.md):

- a finite value, through a floor or ridge the USER chose (C_MSV ``floor``, fc_code/dcca ``ridge``,
  BatchStandardize ``eps``), with finite gradients; or
- a clear ValueError naming the batch (C_MSV without floor, C_FC, W-MSE, DCCA with ridge 0 on a singular
  covariance or B <= p).

Cases: a batch already collapsed onto a line (lambda_min = 0), B <= p, float32 vs float64, codes scaled by
1e-30 .. 1e30. Oracles: transcriptions of the formulas (C_MSV = mse / max(lambda_min, floor), the floor of the
Patch-seq code AllenInstitute/coupledAE-patchseq; fc_code = mean d^T (V + ridge I)^{-1} d both ways, the paper's
public code AllenInstitute/coupledAE), numpy.linalg.matrix_rank, and the invariances of the formulas (C_MSV under
a common scaling: a ratio of two degree-2 quantities; C_FC -- per-arm whitening -- under a common scaling, a
similarity: cae_core.couplings.fc docstring).
Tolerances are derived (tests/rounding_bounds.py): every expected value is a transcription of the formula in
running-error arithmetic (tests/bounded_couplings.py, tests/bounded_diagnostics.py), whose bound covers any
float64 evaluation of it, float32 arithmetic where the library uses it (u = 2^-24, and half a subnormal per product
that may underflow), the final cast of a value computed in float64, and the rounding of the inputs themselves
(codes multiplied by a scale, rounded to float32): the library lies within twice the bound, two library values of
one exact quantity within the sum of their bounds. Exceptions, stated where they occur: gradients computed by
torch's backward graph, for which no transcription exists here.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import bounded_couplings as BC
import bounded_diagnostics as BD
from cae_core import couplings, diagnostics
from cae_core.latent_norm import BatchStandardize
from cae_theory.rounding import Bounded, gamma
from rounding_bounds import (HALF_SUBNORMAL, U32, U64, agree, assert_within, carried, exact, svdvals)

COUPLINGS = couplings.names()


@pytest.fixture(autouse=True)
def single_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def randn(seed: int, *shape) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def pair(seed: int, B: int = 16, p: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Two correlated, well-conditioned batches (B, p)."""
    z = randn(seed, B, p)
    return z, 0.7 * z @ randn(seed + 1, p, p) * 0.5 + 0.5 * randn(seed + 2, B, p)


def collapsed(seed: int, B: int = 16, p: int = 3) -> torch.Tensor:
    """Every row on one line through a point: rank-1 centred batch, lambda_min(V) = 0 up to rounding."""
    return randn(seed, B, 1) @ randn(seed + 1, 1, p) + randn(seed + 2, 1, p)


def value_and_grads(f, z_i, z_j):
    a, b = z_i.detach().clone().requires_grad_(), z_j.detach().clone().requires_grad_()
    v = f(a, b)
    v.backward()
    return v.detach(), a.grad, b.grad


def all_finite(*ts) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in ts)


# ------------------------------------------------------------------------------------ collapsed batch

def expected(name, a, b, n=None, dtype=np.float64, **options) -> Bounded:
    """Coupling ``name`` transcribed (tests/bounded_couplings.py) on a, b: exact inputs (tensors, arrays), or
    Bounded ones; all rows paired unless ``n``."""
    a, b = (x if isinstance(x, Bounded) else exact(x) for x in (a, b))
    return BC.TRANSCRIPTIONS[name](a, b, a.shape[0] if n is None else n, dtype=dtype, **options)


def float32_inputs(z: torch.Tensor) -> Bounded:
    """float64 codes rounded to float32, as the inputs of a float32 computation of the coupling of z itself: the
    float32 numbers with their distance from z (exact in float64, Sterbenz) as the bound."""
    near = z.float().double().numpy()
    return Bounded(near, np.abs(z.numpy() - near))


def tiny_for(name: str, dtype) -> float:
    """Absolute slack per product of the float32 stages of mse, vicreg, fc and wmse (underflow below float32's
    normal range, half a subnormal); the other couplings compute in float64."""
    return HALF_SUBNORMAL[np.float32] if np.dtype(dtype) == np.float32 and name in ("mse", "vicreg", "fc", "wmse") \
        else 0.0


@given(seed=st.integers(0, 10 ** 6), floor=st.sampled_from([1e-2, 1e-4, 1.0]), which=st.sampled_from([0, 1]))
@example(seed=0, floor=1e-2, which=0)
def test_msv_with_a_floor_is_finite_on_a_collapsed_batch(seed, floor, which):
    """C_MSV = mse / max(min(lambda_min(V_i), lambda_min(V_j)), floor) (the floor of the Patch-seq code,
    AllenInstitute/coupledAE-patchseq).
    On a collapsed batch lambda_min = 0, so the value is mse / floor and the denominator carries no gradient:
    d/dz_i = 2 (z_i - z_j) / (B floor) (analytic oracle)."""
    z, w = pair(seed)
    args = [z, w]
    args[which] = collapsed(seed + 10)
    v, g_i, g_j = value_and_grads(couplings.get("msv", floor=floor), *args)
    a, b = (t.numpy() for t in args)
    mine = expected("msv", a, b, floor=floor)
    assert_within(v, mine, "msv")
    # the collapsed batch's lambda_min is 0 up to its bound, below every floor here: the value is mse / floor
    lam = BC.lambda_min(exact(args[which].numpy()))
    assert float(lam.value + lam.error) < floor
    assert agree(carried(v, mine), expected("mse", a, b) / floor)
    assert all_finite(g_i, g_j)
    # gradient: a product of exact factors 2 (a - b) / (B floor) -- a - b, 1/floor, 1/B and the product are one
    # rounding each in torch's backward (the factor 2 is an exact doubling), 3 more in numpy below: gamma_7
    want = 2 * (a - b) / (a.shape[0] * floor)
    bound = gamma(7) * np.abs(want) * (1 + gamma(3))
    assert np.all(np.abs(g_i.numpy() - want) <= bound) and np.all(np.abs(g_j.numpy() + want) <= bound)


@pytest.mark.parametrize("name, options", [("msv", {}), ("fc", {}), ("wmse", {}), ("fc_code", {"ridge": 0.0}),
                                           ("dcca", {"ridge": 0.0})])
@pytest.mark.parametrize("which", ["z_i", "z_j"])
def test_without_floor_or_ridge_a_collapsed_batch_is_a_clear_error(name, options, which):
    z, w = pair(1)
    args = (collapsed(7), w) if which == "z_i" else (z, collapsed(7))
    with pytest.raises(ValueError, match=rf"{which} has a singular covariance"):
        couplings.get(name, **options)(*args)


@pytest.mark.parametrize("ratio", [1e-13, 1e-12, 1e-10])
@pytest.mark.parametrize("name, options", [("msv", {}), ("fc", {}), ("wmse", {}), ("fc_code", {"ridge": 0.0}),
                                           ("dcca", {"ridge": 0.0})])
def test_nearly_collapsed_float64_batches_give_a_finite_value_or_a_clear_error(name, options, ratio):
    """A line plus noise of relative size 1e-13 .. 1e-10: sigma_min / sigma_max passes the rank check
    (> max(B, p) eps = 3.6e-15) but cond(V) = ratio^-2 > 1/eps, so V is not numerically positive definite.
    Documented outcome: a finite value with finite gradients (msv: mse / lambda_min from svdvals, accurate at
    the sigma level) or a ValueError naming z_i. Before the float64/Cholesky changes W-MSE raised torch's
    LinAlgError here and fc_code named V_i."""
    for seed in range(3):
        z = collapsed(seed + 20) + ratio * randn(seed + 30, 16, 3)
        try:
            v, g_i, g_j = value_and_grads(couplings.get(name, **options), z, pair(seed)[1])
        except ValueError as exc:
            assert re.search(r"\bz_i\b", str(exc)), str(exc)
            continue
        assert all_finite(v, g_i, g_j), (name, seed)


def test_a_line_with_a_large_mean_is_singular_up_to_rounding():
    """Rows generated on a line, then rounded (float64: 3 rows, p = 2, mean ~7x the spread, found by the thorough
    fuzzer; float32: 16 rows, p = 3, mean 1e3x the spread). Their sigma_min is of the order of the rounding of
    the entries (eps |z|), not of the SVD's rounding (eps sigma_max), so numpy.matrix_rank's tolerance alone
    passed them and msv returned 4.6e32 (float64) / 2.4e16 (float32). The rule adds 2 eps ||z||_F
    (cae_core.spectral): every covariance-inverting coupling without floor/ridge refuses them. Exact oracle for
    the float64 batch: sigma_min^2 of the exactly centred rows (fractions) is below (2 eps ||z||_F)^2.
    Control: generic batches with the same means (not on a line) still give msv = numpy's mse / lambda_min."""
    from fractions import Fraction
    near_line = randn(5, 3, 1) @ randn(6, 1, 2) + randn(7, 1, 2)
    rows = [[Fraction(float(x)) for x in row] for row in near_line]
    mean = [sum(col) / 3 for col in zip(*rows)]
    c = [[x - m for x, m in zip(row, mean)] for row in rows]
    gram = [[sum(r[a] * r[b] for r in c) for b in range(2)] for a in range(2)]     # C^T C, exact
    tr, det = gram[0][0] + gram[1][1], gram[0][0] * gram[1][1] - gram[0][1] ** 2
    # det / tr = l1 l2 / (l1 + l2) lies in [l2 / 2, l2] for the eigenvalues l1 >= l2 = sigma_min^2 of C^T C
    sigma_min_sq_upper = 2 * float(det / tr)
    eps = float(np.finfo(np.float64).eps)
    assert sigma_min_sq_upper < (2 * eps * float(torch.linalg.vector_norm(near_line))) ** 2
    g = torch.Generator().manual_seed(0)
    line32 = (torch.randn(16, 1, generator=g, dtype=torch.float64) @ torch.randn(1, 3, generator=g, dtype=torch.float64)
              + 1e3 * torch.randn(1, 3, generator=g, dtype=torch.float64)).float()
    for z in (near_line, line32):
        w = randn(0, z.shape[0], z.shape[1]).to(z.dtype)
        for name, options in [("msv", {}), ("fc", {}), ("wmse", {}), ("fc_code", {"ridge": 0.0}),
                              ("dcca", {"ridge": 0.0})]:
            with pytest.raises(ValueError, match=r"z_i has a singular covariance"):
                couplings.get(name, **options)(z, w)
    for offset, dtype in ((7.0, torch.float64), (1e6, torch.float64), (1e2, torch.float32)):
        z = (randn(8, 16, 3) + offset * randn(9, 1, 3)).to(dtype)
        w = randn(10, 16, 3).to(dtype)
        want = expected("msv", z, w, dtype=np.float32 if dtype == torch.float32 else np.float64)
        assert_within(couplings.msv(z, w), want, f"msv, mean {offset:g}")


@given(seed=st.integers(0, 10 ** 6), ridge=st.sampled_from([1e-3, 1e-1]), B=st.sampled_from([2, 3, 16]))
@example(seed=0, ridge=1e-3, B=2)
def test_fc_code_ridge_gives_finite_values_on_collapsed_batches_and_b_le_p(seed, ridge, B):
    """The public code's C_FC with its 1e-3 ridge stays finite for a collapsed batch and for B <= p (B = 2, 3
    with p = 3), matching its transcription; gradients finite."""
    z = collapsed(seed, B)
    w = pair(seed, B)[1]
    v, g_i, g_j = value_and_grads(couplings.get("fc_code", ridge=ridge), z, w)
    assert_within(v, expected("fc_code", z, w, ridge=ridge), "fc_code")
    assert all_finite(v, g_i, g_j)


@pytest.mark.parametrize("name, options", [("msv", {"floor": 1e-2}), ("fc_code", {}), ("dcca", {}),
                                           ("vicreg", {}), ("barlow_twins", {}), ("mse", {})])
def test_collapsed_batches_with_user_floor_or_ridge_are_finite_with_finite_gradients(name, options):
    for seed in range(5):
        z, w = pair(seed)
        for args in ((collapsed(seed + 3), w), (z, collapsed(seed + 3)), (collapsed(seed), collapsed(seed + 5))):
            v, g_i, g_j = value_and_grads(couplings.get(name, **options), *args)
            assert all_finite(v, g_i, g_j), (name, seed)


# ------------------------------------------------------------------------------------ B <= p

@pytest.mark.parametrize("B", [2, 3])
def test_b_le_p(B):
    """p = 3, B in {2, 3}: covariance-inverting couplings refuse (B > p is needed for an invertible V);
    C_MSV with a floor, fc_code/dcca with their ridge and VICReg/Barlow Twins give finite values."""
    z, w = pair(3, B)
    for name, options in [("fc", {}), ("wmse", {}), ("msv", {}), ("fc_code", {"ridge": 0.0}), ("dcca", {})]:
        with pytest.raises(ValueError, match=r"z_i must have more rows than columns \(B > p\)"):
            couplings.get(name, **options)(z, w)
    for name, options in [("msv", {"floor": 1e-2}), ("fc_code", {}), ("vicreg", {}), ("barlow_twins", {}),
                          ("mse", {})]:
        v, g_i, g_j = value_and_grads(couplings.get(name, **options), z, w)
        assert all_finite(v, g_i, g_j), name
    # msv: lambda_min of a (B <= p) covariance is exactly 0 (B < p) or 0 up to its bound (B = p), below the floor,
    # so the floor is the denominator
    value = couplings.get("msv", floor=1e-2)(z, w)
    mine = expected("msv", z, w, floor=1e-2)
    assert_within(value, mine, "msv")
    assert agree(carried(value, mine), expected("mse", z, w) / 1e-2)


@pytest.mark.parametrize("B", [2, 3, 4])
def test_diagnostics_when_b_le_p(B):
    """p = 4. lambda_min = 0 exactly when B < p (the p - B missing eigenvalues are appended as zeros); when
    B = p it is the square of a rounding-level singular value (~1e-33, not exactly 0 as the docstring says).
    Numerical rank = B - 1 (numpy.linalg.matrix_rank of the centred batch); spectrum matches np.cov."""
    z = randn(B, B, 4)
    d = diagnostics.batch_diagnostics(z)
    want = BD.diagnostics(exact(z))
    c = (z - z.mean(0)).numpy()
    if B < 4:
        assert d["lambda_min"] == 0.0
    else:    # the exact centred batch has rank B - 1: its smallest eigenvalue is 0, the computed one within bound
        assert 0.0 <= d["lambda_min"] <= float(want["lambda_min"].error)
    assert d["numerical_rank"] == np.linalg.matrix_rank(c) == min(B - 1, 4)
    for key in ("lambda_max", "total_variance"):
        assert_within(d[key], want[key], key)
    spectrum = diagnostics.log10_spectrum(z)
    assert spectrum.shape == (4,) and np.all(np.isfinite(spectrum)) and np.all(np.diff(spectrum) <= 0)


@pytest.mark.parametrize("kind", ["line", "point"])
def test_diagnostics_of_a_collapsed_batch(kind):
    """A batch on a line: rank 1, max_abs_corr 1, lambda_min ~ 0; all rows equal: zero spread, effective rank 0
    (documented convention), max_abs_corr 1. Everything finite (no 0/0)."""
    # the point: exactly representable coordinates, so that the batch mean (and the centring) is exact
    if kind == "line":   # collapsed(4) with its construction (t u + c, exact factors) in the bound
        t, u, c = randn(4, 16, 1), randn(5, 1, 3), randn(6, 1, 3)
        bounded = exact(t) @ exact(u) + exact(c)
        z = torch.from_numpy(bounded.value)
        assert torch.equal(z, collapsed(4))
    else:
        z = torch.tensor([[1.0, -2.5, 0.75]], dtype=torch.float64).expand(8, 3)
    d = diagnostics.batch_diagnostics(z)
    assert all(math.isfinite(v) for v in d.values())
    assert d["max_abs_corr"] == 1.0
    assert d["numerical_rank"] == np.linalg.matrix_rank((z - z.mean(0)).numpy()) == (1 if kind == "line" else 0)
    if kind == "point":
        assert d["lambda_min"] == d["lambda_max"] == 0.0 and d["effective_rank"] == 0.0   # exact centring
    else:                # the exact line: lambda_min 0 and effective rank 1, the float batch within its bound
        want = BD.diagnostics(bounded)
        assert d["lambda_min"] <= float(want["lambda_min"].error)
        assert_within(d["effective_rank"], Bounded(1.0, want["effective_rank"].error), "effective_rank", factor=1)
    assert np.all(np.isfinite(diagnostics.log10_spectrum(z)))


def test_batch_standardize_on_a_constant_coordinate_is_finite_with_finite_gradient():
    """BatchStandardize (eps = 1e-10, the public code's): a coordinate with zero batch variance maps to 0 and
    the gradient is finite (bounded by 1/sqrt(eps) = 1e5)."""
    z = randn(0, 8, 3)
    z[:, 1] = 2.5
    z.requires_grad_()
    out = BatchStandardize(3).double().train()(z)
    (out * randn(1, 8, 3)).sum().backward()
    assert all_finite(out, z.grad)
    assert torch.equal(out[:, 1], torch.zeros(8, dtype=torch.float64))
    assert float(z.grad.abs().max()) <= 1e5 * 8


# ------------------------------------------------------------------------------------ float32 vs float64

@pytest.mark.parametrize("name", COUPLINGS)
def test_float32_agrees_with_float64(name):
    """Same batches in both precisions: the result keeps the input's dtype, and both values are the coupling of
    the float64 batches within their bounds: the float64 one within its transcription's, the float32 one within
    the bound of its transcription on the float32-rounded codes (their distance from the float64 codes in the
    inputs' bound, float32 arithmetic where the library uses it)."""
    for seed in range(3):
        z, w = pair(seed)
        f = couplings.get(name)
        v64 = f(z, w)
        v32 = f(z.float(), w.float())
        assert v64.dtype == torch.float64 and v32.dtype == torch.float32
        mine64 = expected(name, z, w)
        mine32 = expected(name, float32_inputs(z), float32_inputs(w), dtype=np.float32)
        assert_within(v64, mine64, name)
        assert_within(v32, expected(name, z.float(), w.float(), dtype=np.float32), name)
        assert agree(carried(v32, mine32), carried(v64, mine64)), (name, float(v32), float(v64))
        _, g_i, g_j = value_and_grads(f, z.float(), w.float())
        assert all_finite(g_i, g_j)


# ------------------------------------------------------------------------------------ huge and tiny scales

SCALES = [1e-30, 1e-20, 1e-10, 1e-4, 1.0, 1e4, 1e10, 1e20, 1e30]
#: C_MSV is invariant to a common scaling (mse and lambda_min both scale by beta^2), C_FC (per-arm whitening) to
#: common similarities; W-MSE
#: whitens and normalises, so it is invariant too. fc_code (ridge), dcca (ridge), barlow_twins (bn_eps) and
#: vicreg (hinge) are not exactly invariant; mse scales by beta^2 (Prop. 1).
SCALE_INVARIANT = ("msv", "fc", "wmse")


@pytest.mark.parametrize("scale", SCALES)
def test_float64_every_coupling_is_finite_with_finite_gradients_at_every_scale(scale):
    """Finite values and gradients at every scale; the scale-invariant couplings have the exact value of scale 1
    and mse scale^2 times it: each library value within its transcription's bound, which for z * scale includes
    the rounding of that product."""
    z, w = pair(11)
    s = Bounded.exact(scale)
    for name in COUPLINGS:
        v, g_i, g_j = value_and_grads(couplings.get(name), z * scale, w * scale)
        assert all_finite(v, g_i, g_j), (name, scale)
        if name in SCALE_INVARIANT or name == "mse":
            scaled = (exact(z) * s, exact(w) * s)
            assert torch.equal(torch.from_numpy(scaled[0].value), z * scale)      # the same rounded inputs
            base = carried(couplings.get(name)(z, w), expected(name, z, w))
            assert agree(carried(v, expected(name, *scaled)), base if name != "mse" else base * (s * s)), name


@pytest.mark.parametrize("scale", [1e-100, 1e100, 1e150, 1e160])
def test_float64_far_scales_give_a_finite_value_or_a_clear_error(scale):
    """float64 beyond the range above: vicreg's value (~|z|^4) overflows from ~1e77, every covariance from
    ~1e154 (msv, fc, wmse compute on codes rescaled by a power of two, so theirs do not). Each coupling gives
    a finite value with finite gradients, or a ValueError naming z_i/z_j and 'overflow' (no inf/NaN, no torch
    LinAlgError: before the registry's check mse returned inf at 1e160 and fc_code raised torch's LinAlgError
    from eigh). Tiny scales: the tests below."""
    z, w = pair(11)
    for name in COUPLINGS:
        try:
            v, g_i, g_j = value_and_grads(couplings.get(name), z * scale, w * scale)
        except ValueError as exc:
            assert re.search(r"\bz_[ij]\b", str(exc)) and "overflow" in str(exc), (name, str(exc))
            continue
        assert all_finite(v, g_i, g_j), (name, scale)


#: float32 policy (docs/hardening.md, cae_core.couplings._registry): msv, fc, fc_code, wmse, dcca and
#: barlow_twins compute in float64 and cast the scalar back; mse and vicreg compute in float32 and raise a
#: ValueError naming z_i and z_j when the value overflows. Before that policy 16 of the 32 cases at 1e+-20/30
#: returned NaN/inf, a finite value with a non-finite gradient, torch's LinAlgError or a ValueError naming
#: V_i/V_j with wrong advice, and barlow_twins at 1e20/1e30 silently returned p = 3 (sqrt(inf) standardised
#: every code to 0). Scales 1e-36 .. 1e-44 (H9; float32's smallest normal is 1.2e-38, below it the codes are
#: subnormal with 1-23 bits): the gradients of the scale-invariant couplings grow like 1/|z| and exceed
#: float32's max from ~1e-38. Before H9, 12 of these 56 cases failed (an inf gradient: msv at 1e-38 .. 1e-44,
#: fc at 1e-39 .. 1e-44, wmse at 1e-40 .. 1e-44); now the backward pass raises a ValueError there.
FLOAT32_MAX = float(torch.finfo(torch.float32).max)
#: float32's subnormal spacing 2^-149: a float32 gradient entry of subnormal size is a multiple of it.
FLOAT32_QUANTUM = 2.0 ** -149
FLOAT32_TINY_SCALES = [1e-36, 1e-37, 1e-38, 1e-39, 1e-40, 1e-42, 1e-44]


@pytest.mark.parametrize("name", ["msv", "fc", "wmse", "fc_code", "dcca", "barlow_twins"])
def test_float32_codes_near_float32_max_are_checked_without_overflow(name, capfd):
    """Codes N(0, 1) x 1.5e38, clipped to +-3.3e38 (float32's max is 3.4e38), float32. Before the rank check
    divided such a batch by an exact power of two (spectral.require_full_rank_batch), centring overflowed
    (z - mean = inf): msv, fc and wmse (whose rank check runs by default; fc_code and dcca check rank only with
    ridge = 0) raised torch's LinAlgError from svdvals, after MKL printed "Parameter 4 was incorrect on entry to
    SLASCL". Now: a finite value equal to the coupling of the same numbers within its float32 transcription's
    bound (and the float64 value within its own; both of one exact value), and nothing printed by the SVD."""
    a, b = (torch.clamp(randn(s, 11, 3) * 1.5e38, -3.3e38, 3.3e38).float() for s in (3, 4))
    f = couplings.get(name)
    v = f(a, b)
    assert "MKL" not in capfd.readouterr().out
    assert v.dtype == torch.float32 and all_finite(v)
    mine32, mine64 = expected(name, a, b, dtype=np.float32), expected(name, a, b)
    assert_within(v, mine32, name)
    assert agree(carried(v, mine32), carried(f(a.double(), b.double()), mine64))


@pytest.mark.parametrize("scale", [1e-30, 1e-20, 1e20, 1e30] + FLOAT32_TINY_SCALES)
@pytest.mark.parametrize("name", COUPLINGS)
def test_float32_extreme_scales_give_a_finite_value_or_a_clear_error(name, scale):
    """float32 with codes scaled by 1e+-20/30 and 1e-36 .. 1e-44 (float32 range ~1e+-38, subnormals down to
    1.4e-45): the value is either a ValueError naming z_i/z_j or finite; its gradient (backward) either a
    ValueError naming z_i/z_j or finite. Never NaN/inf, never a torch error.

    Oracle: the same coupling on the same float32 numbers converted to float64 (the float64 path is checked
    against its transcription in tests/test_couplings.py). Values: the float32 value within the bound of its
    float32 transcription (float32 arithmetic where the library uses it, half a subnormal per product that may
    underflow, the final cast), the float64 value within its own, both of one exact value. Gradients: msv,
    fc_code, dcca and barlow_twins compute in float64 and cast, so the float32 gradient is the float64 one
    rounded once (u32 |g| plus half a subnormal); mse's is the product 2 (a - b) / B (three roundings,
    underflow); fc, wmse and vicreg run their float32 stage through torch's backward graph, which has no
    transcription here: for them the tolerance stays the former one, 1e-3 of the largest entry plus 16 subnormal
    quanta q = 2^-149 (NOT derived from the arithmetic; vicreg's variance backward multiplies z - mean, rounded to
    0.5 q, by 27.8: up to 14 q, measured 9.6 q at 1e-44). An error is allowed exactly where float32 cannot hold
    the float64 result:
    a forward error only when the float64 value exceeds float32's max, a backward error only when the float64
    gradient does; and when the float64 gradient exceeds it the backward pass must raise (a finite float32
    gradient is impossible, an inf one fails below)."""
    z, w = pair(11)
    a32, b32 = (z * scale).float(), (w * scale).float()
    f = couplings.get(name)
    v64, g64_i, g64_j = value_and_grads(f, a32.double(), b32.double())
    assert all_finite(v64, g64_i, g64_j)
    a, b = a32.clone().requires_grad_(), b32.clone().requires_grad_()
    try:
        v = f(a, b)
    except ValueError as exc:
        assert re.search(r"\bz_[ij]\b", str(exc)) and "float32" in str(exc), str(exc)
        assert abs(float(v64)) > FLOAT32_MAX, f"float64 value {float(v64):.3g} fits float32: {exc}"
        return
    assert v.dtype == torch.float32
    assert all_finite(v), f"value {float(v.detach())}"
    tiny = tiny_for(name, np.float32)
    mine32, mine64 = expected(name, a32, b32, dtype=np.float32, **({"tiny": tiny} if tiny else {})), \
        expected(name, a32, b32)
    assert_within(v, mine32, name)
    assert_within(v64, mine64, name)
    assert agree(carried(v, mine32), carried(v64, mine64)), (float(v.detach()), float(v64))
    largest_g64 = max(float(g64_i.abs().max()), float(g64_j.abs().max()))
    try:
        v.backward()
    except ValueError as exc:
        assert re.search(r"gradient with respect to z_[ij] overflows float32", str(exc)), str(exc)
        assert largest_g64 > FLOAT32_MAX, f"float64 gradient {largest_g64:.3g} fits float32: {exc}"
        return
    assert all_finite(a.grad, b.grad), f"gradient not finite (float64 gradient up to {largest_g64:.3g})"
    for g, g64 in ((a.grad, g64_i), (b.grad, g64_j)):
        g, g64 = g.double().numpy(), g64.numpy()
        if name in ("msv", "fc_code", "dcca", "barlow_twins"):      # one rounding of the float64 gradient
            bound = U32 * np.abs(g64) + HALF_SUBNORMAL[np.float32]
        elif name == "mse":      # 2 (a - b) / B: a - b, 1/B, the product (and its underflow); the same in float64
            bound = (3 * U32 / (1 - 3 * U32) + 3 * U64) * np.abs(g64) * (1 + 4 * U64) + 2 * HALF_SUBNORMAL[np.float32]
        else:                    # fc, wmse, vicreg: not derived (see the docstring)
            bound = 1e-3 * np.abs(g64) + 1e-3 * float(np.abs(g64).max()) + 16 * FLOAT32_QUANTUM
        assert np.all(np.abs(g - g64) <= bound), (name, float(np.max(np.abs(g - g64) - bound)))


# ------------------------------------------------------------------------------------ tiny float64 scales (H9)

#: float64 codes far below 1e-150 (smallest normal 2.2e-308). Before H9 msv, fc and wmse gave the right value
#: with non-finite gradients at 1e-160 (their backward forms sigma^-3 ~ 1e480) and, from 1e-200, a ValueError
#: ('overflows float64' for msv -- it was 0/0 -- or 'must be positive definite' / 'near-singular covariance')
#: because the covariance underflowed: 12 of these 32 cases failed; the other five couplings passed already.
FLOAT64_TINY_SCALES = [1e-160, 1e-200, 1e-250, 1e-300]


def rounded_scaling(z: torch.Tensor, scale: float, half_subnormal: float = HALF_SUBNORMAL[np.float64]) -> Bounded:
    """The codes fl(z * scale) seen by a scale-invariant coupling, in units of z: fl(z s) = z s (1 + d) + eta with
    |d| <= u and, below the normal range, |eta| <= half a subnormal; divided by s (which the coupling ignores)
    that is z with the bound u |z| + eta / s."""
    zn = z.double().numpy()
    u = U64 if z.dtype == torch.float64 else U32
    return Bounded(zn, u * np.abs(zn) + half_subnormal / scale)


@pytest.mark.parametrize("scale", FLOAT64_TINY_SCALES)
@pytest.mark.parametrize("name", COUPLINGS)
def test_float64_tiny_scales_give_finite_values_and_gradients(name, scale):
    """Every coupling: finite value and gradients. msv, fc, wmse (scale-invariant, SCALE_INVARIANT): value = value at
    scale 1, both within the bound of the transcription on the rounded scaled codes (rounded_scaling), and
    gradient = gradient at scale 1 / scale (the gradient of a degree-0 homogeneous function is homogeneous of
    degree -1; tolerance rel 1e-6 of the largest entry, NOT derived: gradients have no transcription here)."""
    z, w = pair(11)
    v, g_i, g_j = value_and_grads(couplings.get(name), z * scale, w * scale)
    assert all_finite(v, g_i, g_j), (name, scale)
    if name in SCALE_INVARIANT:
        v1, g1_i, g1_j = value_and_grads(couplings.get(name), z, w)
        mine = expected(name, rounded_scaling(z, scale), rounded_scaling(w, scale))
        assert_within(v, mine, name)
        assert_within(v1, mine, name)
        for g, g1 in ((g_i, g1_i), (g_j, g1_j)):
            np.testing.assert_allclose((g * scale).numpy(), g1.numpy(), rtol=1e-6, atol=1e-6 * float(g1.abs().max()))


@pytest.mark.parametrize("name", COUPLINGS)
def test_float64_subnormal_codes_give_the_value_and_a_clear_gradient_error(name):
    """Codes ~1e-310 (subnormal, ~44 bits). The value is finite (msv, fc, wmse: the value at scale 1, within the
    bound of the transcription on the codes with their lost bits, rounded_scaling). The true gradient of msv, fc, wmse is (gradient at scale 1) / 1e-310 >
    1e308 > float64's max 1.8e308 (checked here in log10): their backward pass raises a ValueError naming
    z_i/z_j. The other couplings' gradients are O(|z|) or 0: finite. Before H9 msv, fc, wmse raised in the
    forward pass with a wrong diagnosis ('overflows float64', 'must be positive definite')."""
    scale = 1e-310
    z, w = pair(11)
    a, b = (z * scale).requires_grad_(), (w * scale).requires_grad_()
    v = couplings.get(name)(a, b)
    assert all_finite(v)
    if name not in SCALE_INVARIANT:
        v.backward()
        assert all_finite(a.grad, b.grad)
        return
    v1, g1_i, g1_j = value_and_grads(couplings.get(name), z, w)
    mine = expected(name, rounded_scaling(z, scale), rounded_scaling(w, scale))
    assert_within(v, mine, name)
    assert_within(v1, mine, name)
    largest_true = math.log10(max(float(g1_i.abs().max()), float(g1_j.abs().max()))) - math.log10(scale)
    assert largest_true > math.log10(float(torch.finfo(torch.float64).max))
    with pytest.raises(ValueError, match=r"gradient with respect to z_[ij] overflows float64"):
        v.backward()


@given(seed=st.integers(0, 10 ** 6), k=st.integers(-1000, 1000), name=st.sampled_from(SCALE_INVARIANT),
       double=st.booleans())
@example(seed=11, k=-1000, name="msv", double=True)
@example(seed=11, k=-540, name="fc", double=True)       # ~1e-163: fc's gradient was non-finite before H9
@example(seed=11, k=-700, name="wmse", double=True)     # ~1e-211: wmse raised 'near-singular' before H9
@example(seed=11, k=1000, name="fc", double=True)       # ~1e301: covariance overflow before H9
@example(seed=11, k=-100, name="msv", double=False)
@example(seed=11, k=65, name="wmse", double=False)      # the first exponent of the rescaled path
def test_scale_invariant_couplings_under_a_power_of_two(seed, k, name, double):
    """Exact oracle for the rescaled path: multiplying codes by 2^k is exact (float64 k in [-1000, 1000],
    float32 k in [-100, 100]: the largest entry, ~2^1, stays normal; an entry far below it that becomes
    subnormal keeps its absolute precision 2^-1074 / 2^-149, < 1e-20 of the largest), and msv, fc,
    wmse are invariant under it, so f(2^k z) = f(z) and grad f(2^k z) = 2^-k grad f(z) with f(z) computed
    directly (|z| ~ 1: no rescaling). Values: the library computes on 2^k z (or its own power-of-two rescaling
    of it), an exact scaling of z except for entries pushed below the normal range, whose absolute error joins the
    inputs' bound (rounded_scaling); both values then lie within twice the bound of the transcription of f(z).
    Gradients: rtol 1e-12 (float64) / 1e-6 (float32), NOT derived (no transcription of the backward graph;
    measured bitwise equal)."""
    dtype = torch.float64 if double else torch.float32
    k = k if double else max(-100, min(100, k))
    z, w = (t.to(dtype) for t in pair(seed))
    f = couplings.get(name)
    v1, g1_i, g1_j = value_and_grads(f, z, w)
    factor = 2.0 ** k
    v, g_i, g_j = value_and_grads(f, z * factor, w * factor)
    np_dtype = np.float64 if double else np.float32
    subnormal = HALF_SUBNORMAL[np_dtype]

    def codes(x):                  # x * 2^k is exact unless it falls below the normal range
        near_zero = np.abs(x.double().numpy() * factor) < np.finfo(np_dtype).tiny
        xb = exact(x)
        return Bounded(xb.value, np.where(near_zero, subnormal / factor, 0.0))
    mine = expected(name, codes(z), codes(w), dtype=np_dtype)
    assert_within(v, mine, name)
    assert_within(v1, mine, name)
    rtol = 1e-12 if double else 1e-6
    for g, g1 in ((g_i, g1_i), (g_j, g1_j)):
        np.testing.assert_allclose((g.double() * factor).numpy(), g1.double().numpy(), rtol=rtol,
                                   atol=rtol * float(g1.abs().max()))
