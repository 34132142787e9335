"""``fit_sweep``: a sweep of lam values x seeds trained as ONE stacked model, built from the runs' own modules.

The R = len(lams) * len(seeds) runs of a sweep are independent copies of one architecture. Their parameters and
buffers are stacked into tensors with a leading run dimension (``torch.func.stack_module_state``); each arm's
encoder and decoder runs all R copies at once as ``torch.func.vmap`` of ``torch.func.functional_call`` of the
arm's own module, and the latent normalisation and the coupling -- which take stacks ``(R, B, p)`` natively
(:mod:`cae_core.latent_norm`, :mod:`cae_core.couplings`) -- are the model's own. No layer, normalisation or
coupling is written a second time here: a sweep computes what ``fit`` computes, with batched kernels. The summed
loss sum_r L_r has, for run r's parameters, exactly run r's gradient (the runs share no parameter), and Adam is
elementwise, so the optimiser over the stacked tensors is R independent Adams.

Reference semantics (what a sweep equals, run r = (lam, seed), lam-major order)::

    for lam in lams:
        for seed in seeds:
            torch.manual_seed(seed)
            model = build_model(lam)
            history = fit(model, data, steps, batch_size, n_paired, lr, seed=seed, ...)

Same initial weights (``build_model`` is called after ``torch.manual_seed(seed)``), same batch order (one
:class:`cae_core.train.BatchSampler` per seed, seeded as ``fit`` seeds it) and the same random streams: inside
``vmap`` a layer cannot draw from its run's generator, so every :class:`cae_core.dropout.RandomLayer` (dropout,
Gaussian input noise) gets its tensor from a :class:`_Tape`, filled before each call with each run's draws from
that run's own ``torch.Generator`` (seeded with ``seed``), in the order ``fit`` draws them from the global
generator: the encoders of arms 0, 1, ... front to back, then the decoders. Any other random operation inside an
arm is refused (``vmap(randomness="error")``; e.g. ``torch.nn.Dropout``: use :class:`cae_core.dropout.Dropout`).
What differs is only the floating-point summation order inside the batched products and reductions, so results
agree to rounding error, amplified by training; ``tests/test_sweep.py`` checks float64 agreement to 1e-9 relative.
Caveat with ``latent_norm="batchnorm"``: the loss is exactly invariant to a constant shift of the pre-norm code,
so the code layer's bias (and that of hidden units active on a whole batch) gets a gradient that is pure
rounding noise, which Adam (dividing by sqrt(v)) turns into steps of size ~lr. Those biases -- and the running
means that track them, hence eval-mode ``encode`` offsets -- differ between ANY two summation orders (sweep vs
sequential, or two BLAS builds) at O(lr * steps * momentum lag); losses, weight matrices and batch-statistics
codes still agree to rounding.

Supported: any arms that ``vmap`` can run (Linear, ReLU, convolutions, pooling, reshapes; the paper's arms) with
their random layers derived from :class:`cae_core.dropout.RandomLayer`; every registered coupling runs stacked,
a user's callable coupling run by run. The device is the caller's choice: on a GPU the stacked products are
where a sweep gains (benchmarks/bench_sweep.py).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from cae_core.couplings import accepts_stacks
from cae_core.data import as_dataset
from cae_core.dropout import RandomLayer
from cae_core.model import CoupledAutoencoder, LossParts
from cae_core.train import (BatchSampler, History, _check_model_data, _int, _log, _progress_bar, batch_rows,
                            make_adam, resolve_device, resolve_dtype, row_pools)


@dataclass
class SweepResult:
    """Trained runs of a sweep in lam-major order: run ``r = a * len(seeds) + b`` has ``lams[a]``, ``seeds[b]``.
    ``models[r]`` holds that run's trained weights (and running latent statistics), ``histories[r]`` its
    history with the keys and logged steps of :func:`cae_core.train.fit`."""
    lams: tuple
    seeds: tuple
    models: list
    histories: list

    def index(self, lam: float, seed: int) -> int:
        """Position r of the run (lam, seed)."""
        return self.lams.index(float(lam)) * len(self.seeds) + self.seeds.index(int(seed))


# ------------------------------------------------------------------------------- random layers under vmap

class _Tape:
    """The random tensors of one call of a module, in call order: recorded (shapes, on a probe call) or replayed
    (tensors drawn per run outside ``vmap``; inside it each is the current run's slice)."""

    def __init__(self, noises: Sequence[torch.Tensor] | None = None):
        self.recorded: list[tuple[nn.Module, torch.Size]] = []
        self.noises = None if noises is None else list(noises)

    def take(self, layer: RandomLayer, x: torch.Tensor) -> torch.Tensor:
        if self.noises is None:                                   # recording: shapes only
            self.recorded.append((layer, x.shape))
            return torch.zeros_like(x)
        noise = self.noises.pop(0)
        if noise.shape != x.shape:
            raise RuntimeError(f"fit_sweep: a random layer was called with shape {tuple(x.shape)}, but the probe "
                               f"call saw {tuple(noise.shape)} (an arm whose random calls depend on the data)")
        return noise


def _attach(module: nn.Module, tape: _Tape | None) -> None:
    for layer in module.modules():
        if isinstance(layer, RandomLayer):
            layer.tape = tape


def _random_calls(module: nn.Module, x_shape: tuple, dtype, device) -> list[tuple[str, torch.Size]]:
    """(qualified name, input shape) of every draw of a random layer in one training-mode call of ``module`` on a
    batch of ``x_shape``, in call order (a probe call on a copy, so neither the module nor any RNG changes)."""
    probe = copy.deepcopy(module).train()
    names = {id(m): name for name, m in probe.named_modules()}
    tape = _Tape()
    _attach(probe, tape)
    with torch.no_grad():
        probe(torch.zeros(x_shape, dtype=dtype, device=device))
    return [(names[id(layer)], shape) for layer, shape in tape.recorded]


class _StackedPart:
    """One encoder or decoder of the R runs: the module of run 0 called with each run's parameters under vmap."""

    def __init__(self, module: nn.Module, prefix: str, state: dict, x_shape: tuple, dtype, device):
        self.module = module
        self.state = {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}
        self.calls = [(module.get_submodule(name), shape)
                      for name, shape in _random_calls(module, x_shape, dtype, device)]

        def one_run(state_r, x_r, noises_r):
            _attach(self.module, _Tape(noises_r))
            try:
                return functional_call(self.module, state_r, (x_r,))
            finally:
                _attach(self.module, None)
        self.batched = vmap(one_run, randomness="error")

    def __call__(self, x: torch.Tensor, gens: Sequence[torch.Generator]) -> torch.Tensor:
        """``x: (R, B, d) -> (R, B, d')``; run r's random layers draw from ``gens[r]`` (fit's order)."""
        noises = [torch.stack([layer.draw(shape, x.dtype, x.device, g) for g in gens]) for layer, shape in self.calls]
        return self.batched(self.state, x, noises)


# ------------------------------------------------------------------------------------------- the sweep

def _check_lams_seeds(lams, seeds) -> tuple[tuple, tuple]:
    if isinstance(lams, (str, bytes)) or not isinstance(lams, Sequence) or len(lams) == 0:
        raise ValueError(f"lams must be a non-empty sequence of numbers >= 0, got {lams!r}")
    for lam in lams:
        if isinstance(lam, bool) or not isinstance(lam, (int, float, np.integer, np.floating)):
            raise TypeError(f"lams must hold real numbers, got {type(lam).__name__}")
        if not (np.isfinite(lam) and lam >= 0):
            raise ValueError(f"lams must hold finite numbers >= 0 (lambda of Eq. 1), got {lam}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty sequence of ints >= 0, got {seeds!r}")
    seeds = tuple(_int(s, "seeds[]", 0) for s in seeds)
    lams = tuple(float(lam) for lam in lams)
    if len(set(lams)) != len(lams) or len(set(seeds)) != len(seeds):
        raise ValueError(f"lams and seeds must not repeat a value, got lams={lams}, seeds={seeds}")
    return lams, seeds


def _architecture(model: CoupledAutoencoder) -> list:
    """What must agree between the runs of a sweep: every module's name, type and settings, the arms' sizes,
    alphas, the latent norm and the coupling with its options (only lam may differ)."""
    coupling = model.coupling
    options = sorted(coupling.keywords.items()) if hasattr(coupling, "keywords") else None
    return [(name, type(m).__name__, m.extra_repr()) for name, m in model.named_modules()] + [
        model.in_dims, model.latent_dim, model.alphas, model.latent_norm_name, model.coupling_name, options]


def _build_models(build_model, lams, seeds, dev, dt) -> list[CoupledAutoencoder]:
    if not callable(build_model):
        raise TypeError(f"build_model must be a callable lam -> CoupledAutoencoder, got {type(build_model).__name__}")
    models = []
    with torch.random.fork_rng(devices=[]):
        for lam in lams:
            for seed in seeds:
                torch.manual_seed(seed)
                model = build_model(lam)
                if not isinstance(model, CoupledAutoencoder):
                    raise TypeError(f"build_model must return a CoupledAutoencoder, got {type(model).__name__}")
                if model.lam != lam:
                    raise ValueError(f"build_model(lam) must build a model with that lam; build_model({lam}) "
                                     f"returned lam = {model.lam}")
                models.append(model.to(device=dev, dtype=dt).train())
    first = _architecture(models[0])
    for r, m in enumerate(models):
        if _architecture(m) != first:
            raise ValueError(f"build_model must return the same architecture, alphas, latent_norm and coupling "
                             f"for every lam (only lam may change); run {r} differs from run 0")
    for name, module in models[0].named_modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            raise ValueError(f"fit_sweep cannot give each run its own stream of torch.nn.{type(module).__name__} "
                             f"({name}) under vmap; use cae_core.dropout.Dropout (the same distribution)")
    return models


def fit_sweep(build_model: Callable[[float], CoupledAutoencoder], data, lams: Sequence[float],
              seeds: Sequence[int], steps: int = 2000, batch_size: int = 100, n_paired: int | None = None,
              lr: float = 1e-3, device: str | torch.device = "cpu", dtype=torch.float32, log_every: int = 50,
              progress: bool | None = None) -> SweepResult:
    """Train the len(lams) x len(seeds) runs of ``fit`` (see the module docstring for the exact sequential
    equivalent) as one stacked model. ``build_model(lam)`` must return a fresh
    :class:`~cae_core.model.CoupledAutoencoder` with that lam; it is called after ``torch.manual_seed(seed)``
    (inside ``torch.random.fork_rng``, so the caller's RNG is untouched). Other arguments as in
    :func:`cae_core.train.fit` (and its defaults, :class:`cae_core.train.FitConfig`). Raises ValueError (TypeError for wrong types) before training on bad
    arguments, FloatingPointError naming the run if a loss becomes non-finite.
    """
    data = as_dataset(data)
    lams, seeds = _check_lams_seeds(lams, seeds)
    steps = _int(steps, "steps", 1)
    batch_size = _int(batch_size, "batch_size", 2)
    n_paired = batch_size if n_paired is None else _int(n_paired, "n_paired", 1)
    if n_paired > batch_size:
        raise ValueError(f"n_paired ({n_paired}) must be <= batch_size ({batch_size})")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    log_every = _int(log_every, "log_every", 1)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be None, True or False, got {type(progress).__name__}")
    samplers = [BatchSampler(data, batch_size, n_paired, seed) for seed in seeds]  # raises if batch too big
    models = _build_models(build_model, lams, seeds, dev, dt)
    _check_model_data(models[0], data)  # the others have the same arms (checked in _build_models)
    m0, k, R, S = models[0], models[0].k, len(models), len(seeds)

    # ---- the runs' parameters and buffers as stacked tensors; run 0's modules compute with them
    params, buffers = stack_module_state(models)
    state = {**params, **buffers}
    p = m0.latent_dim
    encoders = [_StackedPart(m0.arms[i].encoder, f"arms.{i}.encoder.", state, (batch_size, m0.in_dims[i]), dt, dev)
                for i in range(k)]
    decoders = [_StackedPart(m0.arms[i].decoder, f"arms.{i}.decoder.", state, (batch_size, p), dt, dev)
                for i in range(k)]
    norm_states = [{key[len(f"norms.{i}."):]: v for key, v in buffers.items() if key.startswith(f"norms.{i}.")}
                   for i in range(k)]
    stacked_coupling = accepts_stacks(m0.coupling)
    lam_vec = torch.tensor([m.lam for m in models], dtype=dt, device=dev)
    pools = row_pools(data, dt, dev)
    gens = []
    for r in range(R):
        g = torch.Generator(device=dev)
        g.manual_seed(seeds[r % S])
        gens.append(g)
    optimizer = make_adam(list(params.values()), lr)
    histories: list[History] = [{} for _ in range(R)]
    paired = None if n_paired == batch_size else n_paired

    def couple(z_i: torch.Tensor, z_j: torch.Tensor) -> torch.Tensor:
        if stacked_coupling:
            return m0.coupling(z_i, z_j, paired=paired)
        return torch.stack([m0.coupling(z_i[r], z_j[r], paired=paired) for r in range(R)])

    bar = _progress_bar(progress, "fit_sweep")
    task = None
    if bar is not None:
        bar.start()
        task = bar.add_task("fit_sweep", total=steps, loss="")
    try:
        for step in range(steps):
            per_seed = [batch_rows(*s.sample(), data.n_paired) for s in samplers]
            xs = []
            for i in range(k):
                index = torch.as_tensor(np.concatenate([per_seed[r % S][i] for r in range(R)]), device=dev)
                xs.append(torch.index_select(pools[i], 0, index).view(R, batch_size, -1))   # (R, B, d_i)
            # as CoupledAutoencoder.loss, for the R runs at once: encoders, latent norms, decoders, couplings
            codes = [functional_call(m0.norms[i], norm_states[i], (encoders[i](xs[i], gens),)) for i in range(k)]
            recon = [F.mse_loss(decoders[i](z, gens), x, reduction="none").mean(dim=(1, 2))
                     for i, (x, z) in enumerate(zip(xs, codes))]
            pairs = {(i, j): couple(codes[i], codes[j]) for i in range(k) for j in range(i + 1, k)}
            coupling = torch.stack(list(pairs.values())).sum(dim=0)
            total = sum(a * rec for a, rec in zip(m0.alphas, recon)) + lam_vec * coupling
            finite = torch.isfinite(total.detach())
            if not bool(finite.all()):
                r = int((~finite).nonzero()[0])
                raise FloatingPointError(f"the loss of run {r} (lam = {models[r].lam}, seed = {seeds[r % S]}) became "
                                         f"non-finite at step {step}; lower lr or use a coupling floor")
            optimizer.zero_grad(set_to_none=True)
            total.sum().backward()
            optimizer.step()
            if step % log_every == 0 or step == steps - 1:
                for r in range(R):
                    parts = LossParts(total=total[r], recon=[rec[r] for rec in recon], coupling=coupling[r],
                                      pair_couplings={key: c[r] for key, c in pairs.items()},
                                      codes=[z[r] for z in codes])
                    _log(histories[r], step, parts, k)
            if task is not None:
                bar.update(task, completed=step + 1)
    finally:
        if bar is not None:
            bar.stop()

    # ---- each run's trained parameters and running statistics back into its own model
    with torch.no_grad():
        for r, model in enumerate(models):
            model.load_state_dict({key: value[r] for key, value in state.items()})
    return SweepResult(lams=lams, seeds=seeds, models=models, histories=histories)
