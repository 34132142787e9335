"""Optimizer experiments that watch collapse happen (Props. 1-2 of the supplement) and the fixes prevent it.

One module per experiment; each exposes ``run(steps=None, seed=0, device="cpu", quick=False, progress=None)
-> dict`` (the metrics.json content), ``figures(metrics, out_dir) -> list[Path]`` and
``summarize(metrics) -> str``. :func:`cae_experiments.runner.run_experiment` ties them to an output folder;
``cae experiment NAME`` is the command line.

This registry is importable without torch (``cae --help`` stays fast); the modules are imported on use.
"""
from __future__ import annotations

import importlib
from types import ModuleType

#: name -> (module, one-line description), in the order of the issue.
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "shrinkage": ("cae_experiments.shrinkage",
                  "Prop. 1: no latent norm + mse, lam in {0,1,10,100}, 2 and 3 arms: codes shrink to 0"),
    "line-collapse": ("cae_experiments.line_collapse",
                      "Prop. 2: batch-normalised codes + mse collapse to a line; coupling vs its CCA floor"),
    "couplings": ("cae_experiments.couplings_panel",
                  "Fig. 1B on sklearn digits: mse, bn+mse, fc, msv, vicreg, barlow_twins, wmse, dcca"),
    "fc-vs-msv": ("cae_experiments.fc_vs_msv",
                  "Fig. 1C/D: validation reconstruction of fc vs msv across latent dims and batch sizes"),
    "lambda-tradeoff": ("cae_experiments.lambda_tradeoff",
                        "Fig. 4C: within/cross-modal reconstruction and coupling vs lam in {0,1,10,100}"),
    "discovery": ("cae_experiments.discovery",
                  "FACS protocol: Hungarian pairs, warm start, NN distances of subset-specific types, KS test"),
    "real-data": ("cae_experiments.real_data",
                  "UCI digits, two real views (extra realdata): Props. 1-2, collapse vs CCA gap, fixes, CCA floor"),
}


class MissingExtraError(ImportError):
    """An experiment needs an optional extra that is not installed; the message is one line naming it."""


def get_experiment(name: str) -> ModuleType:
    """The module of experiment ``name`` (a key of :data:`EXPERIMENTS`)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in EXPERIMENTS:
        raise ValueError(f"name must be one of {sorted(EXPERIMENTS)}, got {name!r}")
    return importlib.import_module(EXPERIMENTS[name][0])
