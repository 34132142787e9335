"""Training loop for a :class:`~cae_core.model.CoupledAutoencoder`: Adam on the loss of Eq. 1 (mean form),
mini-batches of paired + unpaired rows, a per-step history with collapse diagnostics, atomic checkpoints and
bit-identical resume on CPU.

Batches (NOTES.md, supplement "Each mini-batch consists of randomly chosen samples of 75 paired cells and 25
unpaired cells"): every step draws, without replacement, ``n_paired`` paired samples (the same rows of every
modality) and, for each arm i, ``batch_size - n_paired`` rows from modality i's unpaired pool; an arm whose pool
is empty gets paired rows of its own modality from outside the paired block instead (they are still treated as
unpaired: no distance term). ``n_paired=None`` means the whole batch is paired. The coupling sees the paired
count, so distances use the paired rows only while batch statistics (batch norm, covariances) use all rows.

Determinism: ``seed`` seeds the batch sampler (numpy) and torch's RNG (dropout, noise) inside
``torch.random.fork_rng``, so the caller's global torch RNG is left untouched. The model's initial weights are
whatever they were when ``fit`` is called (seed torch before building the model to make them reproducible).
On CPU a run is bit-identical for a seed, and ``resume=True`` from a checkpoint continues to the same bits as an
uninterrupted run. On CUDA, runs are device-agnostic but not guaranteed bit-identical (cuDNN/cuBLAS kernels).
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from cae_core import checkpoint as ckpt
from cae_core.data import PairedDataset, as_dataset
from cae_core.diagnostics import batch_diagnostics
from cae_core.model import Batch, CoupledAutoencoder

History = dict[str, list]

_DTYPES = {"float32": torch.float32, "float64": torch.float64, torch.float32: torch.float32,
           torch.float64: torch.float64}


# ---------------------------------------------------------------------------------------------- validation

def _int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def resolve_device(device) -> torch.device:
    """``device`` ("cpu", "cuda", "cuda:1", torch.device) as a usable torch.device, or ValueError."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be a torch device name such as 'cpu' or 'cuda', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch.cuda.is_available() is False")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda[:n]', got {device!r}")
    return dev


def resolve_dtype(dtype) -> torch.dtype:
    """float32 (default) or float64, given as a torch dtype or its name."""
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64 (or 'float32'/'float64'), got {dtype!r}")
    return _DTYPES[dtype]


def _check_model_data(model, data: PairedDataset) -> None:
    if not isinstance(model, CoupledAutoencoder):
        raise TypeError(f"model must be a CoupledAutoencoder, got {type(model).__name__}")
    if data.k != model.k:
        raise ValueError(f"data must have one modality per arm: the model has k = {model.k} arms, "
                         f"data has {data.k} modalities")
    for i, (d, e) in enumerate(zip(data.dims, model.in_dims)):
        if d != e:
            raise ValueError(f"data modality {i} has {d} features but arms[{i}].in_dim = {e}")
    for i, (x, u) in enumerate(zip(data.modalities, data.unpaired)):
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(u))):
            raise ValueError(f"data modality {i} must contain only finite values (no NaN or inf)")


# ---------------------------------------------------------------------------------------------- optimiser

def make_adam(params, lr: float) -> torch.optim.Adam:
    """Adam(lr) with torch's fused kernel where the device supports it (one kernel per parameter instead of
    about ten elementwise launches; the same update rule, so results differ from the unfused Adam only by
    rounding), else the default implementation. Used by ``fit`` and ``cae_core.sweep.fit_sweep`` alike.

    (A single fused kernel over all parameters as views of one flat buffer halves the optimiser time of the
    Patch-seq model, ~0.3 ms of a ~7 ms step, but changes the last bits of every run -- the kernel's
    vectorised body and scalar tail round differently -- so it is not used.)"""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


# ------------------------------------------------------------------------------------------------ batches

class BatchSampler:
    """Draws the row indices of each mini-batch from a numpy Generator (state saved in checkpoints)."""

    def __init__(self, data: PairedDataset, batch_size: int, n_paired: int, seed: int):
        self.n = data.n_paired
        self.n_unpaired = data.n_unpaired
        self.batch_size = batch_size
        self.n_paired = n_paired
        self.rng = np.random.default_rng(seed)
        extra = batch_size - n_paired
        if n_paired > self.n:
            raise ValueError(f"batch_size ({batch_size}) with n_paired = {n_paired} paired rows is larger than the "
                             f"data: only {self.n} paired samples")
        for i, u in enumerate(self.n_unpaired):
            available = u if u > 0 else self.n - n_paired
            if extra > available:
                where = (f"its {u} unpaired rows" if u > 0 else
                         f"its {self.n} paired rows minus the {n_paired} paired ones (no unpaired pool)")
                raise ValueError(f"batch_size ({batch_size}) is larger than the data: modality {i} needs "
                                 f"{extra} unpaired rows per batch but has only {where}")

    def sample(self) -> tuple[np.ndarray, list]:
        """(paired row indices (n_paired,), per arm: (source, indices) with source "unpaired" or "paired")."""
        extra = self.batch_size - self.n_paired
        if extra == 0:
            return self.rng.choice(self.n, self.n_paired, replace=False), [None] * len(self.n_unpaired)
        if all(u > 0 for u in self.n_unpaired):
            paired = self.rng.choice(self.n, self.n_paired, replace=False)
            rest = []
        else:
            perm = self.rng.permutation(self.n)
            paired, rest = perm[:self.n_paired], perm[self.n_paired:]
        fills = []
        for u in self.n_unpaired:
            if u > 0:
                fills.append(("unpaired", self.rng.choice(u, extra, replace=False)))
            else:
                fills.append(("paired", self.rng.choice(rest, extra, replace=False)))
        return paired, fills


def row_pools(data: PairedDataset, dtype: torch.dtype, device: torch.device) -> list[torch.Tensor]:
    """Per modality i its rows as one tensor ``(n_paired + n_unpaired_i, d_i)``: the paired rows, then the
    unpaired pool (so a batch is one ``index_select``, see :func:`batch_rows`)."""
    return [torch.cat([torch.as_tensor(x, dtype=dtype, device=device), torch.as_tensor(u, dtype=dtype, device=device)])
            for x, u in zip(data.modalities, data.unpaired)]


def batch_rows(idx: np.ndarray, fills: list, n_rows: int) -> list[np.ndarray]:
    """Rows of each modality's pool (:func:`row_pools`) in one batch, from :meth:`BatchSampler.sample`: the
    paired rows ``idx``, then arm i's fill (unpaired pool rows are offset by the ``n_rows`` paired rows)."""
    out = []
    for fill in fills:
        if fill is None:
            out.append(idx)
        else:
            source, f = fill
            out.append(np.concatenate([idx, f + n_rows if source == "unpaired" else f]))
    return out


def _make_batch(pools: list, rows: list, n_paired: int) -> Batch:
    """The :class:`Batch` of rows ``rows[i]`` of ``pools[i]``. ``index_select`` copies the rows once (indexing
    with ``pool[rows]`` and concatenating paired and unpaired blocks took ~9x longer on CPU)."""
    return Batch([torch.index_select(pool, 0, torch.as_tensor(r, device=pool.device)) for pool, r in zip(pools, rows)],
                 n_paired)


# ------------------------------------------------------------------------------------------------ history

def _log(history: History, step: int, parts, k: int) -> None:
    row: dict[str, float] = {"step": step, "total": float(parts.total.detach()),
                             "coupling": float(parts.coupling.detach())}
    for i in range(k):
        row[f"recon_{i}"] = float(parts.recon[i].detach())
    if k > 2:
        for (i, j), c in parts.pair_couplings.items():
            row[f"coupling_{i}_{j}"] = float(c.detach())
    with torch.no_grad():
        for i, z in enumerate(parts.codes):
            for key, value in batch_diagnostics(z.detach()).items():
                row[f"{key}_{i}"] = float(value)
    for key, value in row.items():
        history.setdefault(key, []).append(value)


def _progress_bar(progress: bool | None):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    console = Console(stderr=True)
    show = console.is_terminal if progress is None else bool(progress)
    if not show:
        return None
    return Progress(TextColumn("fit"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[loss]}"), console=console, transient=False)


# -------------------------------------------------------------------------------------------------- fit

def fit(model: CoupledAutoencoder, data, steps: int = 2000, batch_size: int = 100, n_paired: int | None = None,
        lr: float = 1e-3, seed: int = 0, device: str | torch.device = "cpu", dtype=torch.float32,
        log_every: int = 1, progress: bool | None = None, checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int | None = None, resume: bool = False) -> History:
    """Train ``model`` in place with Adam(lr) for ``steps`` steps on mini-batches of ``batch_size`` rows per arm,
    ``n_paired`` of them paired (None: all). Returns the history, a dict of lists with one entry per logged step
    (every ``log_every`` steps and the last): ``step``, ``total``, ``coupling``, ``recon_<i>`` and the
    :func:`cae_core.diagnostics.batch_diagnostics` of each arm's training-batch codes as ``<name>_<i>``.

    ``progress``: rich progress bar on stderr; None shows it only on a terminal. ``checkpoint_dir``: write an
    atomic checkpoint every ``checkpoint_every`` steps (default: every ``max(1, steps // 10)``) and at the end;
    ``resume=True`` continues from the checkpoint there if one exists (else starts afresh); ``steps`` may grow
    between calls (training is extended; the history then also holds the last step of each earlier call).
    The model is moved to ``device`` and ``dtype`` and trained in place.
    Raises ValueError (TypeError for wrong types) on bad arguments before any training, FloatingPointError if
    the loss becomes non-finite.
    """
    # ---- validate everything up front
    data = as_dataset(data)
    _check_model_data(model, data)
    steps = _int(steps, "steps", 1)
    batch_size = _int(batch_size, "batch_size", 2)
    if n_paired is None:
        n_paired = batch_size
    n_paired = _int(n_paired, "n_paired", 1)
    if n_paired > batch_size:
        raise ValueError(f"n_paired ({n_paired}) must be <= batch_size ({batch_size})")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    seed = _int(seed, "seed", 0)
    dev = resolve_device(device)
    dt = resolve_dtype(dtype)
    log_every = _int(log_every, "log_every", 1)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be None, True or False, got {type(progress).__name__}")
    if checkpoint_dir is None:
        if checkpoint_every is not None or resume:
            raise ValueError("checkpoint_every and resume need a checkpoint_dir")
    else:
        if not isinstance(checkpoint_dir, (str, os.PathLike)):
            raise TypeError(f"checkpoint_dir must be a path (str or os.PathLike), got {type(checkpoint_dir).__name__}")
        if os.path.exists(checkpoint_dir) and not os.path.isdir(checkpoint_dir):
            raise ValueError(f"checkpoint_dir {os.fspath(checkpoint_dir)!r} exists and is not a directory")
        checkpoint_every = max(1, steps // 10) if checkpoint_every is None else _int(checkpoint_every,
                                                                                     "checkpoint_every", 1)
    sampler = BatchSampler(data, batch_size, n_paired, seed)  # raises if the batch is larger than the data
    fingerprint = {"batch_size": batch_size, "n_paired": n_paired, "lr": float(lr), "seed": seed,
                   "dtype": str(dt), "dims": list(data.dims), "n_paired_rows": data.n_paired,
                   "n_unpaired_rows": list(data.n_unpaired), "k": model.k, "lam": model.lam,
                   "alphas": list(model.alphas), "coupling": model.coupling_name,
                   "latent_norm": model.latent_norm_name, "log_every": log_every}

    path = ckpt.checkpoint_path(checkpoint_dir) if checkpoint_dir is not None else None
    state = None
    if resume:
        ckpt.remove_stale_temporaries(checkpoint_dir)
        if os.path.isfile(path):
            state = ckpt.load_checkpoint(path)
            if state["fingerprint"] != fingerprint:
                diff = sorted(key for key in fingerprint if state["fingerprint"].get(key) != fingerprint[key])
                raise ValueError(f"resume: the checkpoint in {checkpoint_dir!r} was written with different "
                                 f"settings ({', '.join(diff)}); use a fresh checkpoint_dir or the same settings")
            shapes = {key: tuple(v.shape) for key, v in model.state_dict().items()}
            if {key: tuple(v.shape) for key, v in state["model"].items()} != shapes:
                raise ValueError(f"resume: the checkpoint in {checkpoint_dir!r} holds a model of a different "
                                 f"architecture (parameter names or shapes differ from model's)")
            if int(state["next_step"]) > steps:
                raise ValueError(f"steps ({steps}) must be >= the step the checkpoint in {checkpoint_dir!r} "
                                 f"reached ({int(state['next_step'])}) to resume")

    # ---- set up (nothing above has touched the model)
    model.to(device=dev, dtype=dt)
    model.train()
    pools = row_pools(data, dt, dev)
    optimizer = make_adam(model.parameters(), lr)
    history: History = {}
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = {key: list(v) for key, v in state["history"].items()}
        start = int(state["next_step"])
        sampler.rng.bit_generator.state = state["numpy_rng"]
        random.setstate(state["python_rng"])

    cuda_devices = [dev] if dev.type == "cuda" else []
    bar = _progress_bar(progress)
    with torch.random.fork_rng(devices=cuda_devices):
        if state is None:
            torch.manual_seed(seed)
        else:
            torch.set_rng_state(state["torch_rng"])
            if dev.type == "cuda" and state.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(state["cuda_rng"], device=dev)
        task = None
        if bar is not None:
            bar.start()
            task = bar.add_task("fit", total=steps, completed=start, loss="")
        try:
            for step in range(start, steps):
                batch = _make_batch(pools, batch_rows(*sampler.sample(), data.n_paired), n_paired)
                parts = model.loss(batch)
                if not torch.isfinite(parts.total.detach()):
                    raise FloatingPointError(
                        f"the loss became non-finite at step {step} (total = {parts.total.item()}, "
                        f"coupling = {parts.coupling.item()}); lower lr or use a coupling option such as a floor")
                optimizer.zero_grad(set_to_none=True)
                parts.total.backward()
                optimizer.step()
                if step % log_every == 0 or step == steps - 1:
                    _log(history, step, parts, model.k)
                    if task is not None:
                        bar.update(task, loss=f"loss {history['total'][-1]:.4g}")
                if task is not None:
                    bar.update(task, completed=step + 1)
                done = step + 1
                if path is not None and (done % checkpoint_every == 0 or done == steps):
                    ckpt.save_checkpoint(path, {
                        "next_step": done, "fingerprint": fingerprint, "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(), "history": history,
                        "torch_rng": torch.get_rng_state(),
                        "cuda_rng": torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None,
                        "numpy_rng": sampler.rng.bit_generator.state, "python_rng": random.getstate()})
        finally:
            if bar is not None:
                bar.stop()
    return history
