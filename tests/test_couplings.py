"""cae_core.couplings against direct numpy/scipy transcriptions of their formulas (float64), invariances,
paired-rows semantics, gradients and bad input.

Sources of the expected values: the formulas of the paper's public code (AllenInstitute/coupledAE: C_FC, C_MSV)
and of the reference implementations of VICReg / Barlow Twins / W-MSE / Deep CCA (as documented in each
cae_core.couplings module), and the supplement (Eq. 1; V_i above Prop. 2), each transcribed
below in numpy/scipy independently of the torch code (np.cov, np.linalg.eigvalsh, scipy.linalg.sqrtm,
scipy.linalg.cholesky, scipy.linalg.svdvals, QR for canonical correlations).

Tolerance: the transcriptions differ from the torch code only by rounding; the whitening couplings amplify it
by cond(V), which the constructive batches below keep <= 1e4 (singular values in [0.2, 5] after a random
rotation), so float64 values agree to rtol 1e-9 (relative to max(1, |value|)).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from cae_core import couplings as C
from cae_core.spectral import lambda_min
from cae_theory.statistics import standardize

F64 = torch.float64
RTOL = 1e-9



# --------------------------------------------------------------------------------------- numpy transcriptions


def np_cov(z):
    return np.atleast_2d(np.cov(z, rowvar=False))  # ddof = 1: the supplement's V


def np_mse(a, b, n):
    return np.mean(np.sum((a[:n] - b[:n]) ** 2, axis=1))


def np_msv(a, b, n, floor=None):
    lam = min(np.linalg.eigvalsh(np_cov(a))[0], np.linalg.eigvalsh(np_cov(b))[0])
    return np_mse(a, b, n) / (lam if floor is None else max(lam, floor))


def np_fc(a, b, n):
    def white(z):
        return (z - z.mean(0)) @ np.linalg.inv(np.real(scipy.linalg.sqrtm(np_cov(z))))
    return np_mse(white(a), white(b), n)


def np_fc_code(a, b, n, ridge=1e-3):
    d = a[:n] - b[:n]
    p = a.shape[1]
    Mj = np.linalg.inv(np_cov(b) + ridge * np.eye(p))
    Mi = np.linalg.inv(np_cov(a) + ridge * np.eye(p))
    return np.mean(np.einsum("sp,pq,sq->s", d, Mj, d)) + np.mean(np.einsum("sp,pq,sq->s", d, Mi, d))


def np_vicreg(a, b, n, sim=25.0, var=25.0, cov=1.0, eps=1e-4):
    def std_term(z):
        return np.mean(np.maximum(0.0, 1.0 - np.sqrt(z.var(axis=0, ddof=1) + eps)))

    def cov_term(z):
        V = np_cov(z)
        return (np.sum(V ** 2) - np.sum(np.diag(V) ** 2)) / z.shape[1]
    return (sim * np.mean((a[:n] - b[:n]) ** 2) + var * 0.5 * (std_term(a) + std_term(b))
            + cov * (cov_term(a) + cov_term(b)))


def np_barlow(a, b, n, lambd=0.0051, eps=1e-5):
    # the n paired rows are standardised and cross-correlated (cae_core.couplings: partial pairing)
    def bn(z):
        return (z - z.mean(0)) / np.sqrt(z.var(axis=0, ddof=0) + eps)
    c = bn(a[:n]).T @ bn(b[:n]) / n
    off = c - np.diag(np.diag(c))
    return np.sum((np.diag(c) - 1) ** 2) + lambd * np.sum(off ** 2)


def np_wmse(a, b, n):
    def white(z):
        L = scipy.linalg.cholesky(np_cov(z), lower=True)
        return scipy.linalg.solve_triangular(L, (z - z.mean(0)).T, lower=True).T
    wa, wb = white(a)[:n], white(b)[:n]
    cos = np.sum(wa * wb, axis=1) / (np.linalg.norm(wa, axis=1) * np.linalg.norm(wb, axis=1))
    return np.mean(2 - 2 * cos)


def np_dcca(a, b, n, ridge=1e-3):
    # covariances and cross-covariance of the n paired rows (cae_core.couplings: partial pairing)
    p = a.shape[1]
    a, b = a[:n], b[:n]
    ca, cb = a - a.mean(0), b - b.mean(0)
    Vab = ca.T @ cb / (n - 1)
    Wa = np.linalg.inv(np.real(scipy.linalg.sqrtm(np_cov(a) + ridge * np.eye(p))))
    Wb = np.linalg.inv(np.real(scipy.linalg.sqrtm(np_cov(b) + ridge * np.eye(p))))
    return -np.sum(scipy.linalg.svdvals(Wa @ Vab @ Wb))


def np_canonical_correlations_qr(a, b):
    """Canonical correlations as the singular values of Qa^T Qb (Bjorck & Golub 1973), QR of the centred data."""
    Qa = np.linalg.qr(a - a.mean(0))[0]
    Qb = np.linalg.qr(b - b.mean(0))[0]
    return scipy.linalg.svdvals(Qa.T @ Qb)


TRANSCRIPTIONS = {"mse": np_mse, "msv": np_msv, "fc": np_fc, "fc_code": np_fc_code, "vicreg": np_vicreg,
                  "barlow_twins": np_barlow, "wmse": np_wmse, "dcca": np_dcca}

# ---------------------------------------------------------------------------------------- constructive inputs


def orthogonal(rng, p):
    return np.linalg.qr(rng.standard_normal((p, p)))[0]


def full_rank_batch(rng, B, p, low=0.2, high=5.0):
    """(B, p), B > p: mean + U diag(s) W^T, U orthonormal and orthogonal to 1 (QR of [1 | G]), s in [low, high]:
    the centred batch has singular values s, so cond(V) = (max s / min s)^2 <= 625."""
    M = np.concatenate([np.ones((B, 1)), rng.standard_normal((B, p))], axis=1)
    U = np.linalg.qr(M)[0][:, 1:p + 1]
    s = rng.uniform(low, high, p) * np.sqrt(B - 1)
    return rng.standard_normal((1, p)) + (U * s) @ orthogonal(rng, p).T


@st.composite
def pair_of_batches(draw, max_p: int = 4):
    """(a, b, n): two full-rank (B, p) batches, B > p, b correlated with a, n paired rows (2 <= n <= B)."""
    p = draw(st.integers(1, max_p))
    B = p + draw(st.integers(2, 25))
    n = draw(st.integers(2, B))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = full_rank_batch(rng, B, p)
    mix = draw(st.floats(0.0, 1.0))
    b = mix * a @ orthogonal(rng, p) + (1 - mix) * full_rank_batch(rng, B, p) + 0.05 * rng.standard_normal((B, p))
    return a, b, n


def close(got, expected, rtol=RTOL):
    assert abs(float(got) - expected) <= rtol * max(1.0, abs(expected)), (float(got), expected)


def t(x, requires_grad=False):
    return torch.tensor(x, dtype=F64, requires_grad=requires_grad)


# ------------------------------------------------------------------------------------ values vs transcriptions


@pytest.mark.parametrize("name", sorted(TRANSCRIPTIONS))
@given(data=pair_of_batches())
def test_coupling_matches_numpy_transcription(name, data):
    a, b, n = data
    if name == "dcca":          # canonical correlations of the paired rows need n > p (B >= p + 2 here)
        n = max(n, a.shape[1] + 1)
    f = C.get(name)
    close(f(t(a), t(b), paired=n), TRANSCRIPTIONS[name](a, b, n))
    close(f(t(a), t(b)), TRANSCRIPTIONS[name](a, b, a.shape[0]))  # paired=None: all rows paired


@pytest.mark.parametrize("name, options", [
    ("msv", {"floor": 1e-2}), ("msv", {"floor": 100.0}), ("fc_code", {"ridge": 0.0}), ("fc_code", {"ridge": 0.5}),
    ("vicreg", {"sim_weight": 1.0, "var_weight": 2.0, "cov_weight": 3.0, "eps": 1e-2}),
    ("barlow_twins", {"lambd": 0.5, "bn_eps": 1e-3}), ("dcca", {"ridge": 0.0}), ("dcca", {"ridge": 0.3}),
])
def test_options_match_numpy_transcription(name, options):
    rng = np.random.default_rng(7)
    a, b = full_rank_batch(rng, 12, 3), full_rank_batch(rng, 12, 3)
    np_options = {"sim_weight": "sim", "var_weight": "var", "cov_weight": "cov", "bn_eps": "eps"}
    expected = TRANSCRIPTIONS[name](a, b, 9, **{np_options.get(k, k): v for k, v in options.items()})
    close(C.get(name, **options)(t(a), t(b), paired=9), expected)  # bound at get
    close(C.get(name)(t(a), t(b), paired=9, **options), expected)  # passed at call time


@given(data=pair_of_batches(max_p=3))
def test_dcca_without_ridge_is_minus_sum_of_canonical_correlations(data):
    a, b, _ = data
    rho = np_canonical_correlations_qr(a, b)  # an oracle that never forms a covariance
    close(C.dcca(t(a), t(b), ridge=0.0), -rho.sum())
    assert -a.shape[1] - 1e-12 <= float(C.dcca(t(a), t(b), ridge=0.0)) <= 0.0


def test_different_batch_sizes_with_paired_rows():
    rng = np.random.default_rng(3)
    a, b = full_rank_batch(rng, 15, 2), full_rank_batch(rng, 9, 2)
    for name, np_f in TRANSCRIPTIONS.items():
        close(C.get(name)(t(a), t(b), paired=6), np_f(a, b, 6))


# ------------------------------------------------------------------------------------ paired-rows semantics


def test_unpaired_rows_enter_one_arm_statistics_but_not_cross_statistics():
    """The rule of cae_core.couplings: distances and the cross statistics of barlow_twins and dcca (with the
    normalisations their bounds rest on) use the paired rows; one-arm statistics use all rows. Oracle: changing
    only the unpaired rows leaves mse, barlow_twins and dcca bit-identical -- and they equal the coupling of the
    paired rows alone -- and moves every other coupling to its numpy transcription's new value."""
    rng = np.random.default_rng(4)
    a, b = full_rank_batch(rng, 20, 3), full_rank_batch(rng, 20, 3)
    a2 = a.copy()
    a2[15:] = 10 * rng.standard_normal((5, 3))  # change unpaired rows only
    for name in ("mse", "barlow_twins", "dcca"):
        f = C.get(name)
        assert float(f(t(a), t(b), paired=15)) == float(f(t(a2), t(b), paired=15)), name
        close(f(t(a2), t(b), paired=15), float(f(t(a2[:15]), t(b[:15]))))
    for name in ("msv", "fc", "fc_code", "vicreg", "wmse"):
        before, after = float(C.get(name)(t(a), t(b), paired=15)), float(C.get(name)(t(a2), t(b), paired=15))
        assert before != after, name  # the statistics saw the unpaired rows
        close(after, TRANSCRIPTIONS[name](a2, b, 15))


# ------------------------------------------------------------------------------------ ranges under partial pairing


def issue12_dcca_examples():
    """The two batches of issue 12 (seed 0, B = 100, p = 2, 10 paired rows) on which dcca left [-p, 0] when its
    within-arm covariances came from all rows: -21.5 (unpaired rows 100x smaller) and -16.0 (paired rows 5x
    larger, ridge 0)."""
    torch.manual_seed(0)
    z = torch.randn(100, 2, dtype=F64)
    z[10:] *= 0.01
    w = torch.randn(100, 2, dtype=F64)
    w[:10] *= 5
    return z, w


def test_dcca_stays_in_its_range_on_the_issue_12_examples():
    """Identical paired codes: every canonical correlation of the pairs is 1, so dcca is -p with ridge 0 and
    -sum_k l_k / (l_k + ridge) (l_k the eigenvalues of the paired rows' covariance) with the ridge -- closed
    forms (T = V (V + ridge I)^{-1} for identical arms). Tolerance: the whitening and svdvals of 2 x 2 float64
    matrices, ~10 eps per entry, times cond(V) <= 1e3 here: 1e-12."""
    z, w = issue12_dcca_examples()
    value = float(C.get("dcca")(z, z.clone(), paired=10))
    lam = np.linalg.eigvalsh(np.cov(z[:10].numpy(), rowvar=False))
    assert -2.0 <= value <= 0.0
    assert abs(value - -np.sum(lam / (lam + 1e-3))) <= 1e-12
    value = float(C.get("dcca", ridge=0.0)(w, w.clone(), paired=10))
    assert abs(value - -2.0) <= 1e-12 and value >= -2.0 - 1e-12


@given(data=pair_of_batches(), spread=st.floats(-3.0, 3.0), ridge=st.sampled_from([0.0, 1e-3, 0.5]))
@example(data=(issue12_dcca_examples()[0].numpy(), issue12_dcca_examples()[0].numpy(), 10), spread=-2.0,
         ridge=1e-3)
def test_dcca_range_under_partial_pairing(data, spread, ridge):
    """-p <= dcca <= 0 whatever the unpaired rows: they are scaled by 10^spread against the paired rows (the
    mix of issue 12), in [-p, 0] up to the rounding of svdvals (p * 1e-12)."""
    a, b, n = data
    p = a.shape[1]
    n = max(n, p + 1)
    a, b = a.copy(), b.copy()
    a[n:] *= 10.0 ** spread
    b[n:] *= 10.0 ** -spread
    for x, y in ((a, b), (a, a.copy())):
        value = float(C.get("dcca", ridge=ridge)(t(x), t(y), paired=n))
        assert -p - p * 1e-12 <= value <= 0.0, value


def test_barlow_twins_for_identical_paired_codes_ignores_the_unpaired_rows():
    """Issue 12: identical paired codes gave 157 at p = 2 when the standardisation used all rows. Now c is the
    correlation matrix of the paired codes with bn_eps, so the value is the closed form
    sum_a (eps / (v_a + eps))^2 + lambd * sum_{a != b} (C_ab / sqrt((v_a + eps)(v_b + eps)))^2 with v, C the
    biased (1/n) variances and covariance of the paired rows (numpy), whatever the unpaired rows are; float64
    rounding of a 10 x 2 product: 1e-12."""
    z, _ = issue12_dcca_examples()
    zz = z[:10].numpy()
    C_ = np.cov(zz, rowvar=False, ddof=0)
    v = np.diag(C_)
    corr = C_ / np.sqrt(np.outer(v + 1e-5, v + 1e-5))
    expected = np.sum((1e-5 / (v + 1e-5)) ** 2) + 0.0051 * (np.sum(corr ** 2) - np.sum(np.diag(corr) ** 2))
    for unpaired_scale in (0.01, 1.0, 100.0):
        x = z.clone()
        x[10:] *= unpaired_scale
        y = x.clone()
        y[10:] = torch.randn(90, 2, dtype=F64)       # the other arm's unpaired rows differ
        value = float(C.barlow_twins(x, y, paired=10))
        assert abs(value - expected) <= 1e-12, (value, expected)
        assert 0.0 <= value <= 2 + 0.0051 * 2


@given(data=pair_of_batches(), spread=st.floats(-3.0, 3.0))
def test_bounded_couplings_keep_their_range_under_partial_pairing(data, spread):
    """barlow_twins in [0, 4 p + lambd p (p - 1)] (|c_ab| <= 1 by Cauchy-Schwarz, so (c_aa - 1)^2 <= 4), wmse in [0, 4] (2 - 2 cos), every
    other coupling >= 0, with unpaired rows 10^spread times the paired ones (rounding slack 1e-12 * bound)."""
    a, b, n = data
    p = a.shape[1]
    a, b = a.copy(), b.copy()
    a[n:] *= 10.0 ** spread
    bounds = {"barlow_twins": 4 * p + 0.0051 * p * (p - 1), "wmse": 4.0}
    for name in ("mse", "msv", "fc", "fc_code", "vicreg", "barlow_twins", "wmse"):
        value = float(C.get(name)(t(a), t(b), paired=n))
        top = bounds.get(name, np.inf)
        assert -1e-12 * max(1.0, top) <= value <= top * (1 + 1e-12), (name, value)


# ------------------------------------------------------------------------------------------------ invariances


@given(data=pair_of_batches(), log_beta=st.floats(-3, 3))
def test_msv_invariant_and_mse_quadratic_under_common_scaling(data, log_beta):
    a, b, n = data
    beta = 10.0 ** log_beta
    close(C.msv(t(beta * a), t(beta * b), paired=n), float(C.msv(t(a), t(b), paired=n)))
    close(C.mse(t(beta * a), t(beta * b), paired=n), beta ** 2 * float(C.mse(t(a), t(b), paired=n)))


def common_map(seed, p):
    """T = Q diag(d), Q orthogonal, |d| in [0.1, 10] with random signs: invertible, cond(T) <= 100."""
    rng = np.random.default_rng(seed)
    return orthogonal(rng, p) * (10.0 ** rng.uniform(-1, 1, p) * rng.choice([-1.0, 1.0], p))


# With cond(T) <= 100 the transformed covariances keep cond <= 625 * 1e4; rounding then reaches ~1e-16 * 6e6,
# hence rtol 1e-8 for the invariance checks.
@given(data=pair_of_batches(), seed=st.integers(0, 2**32 - 1))
def test_unridged_fc_code_invariant_under_common_invertible_map(data, seed):
    # The public code's C_FC (AllenInstitute/coupledAE) is exactly invariant to a common invertible map when
    # ridge = 0:
    # (T d)^T (T V T^T)^{-1} (T d) = d^T V^{-1} d.
    a, b, n = data
    T = common_map(seed, a.shape[1])
    close(C.fc_code(t(a @ T.T), t(b @ T.T), paired=n, ridge=0.0),
          float(C.fc_code(t(a), t(b), paired=n, ridge=0.0)), rtol=1e-8)


# The poster's C_FC whitens each arm by its own symmetric V_i^{-1/2}. Under z -> T z the whitened codes become
# R_i w_i with R_i = (T V_i T^T)^{-1/2} T V_i^{1/2} orthogonal but depending on V_i, so C_FC is invariant under
# a common T only when R_i = R_j: for every T if V_i = V_j, and for every pair of batches if T = c Q (Q
# orthogonal, c != 0; then R_i = sign(c) Q). It is NOT invariant under a general common invertible map, as the
# brief (issue 3) expected; the counterexample Hypothesis found is pinned in the next test.
@given(data=pair_of_batches(), seed=st.integers(0, 2**32 - 1), log_c=st.floats(-2, 2))
def test_fc_invariant_under_common_similarity(data, seed, log_c):
    a, b, n = data
    T = -(10.0 ** log_c) * orthogonal(np.random.default_rng(seed), a.shape[1])
    close(C.fc(t(a @ T.T), t(b @ T.T), paired=n), float(C.fc(t(a), t(b), paired=n)), rtol=1e-8)


def test_fc_is_not_invariant_under_a_general_common_map():
    # Counterexample found by Hypothesis for "C_FC is invariant under a common invertible map" (B = 4, p = 2,
    # n = 2 paired rows, T = common_map(0, 2)); expected values from the numpy transcription np_fc.
    a = np.array([[-3.5484469, 3.53319714], [-1.52642219, 3.68528998], [-1.5732522, -5.19712852],
                  [4.15502345, -1.85605468]])
    b = np.array([[2.19041307, 2.35350606], [1.22455428, -1.40856063], [-5.25855149, 2.84311368],
                  [-2.18404076, -4.44180878]])
    T = common_map(0, 2)
    before, after = np_fc(a, b, 2), np_fc(a @ T.T, b @ T.T, 2)
    assert abs(after - before) > 1e-2  # 2.4213 vs 2.3554
    close(C.fc(t(a), t(b), paired=2), before)
    close(C.fc(t(a @ T.T), t(b @ T.T), paired=2), after)


def test_float32_fc_of_a_wide_well_conditioned_batch_equals_the_numpy_oracle():
    # cae experiment fc-vs-msv (d = 50, B = 400) failed in float32 before V and V^{-1/2} were computed in
    # float64: a batch with sigma_max / sigma_min ~ 1e3 has cond(V) ~ 1e6, whose smallest eigenvalue float32's
    # eigvalsh cannot resolve (p * eps32 * lambda_max ~ 1e-4 * lambda_max). Expected value: the numpy
    # transcription np_fc of the same float32 numbers in float64; rtol 1e-5 covers float32 rounding of the
    # whitened codes (~1e-7 each) and of the float32 mean over 400 rows.
    rng = np.random.default_rng(0)
    B, p = 400, 50
    scales = np.logspace(0, -3, p)                      # singular values of the batch spread over 3 decades
    a = (rng.normal(size=(B, p)) * scales) @ orthogonal(rng, p).T
    b = a + 0.1 * rng.normal(size=(B, p)) * scales
    a32, b32 = torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
    value = C.fc(a32.requires_grad_(), b32)
    assert value.dtype == torch.float32
    value.backward()
    assert torch.isfinite(a32.grad).all()
    close(value.detach(), np_fc(a32.detach().double().numpy(), b32.double().numpy(), B), rtol=1e-5)


@given(data=pair_of_batches(), seed=st.integers(0, 2**32 - 1))
def test_fc_invariant_under_general_common_map_when_covariances_are_equal(data, seed):
    a, _, _ = data
    b = a[np.random.default_rng(seed).permutation(a.shape[0])]  # same rows in another order: V_b = V_a
    T = common_map(seed, a.shape[1])
    close(C.fc(t(a @ T.T), t(b @ T.T)), float(C.fc(t(a), t(b))), rtol=1e-8)


@given(data=pair_of_batches(max_p=3), seed=st.integers(0, 2**32 - 1))
def test_dcca_invariant_under_separate_invertible_maps(data, seed):
    # canonical correlations are invariant under z_i -> T_i z_i + c_i for each arm separately
    a, b, n = data
    rng = np.random.default_rng(seed)
    p = a.shape[1]
    # n > p paired rows are needed; with n = p + 1 every canonical correlation is exactly 1 (the centred pairs span
    # the same p-space) and the value -p is ill-conditioned under the maps, so n >= p + 2 (B >= p + 2 here)
    n = max(n, p + 2)
    Ta = orthogonal(rng, p) * 10.0 ** rng.uniform(-1, 1, p)
    Tb = orthogonal(rng, p) * 10.0 ** rng.uniform(-1, 1, p)
    close(C.dcca(t(a @ Ta.T + 3.0), t(b @ Tb.T - 1.0), paired=n, ridge=0.0),
          float(C.dcca(t(a), t(b), paired=n, ridge=0.0)), rtol=1e-8)


@st.composite
def standardised_batch(draw):
    """BN-standardised codes (zero mean, unit variance with 1/(B-1)) built by cae_theory.statistics.standardize
    from a random batch (rows of a random mixing, so the coordinates are correlated to any degree)."""
    p = draw(st.integers(1, 5))
    B = p + draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mixing = np.eye(p) + draw(st.floats(0.0, 5.0)) * rng.standard_normal((p, p))
    X = rng.standard_normal((2, B, p)) @ mixing
    return standardize(X)[0]


# Under BN (unit diagonal V), for m != m' the unit vector x = (e_m - sign(V_mm') e_m') / sqrt(2) gives
# x^T V x = 1 - |V_mm'|, so lambda_min(V) <= 1 - max_{m != m'} |V_mm'| <= 1, with equality only when V = I.
# (Also: tr V = p, so the mean eigenvalue is 1.) atol 1e-12: rounding of V and eigvalsh.
@given(Z=standardised_batch())
@example(Z=standardize(np.stack([np.array([[0., 0.], [1., 1.], [2., 2.1]])] * 2))[0])  # nearly a line
def test_lambda_min_under_batch_norm_is_at_most_one_minus_largest_correlation(Z):
    V = np_cov(Z)
    off = np.abs(V - np.diag(np.diag(V))).max() if Z.shape[1] > 1 else 0.0
    lam = float(lambda_min(t(V)))
    assert lam <= 1.0 - off + 1e-12
    if off > 1e-9:
        assert lam < 1.0


@given(p=st.integers(1, 5), extra=st.integers(1, 30), seed=st.integers(0, 2**32 - 1))
def test_lambda_min_equals_one_for_whitened_batch_norm_codes(p, extra, seed):
    # V = I exactly: z = sqrt(B-1) U, U orthonormal columns orthogonal to 1 (then mu = 0, diag(V) = 1 too)
    B = p + extra
    M = np.concatenate([np.ones((B, 1)), np.random.default_rng(seed).standard_normal((B, p))], axis=1)
    Z = np.sqrt(B - 1) * np.linalg.qr(M)[0][:, 1:p + 1]
    assert abs(float(lambda_min(t(np_cov(Z)))) - 1.0) < 1e-12
    # and then C_MSV equals the plain squared distance: the denominator is 1
    close(C.msv(t(Z), t(Z[::-1].copy())), np_mse(Z, Z[::-1], B), rtol=1e-10)


# -------------------------------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("paired", [None, 7])
@pytest.mark.parametrize("name", C.names())
def test_gradients_are_finite(name, paired, dtype):
    rng = np.random.default_rng(11)
    a = torch.tensor(full_rank_batch(rng, 10, 3), dtype=dtype, requires_grad=True)
    b = torch.tensor(full_rank_batch(rng, 10, 3), dtype=dtype, requires_grad=True)
    value = C.get(name)(a, b, paired=paired)
    assert value.shape == () and value.dtype == dtype and torch.isfinite(value)
    ga, gb = torch.autograd.grad(value, (a, b))
    assert torch.isfinite(ga).all() and torch.isfinite(gb).all()
    assert ga.abs().sum() > 0 and gb.abs().sum() > 0


@pytest.mark.parametrize("name", C.names())
def test_gradcheck(name):
    rng = np.random.default_rng(12)
    a, b = t(full_rank_batch(rng, 8, 2), True), t(full_rank_batch(rng, 8, 2), True)
    assert torch.autograd.gradcheck(lambda x, y: C.get(name)(x, y, paired=6), (a, b),
                                    eps=1e-6, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("name", ["fc", "wmse", "dcca", "msv"])
def test_gradcheck_at_whitened_codes(name):
    # V = I (all eigenvalues repeated): eigh-based gradients of V^{-1/2} divide by zero here; ours must not.
    B, p = 9, 3
    M = np.concatenate([np.ones((B, 1)), np.random.default_rng(13).standard_normal((B, p))], axis=1)
    Z = np.sqrt(B - 1) * np.linalg.qr(M)[0][:, 1:p + 1]
    a = t(Z, True)
    b = t(Z[::-1].copy() + 0.1 * np.random.default_rng(14).standard_normal((B, p)), True)
    f = C.get(name)
    ga, _ = torch.autograd.grad(f(a, b), (a, b))
    assert torch.isfinite(ga).all()
    if name != "msv":  # msv's lambda_min has a kink at a repeated smallest eigenvalue (not differentiable)
        assert torch.autograd.gradcheck(lambda x, y: f(x, y), (a, b), eps=1e-6, atol=1e-7, rtol=1e-6)


# ------------------------------------------------------------------------------------------- collapse, floors


def collapsed_pair(B=12):
    """Codes on a line in R^2: V is singular (lambda_min = 0)."""
    s = np.random.default_rng(5).standard_normal((B, 1))
    return t(np.concatenate([s, 2 * s], axis=1)), t(np.concatenate([s + 0.1, 2 * s], axis=1))


def test_msv_on_collapsed_codes_raises_without_floor_and_floors_with_it():
    a, b = collapsed_pair()
    with pytest.raises(ValueError, match=r"z_i has a singular covariance.*floor"):
        C.msv(a, b)
    value = C.msv(a, b, floor=1e-2)
    close(value, float(C.mse(a, b)) / 1e-2, rtol=1e-12)


def test_msv_with_floor_accepts_wide_batches():
    a, b = t(np.random.default_rng(0).standard_normal((3, 5))), t(np.random.default_rng(1).standard_normal((3, 5)))
    close(C.msv(a, b, floor=0.5), np_mse(a.numpy(), b.numpy(), 3) / 0.5, rtol=1e-12)
    with pytest.raises(ValueError, match="z_i must have more rows than columns"):
        C.msv(a, b)


@pytest.mark.parametrize("name", ["fc", "wmse", "dcca"])
def test_whitening_couplings_reject_collapsed_codes(name):
    a, b = collapsed_pair()
    with pytest.raises(ValueError, match="z_i has a singular covariance"):
        C.get(name, **({"ridge": 0.0} if name == "dcca" else {}))(a, b)


# ------------------------------------------------------------------------------------------------- bad input

GOOD = t(np.random.default_rng(9).standard_normal((8, 3)))


@pytest.mark.parametrize("name", C.names())
@pytest.mark.parametrize("z_i, z_j, kwargs, error, match", [
    (GOOD, GOOD[:, :2], {}, ValueError, "same latent dimension p"),
    (GOOD, GOOD[:6], {}, ValueError, "same number of rows when paired is None"),
    (GOOD.clone().index_fill_(0, torch.tensor([2]), float("nan")), GOOD, {}, ValueError, "z_i must contain only finite"),
    (GOOD, GOOD.clone().index_fill_(0, torch.tensor([0]), float("inf")), {}, ValueError, "z_j must contain only finite"),
    (GOOD[0], GOOD[0], {}, ValueError, "z_i must be a 2-D tensor"),
    ([[1.0, 2.0]] * 8, GOOD, {}, TypeError, "z_i must be a torch.Tensor or a numpy array"),
    (GOOD.numpy().astype(np.int64), GOOD, {}, TypeError, "z_i must have a real floating-point dtype"),
    (GOOD[None], GOOD, {}, ValueError, "same leading \\(stack\\) dimensions"),
    (GOOD, GOOD.to(torch.int64), {}, TypeError, "z_j must have a real floating-point dtype"),
    (GOOD, GOOD.float(), {}, TypeError, "same dtype"),
    (GOOD, GOOD, {"paired": 0}, ValueError, r"paired must be in \[1, min"),
    (GOOD, GOOD, {"paired": 9}, ValueError, r"paired must be in \[1, min"),
    (GOOD, GOOD, {"paired": 3.0}, TypeError, "paired must be None or an int"),
    (GOOD, GOOD, {"paired": True}, TypeError, "paired must be None or an int"),
    (GOOD, GOOD, {"bogus": 1.0}, ValueError, "'bogus' is not an option of coupling"),
])
def test_bad_input(name, z_i, z_j, kwargs, error, match):
    with pytest.raises(error, match=match):
        C.get(name)(z_i, z_j, **kwargs)


@pytest.mark.parametrize("name", ["fc", "wmse", "dcca"])
def test_batches_too_small_for_whitening(name):
    z = GOOD[:3]  # B = 3 = p
    with pytest.raises(ValueError, match="z_i must have more rows than columns"):
        C.get(name)(z, z)


@pytest.mark.parametrize("name", ["msv", "fc_code", "vicreg", "barlow_twins"])
def test_single_row_batches(name):
    z = GOOD[:1]
    with pytest.raises(ValueError, match="z_i must have at least 2 rows"):
        C.get(name, **({"floor": 1.0} if name == "msv" else {}))(z, z)


def test_dcca_needs_more_paired_rows_than_columns():
    with pytest.raises(ValueError, match=r"paired must be >= 4 for dcca \(canonical correlations"):
        C.dcca(GOOD, GOOD, paired=3)


def test_barlow_twins_needs_two_paired_rows():
    with pytest.raises(ValueError, match="paired must be >= 2 for barlow_twins"):
        C.barlow_twins(GOOD, GOOD, paired=1)


def test_registry():
    assert C.names() == ("mse", "msv", "fc", "fc_code", "vicreg", "barlow_twins", "wmse", "dcca")
    with pytest.raises(ValueError, match="name must be one of"):
        C.get("cosine")
    with pytest.raises(TypeError, match="name must be a str"):
        C.get(3)


@pytest.mark.parametrize("name, options, error, match", [
    ("msv", {"floor": -1.0}, ValueError, "floor must be > 0"),
    ("msv", {"floor": 0.0}, ValueError, "floor must be > 0"),
    ("msv", {"floor": float("nan")}, ValueError, "floor must be finite"),
    ("msv", {"floor": "1e-2"}, TypeError, "floor must be a real number"),
    ("msv", {"ridge": 1.0}, ValueError, "'ridge' is not an option of coupling 'msv'"),
    ("fc", {"ridge": 1.0}, ValueError, "'ridge' is not an option of coupling 'fc' \\(its options: none\\)"),
    ("fc_code", {"ridge": -1e-3}, ValueError, "ridge must be >= 0"),
    ("dcca", {"ridge": float("inf")}, ValueError, "ridge must be finite"),
    ("vicreg", {"eps": 0.0}, ValueError, "eps must be > 0"),
    ("vicreg", {"sim_weight": -25}, ValueError, "sim_weight must be >= 0"),
    ("barlow_twins", {"lambd": True}, TypeError, "lambd must be a real number"),
    ("barlow_twins", {"bn_eps": 0}, ValueError, "bn_eps must be > 0"),
])
def test_bad_options(name, options, error, match):
    with pytest.raises(error, match=match):
        C.get(name, **options)  # at bind time
    with pytest.raises(error, match=match):
        C.get(name)(GOOD, GOOD, **options)  # at call time


# ------------------------------------------------------------------------------ optional: lightly's reference

LIGHTLY_VERSION = "1.6.0"  # the release the comparison was written against


@pytest.fixture(scope="module")
def lightly_src(tmp_path_factory):
    """A directory holding an unpacked lightly wheel: $CAE_LIGHTLY_SRC if set, else lightly==1.6.0 fetched from
    PyPI with `pip download --no-deps` (no install: lightly.loss imports torchvision, which does not install
    beside this torch). Skips only when the wheel cannot be had (no network)."""
    import subprocess
    import sys
    import zipfile

    if os.environ.get("CAE_LIGHTLY_SRC"):
        return os.environ["CAE_LIGHTLY_SRC"]
    dest = tmp_path_factory.mktemp("lightly")
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest),
                        f"lightly=={LIGHTLY_VERSION}"], check=True, capture_output=True, timeout=180)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"lightly {LIGHTLY_VERSION} wheel not available (pip download failed: {exc})")
    wheels = list(dest.glob("lightly-*.whl"))
    if not wheels:
        pytest.skip("pip download produced no lightly wheel")
    with zipfile.ZipFile(wheels[0]) as zf:
        zf.extractall(dest / "src")
    return str(dest / "src")


def test_against_lightly_reference_losses(lightly_src):
    """Oracle: lightly's own VICRegLoss, BarlowTwinsLoss and W-MSE (Whitening2d + norm_mse_loss). lightly.loss
    cannot be imported here (its __init__ needs torchvision), so the three loss files are loaded directly from the
    wheel. Tolerance rtol 1e-12 in float64: the same arithmetic in a different order."""
    LIGHTLY_SRC = lightly_src
    import importlib.util
    import sys
    import types
    root = os.path.join(LIGHTLY_SRC, "lightly")
    for pkg, path in (("lightly", root), ("lightly.utils", f"{root}/utils"), ("lightly.loss", f"{root}/loss")):
        module = types.ModuleType(pkg)
        module.__path__ = [path]
        sys.modules.setdefault(pkg, module)

    def load(name, path):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    load("lightly.utils.dist", f"{root}/utils/dist.py")
    vic = load("lightly.loss.vicreg_loss", f"{root}/loss/vicreg_loss.py")
    bt = load("lightly.loss.barlow_twins_loss", f"{root}/loss/barlow_twins_loss.py")
    wm = load("lightly.loss.wmse_loss", f"{root}/loss/wmse_loss.py")
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = int(rng.integers(1, 6))
        B = p + int(rng.integers(1, 40))
        a = t(full_rank_batch(rng, B, p))
        b = a + t(rng.standard_normal((B, p)))
        close(C.vicreg(a, b), float(vic.VICRegLoss()(a, b)), rtol=1e-12)
        close(C.barlow_twins(a, b), float(bt.BarlowTwinsLoss(lambda_param=0.0051)(a, b)), rtol=1e-12)
        whiten = wm.Whitening2d(p, track_running_stats=False).double()
        close(C.wmse(a, b), float(wm.norm_mse_loss(whiten(a), whiten(b))), rtol=1e-12)


# ------------------------------------------------------------------------------------ numpy input and stacks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", C.names())
def test_numpy_arrays_are_accepted_and_give_the_tensor_value(name, dtype):
    """Issue 12 item 10: numpy float arrays are wrapped (torch.from_numpy), so the value is bit-identical to the
    value on the same tensors, returned as a tensor of that dtype (oracle: the tensor call, itself checked
    against the numpy transcriptions above)."""
    rng = np.random.default_rng(21)
    a, b = full_rank_batch(rng, 12, 3).astype(dtype), full_rank_batch(rng, 12, 3).astype(dtype)
    got = C.get(name)(a, b, paired=9)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.from_numpy(a).dtype
    assert float(got) == float(C.get(name)(torch.from_numpy(a), torch.from_numpy(b), paired=9))


@pytest.mark.parametrize("paired", [None, 9])
@pytest.mark.parametrize("name", C.names())
def test_a_stack_of_batches_gives_each_batch_its_own_value_and_gradient(name, paired):
    """z: (R, B, p) -> (R,): run r's value and gradient equal the coupling of batch r alone (oracle: the 2-D
    call, checked against numpy above). The batched LAPACK/BLAS kernels may sum in another order: float64
    agreement to 1e-12 relative (values O(1..100), a few hundred flops each, cond(V) <= 625)."""
    rng = np.random.default_rng(22)
    a = np.stack([full_rank_batch(rng, 12, 3) for _ in range(4)])
    b = np.stack([0.5 * a[r] + full_rank_batch(rng, 12, 3) for r in range(4)])
    za, zb = t(a, True), t(b, True)
    f = C.get(name)
    stacked = f(za, zb, paired=paired)
    assert stacked.shape == (4,)
    ga, gb = torch.autograd.grad(stacked.sum(), (za, zb))
    for r in range(4):
        xa, xb = t(a[r], True), t(b[r], True)
        one = f(xa, xb, paired=paired)
        close(stacked[r].detach(), float(one.detach()), rtol=1e-12)
        ha, hb = torch.autograd.grad(one, (xa, xb))
        assert torch.allclose(ga[r], ha, rtol=1e-10, atol=1e-12) and torch.allclose(gb[r], hb, rtol=1e-10, atol=1e-12)


def test_a_singular_batch_in_a_stack_is_named_by_its_index():
    rng = np.random.default_rng(23)
    a = np.stack([full_rank_batch(rng, 12, 2) for _ in range(3)])
    s = rng.standard_normal((12, 1))
    a[2] = np.concatenate([s, 2 * s], axis=1)                    # run 2 collapsed onto a line
    with pytest.raises(ValueError, match=r"z_j\[2\] has a singular covariance"):
        C.msv(t(a[[0, 1, 0]]), t(a))
