"""Each experiment at --quick size: it runs, writes metrics.json (issue-4 schema), non-empty PNGs and
summary.txt, and shows its qualitative outcome. Each experiment runs ONCE per test session (module fixtures).

Margins. The propositions are statements about the infimum of the loss, not about a finite Adam run, so no
margin can be derived exactly for a 300-800-step run; each assertion below names the theoretical reason for
its direction and uses a deliberately weak factor, with the value measured at --quick seed 0 quoted next to
it, so a regression has to be large to pass unnoticed and a pass is not a tuned coincidence.
"""
from __future__ import annotations

import dataclasses

import json

import numpy as np
import pytest

from cae_cli.main import main as cae_main
from cae_experiments import EXPERIMENTS
from cae_experiments.runner import run_experiment
from experiment_outputs import experiment_outputs


@pytest.fixture(scope="module")
def shrinkage(tmp_path_factory):
    """Run through the command line (the CLI path is part of what is tested)."""
    out = tmp_path_factory.mktemp("shrinkage")
    assert cae_main(["experiment", "shrinkage", "--quick", "--no-progress", "--out", str(out)]) == 0
    return experiment_outputs(out)


@pytest.fixture(scope="module")
def line_collapse(tmp_path_factory):
    out = tmp_path_factory.mktemp("line_collapse")
    run_experiment("line-collapse", out, quick=True)
    return experiment_outputs(out)


@pytest.fixture(scope="module")
def couplings(tmp_path_factory):
    out = tmp_path_factory.mktemp("couplings")
    run_experiment("couplings", out, quick=True)
    return experiment_outputs(out)


# ------------------------------------------------------------------------------------------------ shrinkage

def test_shrinkage_codes_shrink_for_every_positive_lambda(shrinkage):
    """Prop. 1: z -> beta z with D -> D / beta keeps the reconstruction and multiplies the mse coupling by
    beta^2, so for lam > 0 the loss decreases along the scale direction at every point, while at lam = 0
    nothing pushes the scale down. Required: final/initial max code norm at least 2x smaller than at lam = 0
    (measured at --quick: 6x (lam 1) to 30x (lam 100) smaller), and the coupling, which scales as the norm
    squared, at least 4x smaller (measured: > 1e4x)."""
    comp = {(c["k"], c["lam"]): c for c in shrinkage["comparison"]}
    assert {k for k, _ in comp} == {2, 3}
    for (k, lam), c in comp.items():
        if lam > 0:
            assert c["norm_ratio_vs_lam0"] < 0.5, (k, lam, c)
            assert c["coupling_vs_lam0"] < 0.25, (k, lam, c)
    for k in (2, 3):   # larger lam, stronger pull toward 0 (measured 0.17 vs 0.04)
        assert comp[(k, 100.0)]["norm_ratio_vs_lam0"] < comp[(k, 1.0)]["norm_ratio_vs_lam0"]


def test_shrinkage_costs_little_reconstruction_at_lambda_one(shrinkage):
    """Prop. 1: the shrinking direction costs no reconstruction at all (the infimum of the loss equals the
    uncoupled optimum). A finite Adam run lags, because the decoder must grow to undo the shrinkage, and the
    lag grows with lam (full-size run: 1.08x at lam 1, 1.66x at lam 100). Required at --quick (400 steps):
    lam = 1 within 2x of lam = 0 (measured 1.24x and 1.32x). This ratio is a transient: at 300 steps it was
    4.4x for k = 3 (lam = 0 converges sooner), so the quick size must not be cut below 400 steps."""
    for c in shrinkage["comparison"]:
        if c["lam"] == 1.0:
            assert c["recon_vs_lam0"] < 2.0, c


# -------------------------------------------------------------------------------------------- line collapse

def test_line_collapse_coupling_never_below_cca_floor_and_approaches_it(line_collapse):
    """The canonical-correlation floor (cae_experiments.cca): for linear arms and codes standardised over the rows
    S, the mse coupling is >= (|S|-1)/|S| p (2 - 2 rho_1(S)) -- a theorem, so the only slack is float64 rounding (relative 1e-9)
    for the gaps and relative margins the experiment computes in float64 before writing, and the 6-digit
    rounding of metrics.json (relative 1e-6) when coupling and floor are compared as stored. Checked on the
    whole data at every snapshot and on 20 fresh batches per snapshot against their own floor. Approach
    from above: the gap to the floor must shrink at least 10x (measured ~190x)."""
    c = line_collapse["cca_floor"]
    floor = c["floor_mean_over_rows"]
    assert 0 < c["rho_1"] < 1 and floor > 0
    for run in line_collapse["runs"]:
        for s in run["snapshots"]:
            assert s["coupling"] >= s["floor"] * (1 - 1e-6), s["step"]
            assert min(s["batch_floor_margins"]) >= -1e-9, s["step"]
    assert c["min_whole_data_gap"] >= -1e-9 * floor
    assert c["gap_end"] < c["gap_start"] / 10


def test_line_collapse_codes_collapse_to_a_line_and_the_control_less(line_collapse):
    """Prop. 2: with batch-standardised codes and the mse coupling the infimum has all coordinates on one
    line: lambda_min(V) -> 0, |corr| -> 1, effective rank -> 1. Required for lam = 10 (whole data unless said):
    lambda_min at least 10x smaller than at the start (measured 146x) and smaller than in the lam = 0 control
    (0.005 vs 0.07); 1 - max|corr| at least 10x smaller than at the start (measured 130x); the training-batch
    effective rank (3 at the start) down by at least 1 (measured 2.98 -> 1.51) and below the control's."""
    main, control = line_collapse["runs"]
    assert main["lam"] == 10.0 and control["lam"] == 0.0
    s0, s1, ctrl = main["snapshots"][0], main["snapshots"][-1], control["snapshots"][-1]
    assert s1["lambda_min"] < s0["lambda_min"] / 10
    assert s1["lambda_min"] < ctrl["lambda_min"]
    assert 1 - s1["max_abs_corr"] < (1 - s0["max_abs_corr"]) / 10
    erank = main["history"]["effective_rank"]
    assert erank[-1] < erank[0] - 1
    assert erank[-1] < control["history"]["effective_rank"][-1]


# ------------------------------------------------------------------------------------------------ couplings

def test_couplings_panel_runs_every_coupling(couplings):
    labels = [r["label"] for r in couplings["runs"]]
    assert labels == ["uncoupled", "mse", "bn+mse", "fc", "msv", "vicreg", "barlow_twins", "wmse", "dcca"]
    assert not [r["error"] for r in couplings["runs"] if r.get("error")]


def test_couplings_mse_shrinks_bn_mse_collapses_fixes_do_not(couplings):
    """Prop. 1: mse without normalisation shrinks -> whole-data max code norm at least 2x below the uncoupled
    reference. Prop. 2: bn+mse tends to a line -> its max|corr| is above, and its effective rank below, those of
    fc and msv, whose minimisers are not degenerate (fc is invariant to any common invertible map, msv to
    scaling). fc and msv keep 2-D codes: effective rank > 1.5, i.e. nearer 2 (full) than 1 (a line); their
    k-NN digit accuracy within and across arms (after alignment) is > 0.25, well above the chance level
    0.1 of ten balanced digits."""
    t = {row["label"]: row for row in couplings["table"]}
    assert t["mse"]["max_code_norm"] < t["uncoupled"]["max_code_norm"] / 2
    for fix in ("fc", "msv"):
        assert t["bn+mse"]["max_abs_corr"] > t[fix]["max_abs_corr"]
        assert t["bn+mse"]["effective_rank"] < t[fix]["effective_rank"]
        assert t[fix]["effective_rank"] > 1.5
        assert t[fix]["knn_within"] > 0.25 and t[fix]["knn_across_aligned"] > 0.25


# ---------------------------------------------------------------------------------------------------- CLI

def test_cli_lists_experiments_and_rejects_bad_arguments(capsys):
    assert cae_main(["experiment", "--list"]) == 0
    listing = capsys.readouterr().out
    for name in EXPERIMENTS:
        assert name in listing
    assert cae_main(["experiment", "no-such-thing"]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert cae_main(["experiment", "shrinkage", "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err
    assert cae_main(["experiment"]) == 2


def test_experiment_is_reproducible_from_its_seed():
    """Same seed -> identical metrics (CPU training is bit-identical per seed; cae_core.train); another seed
    differs. (3 steps of each shrinkage run; figures are not needed for this.)"""
    from cae_experiments import shrinkage

    a, b, c = (shrinkage.run(dataclasses.replace(shrinkage.QUICK, steps=3, seed=s)) for s in (3, 3, 4))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert c["runs"][0]["history"]["coupling"] != a["runs"][0]["history"]["coupling"]


def test_run_experiment_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="name must be one of"):
        run_experiment("nope", tmp_path)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        run_experiment("shrinkage", tmp_path, steps=0)
    with pytest.raises(ValueError, match="seed"):
        run_experiment("shrinkage", tmp_path, seed=-1)


# ------------------------------------------------------------------------------------------ lambda trade-off

@pytest.fixture(scope="module")
def tradeoff(tmp_path_factory):
    out = tmp_path_factory.mktemp("tradeoff")
    run_experiment("lambda-tradeoff", out, quick=True)
    return experiment_outputs(out)


def test_lambda_tradeoff_coupling_buys_cross_modal_reconstruction(tradeoff):
    """Remark of the supplement: at lam = 0 each arm's code is free up to any invertible map, so the two
    arms' codes are unrelated and decoding modality j from arm i's code fails; the coupling aligns the codes.
    Required (validation split): for every lam > 0 the normalised cross-modal error at least 10x below lam = 0
    (measured 36x-48x) and the mean ||z1 - z2||^2 at least 10x below lam = 0 (measured ~70x). The price: lam = 0
    is the reconstruction optimum, so within-modal error at lam = 100 is not below lam = 0 (measured 1.44x)."""
    t = {r["lam"]: r for r in tradeoff["normalised"]}
    assert t[0.0]["within"] == [1.0, 1.0]
    for lam, r in t.items():
        if lam > 0:
            assert max(r["cross"]) < min(t[0.0]["cross"]) / 10, (lam, r)
            assert r["val_code_distance"] < t[0.0]["val_code_distance"] / 10, (lam, r)
    assert min(t[100.0]["within"]) > 1.0


# ------------------------------------------------------------------------------------------------ fc vs msv

@pytest.fixture(scope="module")
def fc_msv(tmp_path_factory):
    out = tmp_path_factory.mktemp("fc_msv")
    run_experiment("fc-vs-msv", out, quick=True)
    return experiment_outputs(out)


def test_fc_vs_msv_grid_statistics_and_sanity(fc_msv):
    """Every cell of the quick grid has n_seeds finite validation errors; mean and standard error equal a
    direct numpy recomputation (np.mean, np.std(ddof=1) / sqrt(n)); every trained model beats predicting the
    feature means (an autoencoder can represent that predictor; measured 0.24-0.32 vs 0.74); the winner
    label follows the 2-SE rule."""
    cfg = fc_msv["config"]
    cells = {(r["sweep"], r["latent_dim"], r["batch_size"], r["coupling"]) for r in fc_msv["results"]}
    expected = {("latent_dim", d, cfg["dim_sweep_batch"], c) for d in cfg["latent_dims"] for c in ("fc", "msv")}
    expected |= {("batch_size", cfg["batch_sweep_dim"], b, c) for b in cfg["batch_sizes"] for c in ("fc", "msv")}
    assert cells == expected
    for r in fc_msv["results"]:
        v = np.asarray(r["val_recon"])
        assert not r["errors"] and v.size == cfg["n_seeds"]
        # metrics.json stores 6 significant digits (cae_experiments.io.JSON_DIGITS): values < 1 carry an
        # absolute rounding error <= 5e-7 each, so mean and SE recomputed from them agree to 1e-5 (the SEs
        # measured are ~1e-3, so this still tells a wrong formula, e.g. ddof 0 or no sqrt(n), apart).
        assert r["mean"] == pytest.approx(v.mean(), abs=1e-5)
        assert r["se"] == pytest.approx(v.std(ddof=1) / np.sqrt(v.size), abs=1e-5)
        assert np.all(v < fc_msv["trivial_val_error"])
    for w in fc_msv["winners"]:   # no run failed above, so every cell is decided by the 2-SE rule
        d, se = w["fc_minus_msv"], w["se_of_difference"]
        assert w["winner"] == ("msv" if d > 2 * se else "fc" if d < -2 * se else "tie (within 2 SE)")


# ------------------------------------------------------------------------------------------------- configs

@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_has_a_frozen_config_with_full_and_quick(name):
    """Issue 14: a frozen dataclass Config per experiment, FULL and QUICK instances, metrics['config'] = its asdict
    (plain JSON), and run(cfg) as the entry point."""
    from cae_experiments import get_experiment
    from cae_experiments.io import to_jsonable

    module = get_experiment(name)
    assert dataclasses.is_dataclass(module.Config) and module.Config.__dataclass_params__.frozen
    assert isinstance(module.FULL, module.Config) and isinstance(module.QUICK, module.Config)
    assert module.QUICK.quick and not module.FULL.quick and module.QUICK.steps < module.FULL.steps
    with pytest.raises(dataclasses.FrozenInstanceError):
        module.FULL.steps = 1
    json.dumps(to_jsonable(dataclasses.asdict(module.QUICK)))
    assert "cfg" in module.run.__code__.co_varnames[:1]


@pytest.mark.parametrize("field, value", [("lr", 0.05), ("alphas", (1.0, 0.1)), ("coupling_floor", 10.0),
                                          ("n_paired", 50), ("data_noise", 0.5)])
def test_lambda_tradeoff_config_values_are_the_values_run(field, value):
    """Issue 14: lambda-tradeoff's dict said lr and alphas but never passed them. Each Config value changes the
    run: 3 steps with the value changed give other training losses than with QUICK's (a value that is written down
    but not used would leave them bit-identical)."""
    from cae_experiments import lambda_tradeoff as lt

    base = dataclasses.replace(lt.QUICK, steps=3, lams=(1.0,))
    a = lt.run(base)["runs"][0]["history"]["total"]
    b = lt.run(dataclasses.replace(base, **{field: value}))["runs"][0]["history"]["total"]
    assert a != b
