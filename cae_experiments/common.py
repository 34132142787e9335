"""Building and training the models of the experiments on cae_core (one place, so every experiment seeds,
logs and records runs the same way)."""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from cae_experiments.io import run_record, standard_history

#: Adam learning rate of the paper's public code (Keras default) and of cae_core.train.fit.
LR = 1e-3


def build_model(make_arm: Callable[[], object], k: int, *, latent_norm: str, coupling: str, lam: float,
                seed: int, coupling_options: Mapping | None = None):
    """A CoupledAutoencoder of ``k`` arms from ``make_arm()``, initial weights drawn from torch seed ``seed``
    (the caller's global torch RNG is left untouched). Same seed -> same initial weights for every lam."""
    from cae_core import CoupledAutoencoder

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        arms = [make_arm() for _ in range(k)]
    return CoupledAutoencoder(arms, latent_norm=latent_norm, coupling=coupling, lam=lam,
                              coupling_options=dict(coupling_options or {}))


def log_every_for(steps: int, points: int = 60) -> int:
    """Log about ``points`` steps of a run of ``steps`` steps (diagnostics on every step would dominate)."""
    return max(1, steps // points)


#: Set by :func:`checkpointing`: where the runs of the current experiment keep their checkpoints.
_CHECKPOINTS: ContextVar[dict | None] = ContextVar("cae_experiment_checkpoints", default=None)


@contextlib.contextmanager
def checkpointing(root, resume: bool):
    """Within this block, the k-th call of :func:`train` checkpoints to ``root/run<k>`` (atomic writes, see
    cae_core.checkpoint) and, with ``resume``, continues from what is there. An experiment trains its runs in a
    fixed order for a seed, so run k of a resumed experiment is run k of the interrupted one."""
    token = _CHECKPOINTS.set({"root": Path(root), "resume": bool(resume), "next": 0})
    try:
        yield
    finally:
        _CHECKPOINTS.reset(token)


def next_run_checkpoint() -> tuple[Path, bool] | None:
    """Inside :func:`checkpointing`: ``(root/run<k>, resume)`` for the k-th run of the experiment (each call
    claims the next folder, k = 0, 1, ...); None outside it. :func:`train` calls it once per run, and so does an
    experiment that calls cae_core.train.fit itself (line-collapse)."""
    ck = _CHECKPOINTS.get()
    if ck is None:
        return None
    folder = ck["root"] / f"run{ck['next']:03d}"
    ck["next"] += 1
    return folder, ck["resume"]


def train(model, data, *, steps: int, batch_size: int, seed: int, device: str, n_paired: int | None = None,
          lr: float = LR, dtype=torch.float32, **fit_options) -> dict:
    """cae_core.train.fit with the experiments' logging cadence and no inner progress bar; returns the history.
    Inside :func:`checkpointing`, each run checkpoints to its own folder (and resumes from it)."""
    from cae_core.train import fit

    run_checkpoint = next_run_checkpoint()
    if run_checkpoint is not None:
        fit_options = {**fit_options, "checkpoint_dir": run_checkpoint[0], "resume": run_checkpoint[1]}

    return fit(model, data, steps=steps, batch_size=batch_size, n_paired=n_paired, lr=lr, seed=seed,
               device=device, dtype=dtype, log_every=log_every_for(steps), progress=False, **fit_options)


def trained_runs(make_model: Callable[[float], object], data, lams: Sequence[float], *, sweep: bool, steps: int,
                 batch_size: int, seed: int, device: str, n_paired: int | None = None) -> Iterator[tuple]:
    """Yield ``(lam, trained model, history)`` for each lam in order: with ``sweep`` all runs trained at once by
    :func:`cae_core.sweep.fit_sweep`, else one :func:`train` per lam (lazily, so a progress bar can advance
    between runs). ``make_model(lam)`` builds a fresh model whose initial weights
    depend only on the seed (:func:`build_model`), so both ways train the same runs."""
    if sweep:
        from cae_core.sweep import fit_sweep

        res = fit_sweep(make_model, data, list(lams), [seed], steps=steps, batch_size=batch_size,
                        n_paired=n_paired, lr=LR, device=device, log_every=log_every_for(steps), progress=False)
        yield from zip(lams, res.models, res.histories)       # lam-major; one seed -> one run per lam
        return
    for lam in lams:
        model = make_model(lam)
        yield lam, model, train(model, data, steps=steps, batch_size=batch_size, n_paired=n_paired, seed=seed,
                                device=device)


def record(label: str, model, history: Mapping, final: Mapping | None = None, *, per_arm: bool = True,
           **extra) -> dict:
    """The metrics.json run entry of a trained model: standard history, and ``final`` = the last logged value
    of every standard key (plus ``final``). ``per_arm=False`` drops the per-arm histories (grids of many runs
    keep metrics.json small)."""
    hist = standard_history(history, model.k)
    if not per_arm:
        hist["per_arm"] = {}
    last = {key: values[-1] for key, values in hist.items() if key != "per_arm" and len(values)}
    last.update(dict(final or {}))
    return run_record(label, model.lam, model.coupling_name, model.latent_norm_name, hist, last, **extra)


def raw_codes(model, xs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """E_i(x_i) BEFORE the latent normalisation, in eval mode, float64: list of (N, p)."""
    was = model.training
    model.eval()
    try:
        p = next(model.parameters())
        with torch.no_grad():
            return [model.arms[i].encoder(torch.as_tensor(np.asarray(x), dtype=p.dtype, device=p.device))
                    .cpu().numpy().astype(np.float64) for i, x in enumerate(xs)]
    finally:
        model.train(was)
