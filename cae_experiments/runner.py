"""Run one experiment into an output folder: ``metrics.json``, PNG figures and ``summary.txt``.

Every experiment module exposes ``run(steps=None, seed=0, device="cpu", quick=False, progress=None) -> dict``,
``figures(metrics, out_dir) -> list[Path]`` and ``summarize(metrics) -> str``. ``progress`` is a
:class:`Progress` (or None): the experiment calls ``progress.start(total)`` once with its number of training
runs and ``progress.advance(description)`` after each.

``sweep=True`` (``cae experiment NAME --sweep``, issue 6) is accepted by the experiments in
:data:`SWEEP_EXPERIMENTS` only: their ``run`` takes ``sweep=`` and trains its lam runs as one vectorised
:func:`cae_core.sweep.fit_sweep` instead of one ``fit`` per lam: the same runs, equal up to float32
summation-order rounding amplified by training (tests/test_experiment_sweep.py; under batch norm the
loss-invariant code biases drift apart at ~lr per step, see cae_core.sweep).
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

from cae_experiments import get_experiment
from cae_experiments.io import write_metrics, write_summary


#: Experiments whose lam runs share data, architecture and seed, so ``--sweep`` can train them as one
#: vectorised model. line-collapse trains in chunks (snapshots between them) and couplings varies the
#: coupling per run, so fit_sweep (one architecture and coupling, only lam varies) does not fit them.
SWEEP_EXPERIMENTS = ("shrinkage", "lambda-tradeoff")

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


#: Experiments whose runs checkpoint to ``--checkpoint DIR``/run<k> (line-collapse also keeps its between-chunk
#: snapshots there, see cae_experiments.line_collapse).
CHECKPOINT_EXPERIMENTS = ("shrinkage", "line-collapse", "couplings", "fc-vs-msv", "lambda-tradeoff", "discovery")


def check_checkpoint(name: str, checkpoint, resume: bool, sweep: bool) -> None:
    """ValueError unless ``checkpoint``/``resume`` fit experiment ``name`` (and ``sweep``)."""
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be a bool, got {type(resume).__name__}")
    if resume and checkpoint is None:
        raise ValueError("--resume (resume=True) needs --checkpoint DIR (checkpoint=...)")
    if checkpoint is None:
        return
    if name not in CHECKPOINT_EXPERIMENTS:
        raise ValueError(f"--checkpoint (checkpoint=...) is supported only by {', '.join(CHECKPOINT_EXPERIMENTS)}; "
                         f"{name!r} checkpoints its runs internally")
    if sweep:
        raise ValueError("--checkpoint (checkpoint=...) cannot be combined with --sweep (sweep=True): the "
                         "vectorised sweep trains all runs at once")


def run_experiment(name: str, out_dir, *, steps: int | None = None, seed: int = 0, device: str = "cpu",
                   quick: bool = False, progress: Progress | None = None, sweep: bool = False,
                   checkpoint=None, resume: bool = False) -> dict:
    """Run experiment ``name`` and write its outputs to ``out_dir``. Returns the metrics (with
    ``metrics["files"]``, the written file names, ``metrics["wall_time_s"]`` and ``metrics["config"]["sweep"]``).
    ``sweep=True`` only for the experiments in :data:`SWEEP_EXPERIMENTS` (ValueError otherwise).
    ``checkpoint``: a folder where every run checkpoints atomically; ``resume=True`` continues an interrupted
    experiment from it, to the same results as an uninterrupted one (bit-identical on CPU)."""
    from cae_experiments.common import checkpointing

    module = get_experiment(name)
    check_sweep(name, sweep)
    check_checkpoint(name, checkpoint, resume, sweep)
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)):
        raise TypeError(f"steps must be an int or None, got {type(steps).__name__}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    out_dir = Path(out_dir)
    import torch

    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    t0 = time.perf_counter()
    try:
        options = {"sweep": sweep} if name in SWEEP_EXPERIMENTS else {}
        # numpy/scipy's BLAS too: on small matrices its threads only wait for each other (a scipy
        # solve_triangular in line-collapse took 20 ms with 2 busy BLAS threads, 0.09 ms with one)
        with (checkpointing(checkpoint, resume) if checkpoint is not None else contextlib.nullcontext()), \
                threadpool_limits(TORCH_THREADS):
            metrics = module.run(steps=steps, seed=seed, device=device, quick=quick,
                                 progress=progress or Progress(), **options)
    finally:
        torch.set_num_threads(threads)
    metrics["wall_time_s"] = round(time.perf_counter() - t0, 2)
    metrics["config"]["torch_threads"] = TORCH_THREADS
    metrics["config"]["sweep"] = sweep
    figures = module.figures(metrics, out_dir)
    metrics["files"] = ["metrics.json", "summary.txt"] + [Path(f).name for f in figures]
    write_metrics(metrics, out_dir)
    write_summary(module.summarize(metrics), out_dir)
    return metrics
