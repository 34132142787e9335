"""Oracles of the experiments (cae_experiments.cca, .evaluation, .io) against independent computations.

Expected values come from: the generalised symmetric eigenproblem C12 C22^-1 C21 u = rho^2 C11 u
(scipy.linalg.eigh, a different algorithm from the Cholesky + SVD of cca.py); the definition of the canonical
correlation as the maximal correlation of two projections; the derivation in cae_experiments.cca for the floor;
brute force (all permutations, all pairwise distances, ECDFs) for the scipy/scikit-learn wrappers.
Tolerances: float64 on well-conditioned inputs of size <= 300 x 12; the two algorithms agree to ~1e-12,
we allow 1e-9 (relative).
"""
from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest
import scipy.linalg
from hypothesis import example, given, settings, strategies as st

from cae_experiments.cca import canonical_correlations, coupling_floor, top_canonical_correlation
from cae_experiments.evaluation import (aligned_knn_accuracy, hungarian_pairs, knn_accuracy, ks_two_sample,
                                        nearest_neighbor_distance, whiten)
from cae_experiments.io import standard_history, to_jsonable
from cae_theory.statistics import squared_euclidean_coupling, standardize

TOL = 1e-9
#: These properties are cheap to state but each example does O(300 x 9) linear algebra; 30 derandomised
#: examples per property keep the file at a few seconds (the ``thorough`` profile is not capped here).
FEW = settings() if os.environ.get("CAE_HYPOTHESIS_PROFILE") == "thorough" else settings(max_examples=30)


def paired_inputs(seed: int, n: int = 300, d1: int = 5, d2: int = 4, shared: float = 1.0):
    """X1, X2 sharing a 2-D signal; built constructively (no filtering)."""
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n, 2))
    X1 = s @ rng.normal(size=(2, d1)) * shared + rng.normal(size=(n, d1))
    X2 = s @ rng.normal(size=(2, d2)) * shared + rng.normal(size=(n, d2))
    return X1, X2


def eigh_canonical(X1, X2):
    """Oracle: rho^2 are the generalised eigenvalues of (C12 C22^-1 C21, C11); u the eigenvectors."""
    C1, C2 = X1 - X1.mean(0), X2 - X2.mean(0)
    C11, C22, C12 = C1.T @ C1, C2.T @ C2, C1.T @ C2
    A = C12 @ np.linalg.solve(C22, C12.T)
    w, U = scipy.linalg.eigh(A, C11)
    order = np.argsort(w)[::-1]
    rho = np.sqrt(np.clip(w[order], 0, 1))
    u = U[:, order[0]]
    v = np.linalg.solve(C22, C12.T @ u)
    return rho, u, v


@FEW
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 3.0))
@example(0, 0.0)
def test_canonical_correlations_match_generalised_eigenproblem(seed, shared):
    X1, X2 = paired_inputs(seed, shared=shared)
    rho = canonical_correlations(X1, X2)
    oracle, _, _ = eigh_canonical(X1, X2)
    assert rho.shape == (4,)
    np.testing.assert_allclose(rho, oracle[:4], rtol=TOL, atol=TOL)


@FEW
@given(st.integers(0, 2**31 - 1))
def test_top_correlation_bounds_every_projection_and_is_attained(seed):
    """Definition: rho_1 = max over u, v of corr(X1 u, X2 v); random projections never exceed it, the
    eigenproblem's directions attain it."""
    X1, X2 = paired_inputs(seed)
    rho1 = top_canonical_correlation(X1, X2)
    rng = np.random.default_rng(seed + 1)
    for _ in range(20):
        a, b = X1 @ rng.normal(size=5), X2 @ rng.normal(size=4)
        assert abs(np.corrcoef(a, b)[0, 1]) <= rho1 + TOL
    _, u, v = eigh_canonical(X1, X2)
    assert np.corrcoef(X1 @ u, X2 @ v)[0, 1] == pytest.approx(rho1, rel=TOL)


def test_invertible_map_gives_correlation_one_and_invariance():
    X1, X2 = paired_inputs(3)
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    T = Q @ np.diag([0.1, 0.5, 1.0, 2.0, 10.0]) @ Q.T          # SPD, built as Q diag(l) Q^T
    np.testing.assert_allclose(canonical_correlations(X1, X1 @ T), 1.0, atol=1e-9)
    np.testing.assert_allclose(canonical_correlations(X1 @ T + 3.0, X2), canonical_correlations(X1, X2), rtol=TOL)


@FEW
@given(st.integers(0, 2**31 - 1), st.integers(1, 4))
@example(0, 3)
def test_floor_bounds_standardised_linear_codes_and_is_attained(seed, p):
    """The canonical-correlation floor: for codes z_i = standardise(X_i U_i) over the N rows (1/(N-1)),
    sum_s ||z_s1 - z_s2||^2 >= (N-1) p (2 - 2 rho_1), equality when every column is the top canonical pair."""
    X1, X2 = paired_inputs(seed)
    n = X1.shape[0]
    rho1 = top_canonical_correlation(X1, X2)
    floor = coupling_floor(rho1, n, p)
    rng = np.random.default_rng(seed)
    Z = standardize(np.stack([X1 @ rng.normal(size=(5, p)), X2 @ rng.normal(size=(4, p))]))
    assert squared_euclidean_coupling(Z) >= floor * (1 - TOL)
    _, u, v = eigh_canonical(X1, X2)
    Zc = standardize(np.stack([np.tile(X1 @ u, (p, 1)).T, np.tile(X2 @ v, (p, 1)).T]))
    assert squared_euclidean_coupling(Zc) == pytest.approx(floor, rel=1e-8)
    assert coupling_floor(rho1, n, p, unbiased=False) == pytest.approx(floor * n / (n - 1), rel=1e-14)


def test_floor_units_match_cae_core_mse_on_batch_standardised_codes():
    """line-collapse converts the floor to cae_core's units: mse = mean over rows of ||z_s1 - z_s2||^2 of codes
    standardised by BatchStandardize (unbiased). Checked against cae_core's own modules."""
    torch = pytest.importorskip("torch")
    from cae_core import couplings
    from cae_core.latent_norm import BatchStandardize

    X1, X2 = paired_inputs(5, n=100)
    raw = [X1[:, :3], X2[:, :3]]
    bn = BatchStandardize(3).double().train()
    z = [bn(torch.as_tensor(r)) for r in raw]
    mse = float(couplings.get("mse")(z[0], z[1]))
    assert mse == pytest.approx(squared_euclidean_coupling(standardize(np.stack(raw))) / 100, rel=1e-9)


@pytest.mark.parametrize("bad, exc, match", [
    (dict(X1=np.ones((10, 2)), X2=np.ones((9, 2))), ValueError, "same number of rows"),
    (dict(X1=np.ones((5, 2)), X2=np.ones((5, 3))), ValueError, "more rows"),
    (dict(X1=np.ones((30, 2)), X2=np.random.default_rng(0).normal(size=(30, 2))), ValueError, "positive definite"),
    (dict(X1=[[np.nan, 1.0]] * 30, X2=np.ones((30, 1))), ValueError, "finite"),
    (dict(X1="abc", X2=np.ones((30, 1))), TypeError, "X1"),
])
def test_canonical_correlations_rejects_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        canonical_correlations(**bad)


@pytest.mark.parametrize("args, exc, match", [
    ((1.5, 10, 2), ValueError, "rho1"), ((0.5, 1, 2), ValueError, "n_rows"), ((0.5, 10, 0), ValueError, "p"),
    ((0.5, 10.0, 2), TypeError, "n_rows"),
])
def test_coupling_floor_rejects_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        coupling_floor(*args)


def brute_knn(R, yr, Q, yq, k):
    D = ((Q[:, None, :] - R[None, :, :]) ** 2).sum(-1)
    votes = yr[np.argsort(D, axis=1)[:, :k]]
    pred = np.array([np.bincount(v).argmax() for v in votes])
    return float(np.mean(pred == yq))


@FEW
@given(st.integers(0, 2**31 - 1))
def test_knn_accuracy_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    R, Q = rng.normal(size=(40, 2)), rng.normal(size=(15, 2))
    yr, yq = rng.integers(0, 3, 40), rng.integers(0, 3, 15)
    # k = 1: no vote ties, so the brute-force majority vote is unambiguous.
    assert knn_accuracy(R, yr, Q, yq, n_neighbors=1) == brute_knn(R, yr, Q, yq, 1)


def test_aligned_knn_undoes_an_affine_map_between_arms():
    """Arm j = arm i mapped by an invertible affine map: after whitening + Procrustes the cross-arm accuracy
    equals the within-arm accuracy (the map is undone exactly), while the raw cross-arm accuracy is not."""
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), 50)
    Zi = rng.normal(size=(4, 2))[y] * 3 + rng.normal(size=(200, 2))
    A = np.array([[0.0, -5.0], [0.3, 0.0]])
    Zj = Zi @ A.T + 7.0
    ref, qry = np.arange(200) % 4 != 0, np.arange(200) % 4 == 0
    within = knn_accuracy(whiten(Zi[ref]), y[ref], whiten(Zi[qry], Zi[ref]), y[qry])
    aligned = aligned_knn_accuracy(Zi[ref], Zj[ref], y[ref], Zi[qry], y[qry])
    assert aligned == pytest.approx(within)
    assert knn_accuracy(Zj[ref], y[ref], Zi[qry], y[qry]) < within


def test_whiten_gives_identity_covariance():
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(100, 3)) @ rng.normal(size=(3, 3)) + 4
    W = whiten(Z)
    np.testing.assert_allclose(np.cov(W, rowvar=False), np.eye(3), atol=1e-10)


@FEW
@given(st.integers(0, 2**31 - 1))
def test_hungarian_pairs_match_brute_force_per_label(seed):
    rng = np.random.default_rng(seed)
    A, B = rng.normal(size=(7, 2)), rng.normal(size=(6, 2))
    la, lb = np.array([0, 0, 0, 1, 1, 2, 2]), np.array([0, 0, 1, 1, 1, 3])
    ia, ib = hungarian_pairs(A, la, B, lb)
    assert np.all(la[ia] == lb[ib])
    assert len(set(ia.tolist())) == len(ia) and len(set(ib.tolist())) == len(ib)
    for label in (0, 1):
        ra, rb = np.flatnonzero(la == label), np.flatnonzero(lb == label)
        small, large, swap = (ra, rb, False) if len(ra) <= len(rb) else (rb, ra, True)
        best = min(sum(np.linalg.norm(A[a] - B[b]) for a, b in
                       (zip(perm, small) if swap else zip(small, perm)))
                   for perm in itertools.permutations(large, len(small)))
        sel = la[ia] == label
        assert np.linalg.norm(A[ia[sel]] - B[ib[sel]], axis=1).sum() == pytest.approx(best, rel=1e-12)
    assert not np.any(la[ia] == 2)          # label 2 only in A, label 3 only in B: never paired


def test_nearest_neighbor_distance_and_ks_match_brute_force():
    rng = np.random.default_rng(3)
    Q, R = rng.normal(size=(30, 2)), rng.normal(size=(50, 2))
    brute = np.sqrt(((Q[:, None] - R[None]) ** 2).sum(-1)).min(axis=1)
    np.testing.assert_allclose(nearest_neighbor_distance(Q, R), brute, rtol=1e-12)
    a, b = rng.normal(size=40), rng.normal(0.5, size=60)
    grid = np.sort(np.concatenate([a, b]))
    D = np.max(np.abs(np.searchsorted(np.sort(a), grid, "right") / 40 - np.searchsorted(np.sort(b), grid, "right") / 60))
    res = ks_two_sample(a, b)
    assert res["statistic"] == pytest.approx(D, rel=1e-12)
    assert 0.0 <= res["pvalue"] <= 1.0


def test_evaluation_rejects_bad_input():
    with pytest.raises(ValueError, match="n_neighbors"):
        knn_accuracy(np.ones((3, 2)), [0, 1, 0], np.ones((2, 2)), [0, 1], n_neighbors=5)
    with pytest.raises(ValueError, match="query_labels"):
        knn_accuracy(np.ones((3, 2)), [0, 1, 0], np.ones((2, 2)), [0], n_neighbors=1)
    with pytest.raises(ValueError, match="same width"):
        nearest_neighbor_distance(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="labels_b"):
        hungarian_pairs(np.ones((3, 2)), [0, 0, 1], np.ones((2, 2)), [0])


def test_history_reduction_keeps_least_collapsed_arm_and_json_has_no_nan():
    hist = {"step": [0, 1], "total": [3.0, 2.0], "coupling": [1.0, 0.5], "recon_0": [1.0, 0.5],
            "recon_1": [2.0, 1.0], "max_code_norm_0": [1.0, 0.1], "max_code_norm_1": [2.0, 0.2],
            "lambda_min_0": [0.5, 0.1], "lambda_min_1": [0.4, 0.2], "max_abs_corr_0": [0.2, 0.9],
            "max_abs_corr_1": [0.3, 0.8]}
    h = standard_history(hist, 2)
    assert h["recon"] == [3.0, 1.5] and h["max_code_norm"] == [2.0, 0.2]
    assert h["lambda_min"] == [0.5, 0.2] and h["max_abs_corr"] == [0.2, 0.8]
    assert h["effective_rank"] == [] and h["per_arm"]["recon"] == [[1.0, 0.5], [2.0, 1.0]]
    assert json.loads(json.dumps(to_jsonable({"a": np.array([1.0, np.nan])}))) == {"a": [1.0, None]}
    with pytest.raises(ValueError, match="k must be"):
        standard_history(hist, 1)
