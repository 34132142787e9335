"""Experiment ``discovery`` (the supplement's FACS protocol on synthetic data, cae_experiments.discovery): its
helpers against direct numpy/scipy transcriptions, and the experiment at --quick size (run ONCE per session,
module fixture): protocol invariants and the held-out nearest-neighbour outcome."""
from __future__ import annotations

import dataclasses

from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from cae_experiments import discovery as disc
from cae_experiments.evaluation import correlation_pruned
from cae_theory.rounding import sqrt
from rounding_bounds import U64, exact
from cae_experiments.runner import run_experiment
from experiment_outputs import experiment_outputs

FEW = settings(max_examples=25)


# ------------------------------------------------------------------------------------------- helpers vs oracles

@FEW
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]))
def test_correlation_pruned_matches_corrcoef_and_quantile_per_label(seed, q):
    """Oracle: numpy.corrcoef of each pair's two rows, numpy.quantile per label (a separate transcription of the
    rule the function documents)."""
    rng = np.random.default_rng(seed)
    P, d = 40, 6
    xa = rng.normal(size=(P, d))
    xb = xa + rng.uniform(0.1, 3.0, size=(P, 1)) * rng.normal(size=(P, d))     # varied correlations
    labels = rng.integers(0, 4, size=P)
    corr = np.array([np.corrcoef(xa[r], xb[r])[0, 1] for r in range(P)])
    expected = np.zeros(P, dtype=bool)
    for t in np.unique(labels):
        rows = np.flatnonzero(labels == t)
        expected[rows] = corr[rows] >= np.quantile(corr[rows], q)
    # a correlation can sit exactly on its label's threshold (q = 0 or 1, or an odd count at q = 0.5) and the
    # two formulas agree only to ~1e-15 there, so those rows are compared only where they are clear of it
    keep = correlation_pruned(xa, xb, labels, q)
    thresholds = np.array([np.quantile(corr[labels == t], q) for t in labels])
    clear = np.abs(corr - thresholds) > 1e-12
    np.testing.assert_array_equal(keep[clear], expected[clear])


def test_correlation_pruned_keeps_the_upper_half_of_every_label():
    """By construction: pair r of label t has correlation increasing with its noise-free share, so the median
    rule keeps exactly the better-correlated half of each label (even counts, no ties)."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(8, 20))
    noise = rng.normal(size=(8, 20))
    weights = np.array([0.1, 0.2, 0.3, 0.4, 0.15, 0.25, 0.35, 0.45])
    xb = base + noise / weights[:, None] * 0.1
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    keep = correlation_pruned(base, xb, labels, 0.5)
    corr = np.array([np.corrcoef(base[r], xb[r])[0, 1] for r in range(8)])
    for t in (0, 1):
        rows = np.flatnonzero(labels == t)
        top = rows[np.argsort(corr[rows])[2:]]
        assert set(np.flatnonzero(keep & (labels == t))) == set(top)


@pytest.mark.parametrize("args, exc, match", [
    ((np.ones((3, 4)), np.ones((3, 5)), [0, 0, 1]), ValueError, "x_a and x_b must be paired rows"),
    ((np.ones((3, 1)), np.ones((3, 1)), [0, 0, 1]), ValueError, ">= 2 features"),
    ((np.eye(3), np.eye(3), [0, 1]), ValueError, "labels must be a 1-D array"),
    ((np.eye(3), np.eye(3), [0, 0, 1], 1.5), ValueError, "quantile must be a number in"),
    ((np.eye(3), np.eye(3), [0, 0, 1], True), ValueError, "quantile must be a number in"),
    ((np.ones((3, 3)), np.eye(3), [0, 0, 1]), ValueError, "must not be constant"),
    ((np.full((3, 3), np.nan), np.eye(3), [0, 0, 1]), ValueError, "x_a"),
])
def test_correlation_pruned_rejects_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        correlation_pruned(*args)


def test_make_subsets_follows_the_protocol():
    """Types of ONLY_IN in their subset only; A and B disjoint and covering every cell; HELD_OUT of each type
    in each subset held back (rounded)."""
    cfg = disc.FULL
    y = np.arange(3200) % cfg.n_types
    idx = disc.make_subsets(y, 3, cfg.only_in(), cfg.held_out_fraction)
    rows = np.concatenate(list(idx.values()))
    assert len(rows) == len(y) and len(np.unique(rows)) == len(y)
    for t, s in cfg.only_in().items():
        other = "B" if s == "A" else "A"
        assert not np.any(y[idx[f"{other}_train"]] == t) and not np.any(y[idx[f"{other}_test"]] == t)
    for s in ("A", "B"):
        for t in np.unique(y[np.concatenate([idx[f"{s}_train"], idx[f"{s}_test"]])]):
            n_test = np.sum(y[idx[f"{s}_test"]] == t)
            n_all = n_test + np.sum(y[idx[f"{s}_train"]] == t)
            assert n_test == int(round(cfg.held_out_fraction * n_all))


@pytest.mark.parametrize("bad", [{}, {"16": "A"}, {"3": "C"}, [("3", "A")], {"x": "A"}, {"-1": "A"}])
def test_discovery_run_rejects_bad_only_in(bad):
    with pytest.raises(ValueError, match="types_only_in must be a non-empty dict"):
        disc.run(dataclasses.replace(disc.QUICK, types_only_in=bad))


def test_held_out_test_matches_brute_force():
    """Oracle: all pairwise distances by numpy broadcasting (argmin for the neighbour), medians by numpy, KS by
    scipy.stats.ks_2samp, label fractions counted directly."""
    rng = np.random.default_rng(1)
    Q, R = rng.normal(size=(25, 2)), rng.normal(size=(60, 2))
    q_labels = np.where(np.arange(25) < 8, 7, np.arange(25) % 3)       # type 7 only on the query side
    r_labels = np.where(np.arange(60) < 15, 9, np.arange(60) % 3)      # type 9 only on the reference side
    D = np.sqrt(((Q[:, None] - R[None]) ** 2).sum(-1))
    d, nn = D.min(axis=1), D.argmin(axis=1)
    t = disc.held_out_test(Q, q_labels, R, r_labels, [7], [9], keep_distances=True)
    assert (t["n_specific"], t["n_shared"]) == (8, 17)
    # Derived bounds: each distance is sqrt of a sum of squares, bounded for any evaluation (the library's
    # nearest-neighbour search or the brute force here); a median of n values is 1-Lipschitz in the largest
    # error, plus the rounding of the halved sum of the two middle ones (u |median|). The KS statistic is
    # max |F_a - F_b| over the pooled sample, F = count / n: both computations give each candidate within 3u
    # (two quotients, a difference, of numbers <= 1), and the same distances order the pooled sample alike
    # (no near-ties here), so the statistics agree within 6u and the p-value, a function of the statistic and
    # the sample sizes, is then the same number.
    diff = exact(Q[:, None, :]) - exact(R[None, :, :])
    dist = -((-sqrt((diff * diff).sum(axis=2))).max(axis=1))
    for key, part in (("median_distance_specific", slice(0, 8)), ("median_distance_shared", slice(8, 25))):
        err = float(dist.error[part].max()) + U64 * abs(float(np.median(dist.value[part])))
        assert abs(t[key] - np.median(d[part])) <= 2 * err, key
    ks = scipy.stats.ks_2samp(d[:8], d[8:])
    assert abs(t["ks"]["statistic"] - ks.statistic) <= 6 * U64
    if t["ks"]["statistic"] == ks.statistic:
        assert t["ks"]["pvalue"] == ks.pvalue
    # distances reported to 4 decimals: the same decimals unless a distance lies within its bound of a rounding
    # boundary, which none does here (checked)
    boundaries = np.abs(np.round(d[:8], 4) - d[:8]) - 0.5e-4
    assert np.all(np.abs(boundaries) > 2 * dist.error[:8])
    assert t["distances_specific"] == np.round(d[:8], 4).tolist()
    assert t["nn_other_specific"] == sum(r_labels[nn[i]] == 9 for i in range(8)) / 8
    assert t["other_specific_share"] == 15 / 60
    assert t["nn_same_type_shared"] == sum(r_labels[nn[i]] == q_labels[i] for i in range(8, 25)) / 17


# ------------------------------------------------------------------------------------ the experiment (--quick)

def _outputs(out: Path) -> dict:
    metrics = experiment_outputs(out)
    assert len([f for f in metrics["files"] if f.endswith(".png")]) == 3
    assert len(metrics["runs"]) == 3
    return metrics


@pytest.fixture(scope="module")
def discovery(tmp_path_factory):
    out = tmp_path_factory.mktemp("discovery")
    run_experiment("discovery", out, quick=True)
    return _outputs(out)


def test_discovery_protocol_invariants(discovery):
    """Hungarian pairs exist only for shared types (0-11); pruning at the median keeps at least half and at
    most half + 1 of each type's pairs; the batch composition of the paper (500 per subset, 200 paired) fits the
    pools; the held-out groups hold both subset-specific and shared cells; KS results are probabilities."""
    shared = {str(t) for t in range(disc.FULL.n_types) if t not in disc.FULL.only_in()}
    assert set(discovery["hungarian_pairs_per_type"]) == shared == set(discovery["pairs_per_type"])
    for t, n in discovery["hungarian_pairs_per_type"].items():
        assert n / 2 <= discovery["pairs_per_type"][t] <= n / 2 + 1
    n = discovery["n_cells"]
    cfg = discovery["config"]
    assert n["pairs"] >= cfg["n_paired"]
    assert min(n["A_unpaired"], n["B_unpaired"]) >= cfg["batch_size"] - cfg["n_paired"]
    assert n["A_unpaired"] + n["pairs"] == n["A_train"] and n["B_unpaired"] + n["pairs"] == n["B_train"]
    every = {**discovery["reference_tests"], "coupled": discovery["tests"]}
    assert list(every) == list(disc.REPRESENTATIONS)
    for tests in every.values():
        for t in tests.values():
            assert t["n_specific"] > 0 and t["n_shared"] > 0
            assert 0.0 <= t["ks"]["pvalue"] <= 1.0 and 0.0 <= t["ks"]["statistic"] <= 1.0


def test_discovery_data_condition_holds_in_the_ground_truth_latent(discovery):
    """Precondition of the experiment (prediction (a) of cae_experiments.discovery): in the data's own 5-D
    latent the held-out subset-specific cells are farther from the other subset than shared cells. With 16
    centres ~ N(0, I_5) a type's nearest other centre is typically 1.3-1.9 away (median over types, seeds 0-4)
    while clouds have spread 0.3, so a cell of a missing type is about a centre gap from the other subset and a
    shared cell has same-type neighbours closer than the spread: the KS test must be decisive and the medians
    at least a factor 2 apart (measured at --quick seed 0: D = 1.00 and 0.97, p ~ 1e-25, medians 1.25 vs 0.35
    and 1.31 vs 0.33)."""
    for t in discovery["reference_tests"]["latent"].values():
        assert t["median_distance_specific"] > 2 * t["median_distance_shared"]
        assert t["ks"]["pvalue"] < 1e-6


def test_discovery_coupled_code_keeps_specific_types_away_from_the_other_subsets_shared_types(discovery):
    """Diagnostic of the mechanism (cae_experiments.discovery, "Outcome"), not the paper's test: with only the
    other subset's SHARED-type cells as the reference, held-out subset-specific cells are farther than held-out
    shared cells (KS p < 0.05, larger median), both ways. Reason: the distance term puts paired shared cells at
    the same codes in both arms, and each arm must give its own specific types a region of their own to
    reconstruct them, so that region holds no shared cell of either arm. Post hoc (found at full size, seed 0),
    then held at full size in seeds 0-2 and at --quick seed 0 (D = 0.87 and 0.79, p ~ 1e-18 and 1e-14)."""
    for t in discovery["diagnostic_tests"][disc.SHARED_ONLY].values():
        assert t["median_distance_specific"] > t["median_distance_shared"] and t["ks"]["pvalue"] < 0.05


@pytest.mark.xfail(strict=True, reason="negative at --quick seed 0 (KS p = 0.93 / 0.86); at full size negative at "
                                       "seed 0 in the runs of 2026-11-24, positive at seeds 0-2 in the re-run of "
                                       "2026-12-01: each subset's specific types can fill the same free regions of "
                                       "the shared types' common layout in the coupled 2-D code, or not "
                                       "(cae_experiments.discovery, 'Outcome')")
def test_discovery_subset_specific_types_are_farther_from_the_other_subset(discovery):
    """The paper's FACS claim: held-out cells of a type absent from the other subset have larger
    nearest-neighbour distances to it in the coupled code than cells of shared types (KS p < 0.05 and larger
    median), in both directions. Strict xfail: the outcome depends on the seed and on the code at the rounding
    level (the --quick seed is negative), so a pass here means the run changed and the docstring's table is stale."""
    for t in discovery["tests"].values():
        assert t["median_distance_specific"] > t["median_distance_shared"] and t["ks"]["pvalue"] < 0.05
