"""``cae experiment NAME --sweep`` (issue 6): the lam runs of shrinkage and lambda-tradeoff trained as one
vectorised model (cae_core.sweep.fit_sweep) give the metrics of the same experiment without --sweep.

Oracle: the same experiment, same seed and steps, run without --sweep (one cae_core.train.fit per lam). fit_sweep
promises to equal that loop up to floating-point summation order (its docstring; tests/test_sweep.py checks it
on the model level), so every final value and every logged history value of every run must agree:

- shrinkage (no latent norm, mse coupling), float32: relative 1e-5, the float32 tolerance of
  tests/test_sweep.py (rounding 6e-8 per op, amplified by training); observed <= 4e-7 after 40 steps. A wrong
  lam, batch order or initial weight changes values at O(1e-3 .. 1) (neighbouring lam runs differ by >= 6e-4).
- lambda-tradeoff (batch-standardised codes, msv): the loss is invariant to a constant shift of the pre-norm
  code, so the code bias and the biases of hidden units active on a whole batch get a gradient that is rounding
  noise, which Adam turns into steps of size ~lr (fit_sweep's docstring). Those biases may differ by up to
  ~lr per step, and every metric (standardised codes and data of unit scale) depends on them at first order
  through the eval-mode running means and the ReLU gating, so the bound is lr * steps = 1e-3 * 20 = 2e-2
  relative (an order-of-magnitude bound from that mechanism, not a theorem); observed <= 1e-3 after 20 steps.
  Few steps on purpose: the difference grows with steps (observed 7e-5 -> 6e-4 on training values from 20 to
  40 steps). That the bound can fail is checked: the same run with another seed is far outside it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cae_cli.main import main as cae_main
from cae_experiments import EXPERIMENTS
from cae_experiments.common import LR
from cae_experiments.runner import SWEEP_EXPERIMENTS, run_experiment

SHRINKAGE_STEPS = 40
TRADEOFF_STEPS = 20
SHRINKAGE_TOL = 1e-5                        # float32 tolerance of tests/test_sweep.py
TRADEOFF_TOL = LR * TRADEOFF_STEPS          # batch-norm bias noise: ~lr per Adam step (see above)


def rel(a, b) -> float:
    """max |a - b| / max |a| (relative to the reference a, the run without --sweep)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300)) if a.size else 0.0


def worst_difference(reference: dict, other: dict) -> tuple[float, str]:
    """The largest relative difference over every run's final values and logged histories, and where."""
    assert [r["label"] for r in reference["runs"]] == [r["label"] for r in other["runs"]]
    worst = (0.0, "")
    for ra, rb in zip(reference["runs"], other["runs"]):
        assert ra["final"].keys() == rb["final"].keys() and ra["history"].keys() == rb["history"].keys()
        assert ra["history"]["step"] == rb["history"]["step"]
        pairs = [(f"final[{key}]", ra["final"][key], rb["final"][key]) for key in ra["final"]]
        pairs += [(f"history[{key}]", ra["history"][key], rb["history"][key]) for key in ra["history"]
                  if key != "per_arm"]
        for where, a, b in pairs:
            worst = max(worst, (rel(a, b), f"{ra['label']}: {where}"))
    return worst


def _metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def shrinkage_pair(tmp_path_factory):
    """shrinkage at --quick size, 40 steps, through the command line with and without --sweep."""
    out = {}
    for sweep in (False, True):
        d = tmp_path_factory.mktemp(f"shrinkage_sweep_{sweep}")
        argv = ["experiment", "shrinkage", "--quick", "--no-progress", "--steps", str(SHRINKAGE_STEPS),
                "--out", str(d)] + (["--sweep"] if sweep else [])
        assert cae_main(argv) == 0
        out[sweep] = _metrics(d)
    return out


@pytest.fixture(scope="module")
def tradeoff_runs(tmp_path_factory):
    """lambda-tradeoff at --quick size, 20 steps: seed 0 without and with sweep, and seed 1 with sweep."""
    out = {}
    for seed, sweep in ((0, False), (0, True), (1, True)):
        d = tmp_path_factory.mktemp(f"tradeoff_{seed}_{sweep}")
        out[seed, sweep] = run_experiment("lambda-tradeoff", d, steps=TRADEOFF_STEPS, seed=seed, quick=True,
                                          sweep=sweep)
        assert _metrics(d)["config"]["sweep"] is sweep
    return out


def test_shrinkage_sweep_equals_sequential_runs(shrinkage_pair):
    seq, swp = shrinkage_pair[False], shrinkage_pair[True]
    assert seq["config"]["sweep"] is False and swp["config"]["sweep"] is True
    assert len(swp["runs"]) == 8                       # 2 arm counts x 4 lams, in the sequential order
    diff, where = worst_difference(seq, swp)
    assert diff <= SHRINKAGE_TOL, (diff, where)
    for a, b in zip(seq["comparison"], swp["comparison"]):
        assert (a["k"], a["lam"]) == (b["k"], b["lam"])
        for key in ("norm_ratio_vs_lam0", "coupling_vs_lam0", "recon_vs_lam0"):
            assert rel(a[key], b[key]) <= 2 * SHRINKAGE_TOL, (a, b)   # a ratio of two values within tol


def test_lambda_tradeoff_sweep_equals_sequential_runs(tradeoff_runs):
    seq, swp = tradeoff_runs[0, False], tradeoff_runs[0, True]
    assert [r["lam"] for r in swp["runs"]] == list(seq["config"]["lams"])
    diff, where = worst_difference(seq, swp)
    assert diff <= TRADEOFF_TOL, (diff, where)
    for a, b in zip(seq["normalised"], swp["normalised"]):
        for key in ("within", "cross", "val_code_distance"):
            assert rel(a[key], b[key]) <= 2 * TRADEOFF_TOL, (a, b)   # ratios of values within tol


def test_lambda_tradeoff_tolerance_can_fail(tradeoff_runs):
    """The lambda-tradeoff bound is loose (2e-2); a run that is really different (other seed: other initial
    weights and batches) must still be far outside it, else the comparison above would prove nothing."""
    diff, _ = worst_difference(tradeoff_runs[0, False], tradeoff_runs[1, True])
    assert diff > 10 * TRADEOFF_TOL


@pytest.mark.parametrize("name", sorted(set(EXPERIMENTS) - set(SWEEP_EXPERIMENTS)))
def test_unsupported_experiment_with_sweep_is_a_one_line_error(name, tmp_path, capsys):
    out = tmp_path / "out"
    assert cae_main(["experiment", name, "--quick", "--no-progress", "--sweep", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "--sweep" in err and all(s in err for s in SWEEP_EXPERIMENTS) and repr(name) in err
    assert not out.exists()                                      # rejected before anything ran


def test_run_experiment_rejects_sweep_before_training(tmp_path):
    with pytest.raises(ValueError, match=r"--sweep.*shrinkage, lambda-tradeoff"):
        run_experiment("line-collapse", tmp_path, quick=True, sweep=True)
    with pytest.raises(TypeError, match="sweep must be a bool"):
        run_experiment("shrinkage", tmp_path, quick=True, sweep="yes")
    assert not any(tmp_path.iterdir())
