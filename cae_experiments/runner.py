"""Run one experiment into an output folder: ``metrics.json``, PNG figures and ``summary.txt``.

Every experiment module exposes a frozen dataclass ``Config`` with instances ``FULL`` (the documented run) and
``QUICK`` (the tests' size), ``run(cfg, *, progress=None, checkpoints=None, [scheduler=None]) -> dict`` with
``metrics["config"] == asdict(cfg)``, ``figures(metrics, out_dir) -> list[Path]`` and
``summarize(metrics) -> str``. ``progress`` is a :class:`Progress` (or None): the experiment calls
``progress.start(total)`` once with its number of training runs and ``progress.advance(description)`` after each.

``sweep=True`` (``cae experiment NAME --sweep``) is a field of the Config of the experiments in
:data:`SWEEP_EXPERIMENTS` only: they train their lam runs as one :func:`cae_core.sweep.fit_sweep` instead of one
``fit`` per lam: the same runs, equal up to float32 summation-order rounding amplified by training
(tests/test_experiment_sweep.py; under batch norm the loss-invariant code biases drift apart at ~lr per step,
see cae_core.sweep). ``scheduler`` (``--scheduler``) sends the independent runs of the experiments in
:data:`SCALE_OUT_EXPERIMENTS` to Dask distributed (:mod:`cae_experiments.distributed`): the same metrics as the
serial run.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from cae_experiments import get_experiment
from cae_experiments.distributed import check_scheduler
from cae_experiments.io import write_metrics, write_summary


#: Experiments whose lam runs share data, architecture and seed, so ``--sweep`` can train them as one
#: vectorised model. line-collapse trains in chunks (snapshots between them) and couplings varies the
#: coupling per run, so fit_sweep (one architecture and coupling, only lam varies) does not fit them.
SWEEP_EXPERIMENTS = ("shrinkage", "lambda-tradeoff")

#: Experiments whose runs are independent of each other, so ``--scheduler`` can run them on a cluster.
#: line-collapse snapshots each run between training chunks in this process, and discovery's three runs
#: depend on each other (pairing -> warm start -> coupled).
SCALE_OUT_EXPERIMENTS = ("shrinkage", "couplings", "fc-vs-msv", "lambda-tradeoff")

#: The models are tiny: one intra-op thread (torch and numpy/scipy's BLAS) is fastest and does not fight other
#: processes for the cores.
TORCH_THREADS = 1


class Progress:
    """Silent progress sink (the tests use it); :class:`RichProgress` draws a bar."""

    def start(self, total: int) -> None:
        pass

    def advance(self, description: str = "") -> None:
        pass


class RichProgress(Progress):
    """A rich progress bar over the training runs of an experiment."""

    def __init__(self, title: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as _P, TextColumn, TimeElapsedColumn
        self._bar = _P(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self._title = title
        self._task = None

    def start(self, total: int) -> None:
        self._bar.start()
        self._task = self._bar.add_task(self._title, total=total)

    def advance(self, description: str = "") -> None:
        if self._task is not None:
            self._bar.update(self._task, advance=1, description=f"{self._title}: {description}")

    def stop(self) -> None:
        self._bar.stop()


def check_sweep(name: str, sweep: bool) -> None:
    """ValueError unless ``sweep`` is a bool and, if True, experiment ``name`` supports it."""
    if not isinstance(sweep, bool):
        raise TypeError(f"sweep must be a bool, got {type(sweep).__name__}")
    if sweep and name not in SWEEP_EXPERIMENTS:
        raise ValueError(f"--sweep (sweep=True) is supported only by {', '.join(SWEEP_EXPERIMENTS)}; "
                         f"{name!r} trains runs that cannot share one vectorised model")


def check_checkpoint(name: str, checkpoint, resume: bool, sweep: bool) -> None:
    """ValueError unless ``checkpoint``/``resume`` fit experiment ``name`` (and ``sweep``)."""
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be a bool, got {type(resume).__name__}")
    if resume and checkpoint is None:
        raise ValueError("--resume (resume=True) needs --checkpoint DIR (checkpoint=...)")
    if checkpoint is not None and sweep:
        raise ValueError("--checkpoint (checkpoint=...) cannot be combined with --sweep (sweep=True): the "
                         "vectorised sweep trains all runs at once")


def check_scale_out(name: str, scheduler, sweep: bool) -> None:
    """ValueError unless ``scheduler`` is None or experiment ``name`` has independent runs to send out."""
    check_scheduler(scheduler)
    if scheduler is None:
        return
    if name not in SCALE_OUT_EXPERIMENTS:
        raise ValueError(f"--scheduler (scheduler=...) is supported only by {', '.join(SCALE_OUT_EXPERIMENTS)}; "
                         f"the runs of {name!r} depend on each other or on this process")
    if sweep:
        raise ValueError("--scheduler (scheduler=...) cannot be combined with --sweep (sweep=True): the "
                         "vectorised sweep trains all runs at once in one process")


def leftover_entries(out_dir, checkpoint=None) -> list[str]:
    """The entries of ``out_dir`` that a run would overwrite or mix with: everything in it except the
    ``checkpoint`` folder (a run resuming from a checkpoint kept inside its output folder)."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    keep = None
    if checkpoint is not None:
        try:
            keep = Path(os.path.abspath(checkpoint)).relative_to(os.path.abspath(out)).parts[:1]
        except ValueError:
            keep = None
    return sorted(e.name for e in out.iterdir() if not keep or e.name != keep[0])


def make_config(name: str, *, quick: bool = False, steps: int | None = None, seed: int | None = None,
                device: str | None = None, sweep: bool | None = None):
    """The Config experiment ``name`` runs: ``QUICK`` or ``FULL`` with the given settings replaced."""
    module = get_experiment(name)
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)):
        raise TypeError(f"steps must be an int or None, got {type(steps).__name__}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    check_sweep(name, bool(sweep) if sweep is None else sweep)
    changes = {"steps": steps, "seed": seed, "device": device, "sweep": sweep or None}
    return dataclasses.replace(module.QUICK if quick else module.FULL,
                               **{k: v for k, v in changes.items() if v is not None})


def run_experiment(name: str, out_dir, *, config=None, steps: int | None = None, seed: int | None = None,
                   device: str | None = None, quick: bool = False, progress: Progress | None = None,
                   sweep: bool = False, checkpoint=None, resume: bool = False, scheduler: str | None = None,
                   overwrite: bool = False) -> dict:
    """Run experiment ``name`` and write its outputs to ``out_dir``. Returns the metrics (with
    ``metrics["files"]``, the written file names, ``metrics["wall_time_s"]`` and ``metrics["torch_threads"]``).

    ``config``: the experiment's ``Config`` to run; None builds it with :func:`make_config` from ``quick``,
    ``steps``, ``seed``, ``device`` and ``sweep`` (only for :data:`SWEEP_EXPERIMENTS`; ValueError otherwise).
    ``checkpoint``: a folder where every run checkpoints atomically; ``resume=True`` continues an interrupted
    experiment from it, to the same results as an uninterrupted one (bit-identical on CPU). ``scheduler``: run
    the independent runs on Dask distributed ("local" or an address; :mod:`cae_experiments.distributed`).
    ``overwrite``: write into an ``out_dir`` that already holds files (otherwise ValueError before any run:
    results are never overwritten silently)."""
    from cae_experiments.common import Checkpoints

    module = get_experiment(name)
    if config is None:
        config = make_config(name, quick=quick, steps=steps, seed=seed, device=device, sweep=sweep)
    elif not isinstance(config, module.Config):
        raise TypeError(f"config must be a {module.__name__}.Config, got {type(config).__name__}")
    cfg_sweep = getattr(config, "sweep", False)
    check_checkpoint(name, checkpoint, resume, cfg_sweep)
    check_scale_out(name, scheduler, cfg_sweep)
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be a bool, got {type(overwrite).__name__}")
    leftovers = leftover_entries(out_dir, checkpoint)
    if leftovers and not overwrite:
        raise ValueError(f"out_dir {str(out_dir)!r} is not empty ({', '.join(leftovers[:3])}"
                         f"{', ...' if len(leftovers) > 3 else ''}); choose an empty folder or pass overwrite=True "
                         f"(cae experiment --overwrite)")
    out_dir = Path(out_dir)
    import torch

    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    t0 = time.perf_counter()
    options = {"scheduler": scheduler} if scheduler is not None else {}
    try:
        # numpy/scipy's BLAS too: on small matrices its threads only wait for each other (a scipy
        # solve_triangular in line-collapse took 20 ms with 2 busy BLAS threads, 0.09 ms with one)
        with threadpool_limits(TORCH_THREADS):
            metrics = module.run(config, progress=progress or Progress(),
                                 checkpoints=None if checkpoint is None else Checkpoints(Path(checkpoint), resume),
                                 **options)
    finally:
        torch.set_num_threads(threads)
    metrics["wall_time_s"] = round(time.perf_counter() - t0, 2)
    metrics["torch_threads"] = TORCH_THREADS
    figures = module.figures(metrics, out_dir)
    metrics["files"] = ["metrics.json", "summary.txt"] + [Path(f).name for f in figures]
    write_metrics(metrics, out_dir)
    write_summary(module.summarize(metrics), out_dir)
    return metrics
