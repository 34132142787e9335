"""``cae bench``: training, sweep, spectral and verification speed on THIS machine, compared within one run.

Sections (``--only`` picks some; all by default):

- ``train``    steps/s of the Patch-seq-size model (T arm 1252 inputs, E arm 54, d = 3, batch 100 = 75 paired +
               25 unpaired, msv coupling, alphas (1, 0.1), Adam) through ``fit`` vs a minimal plain-PyTorch loop
               of the same computation, interleaved in one process; achieved FLOP/s (matmul FLOPs per step
               counted by ``torch.utils.flop_counter.FlopCounterMode``) as a fraction of the fp32 matmul peak
               measured in the same run (best of repeated n x n products).
- ``sweep``    4 lam x 10 seeds: ``fit_sweep`` (one vectorised model) vs the same 40 ``fit`` runs one after
               another; speed-up and the largest relative difference of the logged losses.
- ``spectral`` lambda_min of the batch covariance with its gradient: inverse iteration vs svdvals vs
               eigvalsh, p in {2, 3, 10, 50}, B in {100, 1000}; errors against a float64 numpy reference.
- ``verify``   wall time of ``cae verify`` (a subprocess) and Hypothesis/search examples per second.
- ``pytest``   wall time of the default ``python -m pytest`` run (a subprocess; skipped with ``--quick``).

Timings are medians of interleaved repeats (spread: min and max); memory is the peak resident set size above
the baseline, sampled every 2 ms in a separate, untimed pass (subprocesses: their own max RSS). The machine's
load average is recorded at the start and the end: on a shared machine absolute numbers are pessimistic, the
ratios measured within one run are the meaningful part.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from cae_cli.main import CLIError, check_device, check_writable_file

HELP = "measure training, sweep, spectral and verification speed on this machine (prints a table, writes JSON)"
SECTIONS = ("train", "sweep", "spectral", "verify", "pytest")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="PATH", default="cae-bench.json",
                   help="where to write the measurements (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (seconds; the smoke test's size)")
    p.add_argument("--only", metavar="SECTION", nargs="+", choices=SECTIONS, default=None,
                   help=f"run only these sections ({', '.join(SECTIONS)})")
    p.add_argument("--repeats", metavar="N", type=int, default=None,
                   help="interleaved repeats per measurement (default 5, 2 with --quick)")
    p.add_argument("--device", default="cpu", help="torch device for train/sweep/spectral (default cpu)")
    p.add_argument("--threads", metavar="N", type=int, default=None,
                   help="torch intra-op threads for train/sweep/spectral (default: torch's own choice)")


# ------------------------------------------------------------------------------------------- measuring

def summary(values) -> dict:
    """Median and spread (min, max) of repeated measurements."""
    values = [float(v) for v in values]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values),
            "values": values}


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: fall back to the lifetime maximum (coarser)
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_memory_mb(fn) -> float:
    """Peak resident memory above the level before ``fn()`` runs, MB (RSS sampled every 2 ms; on CUDA the
    peak of torch's allocator is added)."""
    import torch
    base = _rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.002)
    thread = threading.Thread(target=sample, daemon=True)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        cuda_base = torch.cuda.memory_allocated()
    thread.start()
    try:
        fn()
    finally:
        done.set()
        thread.join()
    peak[0] = max(peak[0], _rss_bytes())
    extra = (torch.cuda.max_memory_allocated() - cuda_base) if cuda else 0
    return (peak[0] - base + extra) / 2 ** 20


def memory_mb(maker: str, workloads: dict, name: str, quick: bool, device: str) -> float:
    """Peak memory of one workload: in a fresh process (:func:`fresh_peak_memory_mb`), or with ``quick`` in
    this process after the timed runs (seconds instead of a torch import per workload; allocator caches left
    by earlier runs can hide part of it, so --quick memory is a lower bound)."""
    if quick:
        return peak_memory_mb(workloads[name])
    return fresh_peak_memory_mb(maker, name, quick, device)


def _memory_child(maker: str, name: str, quick: bool, device: str, threads: int, queue) -> None:
    import torch
    torch.set_num_threads(threads)
    workloads = globals()[maker](quick, device)
    queue.put(peak_memory_mb(workloads[name]))


def fresh_peak_memory_mb(maker: str, name: str, quick: bool, device: str) -> float:
    """:func:`peak_memory_mb` of workload ``name`` of ``maker(quick, device)`` run once in a fresh (spawned)
    process, after its set-up (data, model) -- so allocator caches of earlier measurements cannot hide it."""
    import multiprocessing

    import torch
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_memory_child, args=(maker, name, quick, device, torch.get_num_threads(), queue))
    proc.start()
    try:
        return float(queue.get(timeout=1800))
    finally:
        proc.join()


def _sync(device) -> None:
    import torch
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device="cpu") -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def machine_info() -> dict:
    import torch
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": affinity, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None}


def matmul_peak(device="cpu", n: int = 1024, repeats: int = 10) -> dict:
    """fp32 FLOP/s of an n x n by n x n product (2 n^3 FLOPs): best (the peak) and median of ``repeats``."""
    import torch
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b  # warm-up
    rates = [2 * n ** 3 / timed(lambda: a @ b, device) for _ in range(repeats)]
    return {"n": n, "peak_flops": max(rates), "median_flops": statistics.median(rates)}


# ------------------------------------------------------------------------------------- Patch-seq model

def patchseq_data(quick: bool, seed: int = 0):
    """Random data of Patch-seq size: 1518 paired cells (1252 non-negative 'genes', 54 'ephys' features) and
    500 unpaired cells per modality (--quick: 40 genes, 8 features, 300 + 100 rows)."""
    import numpy as np
    from cae_core import PairedDataset
    n, u, d_t, d_e = (300, 100, 40, 8) if quick else (1518, 500, 1252, 54)
    rng = np.random.default_rng(seed)
    t = np.log1p(rng.gamma(0.5, 20.0, size=(n + u, d_t)))
    e = rng.normal(size=(n + u, d_e))
    return PairedDataset([t[:n], e[:n]], unpaired=[t[n:], e[n:]])


def patchseq_builder(data, lam_default: float = 1.0, dropout: bool = True):
    """``build(lam)`` -> the Patch-seq k-CAE (patchseq_t_arm / patchseq_e_arm widths, d = 3, msv, alphas
    (1, 0.1), no latent normalisation: C_MSV is itself scale invariant). ``dropout=False``: the same model with
    dropout and input noise off (isolates the cost of drawing the random masks)."""
    from cae_core import CoupledAutoencoder, patchseq_e_arm, patchseq_t_arm

    d_t, d_e = data.dims
    off = {} if dropout else {"dropout": 0.0}

    def build(lam: float = lam_default):
        arms = [patchseq_t_arm(3, n_genes=d_t, **off),
                patchseq_e_arm(3, n_features=d_e, **off, **({} if dropout else {"noise_std": 0.0}))]
        return CoupledAutoencoder(arms, latent_norm="none", coupling="msv", lam=lam, alphas=(1.0, 0.1))
    return build


def plain_loop(model, data, batch_size: int = 100, n_paired: int = 75, lr: float = 1e-3,
               seed: int = 0, device="cpu", fused_adam: bool = False):
    """The same computation as ``fit`` written as a minimal plain-PyTorch loop (no validation, no logging):
    sample 75 paired + 25 unpaired rows per arm, reconstruct, msv coupling (mse of the paired rows divided by the
    smaller lambda_min = sigma_min(B_c)^2 / (B - 1)), ``torch.optim.Adam(params, lr)`` as a user calls it (on
    CPU torch then picks its single-tensor for-loop implementation; ``fused_adam=True``: the fused kernel, as
    ``fit`` uses -- an ablation, not the baseline). The model's own layers (its dropout included) are used as
    they are. Returns a ``step()`` closure."""
    import numpy as np
    import torch

    p = next(model.parameters())
    pairs = [torch.as_tensor(x, dtype=p.dtype, device=device) for x in data.modalities]
    pools = [torch.as_tensor(u, dtype=p.dtype, device=device) for u in data.unpaired]
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, **({"fused": True} if fused_adam else {}))
    extra = batch_size - n_paired
    alphas, lam = model.alphas, model.lam
    model.train()

    def step():
        idx = torch.as_tensor(rng.choice(data.n_paired, n_paired, replace=False), device=device)
        xs = [torch.cat([x[idx], u[torch.as_tensor(rng.choice(len(u), extra, replace=False), device=device)]])
              for x, u in zip(pairs, pools)]
        zs = [arm.encoder(x) for arm, x in zip(model.arms, xs)]
        recon = [((x - arm.decoder(z)) ** 2).mean() for arm, x, z in zip(model.arms, xs, zs)]
        lmin = [torch.linalg.svdvals(z - z.mean(0))[-1] ** 2 / (batch_size - 1) for z in zs]
        d = zs[0][:n_paired] - zs[1][:n_paired]
        loss = alphas[0] * recon[0] + alphas[1] * recon[1] + lam * (d * d).sum(1).mean() / torch.minimum(*lmin)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss
    return step


def flops_per_step(step) -> int:
    """Matmul FLOPs (forward + backward) of one training step, counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return int(counter.get_total_flops())


def with_torch_dropout(model):
    """``model`` with every :class:`cae_core.dropout.Dropout` replaced by ``torch.nn.Dropout`` of the same p (the
    arms before cae_core.dropout: masks by ``bernoulli_``), in place; returns it."""
    from torch import nn

    from cae_core.dropout import Dropout
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, Dropout):
                setattr(module, name, nn.Dropout(child.p))
    return model


def _train_setup(quick: bool, device="cpu"):
    import copy

    import torch

    from cae_core import fit
    data = patchseq_data(quick)
    build = patchseq_builder(data)
    steps = 10 if quick else 50
    torch.manual_seed(0)
    base = build()
    plain_step = plain_loop(copy.deepcopy(base).to(device), data, device=device)
    # ablations of the plain loop: the dropout of the arms before cae_core.dropout (bernoulli_ masks), and
    # torch's fused Adam (fit's optimiser)
    old_dropout_step = plain_loop(with_torch_dropout(copy.deepcopy(base)).to(device), data, device=device)
    fused_step = plain_loop(copy.deepcopy(base).to(device), data, device=device, fused_adam=True)
    fit_model, fit_log_model = copy.deepcopy(base), copy.deepcopy(base)
    kw = dict(batch_size=100, n_paired=75, progress=False, device=device)

    def repeat(step):
        def run():
            for _ in range(steps):
                step()
        return run

    workloads = {
        "plain": repeat(plain_step),
        "plain_torch_dropout": repeat(old_dropout_step),
        "plain_fused_adam": repeat(fused_step),
        "fit": lambda: fit(fit_model, data, steps=steps, log_every=steps, **kw),
        "fit_log_every_1": lambda: fit(fit_log_model, data, steps=steps, log_every=1, **kw),
    }
    return workloads, plain_step, steps, base


def linear_layers(model) -> list:
    """The ``nn.Linear`` layers of every arm, encoder then decoder, with a flag: is it an encoder's first
    layer (its input is data, so backward computes no input gradient)."""
    from torch import nn
    out = []
    for arm in model.arms:
        for side in (arm.encoder, arm.decoder):
            linears = [m for m in side.modules() if isinstance(m, nn.Linear)]
            out += [(m, side is arm.encoder and n == 0) for n, m in enumerate(linears)]
    return out


def step_gemms(model, batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of the matrix products of one training step of ``model`` on ``batch`` rows: per Linear(in,
    out) the forward (B, in) x (in, out), the weight gradient (out, B) x (B, in) and, except for an encoder's
    first layer, the input gradient (B, out) x (out, in) (the count of tests/test_bench_smoke.py)."""
    shapes = []
    for layer, first in linear_layers(model):
        a, b = layer.in_features, layer.out_features
        shapes += [(batch, a, b), (b, batch, a)] + ([] if first else [(batch, b, a)])
    return shapes


def gemm_floor(model, batch: int, device="cpu", runs: int = 1, repeats: int = 5, inner: int = 20) -> dict:
    """Time ONLY the matrix products of one training step (:func:`step_gemms`), back to back on preallocated
    fp32 operands (``runs`` > 1: as batched products ``bmm`` of ``runs`` independent runs, fit_sweep's form):
    the time no implementation that uses these products can beat. Best of ``repeats`` x ``inner`` steps."""
    import torch
    shapes = step_gemms(model, batch)
    lead = (runs,) if runs > 1 else ()
    ops = [(torch.randn(*lead, m, k, device=device), torch.randn(*lead, k, n, device=device),
            torch.empty(*lead, m, n, device=device)) for m, k, n in shapes]
    mul = torch.bmm if runs > 1 else torch.mm

    def once():
        for _ in range(inner):
            for a, b, c in ops:
                mul(a, b, out=c)
    once()
    seconds = min(timed(once, device) for _ in range(repeats)) / inner
    flops = runs * sum(2 * m * k * n for m, k, n in shapes)
    return {"runs": runs, "n_products": len(shapes), "flops": flops, "seconds_per_step": seconds,
            "flops_per_s": flops / seconds, "run_steps_per_s": runs / seconds}


def optimizer_seconds(model, device="cpu", repeats: int = 5, inner: int = 50) -> dict:
    """Seconds per ``step()`` of torch's Adam on ``model``'s parameters (random gradients): the default
    (single-tensor for-loop on CPU, what the plain loop gets) and ``fused=True`` (what fit uses)."""
    import copy

    import torch
    out = {}
    for name, kw in (("default", {}), ("fused", {"fused": True})):
        params = [p.detach().clone().requires_grad_(True) for p in copy.deepcopy(model).to(device).parameters()]
        for p in params:
            p.grad = torch.randn_like(p) * 1e-3
        opt = torch.optim.Adam(params, lr=1e-3, **kw)

        def once():
            for _ in range(inner):
                opt.step()
        once()
        out[name] = min(timed(once, device) for _ in range(repeats)) / inner
    return out


def train_workloads(quick: bool, device="cpu") -> dict:
    """name -> callable running ``steps`` training steps: the plain loop (and its ablations), fit, fit logging
    every step."""
    return _train_setup(quick, device)[0]


def bench_train(quick: bool, repeats: int, device="cpu") -> dict:
    """Interleaved steps/s of the workloads of :func:`train_workloads`; matmul FLOPs per step and the fraction
    of the measured peak; and the bounds that explain the targets: the step's matrix products alone
    (:func:`gemm_floor`: steps/s and fraction of peak no implementation of this step can exceed with these
    products) and the optimiser's share (:func:`optimizer_seconds`: the time fit's fused Adam saves per step)."""
    peak = matmul_peak(device, n=256 if quick else 1024, repeats=3 if quick else 10)
    workloads, plain_step, steps, base = _train_setup(quick, device)
    flops = flops_per_step(plain_step)
    for fn in workloads.values():  # warm-up (first-call allocations, lazy imports)
        fn()
    times = {name: [] for name in workloads}
    for rep in range(repeats):
        order = list(workloads) if rep % 2 == 0 else list(reversed(workloads))
        for name in order:
            times[name].append(timed(workloads[name], device))
    rates = {name: summary([steps / t for t in ts]) for name, ts in times.items()}
    memory = {name: memory_mb("train_workloads", workloads, name, quick, device) for name in workloads}
    out = {"steps_per_repeat": steps, "flops_per_step": flops, "matmul": peak, "steps_per_s": rates,
           "peak_memory_mb": memory}
    out["fit_vs_plain"] = rates["fit"]["median"] / rates["plain"]["median"]
    out["fraction_of_peak"] = {name: r["median"] * flops / peak["peak_flops"] for name, r in rates.items()}
    gemm = gemm_floor(base, 100, device, repeats=3 if quick else 5)
    gemm["fraction_of_peak"] = gemm["flops_per_s"] / peak["peak_flops"]
    # a step at 25% of peak takes flops / (0.25 peak); the products alone take gemm seconds: what is left
    # for everything else (dropout, elementwise, loss, backward bookkeeping, optimiser, Python)
    gemm["step_seconds_at_25pct_of_peak"] = flops / (0.25 * peak["peak_flops"])
    out["gemm_only"] = gemm
    opt = optimizer_seconds(base, device, repeats=3 if quick else 5)
    plain_s = 1.0 / rates["plain"]["median"]
    opt["plain_step_seconds"] = plain_s
    # fit runs the plain step's kernels (plus validation) with a fused optimiser: removing the optimiser
    # difference alone bounds fit / plain by plain / (plain - (default - fused))
    opt["fit_vs_plain_bound_from_optimizer"] = plain_s / max(plain_s - (opt["default"] - opt["fused"]), 1e-12)
    out["adam_step_seconds"] = opt
    return out


# --------------------------------------------------------------------------------------------- sweep

SWEEP_LAMS = (0.0, 1.0, 10.0, 100.0)


def _sweep_setup(quick: bool, device="cpu", dropout: bool = True):
    import torch

    from cae_core import fit
    from cae_core.sweep import fit_sweep
    data = patchseq_data(quick)
    build = patchseq_builder(data, dropout=dropout)
    seeds = tuple(range(2 if quick else 10))
    steps = 5 if quick else 30
    # log the first and the last step only, as a long sweep logs sparsely (the per-run diagnostics of a logged
    # step are Python-bound work that a vectorised sweep cannot batch; both sides pay the same)
    kw = dict(steps=steps, batch_size=100, n_paired=75, progress=False, device=device, log_every=steps)
    last = {}

    def sequential():
        runs = []
        for lam in SWEEP_LAMS:
            for seed in seeds:
                torch.manual_seed(seed)
                model = build(lam)
                runs.append(fit(model, data, seed=seed, **kw))
        last["sequential"] = runs

    def sweep():
        last["sweep"] = fit_sweep(build, data, SWEEP_LAMS, seeds, **kw).histories
    return {"sequential": sequential, "sweep": sweep}, last, seeds, steps


def sweep_workloads(quick: bool, device="cpu") -> dict:
    """name -> callable: the 4 lam x seeds runs one after another with ``fit``, or at once with ``fit_sweep``."""
    return _sweep_setup(quick, device)[0]


def sweep_workloads_no_dropout(quick: bool, device="cpu") -> dict:
    """:func:`sweep_workloads` for the model with dropout and input noise off."""
    return _sweep_setup(quick, device, dropout=False)[0]


def _bench_sweep_variant(quick: bool, repeats: int, device: str, dropout: bool) -> dict:
    import numpy as np
    workloads, last, seeds, steps = _sweep_setup(quick, device, dropout)
    workloads["sweep"]()  # warm-up
    times = {"sequential": [], "sweep": []}
    for rep in range(repeats):
        order = ("sequential", "sweep") if rep % 2 == 0 else ("sweep", "sequential")
        for name in order:
            times[name].append(timed(workloads[name], device))
    diff = 0.0
    for h_seq, h_sw in zip(last["sequential"], last["sweep"]):
        for key in ("total", "coupling", "recon_0", "recon_1"):
            a, b = np.asarray(h_seq[key]), np.asarray(h_sw[key])
            diff = max(diff, float(np.max(np.abs(a - b) / np.abs(a))))
    runs = len(SWEEP_LAMS) * len(seeds)
    rates = {name: summary([runs * steps / t for t in ts]) for name, ts in times.items()}
    maker = "sweep_workloads" if dropout else "sweep_workloads_no_dropout"
    # the ceiling: the sweep's matrix products alone, batched over the runs as fit_sweep does them (bmm);
    # no vectorised sweep built on these products can exceed it, so it bounds the speed-up
    data = patchseq_data(quick)
    floor = gemm_floor(patchseq_builder(data)(), 100, device, runs=runs, repeats=3 if quick else 5,
                       inner=2 if quick else 5)
    floor["max_speedup_vs_sequential"] = floor["run_steps_per_s"] / rates["sequential"]["median"]
    return {"lams": SWEEP_LAMS, "n_seeds": len(seeds), "steps_per_run": steps, "log_every": steps,
            "dropout": dropout, "run_steps_per_s": rates,
            "speedup": rates["sweep"]["median"] / rates["sequential"]["median"],
            "max_rel_diff_logged_losses_float32": diff, "gemm_only": floor,
            "peak_memory_mb": {name: memory_mb(maker, workloads, name, quick, device) for name in workloads}}


def bench_sweep(quick: bool, repeats: int, device="cpu") -> dict:
    """The sweep on the paper's model (dropout 0.5 / 0.1 and input noise, each run drawing its own masks from
    its own generator, as ``fit`` does) and on the same model without dropout/noise (the vectorisation alone)."""
    return {"with_dropout": _bench_sweep_variant(quick, repeats, device, True),
            "no_dropout": _bench_sweep_variant(quick, repeats, device, False)}


# ------------------------------------------------------------------------------------------ spectral

def _spectral_methods():
    from cae_core.spectral import centred, covariance, lambda_min, min_singular_value

    def svdvals(z):
        return min_singular_value(centred(z), "svdvals") ** 2 / (z.shape[0] - 1)

    def eigvalsh(z):
        return lambda_min(covariance(z), "eigvalsh")

    def inverse_iteration(z):
        return lambda_min(covariance(z), "inverse_iteration")
    return {"inverse_iteration": inverse_iteration, "svdvals": svdvals, "eigvalsh": eigvalsh}


def bench_spectral(quick: bool, repeats: int, device="cpu", tol: float = 1e-3) -> dict:
    """Time value + gradient of lambda_min(V) in float32 for each method; compare value and gradient with a
    float64 reference (numpy eigh of V: lambda_min and its gradient (2/(B-1)) B_c v v^T). ``tol``: relative
    error allowed in float32 (eps 6e-8 times the condition number of V, ~10-100 here, with a wide margin)."""
    import numpy as np
    import torch
    methods = _spectral_methods()
    ps, Bs = ((2, 3), (100,)) if quick else ((2, 3, 10, 50), (100, 1000))
    inner = 5 if quick else 20
    rows = []
    for B in Bs:
        for p in ps:
            gen = torch.Generator().manual_seed(B * 100 + p)
            z64 = torch.randn(B, p, generator=gen, dtype=torch.float64) @ torch.diag(
                torch.linspace(1.0, 3.0, p, dtype=torch.float64))
            c = (z64 - z64.mean(0)).numpy()
            w, v = np.linalg.eigh(c.T @ c / (B - 1))
            ref_val, ref_grad = w[0], 2.0 / (B - 1) * c @ np.outer(v[:, 0], v[:, 0])
            z32 = z64.to(device=device, dtype=torch.float32)
            row = {"B": B, "p": p, "methods": {}}
            for name, fn in methods.items():
                z = z32.clone().requires_grad_(True)
                value = fn(z)
                value.backward()
                err_val = abs(float(value.detach()) - ref_val) / abs(ref_val)
                err_grad = float(np.abs(z.grad.cpu().numpy() - ref_grad).max() / np.abs(ref_grad).max())

                def once():
                    for _ in range(inner):
                        zz = z32.clone().requires_grad_(True)
                        fn(zz).backward()
                ts = [timed(once, device) / inner for _ in range(repeats)]
                row["methods"][name] = {"seconds": summary(ts), "rel_err_value": err_val,
                                        "rel_err_grad": err_grad,
                                        "correct": bool(err_val <= tol and err_grad <= tol)}
            correct = {n: m for n, m in row["methods"].items() if m["correct"]}
            row["fastest_correct"] = min(correct, key=lambda n: correct[n]["seconds"]["median"]) if correct else None
            rows.append(row)
    wins = [r["fastest_correct"] for r in rows]
    return {"dtype": "float32", "tol": tol, "rows": rows,
            "fastest_overall": max(set(wins), key=wins.count) if any(wins) else None}


# ----------------------------------------------------------------------------------- subprocess timing

def _run_child(cmd: list[str], cwd: str | None = None, timeout: float = 3600) -> dict:
    """Run ``cmd``; wall time, exit code, the child's max RSS (os.wait4) and the tail of its output."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        tail = out.read().decode(errors="replace").strip().splitlines()[-3:]
    return {"cmd": " ".join(cmd), "wall_s": wall, "exit_code": proc.returncode,
            "peak_memory_mb": usage.ru_maxrss / 1024, "output_tail": tail}


def bench_verify(quick: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ledger.json")
        cmd = [sys.executable, "-m", "cae_cli.main", "verify", "--json", path]
        if quick:
            cmd += ["--examples", "5", "--only", "alg1"]
        out = _run_child(cmd)
        try:
            with open(path, encoding="utf-8") as fh:
                claims = json.load(fh)["claims"]
        except (OSError, ValueError, KeyError):
            claims = []
    searched = [c for c in claims if "search" in str(c.get("method", ""))]
    cases = sum(int(c.get("n_cases") or 0) for c in searched)
    seconds = sum(float(c.get("seconds") or 0.0) for c in searched)
    out.update({"claims": len(claims), "search_claims": len(searched), "search_examples": cases,
                "search_seconds": seconds, "search_examples_per_s": cases / seconds if seconds else None})
    return out


def bench_pytest(quick: bool, root: str) -> dict:
    if quick:
        return {"skipped": "--quick (the smoke test cannot time the suite that contains it)"}
    out = _run_child([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root)
    return out


# ------------------------------------------------------------------------------------------ the table

def _fmt(x, unit="") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3g}{unit}"
    return f"{x}{unit}"


def _spread(s: dict, scale: float = 1.0) -> str:
    return f"{s['median'] * scale:.3g} [{s['min'] * scale:.3g}, {s['max'] * scale:.3g}]"


def table_rows(doc: dict) -> list[tuple[str, str, str, str]]:
    """(measurement, median [min, max], target / verdict, peak memory) rows for the printed table."""
    rows = []
    t = doc.get("train")
    if t:
        mem = t["peak_memory_mb"]
        rows.append(("train: fp32 matmul peak (GFLOP/s)", f"{t['matmul']['peak_flops'] / 1e9:.3g}", "", ""))
        for name in t["steps_per_s"]:
            rows.append((f"train: {name} steps/s", _spread(t["steps_per_s"][name]),
                         f"{100 * t['fraction_of_peak'][name]:.2g}% of peak", _fmt(mem[name], " MB")))
        g = t.get("gemm_only")
        if g:
            rows.append(("train: matmuls of one step alone, steps/s", f"{g['run_steps_per_s']:.3g}",
                         f"{100 * g['fraction_of_peak']:.2g}% of peak (ceiling)", ""))
            rows.append(("train: step time at 25% of peak vs matmuls alone (ms)",
                         f"{1e3 * g['step_seconds_at_25pct_of_peak']:.3g} vs {1e3 * g['seconds_per_step']:.3g}",
                         "budget left for all else", ""))
        a = t.get("adam_step_seconds")
        if a:
            rows.append(("train: Adam step default / fused (ms)", f"{1e3 * a['default']:.3g} / {1e3 * a['fused']:.3g}",
                         f"fit/plain <= {a['fit_vs_plain_bound_from_optimizer']:.3g}x from the optimiser", ""))
        ok = t["fit_vs_plain"] >= 1.3
        rows.append(("train: fit / plain", f"{t['fit_vs_plain']:.3g}x", f">= 1.3x: {'met' if ok else 'NOT met'}", ""))
        ok = t["fraction_of_peak"]["fit"] >= 0.25
        rows.append(("train: fit fraction of peak", f"{100 * t['fraction_of_peak']['fit']:.2g}%",
                     f">= 25%: {'met' if ok else 'NOT met'}", ""))
    for variant, s in (doc.get("sweep") or {}).items():
        if not isinstance(s, dict):
            continue
        for name in ("sequential", "sweep"):
            rows.append((f"sweep ({variant}): {name} run-steps/s", _spread(s["run_steps_per_s"][name]), "",
                         _fmt(s["peak_memory_mb"][name], " MB")))
        rows.append((f"sweep ({variant}): speed-up", f"{s['speedup']:.3g}x",
                     f">= 5x: {'met' if s['speedup'] >= 5 else 'NOT met'}", ""))
        rows.append((f"sweep ({variant}): max rel diff of losses (fp32)",
                     f"{s['max_rel_diff_logged_losses_float32']:.2g}", "", ""))
        g = s.get("gemm_only")
        if g:
            rows.append((f"sweep ({variant}): matmuls alone (bmm), run-steps/s", f"{g['run_steps_per_s']:.3g}",
                         f"speed-up ceiling {g['max_speedup_vs_sequential']:.3g}x", ""))
    sp = doc.get("spectral")
    if sp:
        for r in sp["rows"]:
            cells = ", ".join(f"{n} {1e3 * m['seconds']['median']:.3g}" + ("" if m["correct"] else "(wrong)")
                              for n, m in r["methods"].items())
            rows.append((f"spectral: B={r['B']} p={r['p']} (ms)", cells, f"fastest: {r['fastest_correct']}", ""))
    v = doc.get("verify")
    if v:
        rows.append(("cae verify wall (s)", f"{v['wall_s']:.3g}", f"<= 60 s: {'met' if v['wall_s'] <= 60 else 'NOT met'}"
                     + ("" if v["exit_code"] == 0 else f" (exit {v['exit_code']})"), _fmt(v["peak_memory_mb"], " MB")))
        rows.append(("cae verify search examples/s", _fmt(v["search_examples_per_s"]), "", ""))
    pt = doc.get("pytest")
    if pt:
        if "skipped" in pt:
            rows.append(("pytest wall (s)", "skipped", pt["skipped"], ""))
        else:
            rows.append(("pytest wall (s)", f"{pt['wall_s']:.3g}",
                         f"<= 300 s: {'met' if pt['wall_s'] <= 300 else 'NOT met'}"
                         + ("" if pt["exit_code"] == 0 else f" (exit {pt['exit_code']})"),
                         _fmt(pt["peak_memory_mb"], " MB")))
    return rows


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 5)
    if repeats < 1:
        raise CLIError(f"--repeats must be >= 1, got {repeats}")
    check_writable_file(args.json, "--json")
    check_device(args.device)
    import torch
    if args.threads is not None:
        if args.threads < 1:
            raise CLIError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    sections = args.only or list(SECTIONS)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    doc = {"machine": machine_info(), "quick": bool(args.quick), "repeats": repeats, "device": args.device}
    console = Console(stderr=True)
    for name in sections:
        console.print(f"[bold]bench[/bold] {name} ...")
        t0 = time.perf_counter()
        if name == "train":
            doc[name] = bench_train(args.quick, repeats, args.device)
        elif name == "sweep":
            doc[name] = bench_sweep(args.quick, repeats, args.device)
        elif name == "spectral":
            doc[name] = bench_spectral(args.quick, repeats, args.device)
        elif name == "verify":
            doc[name] = bench_verify(args.quick)
        else:
            doc[name] = bench_pytest(args.quick, root)
        doc[name]["section_wall_s"] = time.perf_counter() - t0
    doc["machine"]["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    m = doc["machine"]
    table = Table(title=f"cae bench on {m['cpu']} ({m['usable_cores']} cores, {m['torch_threads']} torch threads), "
                        f"load {m['loadavg_start'][0]:.1f} -> {m['loadavg_end'][0]:.1f}; median \\[min, max] of "
                        f"{repeats} repeats")
    for col in ("measurement", "value", "target / note", "peak memory"):
        table.add_column(col)
    for row in table_rows(doc):
        table.add_row(*(escape(cell) for cell in row))
    Console(width=None if Console().is_terminal else 150).print(table)
    try:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
    except OSError as exc:
        raise CLIError(f"--json {args.json!r} could not be written: {exc.strerror}") from None
    print(f"wrote {args.json}")
    return 0
