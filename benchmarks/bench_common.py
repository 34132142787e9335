"""What the benchmarks share: timing and memory measurement, the machine, the fp32 matmul peak, and the
Patch-seq-size model with a plain-PyTorch loop of the same computation as ``fit``.

The benchmark scripts in this folder import it (``python benchmarks/bench_train.py``); ``cae bench`` runs the same
scripts' functions side by side in one process.
"""
from __future__ import annotations

import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: Where the scripts write their measurements by default.
RESULTS = Path(__file__).resolve().parent / "results"


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


def _fmt(x, unit="") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3g}{unit}"
    return f"{x}{unit}"


def _spread(s: dict, scale: float = 1.0) -> str:
    return f"{s['median'] * scale:.3g} [{s['min'] * scale:.3g}, {s['max'] * scale:.3g}]"



def memory_mb(module_file: str, maker: str, workloads: dict, name: str, quick: bool, device: str) -> float:
    """Peak memory of one workload: in a fresh process (:func:`fresh_peak_memory_mb`), or with ``quick`` in
    this process after the timed runs (seconds instead of a torch import per workload; allocator caches left
    by earlier runs can hide part of it, so --quick memory is a lower bound)."""
    if quick:
        return peak_memory_mb(workloads[name])
    return fresh_peak_memory_mb(module_file, maker, name, quick, device)


def load_module(path: str):
    """The benchmark script at ``path`` as a module (its folder on sys.path, so it can import this one)."""
    folder = str(Path(path).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = Path(path).stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _memory_child(module_file: str, maker: str, name: str, quick: bool, device: str, threads: int, queue) -> None:
    import torch
    torch.set_num_threads(threads)
    workloads = getattr(load_module(module_file), maker)(quick, device)
    queue.put(peak_memory_mb(workloads[name]))


def fresh_peak_memory_mb(module_file: str, maker: str, name: str, quick: bool, device: str) -> float:
    """:func:`peak_memory_mb` of workload ``name`` of ``maker(quick, device)`` (a function of the benchmark script
    ``module_file``) run once in a fresh (spawned) process, after its set-up (data, model) -- so allocator caches
    of earlier measurements cannot hide it."""
    import multiprocessing

    import torch
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_memory_child, args=(module_file, maker, name, quick, device, torch.get_num_threads(),
                                                   queue))
    proc.start()
    try:
        return float(queue.get(timeout=1800))
    finally:
        proc.join()


def script_main(section: str, measure, rows, description: str) -> int:
    """The command line of one benchmark script: ``--quick``, ``--repeats N``, ``--threads N``, ``--device DEV``,
    ``--json PATH`` (default benchmarks/results/SECTION.json); prints the rows and writes the measurements with
    the machine's description."""
    import argparse

    import torch
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 5, 2 with --quick)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--json", default=str(RESULTS / f"{section}.json"), help="output file")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 5)
    doc = {"machine": machine_info(), "quick": args.quick, "repeats": repeats, "device": args.device}
    doc[section] = measure(args.quick, repeats, args.device)
    doc["machine"]["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    for row in rows(doc[section]):
        print(" | ".join(row))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(doc, indent=1))
    print(f"wrote {args.json}")
    return 0
