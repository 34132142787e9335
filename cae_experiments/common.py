"""Building and training the models of the experiments on cae_core (one place, so every experiment seeds,
logs and records runs the same way)."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from cae_experiments.io import run_record, standard_history

#: Adam learning rate of the paper's public code (Keras default) and of cae_core.train.fit.
LR = 1e-3


@dataclass(frozen=True)
class RunConfig:
    """The settings every experiment's ``Config`` has (each experiment sets its own defaults)."""
    steps: int = 1000
    seed: int = 0
    device: str = "cpu"
    quick: bool = False                         # the tests' size (QUICK) rather than the documented run (FULL)
    lr: float = LR
    dtype: str = "float32"


@dataclass(frozen=True)
class SyntheticConfig(RunConfig):
    """A :class:`RunConfig` on ``cae_core.data.synthetic_multimodal`` data: n_samples rows of in_dim features
    per modality from a data_latent_dim-dimensional shared latent of data_types types, noise data_noise."""
    n_samples: int = 1000
    in_dim: int = 20
    data_latent_dim: int = 2
    data_noise: float = 0.1
    data_types: int = 5

    def synthetic_data(self, k: int = 2):
        """The experiment's data set with ``k`` modalities (a function of the seed)."""
        from cae_core.data import synthetic_multimodal

        return synthetic_multimodal(n=self.n_samples, k=k, latent_dim=self.data_latent_dim, dims=(self.in_dim,) * k,
                                    noise=self.data_noise, n_types=self.data_types, seed=self.seed)


def build_model(make_arm: Callable[[], object], k: int, *, latent_norm: str, coupling: str, lam: float,
                seed: int, coupling_options: Mapping | None = None, alphas: Sequence[float] | None = None):
    """A CoupledAutoencoder of ``k`` arms from ``make_arm()``, initial weights drawn from torch seed ``seed``
    (the caller's global torch RNG is left untouched). Same seed -> same initial weights for every lam."""
    from cae_core import CoupledAutoencoder

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        arms = [make_arm() for _ in range(k)]
    return CoupledAutoencoder(arms, latent_norm=latent_norm, coupling=coupling, lam=lam, alphas=alphas,
                              coupling_options=dict(coupling_options or {}))


def log_every_for(steps: int, points: int = 60) -> int:
    """Log about ``points`` steps of a run of ``steps`` steps (diagnostics on every step would dominate)."""
    return max(1, steps // points)


@dataclass(frozen=True)
class Checkpoints:
    """Where the runs of an experiment keep their checkpoints (``cae experiment --checkpoint DIR``): the run
    labelled ``label`` in ``root / folder_name(label)`` (atomic writes, see cae_core.checkpoint); ``resume``:
    continue each run from what is there. Experiments pass each run's folder to :func:`train` explicitly."""
    root: Path
    resume: bool = False

    def folder(self, label: str) -> Path:
        """The checkpoint folder of the run ``label``."""
        return Path(self.root) / folder_name(label)


def folder_name(label: str) -> str:
    """A run label as a folder name: characters other than letters, digits and ``=.+-`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9=.+-]+", "_", label).strip("_") or "run"


def train(model, data, *, steps: int, batch_size: int, seed: int, device: str, n_paired: int | None = None,
          lr: float = LR, dtype="float32", checkpoint: Path | None = None, resume: bool = False) -> dict:
    """cae_core.train.fit with the experiments' logging cadence and no inner progress bar; returns the history.
    ``checkpoint``: the run's checkpoint folder (:meth:`Checkpoints.folder`), None for none."""
    from cae_core.train import fit

    options = {} if checkpoint is None else {"checkpoint_dir": checkpoint, "resume": resume}
    return fit(model, data, steps=steps, batch_size=batch_size, n_paired=n_paired, lr=lr, seed=seed,
               device=device, dtype=dtype, log_every=log_every_for(steps), progress=False, **options)


def checkpoint_options(checkpoints: Checkpoints | None, label: str) -> dict:
    """``train``'s checkpoint options for the run ``label`` (none without ``checkpoints``)."""
    if checkpoints is None:
        return {}
    return {"checkpoint": checkpoints.folder(label), "resume": checkpoints.resume}


def swept_runs(make_model: Callable[[float], object], data, lams: Sequence[float], *, steps: int,
               batch_size: int, seed: int, device: str, n_paired: int | None = None, lr: float = LR,
               dtype="float32") -> list[tuple]:
    """``[(lam, trained model, history)]`` for each lam in order, all runs trained at once by
    :func:`cae_core.sweep.fit_sweep` (``--sweep``): the runs of one :func:`train` per lam, to rounding.
    ``make_model(lam)`` builds a fresh model whose initial weights depend only on the seed (:func:`build_model`)."""
    from cae_core.sweep import fit_sweep

    res = fit_sweep(make_model, data, list(lams), [seed], steps=steps, batch_size=batch_size, n_paired=n_paired,
                    lr=lr, device=device, dtype=dtype, log_every=log_every_for(steps), progress=False)
    return list(zip(lams, res.models, res.histories))       # lam-major; one seed -> one run per lam


def _single_threaded(fn: Callable, item):
    """``fn(item)`` with one torch and one BLAS thread, as :func:`cae_experiments.runner.run_experiment` runs an
    experiment here (on a cluster worker too)."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            return fn(item)
    finally:
        torch.set_num_threads(threads)


def mapped_runs(fn: Callable, items: Sequence, scheduler: str | None) -> Iterator:
    """``fn(item)`` for each independent run ``item``, in order: here (``scheduler=None``) or on Dask distributed
    (:func:`cae_experiments.distributed.map_runs`; each run single-threaded on its worker)."""
    from cae_experiments.distributed import map_runs

    if scheduler is None:
        return map_runs(fn, items)
    return map_runs(functools.partial(_single_threaded, fn), items, scheduler=scheduler)


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
