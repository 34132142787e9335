"""Training loop for a :class:`~cae_core.model.CoupledAutoencoder`: Adam on the loss of Eq. 1 (mean form),
mini-batches of paired + unpaired rows, a per-step history with collapse diagnostics, atomic checkpoints and
bit-identical resume on CPU.

Batches (supplement "Each mini-batch consists of randomly chosen samples of 75 paired cells and 25
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
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import torch

from cae_core import checkpoint as ckpt
from cae_core.data import PairedDataset, as_dataset
from cae_core.diagnostics import batch_diagnostics
from cae_core.model import Batch, CoupledAutoencoder
from cae_core.preprocessing import feature_statistics, warn_if_scales_differ
from cae_core.progress import make_progress
from cae_core.saving import model_config

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


def _progress_bar(progress: bool | None, label: str = "fit"):
    """The progress reporter of a training loop (:func:`cae_core.progress.make_progress`), or None."""
    return make_progress(progress, label)


# ------------------------------------------------------------------------------------------------ config

#: Fields of :class:`FitConfig` that do not change what a run computes: a resumed run may change them.
RESUMABLE_FIELDS = ("steps", "device", "progress", "checkpoint_dir", "checkpoint_every", "resume")


@dataclass(frozen=True)
class FitConfig:
    """Everything :func:`fit` needs besides the model and the data; ``fit(model, data, config)`` or, as before,
    ``fit(model, data, steps=..., lr=...)`` (keywords override the fields of a given config).

    - ``steps``: Adam steps; ``batch_size``: rows per arm per batch; ``n_paired``: paired rows of each batch
      (None: all; the supplement's Patch-seq batches are 75 paired + 25 unpaired); ``lr``: Adam's step size.
    - ``seed``: the batch sampler's and torch's RNG inside ``fit``; ``device``: "cpu", "cuda", "cuda:1";
      ``dtype``: "float32" or "float64" (torch dtypes accepted).
    - ``log_every``: history (loss terms and the collapse diagnostics) every this many steps and at the last;
      the default 50 keeps the diagnostics below 5% of a step's time (``benchmarks/bench_logging.py``).
    - ``progress``: None, a bar on a terminal or in Jupyter and a line every 10 s elsewhere; True/False forces.
    - ``checkpoint_dir``, ``checkpoint_every`` (default: steps // 10), ``resume``: atomic checkpoints and resuming
      from them (refused when the data, the model's configuration or a field outside
      :data:`RESUMABLE_FIELDS` differ from the checkpoint's).
    - ``standardize``: z-score each feature with mean and standard deviation fitted on the training rows
      (:mod:`cae_core.preprocessing`), stored in the model and applied by ``encode``/``translate``. Without it,
      ``fit`` warns when feature scales differ by more than three orders of magnitude.
    """
    steps: int = 2000
    batch_size: int = 100
    n_paired: int | None = None
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    log_every: int = 50
    progress: bool | None = None
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    resume: bool = False
    standardize: bool = False

    def __post_init__(self):
        fix = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  (frozen dataclass)
        fix("steps", _int(self.steps, "steps", 1))
        fix("batch_size", _int(self.batch_size, "batch_size", 2))
        if self.n_paired is not None:
            fix("n_paired", _int(self.n_paired, "n_paired", 1))
            if self.n_paired > self.batch_size:
                raise ValueError(f"n_paired ({self.n_paired}) must be <= batch_size ({self.batch_size})")
        lr = self.lr
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        fix("lr", float(lr))
        fix("seed", _int(self.seed, "seed", 0))
        fix("device", str(resolve_device(self.device)))
        fix("dtype", str(resolve_dtype(self.dtype)).replace("torch.", ""))
        fix("log_every", _int(self.log_every, "log_every", 1))
        if self.progress is not None and not isinstance(self.progress, bool):
            raise TypeError(f"progress must be None, True or False, got {type(self.progress).__name__}")
        for name in ("resume", "standardize"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.checkpoint_dir is None:
            if self.checkpoint_every is not None or self.resume:
                raise ValueError("checkpoint_every and resume need a checkpoint_dir")
        else:
            if not isinstance(self.checkpoint_dir, (str, os.PathLike)):
                raise TypeError(f"checkpoint_dir must be a path (str or os.PathLike), got "
                                f"{type(self.checkpoint_dir).__name__}")
            fix("checkpoint_dir", os.fspath(self.checkpoint_dir))
            if os.path.exists(self.checkpoint_dir) and not os.path.isdir(self.checkpoint_dir):
                raise ValueError(f"checkpoint_dir {self.checkpoint_dir!r} exists and is not a directory")
            if self.checkpoint_every is not None:
                fix("checkpoint_every", _int(self.checkpoint_every, "checkpoint_every", 1))

    def run_fields(self) -> dict:
        """The fields that define what a run computes (all but :data:`RESUMABLE_FIELDS`)."""
        return {key: value for key, value in asdict(self).items() if key not in RESUMABLE_FIELDS}


def _fit_config(config: FitConfig | None, options: dict) -> FitConfig:
    if config is not None and not isinstance(config, FitConfig):
        raise TypeError(f"config must be a FitConfig (fit(model, data, FitConfig(...)) or keywords such as "
                        f"steps=...), got {type(config).__name__}")
    unknown = sorted(set(options) - {f.name for f in fields(FitConfig)})
    if unknown:
        raise TypeError(f"fit() got unexpected keyword arguments {unknown}; the options are the fields of "
                        f"FitConfig: {[f.name for f in fields(FitConfig)]}")
    return replace(config or FitConfig(), **options) if options else (config or FitConfig())


def fingerprint(model: CoupledAutoencoder, data: PairedDataset, config: FitConfig) -> dict:
    """What a checkpoint records of its run: the data (:func:`cae_core.checkpoint.data_fingerprint`), the model's
    configuration (:func:`cae_core.saving.model_config`, non-strict) and the run-defining fields of ``config``."""
    return {"data": ckpt.data_fingerprint(data), "model": model_config(model, strict=False),
            "config": config.run_fields()}


# -------------------------------------------------------------------------------------------------- fit

def fit(model: CoupledAutoencoder, data, config: FitConfig | None = None, **options) -> History:
    """Train ``model`` in place with Adam on mini-batches of paired + unpaired rows (:class:`FitConfig` documents
    every option; ``fit(model, data, steps=500, lr=1e-2)`` and ``fit(model, data, FitConfig(steps=500))`` are the
    same run). Returns the history, a dict of lists with one entry per logged step (every ``log_every`` steps and
    the last): ``step``, ``total``, ``coupling``, ``recon_<i>`` and the
    :func:`cae_core.diagnostics.batch_diagnostics` of each arm's training-batch codes as ``<name>_<i>``.

    Checkpoints (``checkpoint_dir``) are atomic, written every ``checkpoint_every`` steps and at the end;
    ``resume=True`` continues from the one there, bit-identically on CPU, if it was written for the same data,
    model configuration and run settings (ValueError naming what differs otherwise); ``steps`` may grow between
    calls. The model is moved to ``device`` and ``dtype`` and trained in place.
    Raises ValueError (TypeError for wrong types) on bad arguments before any training, FloatingPointError if
    the loss becomes non-finite.
    """
    # ---- validate everything up front
    cfg = _fit_config(config, options)
    data = as_dataset(data)
    _check_model_data(model, data)
    steps, batch_size, lr, seed, log_every = cfg.steps, cfg.batch_size, cfg.lr, cfg.seed, cfg.log_every
    n_paired = batch_size if cfg.n_paired is None else cfg.n_paired
    dev, dt = resolve_device(cfg.device), resolve_dtype(cfg.dtype)
    checkpoint_dir = cfg.checkpoint_dir
    checkpoint_every = None if checkpoint_dir is None else (cfg.checkpoint_every or max(1, steps // 10))
    sampler = BatchSampler(data, batch_size, n_paired, seed)  # raises if the batch is larger than the data
    stamp = fingerprint(model, data, cfg)

    path = ckpt.checkpoint_path(checkpoint_dir) if checkpoint_dir is not None else None
    state = None
    if cfg.resume:
        ckpt.remove_stale_temporaries(checkpoint_dir)
        if os.path.isfile(path):
            state = ckpt.load_checkpoint(path)
            diff = ckpt.fingerprint_differences(state.get("fingerprint"), stamp)
            if diff:
                raise ValueError(f"resume: the checkpoint in {checkpoint_dir!r} was written for different settings "
                                 f"(checkpoint vs now): {'; '.join(diff)}. Use a fresh checkpoint_dir, or the "
                                 f"same data, model and settings")
            shapes = {key: tuple(v.shape) for key, v in model.state_dict().items()}
            if {key: tuple(v.shape) for key, v in state["model"].items()} != shapes:
                raise ValueError(f"resume: the checkpoint in {checkpoint_dir!r} holds a model of a different "
                                 f"architecture (parameter names or shapes differ from model's)")
            if int(state["next_step"]) > steps:
                raise ValueError(f"steps ({steps}) must be >= the step the checkpoint in {checkpoint_dir!r} "
                                 f"reached ({int(state['next_step'])}) to resume")
    if state is None and not cfg.standardize and all(s.is_identity for s in model.scalers):
        warn_if_scales_differ([data.rows(i) for i in range(data.k)], data.feature_names)

    # ---- set up (nothing above has touched the model)
    model.to(device=dev, dtype=dt)
    if state is None and cfg.standardize:
        for i, scaler in enumerate(model.scalers):
            scaler.set_statistics(*feature_statistics(data.rows(i)))
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
    bar = _progress_bar(cfg.progress)
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
                parts = model.loss(batch, update_running_stats=True)
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
                        "next_step": done, "fingerprint": stamp, "config": asdict(cfg),
                        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "history": history,
                        "torch_rng": torch.get_rng_state(),
                        "cuda_rng": torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None,
                        "numpy_rng": sampler.rng.bit_generator.state, "python_rng": random.getstate()})
        finally:
            if bar is not None:
                bar.stop()
    return history
