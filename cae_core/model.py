"""The k-coupled autoencoder (k-CAE / k-CBNAE) and its loss, Eq. 1 of the supplement in the public code's
mean form (the paper's public code, AllenInstitute/coupledAE, averages over the batch):

    L = sum_i alpha_i R_i + lam * sum_{i<j} C(z_i, z_j),

R_i = mean over the batch rows and features of (x_i - D_i(z_i))^2, z_i = N_i(E_i(x_i)) the normalised code of
arm i (``latent_norm``), C a coupling from :mod:`cae_core.couplings` (mean over paired batch rows).

With per-feature standardisation (:mod:`cae_core.preprocessing`, ``fit(..., standardize=True)``) x_i above is the
standardised input s_i(x) = (x - mean_i) / scale_i; the public methods take and return data in its own units.
"""
from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from cae_core.arms import Arm
from cae_core.data import PairedDataset, _matrix, as_dataset
from cae_core.latent_norm import make_latent_norm
from cae_core.preprocessing import FeatureScaler

Coupling = Callable[..., torch.Tensor]


@dataclass
class Batch:
    """One mini-batch: ``xs[i]: (B, d_i)`` tensors; rows ``[:n_paired]`` are paired across arms, the rest are
    unpaired rows of each arm (used for the batch statistics, not for the distances)."""
    xs: list
    n_paired: int


@dataclass
class LossParts:
    """The terms of Eq. 1 for one batch: ``total`` = sum_i alphas[i] * recon[i] + lam * coupling, where
    ``coupling = sum_{i<j} pair_couplings[(i, j)]``. All 0-d tensors (``total`` carries the graph)."""
    total: torch.Tensor
    recon: list
    coupling: torch.Tensor
    pair_couplings: dict
    codes: list


def _resolve_coupling(coupling, options: Mapping | None) -> tuple[str, Coupling]:
    if callable(coupling):
        if options:
            raise ValueError("coupling_options must be empty when coupling is a callable (bind options yourself)")
        return getattr(coupling, "__name__", "custom"), coupling
    if not isinstance(coupling, str):
        raise TypeError(f"coupling must be a coupling name (str) or a callable, got {type(coupling).__name__}")
    from cae_core import couplings  # the registry: get(name, **options), names()
    if coupling not in couplings.names():
        raise ValueError(f"coupling must be one of {tuple(couplings.names())}, got {coupling!r}")
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(f"coupling_options must be a dict, got {type(options).__name__}")
    return coupling, couplings.get(coupling, **dict(options or {}))


class CoupledAutoencoder(nn.Module):
    """k >= 2 arms (encoder/decoder pairs, :mod:`cae_core.arms`) sharing one latent width p, each with its own
    latent normalisation, trained with the loss of Eq. 1.

    ``latent_norm``: "none" (k-CAE, Prop. 1) or "batchnorm" (k-CBNAE, Prop. 2; :mod:`cae_core.latent_norm`).
    ``coupling``: a name of :func:`cae_core.couplings.names` (options via ``coupling_options``) or a callable
    ``f(z_i, z_j, paired=None) -> 0-d tensor``. ``lam``: lambda >= 0. ``alphas``: alpha_i >= 0, default all 1.
    ``scalers[i]``: the per-feature standardisation of modality i (:class:`cae_core.preprocessing.FeatureScaler`,
    the identity until ``fit(..., standardize=True)`` fits it on the training rows).
    """

    def __init__(self, arms: Sequence[Arm], latent_norm: str = "batchnorm", coupling: str | Coupling = "mse",
                 lam: float = 1.0, alphas: Sequence[float] | None = None, coupling_options: Mapping | None = None,
                 latent_norm_options: Mapping | None = None):
        super().__init__()
        if isinstance(arms, nn.Module) or not isinstance(arms, Sequence):
            raise TypeError(f"arms must be a list of arms, got {type(arms).__name__}")
        if len(arms) < 2:
            raise ValueError(f"arms must hold k >= 2 arms (a coupling needs two), got {len(arms)}")
        for i, arm in enumerate(arms):
            if not isinstance(arm, Arm):
                raise TypeError(f"arms[{i}] must be an Arm (see cae_core.arms), got {type(arm).__name__}")
        p = arms[0].latent_dim
        for i, arm in enumerate(arms):
            if arm.latent_dim != p:
                raise ValueError(f"arms must share one latent dimension: arms[0].latent_dim = {p}, "
                                 f"arms[{i}].latent_dim = {arm.latent_dim}")
        if isinstance(lam, bool) or not isinstance(lam, (int, float, np.integer, np.floating)):
            raise TypeError(f"lam must be a real number, got {type(lam).__name__}")
        if not (np.isfinite(lam) and lam >= 0):
            raise ValueError(f"lam must be a finite number >= 0 (lambda of Eq. 1), got {lam}")
        k = len(arms)
        if alphas is None:
            alphas = (1.0,) * k
        if isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence):
            raise TypeError(f"alphas must be a sequence of k = {k} numbers, got {type(alphas).__name__}")
        if len(alphas) != k:
            raise ValueError(f"alphas must have one weight per arm (k = {k}), got {len(alphas)}")
        for i, a in enumerate(alphas):
            if isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating)):
                raise TypeError(f"alphas[{i}] must be a real number, got {type(a).__name__}")
            if not (np.isfinite(a) and a >= 0):
                raise ValueError(f"alphas[{i}] must be a finite number >= 0, got {a}")
        self.arms = nn.ModuleList(arms)
        self.latent_norm_name = latent_norm
        self.norms = nn.ModuleList(make_latent_norm(latent_norm, p, **dict(latent_norm_options or {}))
                                   for _ in arms)
        self.latent_norm_options = dict(latent_norm_options or {})
        self.coupling_name, self.coupling = _resolve_coupling(coupling, coupling_options)
        self.coupling_options = dict(coupling_options or {})
        self.coupling_is_named = isinstance(coupling, str)
        self.lam = float(lam)
        self.alphas = tuple(float(a) for a in alphas)
        self.scalers = nn.ModuleList(FeatureScaler(arm.in_dim) for arm in arms)

    # ------------------------------------------------------------------------------------------ properties
    @property
    def k(self) -> int:
        """Number of arms."""
        return len(self.arms)

    @property
    def latent_dim(self) -> int:
        """Latent width p shared by all arms."""
        return self.arms[0].latent_dim

    @property
    def in_dims(self) -> tuple[int, ...]:
        """Input dimension d_i of each arm."""
        return tuple(arm.in_dim for arm in self.arms)

    def _param(self) -> torch.Tensor:
        return next(self.parameters())

    # ------------------------------------------------------------------------------------------ tensor API
    def encode_tensor(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """z_i = N_i(E_i(s_i(x))): ``x: (B, d_i)`` in data units -> ``(B, p)``."""
        return self.norms[i](self.arms[i].encoder(self.scalers[i](x)))

    def decode_tensor(self, i: int, z: torch.Tensor) -> torch.Tensor:
        """s_i^-1(D_i(z)): ``z: (B, p) -> (B, d_i)`` in data units."""
        return self.scalers[i].inverse(self.arms[i].decoder(z))

    def check_batch(self, batch: Batch) -> None:
        """Raise ValueError unless ``batch`` fits this model (k tensors, equal rows, d_i columns, finite)."""
        xs, n = batch.xs, batch.n_paired
        if len(xs) != self.k:
            raise ValueError(f"batch.xs must hold one tensor per arm (k = {self.k}), got {len(xs)}")
        B = xs[0].shape[0]
        for i, x in enumerate(xs):
            if x.ndim != 2 or x.shape[0] != B or x.shape[1] != self.in_dims[i]:
                raise ValueError(f"batch.xs[{i}] must have shape ({B}, {self.in_dims[i]}), got {tuple(x.shape)}")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= B:
            raise ValueError(f"batch.n_paired must be an int in [1, B = {B}], got {n!r}")

    @contextmanager
    def _buffers_kept(self) -> Iterator[None]:
        """Run the body on copies of every buffer (batch-norm running statistics, also those of user-built arms)
        and put the untouched originals back on exit. (Copying the old values back in place instead would bump
        the version of tensors that autograd saved for the backward pass.)"""
        saved = []
        for module in self.modules():
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    saved.append((module, name, buffer))
                    module._buffers[name] = buffer.clone()
        try:
            yield
        finally:
            for module, name, buffer in saved:
                module._buffers[name] = buffer

    def loss(self, batch: Batch | Sequence, *, update_running_stats: bool = False) -> LossParts:
        """The parts of Eq. 1 (mean form) on ``batch``; differentiable ``total``. ``batch``: a :class:`Batch`
        or a list of k arrays/tensors ``(B, d_i)`` whose rows are all paired.

        Evaluating the loss does not change the model: in training mode the batch norms' running statistics are
        restored afterwards. Only a training step asks for them to move (``update_running_stats=True``, as
        :func:`cae_core.train.fit` does)."""
        if not isinstance(batch, Batch):
            if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence) or len(batch) == 0:
                raise TypeError(f"batch must be a Batch or a list of k (B, d_i) tensors, got {type(batch).__name__}")
            xs = [x if isinstance(x, torch.Tensor) else self._to_tensor(np.asarray(x, dtype=np.float64))
                  for x in batch]
            batch = Batch(xs, n_paired=int(xs[0].shape[0]))
        self.check_batch(batch)
        with (nullcontext() if update_running_stats or not self.training else self._buffers_kept()):
            inputs = [self.scalers[i](x) for i, x in enumerate(batch.xs)]
            codes = [self.norms[i](self.arms[i].encoder(x)) for i, x in enumerate(inputs)]
        recon = [((x - self.arms[i].decoder(z)) ** 2).mean() for i, (x, z) in enumerate(zip(inputs, codes))]
        B = batch.xs[0].shape[0]
        paired = None if batch.n_paired == B else batch.n_paired
        pairs = {(i, j): self.coupling(codes[i], codes[j], paired=paired)
                 for i in range(self.k) for j in range(i + 1, self.k)}
        coupling = torch.stack(list(pairs.values())).sum()
        total = sum(a * r for a, r in zip(self.alphas, recon)) + self.lam * coupling
        return LossParts(total=total, recon=recon, coupling=coupling, pair_couplings=pairs, codes=codes)

    # ------------------------------------------------------------------------------------------ numpy API
    def _to_tensor(self, x: np.ndarray) -> torch.Tensor:
        p = self._param()
        return torch.as_tensor(np.ascontiguousarray(x), dtype=p.dtype, device=p.device)

    def _eval_map(self, fn, arrays: Sequence[np.ndarray], chunk: int, arms: Sequence[int] | None = None
                  ) -> list[np.ndarray]:
        """``fn(arm, x_chunk)`` over chunks of ``arrays[n]`` (arm ``arms[n]``, default n) in eval mode, no grad."""
        if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
            raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
        was_training = self.training
        self.eval()
        try:
            out = []
            with torch.no_grad():
                for i, x in zip(range(len(arrays)) if arms is None else arms, arrays):
                    parts = [fn(i, self._to_tensor(x[s:s + chunk])).cpu().numpy() for s in range(0, max(len(x), 1), chunk)]
                    out.append(np.concatenate(parts, axis=0).astype(np.float64))
            return out
        finally:
            self.train(was_training)

    def _check_data(self, data, include_unpaired: bool) -> list[np.ndarray]:
        if not isinstance(data, PairedDataset) and isinstance(data, Sequence) and len(data) != self.k:
            raise ValueError(f"data must hold one modality per arm (k = {self.k}), got {len(data)}; to encode one "
                             f"modality pass the array alone: model.encode(X, modality=i)")
        data = as_dataset(data)
        if data.k != self.k:
            raise ValueError(f"data must have one modality per arm (k = {self.k}), got {data.k}")
        for i, (d, e) in enumerate(zip(data.dims, self.in_dims)):
            if d != e:
                raise ValueError(f"data modality {i} has {d} features but arms[{i}].in_dim = {e}")
        if include_unpaired:
            return [data.rows(i) for i in range(data.k)]
        return data.modalities

    def _check_modality(self, i, name: str) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"{name} must be an arm index (int), got {type(i).__name__}")
        if not 0 <= i < self.k:
            raise ValueError(f"{name} must be an arm index in [0, k = {self.k}), got {i}")
        return int(i)

    def _check_rows(self, x, i: int, name: str) -> np.ndarray:
        """One modality's rows ``x: (N, d_i)`` as a finite float64 array."""
        if isinstance(x, PairedDataset) or (isinstance(x, (list, tuple)) and len(x) > 0 and np.ndim(x[0]) == 2):
            raise TypeError(f"{name} must be the (N, d_{i}) array of modality {i} alone, not a list of modalities")
        x = _matrix(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x, name)
        if x.shape[1] != self.in_dims[i]:
            raise ValueError(f"{name} has {x.shape[1]} features but arms[{i}].in_dim = {self.in_dims[i]}")
        return x

    def encode(self, data, *, modality: int | None = None, include_unpaired: bool = False,
               chunk: int = 4096):
        """Codes z_i of every sample in eval mode (dropout/noise off, running latent statistics).

        ``data``: PairedDataset or list of k (N, d_i) arrays -> list of k float64 arrays (N, p); with
        ``include_unpaired`` the unpaired rows of modality i follow its paired rows. ``modality=i``: ``data`` is
        the ``(N, d_i)`` array of modality i alone (any N, no partner needed) -> one ``(N, p)`` array."""
        if modality is not None:
            i = self._check_modality(modality, "modality")
            if include_unpaired:
                raise ValueError("include_unpaired applies to a PairedDataset, not to modality=i with one array")
            return self._eval_map(self.encode_tensor, [self._check_rows(data, i, "data")], chunk, arms=[i])[0]
        arrays = self._check_data(data, include_unpaired)
        return self._eval_map(self.encode_tensor, arrays, chunk)

    def decode(self, codes: Sequence[np.ndarray], *, chunk: int = 4096) -> list[np.ndarray]:
        """D_i(z_i) for a list of k code arrays ``codes[i]: (N_i, p)`` -> list of (N_i, d_i) in data units,
        eval mode."""
        if not isinstance(codes, Sequence) or len(codes) != self.k:
            raise ValueError(f"codes must be a list of k = {self.k} arrays (N_i, p)")
        arrays = [self._check_codes(z, f"codes[{i}]") for i, z in enumerate(codes)]
        return self._eval_map(self.decode_tensor, arrays, chunk)

    def _check_codes(self, z, name: str) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"{name} must have shape (N, {self.latent_dim}), got {z.shape}")
        if not np.all(np.isfinite(z)):
            raise ValueError(f"{name} must contain only finite values")
        return z

    def reconstruct(self, data, *, include_unpaired: bool = False, chunk: int = 4096) -> list[np.ndarray]:
        """D_i(N_i(E_i(x_i))) for every modality, eval mode -> list of (N, d_i) arrays."""
        arrays = self._check_data(data, include_unpaired)
        return self._eval_map(lambda i, x: self.decode_tensor(i, self.encode_tensor(i, x)), arrays, chunk)

    def translate(self, x, *, source: int, target: int, chunk: int = 4096) -> np.ndarray:
        """Cross-modal prediction D_target(z_source): ``x: (N, d_source)`` of modality ``source`` alone ->
        ``(N, d_target)`` in the target modality's units, eval mode (the coupled codes are what makes the arms
        interchangeable; ``source == target`` is the within-modal reconstruction)."""
        i = self._check_modality(source, "source")
        j = self._check_modality(target, "target")
        rows = self._check_rows(x, i, "x")
        return self._eval_map(lambda _, t: self.decode_tensor(j, self.encode_tensor(i, t)), [rows], chunk)[0]

    # ------------------------------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write the model to the folder ``path``: weights and preprocessing (``weights.npz``, plain arrays) and
        its configuration (``model.json``); see :mod:`cae_core.saving`. Refuses a non-empty folder unless
        ``overwrite``."""
        from cae_core.saving import save_model
        save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | torch.device = "cpu") -> "CoupledAutoencoder":
        """The model saved in folder ``path`` by :meth:`save` (ValueError for a changed file or another format
        version)."""
        from cae_core.saving import load_model
        return load_model(path, device=device)
