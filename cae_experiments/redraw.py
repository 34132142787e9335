"""Redraw the figures of an experiment's output folder from its ``metrics.json``, without training.

``python -m cae_experiments.redraw FOLDER [FOLDER ...]`` reads ``FOLDER/metrics.json``, calls the experiment's own
``figures(metrics, FOLDER)`` (the figure style of :mod:`cae_experiments.plotting`) and rewrites the PNG files it
draws; ``--summary`` also rewrites ``summary.txt`` from the metrics. ``metrics.json`` itself is never written: the
numbers are those of the run that made it. Use it after a change to the figures, e.g. to bring the documented
full-size runs (``docs/figures/NAME``, hours of training on a small machine) into the current style::

    python -m cae_experiments.redraw docs/figures/shrinkage docs/figures/couplings

Folders of runs made before the experiments had a ``Config`` (issue 14) hold the same numbers under a few older
keys; the experiments' readers accept both (e.g. ``fc_vs_msv.metrics_seeds``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from cae_experiments import EXPERIMENTS, get_experiment
from cae_experiments.io import read_metrics, write_summary


def redraw(folder, *, summary: bool = False) -> list[Path]:
    """Redraw the figures of the experiment output ``folder`` from its metrics.json; returns the files written
    (the figures, then summary.txt if ``summary``). ValueError if the folder holds no experiment's metrics.json."""
    folder = Path(folder)
    if not (folder / "metrics.json").is_file():
        raise ValueError(f"folder {str(folder)!r} has no metrics.json (give the output folder of an experiment)")
    metrics = read_metrics(folder)
    name = metrics.get("experiment")
    if name not in EXPERIMENTS:
        raise ValueError(f"{folder / 'metrics.json'}: 'experiment' must be one of {sorted(EXPERIMENTS)}, got {name!r}")
    module = get_experiment(name)
    written = [Path(f) for f in module.figures(metrics, folder)]
    if summary:
        written.append(write_summary(module.summarize(metrics), folder))
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cae_experiments.redraw", description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", metavar="FOLDER", help="output folder of a `cae experiment` run")
    p.add_argument("--summary", action="store_true", help="also rewrite summary.txt from metrics.json")
    args = p.parse_args(argv)
    for folder in args.folders:
        try:
            files = redraw(folder, summary=args.summary)
        except ValueError as exc:
            p.error(str(exc))
        print(f"{folder}: redrew {', '.join(f.name for f in files)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
