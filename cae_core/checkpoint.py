"""Atomic training checkpoints: everything needed to continue a run bit-identically on CPU.

A checkpoint is a dict of tensors and plain Python values (loadable with ``torch.load(weights_only=True)``):
model and optimiser state dicts, the RNG states (torch CPU and CUDA, the numpy batch sampler, Python's
``random``), the history so far, the next step and a fingerprint of what the run was trained on: the SHA-256 of
the data (:func:`data_fingerprint`), the model's configuration and the full training configuration (issue 12
item 11). ``fit(..., resume=True)`` compares the fingerprint with its own and names every entry that differs
(:func:`fingerprint_differences`).

Writes are atomic: the file is written to a temporary file in the same directory, flushed to disk, and then
moved over the old checkpoint with ``os.replace``, so a process killed at any moment leaves either the previous
or the new checkpoint, never a truncated one. After the rename the directory itself is fsynced (POSIX), so the
rename survives a power loss or OS crash too, not only a killed process.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

import numpy as np
import torch

#: File name of the checkpoint inside ``checkpoint_dir``.
CHECKPOINT_NAME = "checkpoint.pt"


def checkpoint_path(checkpoint_dir: str | os.PathLike) -> str:
    """The checkpoint file of ``checkpoint_dir``."""
    return os.path.join(os.fspath(checkpoint_dir), CHECKPOINT_NAME)


def fsync_directory(directory: str) -> None:
    """fsync ``directory`` so that a rename inside it is durable. POSIX only: a no-op where ``os.O_DIRECTORY``
    does not exist (Windows, where directories cannot be opened this way)."""
    flag = getattr(os, "O_DIRECTORY", None)
    if flag is None:
        return
    fd = os.open(directory, os.O_RDONLY | flag)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file + fsync + ``os.replace`` + fsync of the directory)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_directory(directory)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors are loaded on the CPU)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint {path!r} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a foreign or damaged file: torch raises UnpicklingError/RuntimeError/EOFError
        raise ValueError(f"checkpoint {path!r} cannot be read as a checkpoint: {exc}") from exc


def remove_stale_temporaries(checkpoint_dir: str | os.PathLike) -> None:
    """Delete temporary files left by a writer that was killed before its ``os.replace``."""
    directory = os.fspath(checkpoint_dir)
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if name.startswith(".checkpoint-") and name.endswith(".tmp"):
            os.unlink(os.path.join(directory, name))


def data_fingerprint(data) -> dict[str, Any]:
    """What a run sees of a :class:`~cae_core.data.PairedDataset`: the shapes and the SHA-256 of the float64
    bytes of every modality's paired rows, then its unpaired rows (order matters: it sets the batches)."""
    h = hashlib.sha256()
    for x, u in zip(data.modalities, data.unpaired):
        for arr in (x, u):
            h.update(repr(arr.shape).encode())
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return {"sha256": h.hexdigest(), "dims": list(data.dims), "n_paired_rows": data.n_paired,
            "n_unpaired_rows": list(data.n_unpaired)}


def fingerprint_differences(recorded, current, prefix: str = "") -> list[str]:
    """Every entry where two nested fingerprints (dicts of plain values) differ, as ``"key: recorded vs
    current"`` lines, keys joined with dots (e.g. ``"config.lr: 0.001 vs 0.005"``)."""
    if isinstance(recorded, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(recorded) | set(current), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in recorded:
                out.append(f"{name}: absent from the checkpoint")
            elif key not in current:
                out.append(f"{name}: only in the checkpoint")
            else:
                out.extend(fingerprint_differences(recorded[key], current[key], name))
        return out
    if isinstance(recorded, list) and isinstance(current, list) and len(recorded) == len(current):
        return [line for n, (a, b) in enumerate(zip(recorded, current))
                for line in fingerprint_differences(a, b, f"{prefix}[{n}]")]
    if recorded != current:
        def short(v):
            text = repr(v)
            return text if len(text) <= 40 else text[:37] + "..."
        return [f"{prefix}: {short(recorded)} vs {short(current)}"]
    return []
