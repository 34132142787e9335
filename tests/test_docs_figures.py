"""The documented runs in docs/figures: every figure file in the talk style's resolution, every file a run lists
present, and the README's experiments table generated from those runs (cae_experiments.results_table)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cae_experiments import results_table
from experiment_outputs import check_figure_file

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures"


@pytest.mark.parametrize("png", sorted(FIGURES.rglob("*.png")), ids=lambda p: str(p.relative_to(FIGURES)))
def test_every_documented_figure_is_at_least_150_dpi(png):
    """Issue 13: figure files a teacher can project (>= 150 dpi in the PNG header, read per the PNG spec)."""
    check_figure_file(png)


@pytest.mark.parametrize("metrics", sorted(FIGURES.rglob("metrics.json")), ids=lambda p: str(p.parent.relative_to(FIGURES)))
def test_every_file_a_documented_run_lists_is_there(metrics):
    doc = json.loads(metrics.read_text())
    missing = [f for f in doc["files"] if not (metrics.parent / f).is_file()]
    assert not missing, missing


def test_readme_experiments_table_is_generated_from_the_runs():
    """The numbers of the README's experiments table are those of docs/figures/*/metrics.json and runtimes.json:
    `python -m cae_experiments.results_table --check README.md` (regenerate with --write README.md)."""
    readme = ROOT / "README.md"
    assert results_table.BEGIN in readme.read_text(encoding="utf-8")
    assert results_table.main(["--check", str(readme)]) == 0
