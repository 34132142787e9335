"""Checks shared by the experiment tests: what every `cae experiment` output folder must contain."""
from __future__ import annotations

import json
from pathlib import Path

from cae_experiments.io import HISTORY_KEYS


def experiment_outputs(out: Path) -> dict:
    """metrics.json of an experiment run at --quick size in ``out``, after checking the folder: a non-empty
    summary.txt, every listed PNG a real, non-trivial PNG (at least one), the config's quick/seed/steps, and each
    run's standard keys and history (cae_experiments.io.HISTORY_KEYS)."""
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "summary.txt").read_text().strip()
    pngs = [out / f for f in metrics["files"] if f.endswith(".png")]
    assert pngs, "an experiment must write at least one figure"
    for f in pngs:
        assert f.stat().st_size > 2000, f"{f.name} is (nearly) empty"
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert metrics["config"]["quick"] is True and "seed" in metrics["config"] and "steps" in metrics["config"]
    for run in metrics["runs"]:
        assert {"label", "lam", "coupling", "latent_norm", "history", "final"} <= set(run)
        if not run.get("error"):
            assert set(HISTORY_KEYS) <= set(run["history"])
            assert len(run["history"]["step"]) == len(run["history"]["coupling"]) > 1
    return metrics
