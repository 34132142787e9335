"""Oracles of the experiments (cae_experiments.cca, .evaluation, .io) against independent computations.

Expected values come from: the generalised symmetric eigenproblem C12 C22^-1 C21 u = rho^2 C11 u, reduced by
the symmetric whitening C11^{-1/2} (an eigendecomposition) and solved by a symmetric eigen-solver -- a different
route from the Cholesky + SVD of cca.py; the definition of the canonical correlation as the maximal correlation of
two projections (max_v corr(X1 u, X2 v)^2 is the pencil's Rayleigh quotient of u); the derivation in cae_experiments.cca
for the floor; brute force (all permutations, all pairwise distances, ECDFs) for the scipy/scikit-learn wrappers.
Tolerances are derived (tests/rounding_bounds.py): cca.py is transcribed in running-error arithmetic (Cholesky,
triangular solves, LAPACK's SVD bound), the second route likewise (LAPACK's eigen-solver bound), so the library
lies within twice its transcription's bound and the two routes agree within the sum of their bounds; how far an
eigen-solver's vector is from attaining the maximum follows from its residual (Kato-Temple); ranges and
inequalities are missed by at most the bounds of the quantities compared.
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
from cae_theory.rounding import Bounded, clip, sqrt
from cae_theory.statistics import squared_euclidean_coupling, standardize
import bounded_couplings as BC
from rounding_bounds import (U64, agree, assert_within, carried, cholesky, eigvalsh, exact, frobenius_upper,
                             inverse_sqrt_spd, solve_lower, svdvals)

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


def cca_transcription(X1: Bounded, X2: Bounded) -> Bounded:
    """cca.py's canonical correlations: C = centred X, C11 = L1 L1^T, C22 = L2 L2^T (Cholesky),
    K = L1^{-1} C12 L2^{-T}, rho = svd(K), clipped to [0, 1] (the exact values lie there)."""
    C1, C2 = BC.centred(X1), BC.centred(X2)
    L1, L2 = cholesky(C1.mT @ C1), cholesky(C2.mT @ C2)
    K = solve_lower(L1, C1.mT @ C2)
    K = solve_lower(L2, K.mT).mT
    return clip(svdvals(K), 0.0, 1.0)


def pencil(X1: Bounded, X2: Bounded) -> tuple[Bounded, Bounded, Bounded, Bounded]:
    """(A, C11, C12, C22) of the generalised eigenproblem A u = rho^2 C11 u, A = C12 C22^-1 C21 formed as W^T W
    with W = L2^{-1} C21 (C22 = L2 L2^T)."""
    C1, C2 = BC.centred(X1), BC.centred(X2)
    C11, C22, C12 = C1.mT @ C1, C2.mT @ C2, C1.mT @ C2
    W = solve_lower(cholesky(C22), C12.mT)
    return W.mT @ W, C11, C12, C22


def eigen_route(X1: Bounded, X2: Bounded) -> Bounded:
    """The canonical correlations by the second route: the eigenvalues rho^2 of C11^{-1/2} A C11^{-1/2}, descending,
    then square roots (clipped to [0, 1])."""
    A, C11, _, _ = pencil(X1, X2)
    S = inverse_sqrt_spd(C11)
    rho2 = eigvalsh(BC.symmetric_part(S @ A @ S))
    rho2 = Bounded(rho2.value[::-1].copy(), rho2.error[::-1].copy())
    return sqrt(clip(rho2, 0.0, 1.0))


def rayleigh(u: np.ndarray, X1: Bounded, X2: Bounded) -> tuple[Bounded, Bounded, float]:
    """theta(u) = u^T A u / u^T C11 u (= max_v corr(X1 u, X2 v)^2, exactly) for the float vector u, its residual
    norm bound ||A u - theta C11 u||, and a lower bound of lambda_min(C11) * ||u||^2 <= u^T C11 u."""
    A, C11, _, _ = pencil(X1, X2)
    ub = exact(u[:, None])
    num, den = (ub.mT @ A @ ub)[0, 0], (ub.mT @ C11 @ ub)[0, 0]
    theta = num / den
    r = A @ ub - (C11 @ ub) * theta
    lam = eigvalsh(C11)
    return theta, Bounded(frobenius_upper(r), 0.0), float(lam.value[0] - lam.error[0])


def attained_interval(u: np.ndarray, X1: Bounded, X2: Bounded, rho: Bounded) -> tuple[float, float]:
    """[lo, hi] containing rho_1 (exact), from the float vector u: rho_1^2 >= theta(u) (a Rayleigh quotient of
    the pencil (A, C11)), and by Kato-Temple, with lambda_2 < theta, lambda_1 - theta <= ||r||^2_{C11^-1} /
    (||u||^2_{C11} (theta - lambda_2)) <= ||r||^2 / (lambda_min(C11)^2 ||u||^2 (theta - lambda_2)); lambda_2 from
    the transcription's rho_2."""
    theta, r, lam_min = rayleigh(u, X1, X2)
    t_lo, t_hi = float(theta.value - theta.error), float(theta.value + theta.error)
    rho2_sq = rho[1] * rho[1]
    lam2_hi = float(rho2_sq.value + rho2_sq.error)
    assert lam2_hi < t_lo, "Kato-Temple needs theta above lambda_2"
    kato = float(r.value) ** 2 / (lam_min ** 2 * float(u @ u) * (1 - 4 * U64) * (t_lo - lam2_hi))
    return float(np.sqrt(t_lo)) * (1 - 2 * U64), float(np.sqrt(t_hi + kato)) * (1 + 2 * U64)


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
    assert rho.shape == (4,)
    mine = cca_transcription(exact(X1), exact(X2))
    assert_within(rho, mine, "canonical correlations")
    assert agree(carried(rho, mine), eigen_route(exact(X1), exact(X2))[:4])


@FEW
@given(st.integers(0, 2**31 - 1))
def test_top_correlation_bounds_every_projection_and_is_attained(seed):
    """Definition: rho_1 = max over u, v of corr(X1 u, X2 v); random projections never exceed it, the
    eigenproblem's directions attain it."""
    X1, X2 = paired_inputs(seed)
    rho1 = top_canonical_correlation(X1, X2)
    mine = cca_transcription(exact(X1), exact(X2))
    top = float(mine.value[0] + 2 * mine.error[0])        # rho_1 <= top (the library within 2x its bound)
    rng = np.random.default_rng(seed + 1)
    for _ in range(20):
        ua, ub = rng.normal(size=5), rng.normal(size=4)
        a, b = exact(X1) @ exact(ua), exact(X2) @ exact(ub)     # the projections, bounded (numpy's products)
        ca, cb = BC.centred(a[:, None]), BC.centred(b[:, None])
        corr = (ca.mT @ cb)[0, 0] / sqrt((ca.mT @ ca)[0, 0] * (cb.mT @ cb)[0, 0])
        assert abs(np.corrcoef(a.value, b.value)[0, 1]) <= top + 2 * float(corr.error)
    # attained: max_v corr(X1 u, X2 v) = sqrt(theta(u)) for the eigen-solver's u, within Kato-Temple of rho_1
    _, u, _ = eigh_canonical(X1, X2)
    lo, hi = attained_interval(u, exact(X1), exact(X2), mine)
    e = float(mine.error[0])
    assert lo - e <= rho1 <= hi + e, (lo, rho1, hi)


def test_invertible_map_gives_correlation_one_and_invariance():
    X1, X2 = paired_inputs(3)
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    T = Q @ np.diag([0.1, 0.5, 1.0, 2.0, 10.0]) @ Q.T          # SPD, built as Q diag(l) Q^T
    # X1 T is rounded (its bound enters the transcription); the exact X1 T spans X1's columns: every rho is 1
    mapped = exact(X1) @ exact(T)
    mine = cca_transcription(exact(X1), mapped)
    assert_within(canonical_correlations(X1, mapped.value), Bounded(np.ones(5), mine.error), "rho", factor=1.0)
    shifted = exact(X1) @ exact(T) + 3.0
    assert agree(carried(canonical_correlations(shifted.value, X2), cca_transcription(shifted, exact(X2))),
                 carried(canonical_correlations(X1, X2), cca_transcription(exact(X1), exact(X2))))


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
    mine = cca_transcription(exact(X1), exact(X2))
    floor_b = (n - 1) * p * (2.0 - 2.0 * carried(rho1, mine[0]))   # the floor, rho_1 with its bound
    rng = np.random.default_rng(seed)
    U1, U2 = rng.normal(size=(5, p)), rng.normal(size=(4, p))
    Z = standardize(np.stack([X1 @ U1, X2 @ U2]))
    coupling = standardised_coupling(exact(X1) @ exact(U1), exact(X2) @ exact(U2))
    assert_within(squared_euclidean_coupling(Z), coupling, "coupling")
    assert squared_euclidean_coupling(Z) >= floor - 2 * float(coupling.error) - float(floor_b.error)
    # attained: codes from the eigen-solver's u and its partner v; corr(X1 u, X2 v) lies between the Kato-Temple
    # bound of sqrt(theta(u)) times the cosine of v's angle to the best partner and rho_1, so the coupling of the
    # exactly standardised codes is (n - 1) p (2 - 2 corr), within that of the floor
    _, u, v = eigh_canonical(X1, X2)
    Zc = standardize(np.stack([np.tile(X1 @ u, (p, 1)).T, np.tile(X2 @ v, (p, 1)).T]))
    lo, _ = attained_interval(u, exact(X1), exact(X2), mine)
    _, _, C12, C22 = pencil(exact(X1), exact(X2))
    s_res = C22 @ exact(v[:, None]) - C12.mT @ exact(u[:, None])          # C22 v - C21 u
    lam22 = eigvalsh(C22)
    # ||v||_{C22} from below (the quadratic form and its evaluation's rounding), the distance to the best partner
    # v* = C22^-1 C21 u in the same norm from above: ||C22 v - C21 u|| / sqrt(lambda_min(C22))
    quad = exact(v[None, :]) @ C22 @ exact(v[:, None])
    v_norm = float(np.sqrt(float((quad.value - quad.error)[0, 0])))
    dist = frobenius_upper(s_res) / np.sqrt(float(lam22.value[0] - lam22.error[0]))
    sin = dist / (v_norm - dist)
    corr_lo = lo * (1 - sin ** 2)
    attained = standardised_coupling(exact(X1) @ exact(np.tile(u, (p, 1)).T), exact(X2) @ exact(np.tile(v, (p, 1)).T))
    assert_within(squared_euclidean_coupling(Zc), attained, "coupling")
    top = (n - 1) * p * (2.0 - 2.0 * corr_lo)
    assert floor - 2 * float(attained.error) - float(floor_b.error) <= squared_euclidean_coupling(Zc)
    assert squared_euclidean_coupling(Zc) <= top + 2 * float(attained.error) + float(floor_b.error)
    # the biased form: n p (2 - 2 rho_1) = [(n - 1) p (2 - 2 rho_1)] n / (n - 1), both evaluated in floats
    rho = Bounded.exact(rho1)
    assert agree(carried(coupling_floor(rho1, n, p, unbiased=False), n * p * (2.0 - 2.0 * rho)),
                 carried(floor * n / (n - 1), (n - 1) * p * (2.0 - 2.0 * rho) * n / (n - 1)))


def standardised_coupling(P1: Bounded, P2: Bounded, eps: float = 0.0) -> Bounded:
    """squared_euclidean_coupling(standardize([P1, P2])) transcribed: each column centred and divided by its
    1/(S-1) standard deviation (sqrt(var + eps): ``eps`` an uncertainty on the variance, see below), then the sum
    of squared differences."""
    S = P1.shape[0]

    def std(P):
        c = BC.centred(P)
        var = (c * c).sum(axis=0, keepdims=True) / (S - 1)
        return c / sqrt(var + Bounded(0.0, eps)) if eps else c / sqrt(var)
    d = std(P1) - std(P2)
    return (d * d).sum()


def test_floor_units_match_cae_core_mse_on_batch_standardised_codes():
    """line-collapse converts the floor to cae_core's units: mse = mean over rows of ||z_s1 - z_s2||^2 of codes
    standardised by BatchStandardize (unbiased). Checked against cae_core's own modules: BatchStandardize divides
    by sqrt(var + eps), eps = 1e-10, cae_theory's standardize by sqrt(var); the transcription takes the variance
    with an uncertainty of eps, so its bound covers both exact values (and their float evaluations)."""
    torch = pytest.importorskip("torch")
    from cae_core import couplings
    from cae_core.latent_norm import BatchStandardize

    X1, X2 = paired_inputs(5, n=100)
    raw = [X1[:, :3], X2[:, :3]]
    bn = BatchStandardize(3).double().train()
    z = [bn(torch.as_tensor(r)) for r in raw]
    mse = float(couplings.get("mse")(z[0], z[1]))
    both = standardised_coupling(exact(raw[0]), exact(raw[1]), eps=bn.eps) / 100
    assert_within(mse, both, "mse")
    assert_within(squared_euclidean_coupling(standardize(np.stack(raw))) / 100, both, "coupling / 100")


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
    assert aligned == within        # accuracies are counts / 50: equal, not close
    assert knn_accuracy(Zj[ref], y[ref], Zi[qry], y[qry]) < within


def test_whiten_gives_identity_covariance():
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(100, 3)) @ rng.normal(size=(3, 3)) + 4
    W = whiten(Z)
    # W = (Z - mu) V^{-1/2} (transcribed: LAPACK's eigen-solver bound), whose exact covariance is I; np.cov of
    # the library's W carries that bound through the covariance's own rounding
    want = BC.centred(exact(Z)) @ inverse_sqrt_spd(BC.covariance(exact(Z)))
    assert_within(W, want, "whiten")
    cov = BC.covariance(carried(W, want))
    assert_within(np.cov(W, rowvar=False), Bounded(np.eye(3), cov.error), "cov(W)")


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
        def cost(pairs):         # the total distance of a matching, bounded (any order of the sums)
            d = exact(np.array([A[a] for a, _ in pairs])) - exact(np.array([B[b] for _, b in pairs]))
            return sqrt((d * d).sum(axis=1)).sum()
        matchings = [list(zip(perm, small) if swap else zip(small, perm))
                     for perm in itertools.permutations(large, len(small))]
        costs = [sum(np.linalg.norm(A[a] - B[b]) for a, b in m) for m in matchings]
        best = int(np.argmin(costs))
        sel = la[ia] == label
        ours = list(zip(ia[sel], ib[sel]))
        assert agree(carried(np.linalg.norm(A[ia[sel]] - B[ib[sel]], axis=1).sum(), cost(ours)),
                     carried(costs[best], cost(matchings[best])))
    assert not np.any(la[ia] == 2)          # label 2 only in A, label 3 only in B: never paired


def test_nearest_neighbor_distance_and_ks_match_brute_force():
    rng = np.random.default_rng(3)
    Q, R = rng.normal(size=(30, 2)), rng.normal(size=(50, 2))
    d = exact(Q[:, None, :]) - exact(R[None, :, :])
    brute = -((-sqrt((d * d).sum(axis=2))).max(axis=1))       # min over the reference rows, bounded
    assert_within(nearest_neighbor_distance(Q, R), brute, "nearest-neighbour distance")
    a, b = rng.normal(size=40), rng.normal(0.5, size=60)
    grid = np.sort(np.concatenate([a, b]))
    D = np.max(np.abs(np.searchsorted(np.sort(a), grid, "right") / 40 - np.searchsorted(np.sort(b), grid, "right") / 60))
    res = ks_two_sample(a, b)
    # both are max_x |F_a(x) - F_b(x)| over the pooled sample with F = count / n: each candidate is two
    # quotients and a difference of numbers <= 1, three roundings <= 3u, and the max takes no more
    assert abs(res["statistic"] - D) <= 2 * 3 * U64
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
