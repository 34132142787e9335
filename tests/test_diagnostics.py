"""cae_core.diagnostics.batch_diagnostics against its transcription, a second route to the spectrum, and the
collapse semantics.

Oracles: tests/bounded_diagnostics.py (the definitions -- norms, an explicit gap, RankMe of Garrido et al. 2023 as
exp of the Shannon entropy of sigma / ||sigma||_1, the correlation -- in running-error arithmetic), the
eigenvalues of V by a symmetric eigen-solver (a different algorithm from the library's SVD route),
numpy.linalg.matrix_rank, and exact properties of lines, points and scalings. Tolerances are derived: each
transcribed value carries a bound on the rounding of any float64 evaluation of its definition (LAPACK's documented
backward error for the singular values and eigenvalues, tests/rounding_bounds.py); the library must lie within
twice it, two routes within the sum of their bounds. Everything in float64.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import bounded_couplings as BC
import bounded_diagnostics as BD
from cae_core.diagnostics import batch_diagnostics, log10_spectrum
from cae_theory.rounding import Bounded, trace
from rounding_bounds import U64, agree, assert_within, carried, eigvalsh, exact, log10

KEYS = {"max_code_norm", "mean_code_norm", "max_coordinate_gap", "lambda_min", "lambda_max", "total_variance",
        "numerical_rank", "effective_rank", "max_abs_corr", "batch_size", "dim"}


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
def test_matches_its_transcription(z):
    got = batch_diagnostics(torch.tensor(z))
    want = BD.diagnostics(exact(z))
    assert set(got) == KEYS and all(isinstance(v, float) for v in got.values())
    for key, bounded in want.items():
        assert_within(got[key], bounded, key)
    B, p = z.shape
    if p == 1:
        assert got["max_abs_corr"] == 1.0        # convention: one coordinate lies on a line
    # an integer decision: numpy.linalg.matrix_rank on the centred batch, with numpy's tolerance
    # max(B, p) eps sigma_max plus the centring's rounding 2 eps ||z||_F (the documented rule)
    c = z - z.mean(axis=0)
    sigma_max = np.linalg.svd(c, compute_uv=False)[0]
    tol = max(B, p) * np.finfo(float).eps * sigma_max + 2 * np.finfo(float).eps * np.linalg.norm(z)
    assert got["numerical_rank"] == float(np.linalg.matrix_rank(c, tol=tol) if sigma_max > tol else 0)
    # second route: the eigenvalues of V by a symmetric eigen-solver, and tr V = sum of the eigenvalues
    V = BC.covariance(exact(z))
    ev = eigvalsh(V)
    assert agree(carried(got["lambda_max"], want["lambda_max"]), ev[p - 1])
    assert agree(carried(got["lambda_min"], want["lambda_min"]), ev[0])
    assert agree(carried(got["total_variance"], want["total_variance"]), trace(V))


@given(z=batches(), log_beta=st.floats(-6, 6))
# found by the default profile in a fresh environment: two rows far from the origin; their centred batch has rank
# 1 and a rounding residue in its second singular value that numpy's tolerance alone counted at one scale only
@example(z=np.array([[1.41979414, 2.27814751], [2.03018624, 2.35553155]]), log_beta=1.0)
def test_pure_shrinkage_is_invisible_to_rank_measures(z, log_beta):
    # the rank measures depend on ratios of singular values, so pure shrinkage (Prop. 1's collapse) leaves them
    # unchanged; the literal quantities of the propositions (norms, gaps, eigenvalues) are not. Exact identities
    # for the exact scaling; beta * z is rounded (in the bound of its transcription)
    beta = Bounded.exact(10.0 ** log_beta)
    scaled = exact(z) * beta
    d, s = batch_diagnostics(torch.tensor(z)), batch_diagnostics(torch.tensor(scaled.value))
    want_d, want_s = BD.diagnostics(exact(z)), BD.diagnostics(scaled)
    factor = {"max_code_norm": beta, "mean_code_norm": beta, "max_coordinate_gap": beta,
              "lambda_max": beta * beta, "total_variance": beta * beta, "effective_rank": None}
    if z.shape[1] > 1:
        factor["max_abs_corr"] = None
    for key, f in factor.items():
        unscaled = carried(d[key], want_d[key])
        assert agree(carried(s[key], want_s[key]), unscaled if f is None else unscaled * f), key
    assert s["numerical_rank"] == d["numerical_rank"]


@given(z=batches())
def test_effective_rank_bounds(z):
    d = batch_diagnostics(torch.tensor(z))
    # exp(H(q)) lies in [1, number of non-zero sigma] exactly; the value may miss the range by its rounding (the
    # transcription's bound, which covers tiny non-zero sigma where exact ones vanish)
    slack = 2 * float(BD.effective_rank(exact(z)).error)
    assert 1.0 - slack <= d["effective_rank"] <= min(z.shape[0] - 1, z.shape[1]) + slack
    assert 0.0 <= d["lambda_min"] <= d["lambda_max"]


def test_codes_on_a_line():
    # dimensional collapse: z_s = t_s u + c (Prop. 2's limit up to scaling of coordinates)
    # The exact line has effective rank 1, lambda_min 0 and |corr| 1; the float batch is the line up to the
    # rounding of its construction, which its transcription carries (inputs t, u, c exact), so the library's value
    # lies within that bound of the line's exact value.
    t = np.random.default_rng(0).standard_normal((40, 1))
    line = exact(t) @ exact(np.array([[1.0, -2.0, 0.5]])) + exact(np.array([3.0, 1.0, -1.0]))
    d = batch_diagnostics(torch.tensor(line.value))
    want = BD.diagnostics(line)
    assert d["numerical_rank"] == 1.0
    for key, ideal in (("effective_rank", 1.0), ("lambda_min", 0.0), ("max_abs_corr", 1.0)):
        assert_within(d[key], Bounded(ideal, want[key].error), key, factor=1.0)


def test_equal_coordinates_have_zero_gap():
    # Prop. 2's literal quantity: |z(m) - z(m')| = 0 for all m, m' when all coordinates coincide
    t = np.random.default_rng(1).standard_normal((10, 1))
    z = np.repeat(t, 4, axis=1)
    d = batch_diagnostics(torch.tensor(z))
    assert d["max_coordinate_gap"] == 0.0     # max - min of equal numbers: exact
    # identical columns: the exact correlation of the float batch is 1
    assert_within(d["max_abs_corr"], Bounded(1.0, BD.max_abs_corr(exact(z)).error), "max_abs_corr", factor=1.0)


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
    z32 = torch.tensor(z, dtype=torch.float32, requires_grad=True)
    as32 = batch_diagnostics(z32)
    # the float32 numbers are z moved by their rounding |z - z32|: their transcription, with that distance as the
    # inputs' error, bounds the distance of as32 from the diagnostics of z itself
    near = z32.detach().double().numpy()
    moved = BD.diagnostics(Bounded(near, np.abs(z - near)))
    assert agree(carried(as32["lambda_min"], moved["lambda_min"]),
                 carried(reference["lambda_min"], BD.diagnostics(exact(z))["lambda_min"]))


def test_log10_spectrum():
    z = np.random.default_rng(4).standard_normal((3, 4))
    spectrum = log10_spectrum(torch.tensor(z))
    lam = BD.spectrum(exact(z))
    assert_within(spectrum[:2], log10(lam[:2]), "log10 spectrum")
    # rank 2 after centring (3 rows): the exact lambda_3 of the float batch is 0, so the computed one is within
    # its bound of 0 (sigma_3 is rounding)
    top = np.log10(float(lam.error[2]))
    assert spectrum[2] <= top + 4 * U64 * abs(top)          # both logarithms to 1 ulp
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
