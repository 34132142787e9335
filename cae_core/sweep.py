"""``fit_sweep``: a sweep of lam values x seeds trained as ONE vectorised model (batched weights, ``bmm``).

The R = len(lams) * len(seeds) runs of a sweep are independent copies of one architecture. Here every weight
matrix of the R runs is stacked into one tensor ``W: (R, out, in)``, every batch into ``x: (R, B, d_i)``, and a
step of all runs is a handful of batched kernels (``baddbmm``, batched ``svdvals``) instead of R separate
Python-driven steps. The summed loss sum_r L_r has, for run r's weights, exactly run r's gradient (the runs
share no parameter), and Adam is elementwise, so the batched optimiser is R independent Adams.

Reference semantics (what a sweep equals, run r = (lam, seed), lam-major order)::

    for lam in lams:
        for seed in seeds:
            torch.manual_seed(seed)
            model = build_model(lam)
            history = fit(model, data, steps, batch_size, n_paired, lr, seed=seed, ...)

Same initial weights (``build_model`` is called after ``torch.manual_seed(seed)``), same batch order (one
:class:`cae_core.train.BatchSampler` per seed, seeded as ``fit`` seeds it) and the same RNG streams (each run
draws its dropout masks and Gaussian input noise from its own ``torch.Generator`` seeded with ``seed``, in the
order ``fit`` draws them from the global generator: arm 0 encoder front to back, then arm 1, ...). What differs
is only the floating-point summation order inside the batched matrix products and reductions, so results agree
to rounding error, amplified by training; ``tests/test_sweep.py`` checks float64 agreement to 1e-9 relative.
Caveat with ``latent_norm="batchnorm"``: the loss is exactly invariant to a constant shift of the pre-norm code,
so the code layer's bias (and that of hidden units active on a whole batch) gets a gradient that is pure
rounding noise, which Adam (dividing by sqrt(v)) turns into steps of size ~lr. Those biases -- and the running
means that track them, hence eval-mode ``encode`` offsets -- differ between ANY two summation orders (sweep vs
sequential, or two BLAS builds) at O(lr * steps * momentum lag); losses, weight matrices and batch-statistics
codes still agree to rounding.

Supported arms: encoders/decoders built from ``nn.Linear``, ``nn.ReLU``, :class:`cae_core.dropout.Dropout` (the
arms' dropout), ``nn.Dropout``,
:class:`cae_core.arms.GaussianNoise` and ``nn.Identity`` (``linear_arm``, ``mlp_arm``, the Patch-seq and FACS
arms). Couplings ``mse`` and ``msv`` run batched; any other coupling is applied run by run (correct, slower).
The batched msv mirrors ``cae_core.couplings.msv`` as it is now: rank check in the codes' dtype, then mse,
lambda_min and the quotient in float64, cast back (a float32 quotient differs from it by ~eps * cond(V), which
training amplifies; tests/test_sweep.py compares the two run by run).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cae_core.arms import GaussianNoise
from cae_core.couplings import mse as _mse_coupling
from cae_core.couplings import msv as _msv_coupling
from cae_core.data import as_dataset
from cae_core.dropout import Dropout, scaled_keep_mask
from cae_core.latent_norm import BatchStandardize
from cae_core.model import CoupledAutoencoder, LossParts
from cae_core.spectral import rank_tolerance
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


# --------------------------------------------------------------------------------------- batched layers

@dataclass
class _Linear:
    """R stacked ``nn.Linear`` layers, ``weight: (R, out, in)`` as ``nn.Linear`` stores it, used transposed
    as fit's ``addmm`` uses it. (Storing W^T contiguously saves one copy of each weight gradient per step but
    takes other GEMM kernel paths than ``fit``: the rounding differences to the sequential runs grew, and
    tests/test_experiment_sweep.py's batch-norm bound then failed; so the layout stays that of ``fit``.)"""
    weight: torch.Tensor  # (R, out, in), leaf
    bias: torch.Tensor | None  # (R, out), leaf

    def __call__(self, x: torch.Tensor, gens) -> torch.Tensor:  # x: (R, B, in) -> (R, B, out)
        wt = self.weight.transpose(1, 2)
        if self.bias is None:
            return torch.bmm(x, wt)
        return torch.baddbmm(self.bias.unsqueeze(1), x, wt)


@dataclass
class _Dropout:
    """:class:`cae_core.dropout.Dropout` for x: (R, B, d): run r's mask from run r's generator, as ``fit`` draws
    it (one ``torch.rand`` of shape (B, d) per run, through :func:`cae_core.dropout.scaled_keep_mask`)."""
    p: float

    def __call__(self, x: torch.Tensor, gens) -> torch.Tensor:
        if self.p == 0.0:
            return x
        noise = torch.empty_like(x)
        for r, g in enumerate(gens):
            scaled_keep_mask(x.shape[1:], self.p, generator=g, out=noise[r])
        return x * noise


@dataclass
class _TorchDropout:
    """``torch.nn.Dropout`` for x: (R, B, d) (user-built arms): torch's CPU dropout is
    noise = empty_like(x).bernoulli_(1 - p); noise.div_(1 - p); x * noise -- one draw per run."""
    p: float

    def __call__(self, x: torch.Tensor, gens) -> torch.Tensor:
        if self.p == 0.0:
            return x
        noise = torch.stack([torch.empty_like(x[0]).bernoulli_(1.0 - self.p, generator=g) for g in gens])
        return x * noise.div_(1.0 - self.p)


@dataclass
class _Noise:
    std: float

    def __call__(self, x: torch.Tensor, gens) -> torch.Tensor:
        # GaussianNoise: x + std * randn_like(x), one draw of shape (B, d) per run from that run's stream.
        if self.std == 0.0:
            return x
        eps = torch.empty_like(x)
        for r, g in enumerate(gens):
            eps[r].normal_(0.0, 1.0, generator=g)   # = torch.randn(x.shape[1:], generator=g)
        return x + self.std * eps


def _relu(x: torch.Tensor, gens) -> torch.Tensor:
    return torch.relu(x)


def _identity(x: torch.Tensor, gens) -> torch.Tensor:
    return x


def _flatten(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in _flatten(child)]
    return [module]


def _stack_layers(modules: Sequence[nn.Module], where: str) -> list:
    """Batched layers for R copies ``modules[r]`` of one encoder/decoder; ValueError for unsupported layers."""
    layers_per_run = [_flatten(m) for m in modules]
    first = layers_per_run[0]
    for r, layers in enumerate(layers_per_run):
        if [type(m) for m in layers] != [type(m) for m in first]:
            raise ValueError(f"build_model must return the same architecture for every run; {where} differs "
                             f"between run 0 and run {r}")
    out = []
    for n, layer in enumerate(first):
        copies = [layers[n] for layers in layers_per_run]
        if isinstance(layer, nn.Linear):
            weight = torch.stack([c.weight.detach() for c in copies]).clone().requires_grad_(True)
            bias = (None if layer.bias is None else
                    torch.stack([c.bias.detach() for c in copies]).clone().requires_grad_(True))
            out.append(_Linear(weight, bias))
        elif isinstance(layer, Dropout):
            out.append(_Dropout(layer.p))
        elif isinstance(layer, nn.Dropout):
            out.append(_TorchDropout(float(layer.p)))
        elif isinstance(layer, GaussianNoise):
            out.append(_Noise(float(layer.std)))
        elif isinstance(layer, nn.ReLU):
            out.append(_relu)
        elif isinstance(layer, nn.Identity):
            out.append(_identity)
        else:
            raise ValueError(f"fit_sweep supports arms built from Linear, ReLU, Dropout, GaussianNoise and "
                             f"Identity layers (linear_arm, mlp_arm, Patch-seq and FACS arms); {where} has a "
                             f"{type(layer).__name__}")
    return out


def _run(layers: list, x: torch.Tensor, gens) -> torch.Tensor:
    for layer in layers:
        x = layer(x, gens)
    return x


def _parameters(layers: list) -> list[torch.Tensor]:
    return [t for layer in layers if isinstance(layer, _Linear) for t in (layer.weight, layer.bias)
            if t is not None]


# ---------------------------------------------------------------------------------- batched statistics

class _BatchedStandardize:
    """:class:`cae_core.latent_norm.BatchStandardize` (training mode) for z: (R, B, p), with running stats."""

    def __init__(self, norms: Sequence[BatchStandardize]):
        self.eps, self.momentum, self.unbiased = norms[0].eps, norms[0].momentum, norms[0].unbiased
        self.running_mean = torch.stack([n.running_mean for n in norms]).clone()
        self.running_var = torch.stack([n.running_var for n in norms]).clone()

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        B = z.shape[1]
        mean = z.mean(dim=1)
        centred = z - mean.unsqueeze(1)
        sum_sq = (centred ** 2).sum(dim=1)
        var = sum_sq / (B - 1 if self.unbiased else B)
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_((sum_sq / (B - 1)).detach(), self.momentum)
        return centred / torch.sqrt(var + self.eps).unsqueeze(1)


def _paired_sq_distance(z_i: torch.Tensor, z_j: torch.Tensor, n: int) -> torch.Tensor:
    """mean_{s < n} ||z_si - z_sj||^2 per run: (R, B, p) x 2 -> (R,) (couplings.mse.paired_sq_distance)."""
    d = z_i[:, :n] - z_j[:, :n]
    return (d * d).sum(dim=2).mean(dim=1)


def _require_full_rank(z: torch.Tensor, name: str) -> None:
    """The msv rule of :func:`cae_core.spectral.require_full_rank` for every run of z: (R, B, p), in z's dtype
    (its eps sets the tolerance, as in ``couplings.msv``): ValueError naming the first singular run."""
    R, B, p = z.shape
    if B <= p:
        raise ValueError(f"{name} must have more rows than columns (B > p) so that its covariance is "
                         f"invertible (C_MSV divides by lambda_min(V)); got B = {B}, p = {p}")
    sigma = torch.linalg.svdvals((z - z.mean(dim=1, keepdim=True)).detach())  # (R, p), descending
    tol = rank_tolerance(z[0]) * sigma[:, 0]
    bad = (sigma[:, -1] <= tol).nonzero()
    if len(bad):
        r = int(bad[0])
        raise ValueError(f"{name} of run {r} has a singular covariance (C_MSV divides by lambda_min(V); pass "
                         f"floor=1e-2 (Patch-seq code) to floor it): sigma_min = {float(sigma[r, -1]):.3g} "
                         f"<= max(B, p) * eps * sigma_max = {float(tol[r]):.3g}")


def _batched_lambda_min(z: torch.Tensor) -> torch.Tensor:
    """lambda_min(V) = sigma_min(B_c)^2 / (B - 1) per run, z: (R, B, p) -> (R,) (spectral.batch_lambda_min;
    0 when B <= p)."""
    R, B, p = z.shape
    if B <= p:
        return z.new_zeros(R) * z.sum(dim=(1, 2))
    sigma = torch.linalg.svdvals(z - z.mean(dim=1, keepdim=True))  # (R, p), descending
    return sigma[:, -1] ** 2 / (B - 1)


def _batched_coupling(coupling) -> Callable | None:
    """A batched twin ``f(z_i, z_j, n) -> (R,)`` of a ``couplings.get('mse' | 'msv', ...)`` partial, else None."""
    if not isinstance(coupling, functools.partial) or coupling.args:
        return None
    if coupling.func is _mse_coupling and not coupling.keywords:
        return _paired_sq_distance
    if coupling.func is _msv_coupling and set(coupling.keywords) <= {"floor"}:
        floor = coupling.keywords.get("floor")

        def msv(z_i, z_j, n):
            # as couplings.msv: the rank check in the input dtype; mse, lambda_min and the quotient in float64
            # for any input dtype, the value cast back to the input dtype
            if floor is None:
                _require_full_rank(z_i, "z_i")
                _require_full_rank(z_j, "z_j")
            a, b = z_i.to(torch.float64), z_j.to(torch.float64)
            denominator = torch.minimum(_batched_lambda_min(a), _batched_lambda_min(b))
            if floor is not None:
                denominator = torch.clamp(denominator, min=floor)
            return (_paired_sq_distance(a, b, n) / denominator).to(z_i.dtype)
        return msv
    return None


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
    m0 = models[0]
    for r, m in enumerate(models):
        same = (m.k == m0.k and m.in_dims == m0.in_dims and m.latent_dim == m0.latent_dim
                and m.alphas == m0.alphas and m.latent_norm_name == m0.latent_norm_name
                and m.coupling_name == m0.coupling_name)
        if not same:
            raise ValueError(f"build_model must return the same architecture, alphas, latent_norm and coupling "
                             f"for every lam (only lam may change); run {r} differs from run 0")
    return models


def fit_sweep(build_model: Callable[[float], CoupledAutoencoder], data, lams: Sequence[float],
              seeds: Sequence[int], steps: int = 2000, batch_size: int = 100, n_paired: int | None = None,
              lr: float = 1e-3, device: str | torch.device = "cpu", dtype=torch.float32, log_every: int = 1,
              progress: bool | None = None) -> SweepResult:
    """Train the len(lams) x len(seeds) runs of ``fit`` (see the module docstring for the exact sequential
    equivalent) as one vectorised model. ``build_model(lam)`` must return a fresh
    :class:`~cae_core.model.CoupledAutoencoder` with that lam; it is called after ``torch.manual_seed(seed)``
    (inside ``torch.random.fork_rng``, so the caller's RNG is untouched). Other arguments as in
    :func:`cae_core.train.fit`. Raises ValueError (TypeError for wrong types) before training on bad
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

    # ---- stacked weights, batched latent norms and coupling
    encoders = [_stack_layers([m.arms[i].encoder for m in models], f"arms[{i}].encoder") for i in range(k)]
    decoders = [_stack_layers([m.arms[i].decoder for m in models], f"arms[{i}].decoder") for i in range(k)]
    params = [t for layers in encoders + decoders for t in _parameters(layers)]
    n_model_params = sum(t.numel() for t in m0.parameters())
    if sum(t[0].numel() for t in params) != n_model_params:
        raise ValueError("fit_sweep found parameters outside the arms' Linear layers; only Linear weights can be "
                         "stacked")
    if m0.latent_norm_name == "batchnorm":
        norms = [_BatchedStandardize([m.norms[i] for m in models]) for i in range(k)]
    else:
        norms = [None] * k
    batched = _batched_coupling(m0.coupling)
    lam_vec = torch.tensor([m.lam for m in models], dtype=dt, device=dev)
    alphas = m0.alphas
    pools = row_pools(data, dt, dev)
    n_rows = data.n_paired
    gens = []
    for m in range(R):
        g = torch.Generator(device=dev)
        g.manual_seed(seeds[m % S])
        gens.append(g)
    optimizer = make_adam(params, lr)
    histories: list[History] = [{} for _ in range(R)]

    bar = _progress_bar(progress)
    task = None
    if bar is not None:
        bar.start()
        task = bar.add_task("fit_sweep", total=steps, loss="")
    try:
        for step in range(steps):
            per_seed = [batch_rows(*s.sample(), n_rows) for s in samplers]
            xs = []
            for i in range(k):
                index = torch.as_tensor(np.concatenate([per_seed[r % S][i] for r in range(R)]), device=dev)
                xs.append(torch.index_select(pools[i], 0, index).view(R, batch_size, -1))   # (R, B, d_i)
            codes = []
            for i in range(k):
                z = _run(encoders[i], xs[i], gens)
                codes.append(z if norms[i] is None else norms[i](z))
            # R_i per run: mean of (x - D_i(z))^2 (model.loss); mse_loss's forward gives the same values and
            # its backward is one fused pass (pow's backward: two passes and a temporary of the batch's size)
            recon = [F.mse_loss(_run(decoders[i], z, gens), x, reduction="none").mean(dim=(1, 2))
                     for i, (x, z) in enumerate(zip(xs, codes))]
            paired = n_paired
            pairs = {}
            for i in range(k):
                for j in range(i + 1, k):
                    if batched is not None:
                        pairs[(i, j)] = batched(codes[i], codes[j], paired)
                    else:
                        arg = None if paired == batch_size else paired
                        pairs[(i, j)] = torch.stack([m0.coupling(codes[i][r], codes[j][r], paired=arg)
                                                     for r in range(R)])
            coupling = torch.stack(list(pairs.values())).sum(dim=0)
            total = sum(a * rec for a, rec in zip(alphas, recon)) + lam_vec * coupling
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

    # ---- copy the trained weights and running statistics back into each run's model
    with torch.no_grad():
        for i in range(k):
            for side, layers in (("encoder", encoders[i]), ("decoder", decoders[i])):
                linears = [layer for layer in layers if isinstance(layer, _Linear)]
                for r, model in enumerate(models):
                    mods = [mod for mod in _flatten(getattr(model.arms[i], side)) if isinstance(mod, nn.Linear)]
                    for mod, layer in zip(mods, linears):
                        mod.weight.copy_(layer.weight[r])
                        if layer.bias is not None:
                            mod.bias.copy_(layer.bias[r])
            if norms[i] is not None:
                for r, model in enumerate(models):
                    model.norms[i].running_mean.copy_(norms[i].running_mean[r])
                    model.norms[i].running_var.copy_(norms[i].running_var[r])
    return SweepResult(lams=lams, seeds=seeds, models=models, histories=histories)
