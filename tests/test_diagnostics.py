"""cae_core.diagnostics.batch_diagnostics against numpy/scipy transcriptions, and the collapse semantics.

Oracles: numpy (norms, an explicit loop over coordinate pairs for the gap, np.cov + np.linalg.eigvalsh,
np.linalg.matrix_rank, np.corrcoef) and scipy.stats.entropy for RankMe (Garrido et al. 2023: exp of the
Shannon entropy of sigma / ||sigma||_1). float64 throughout; values agree to rounding (rtol 1e-10; eigenvalues
to atol 1e-12 * tr V, the absolute accuracy of eigvalsh).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from cae_core.diagnostics import batch_diagnostics, log10_spectrum

KEYS = {"max_code_norm", "mean_code_norm", "max_coordinate_gap", "lambda_min", "lambda_max", "total_variance",
        "numerical_rank", "effective_rank", "max_abs_corr", "batch_size", "dim"}




def np_diagnostics(z: np.ndarray) -> dict[str, float]:
    B, p = z.shape
    norms = np.linalg.norm(z, axis=1)
    gap = max((np.abs(z[:, m] - z[:, k]).max() for m, k in itertools.combinations(range(p), 2)), default=0.0)
    lam = np.linalg.eigvalsh(np.atleast_2d(np.cov(z, rowvar=False)))
    c = z - z.mean(axis=0)
    sigma = np.linalg.svd(c, compute_uv=False)
    corr = np.atleast_2d(np.corrcoef(z, rowvar=False))
    off = np.abs(corr - np.diag(np.diag(corr))).max() if p > 1 else 1.0
    return {"max_code_norm": norms.max(), "mean_code_norm": norms.mean(), "max_coordinate_gap": gap,
            "lambda_min": max(lam[0], 0.0), "lambda_max": lam[-1], "total_variance": lam.sum(),
            "numerical_rank": float(np.linalg.matrix_rank(c)),
            "effective_rank": float(np.exp(scipy.stats.entropy(sigma / sigma.sum()))),
            "max_abs_corr": off, "batch_size": float(B), "dim": float(p)}


@st.composite
def batches(draw):
    """Generic (B, p) batches: random mixing of Gaussian rows plus an offset (any correlation, B <> p)."""
    B = draw(st.integers(2, 30))
    p = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mixing = np.eye(p) + draw(st.floats(0, 3)) * rng.standard_normal((p, p))
    return rng.standard_normal((B, p)) @ mixing + draw(st.floats(-5, 5))


@given(z=batches())
@example(z=np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.5]]))
def test_matches_numpy_transcription(z):
    got = batch_diagnostics(torch.tensor(z))
    expected = np_diagnostics(z)
    assert set(got) == KEYS
    tr = expected["total_variance"]
    for key in KEYS:
        atol = 1e-12 * max(1.0, tr) if key.startswith("lambda") else 0.0
        assert abs(got[key] - expected[key]) <= atol + 1e-10 * abs(expected[key]), key
        assert isinstance(got[key], float)


@given(z=batches(), log_beta=st.floats(-6, 6))
def test_pure_shrinkage_is_invisible_to_rank_measures(z, log_beta):
    # the rank measures depend on ratios of singular values, so pure shrinkage (Prop. 1's collapse) leaves them
    # unchanged; the literal quantities of the propositions (norms, gaps, eigenvalues) are not
    beta = 10.0 ** log_beta
    d, s = batch_diagnostics(torch.tensor(z)), batch_diagnostics(torch.tensor(beta * z))
    for key in ("max_code_norm", "mean_code_norm", "max_coordinate_gap"):
        assert abs(s[key] - beta * d[key]) <= 1e-10 * beta * d[key] + 1e-300
    for key in ("lambda_max", "total_variance"):
        assert abs(s[key] - beta ** 2 * d[key]) <= 1e-10 * beta ** 2 * d[key]
    for key in ("effective_rank", "max_abs_corr", "numerical_rank"):
        assert abs(s[key] - d[key]) <= 1e-9, key


@given(z=batches())
def test_effective_rank_bounds(z):
    d = batch_diagnostics(torch.tensor(z))
    # exp(H(q)) lies in [1, number of non-zero sigma]; rounding puts tiny non-zero sigma where exact ones vanish,
    # which raises the entropy by at most ~1e-14 (q log q with q ~ 1e-16)
    assert 1.0 - 1e-12 <= d["effective_rank"] <= min(z.shape[0] - 1, z.shape[1]) + 1e-12
    assert 0.0 <= d["lambda_min"] <= d["lambda_max"]


def test_codes_on_a_line():
    # dimensional collapse: z_s = t_s u + c (Prop. 2's limit up to scaling of coordinates)
    t = np.random.default_rng(0).standard_normal((40, 1))
    z = t @ np.array([[1.0, -2.0, 0.5]]) + np.array([3.0, 1.0, -1.0])
    d = batch_diagnostics(torch.tensor(z))
    assert d["numerical_rank"] == 1.0
    assert abs(d["effective_rank"] - 1.0) < 1e-12
    assert d["lambda_min"] < 1e-28 * d["lambda_max"] + 1e-300
    assert d["max_abs_corr"] == pytest.approx(1.0, abs=1e-12)


def test_equal_coordinates_have_zero_gap():
    # Prop. 2's literal quantity: |z(m) - z(m')| = 0 for all m, m' when all coordinates coincide
    t = np.random.default_rng(1).standard_normal((10, 1))
    d = batch_diagnostics(torch.tensor(np.repeat(t, 4, axis=1)))
    assert d["max_coordinate_gap"] == 0.0 and d["max_abs_corr"] == pytest.approx(1.0, abs=1e-12)


def test_conventions():
    one_dim = batch_diagnostics(torch.tensor([[1.0], [2.0], [4.0]], dtype=torch.float64))
    assert one_dim["max_abs_corr"] == 1.0 and one_dim["max_coordinate_gap"] == 0.0
    assert one_dim["effective_rank"] == 1.0
    point = batch_diagnostics(torch.ones(5, 3, dtype=torch.float64))  # every row the same point
    assert point["effective_rank"] == 0.0 and point["numerical_rank"] == 0.0
    assert point["lambda_max"] == 0.0 and point["max_abs_corr"] == 1.0
    constant_column = batch_diagnostics(torch.tensor([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]], dtype=torch.float64))
    assert constant_column["max_abs_corr"] == 1.0
    wide = batch_diagnostics(torch.tensor(np.random.default_rng(2).standard_normal((3, 5))))
    assert wide["lambda_min"] == 0.0 and wide["numerical_rank"] == 2.0  # B <= p: rank <= B - 1


def test_accepts_numpy_float32_and_grad_tensors():
    z = np.random.default_rng(3).standard_normal((20, 3))
    reference = batch_diagnostics(torch.tensor(z))
    assert batch_diagnostics(z) == reference
    as32 = batch_diagnostics(torch.tensor(z, dtype=torch.float32, requires_grad=True))
    assert as32["lambda_min"] == pytest.approx(reference["lambda_min"], rel=1e-5)  # float32 input rounding


def test_log10_spectrum():
    z = np.random.default_rng(4).standard_normal((3, 4))
    spectrum = log10_spectrum(torch.tensor(z))
    lam = np.sort(np.linalg.eigvalsh(np.cov(z, rowvar=False)))[::-1]
    np.testing.assert_allclose(spectrum[:2], np.log10(lam[:2]), rtol=1e-10)
    assert spectrum[2] < -25  # rank 2 after centring: sigma_3 is rounding (~1e-16), lambda_3 ~ 1e-32
    assert spectrum[3] == -300.0  # the p - B = 1 eigenvalue that is exactly 0 is reported at the floor
    with pytest.raises(ValueError, match="floor must be a finite number > 0"):
        log10_spectrum(torch.tensor(z), floor=0.0)


@pytest.mark.parametrize("z, error, match", [
    (torch.ones(1, 3, dtype=torch.float64), ValueError, "z must have at least 2 rows"),
    (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), ValueError, "z must contain only finite"),
    (torch.ones(3, dtype=torch.float64), ValueError, "z must be a 2-D tensor"),
    (torch.ones(3, 2, dtype=torch.int64), TypeError, "z must have a real floating-point dtype"),
    (np.ones((3, 2), dtype=np.int64), TypeError, "z must have a real floating-point dtype"),
    ([[1.0, 2.0], [3.0, 4.0]], TypeError, "z must be a torch.Tensor"),
])
def test_bad_input(z, error, match):
    with pytest.raises(error, match=match):
        batch_diagnostics(z)
