"""Training steps/s of the Patch-seq-size model, side by side in one process: ``fit`` at its default settings vs a
plain PyTorch loop of the same computation (issue 14: within 5 %), and the step's share of this machine's
measured fp32 matmul peak.

Workloads (interleaved repeats, medians): ``plain`` (the loop a user writes: sample 75 paired + 25 unpaired rows,
reconstruct, msv, ``torch.optim.Adam``), its ablations ``plain_torch_dropout`` (bernoulli_ masks) and
``plain_fused_adam`` (fit's optimiser), ``fit`` (default settings: its logging and diagnostics included) and
``fit_log_every_end`` (logging only the last step), and ``fit_one_step`` (a call of one step: fit's per-call
set-up -- argument checks, the data fingerprint, the feature-scale check -- which a call of fit's default 2000
steps amortises; the verdict is taken at that default length). Also the matrix products of one step alone (the ceiling no
implementation with these products can pass) and Adam's own time, default vs fused.

    python benchmarks/bench_train.py [--quick] [--threads 1] [--repeats 5] [--json PATH]

(default output benchmarks/results/train.json; ``cae bench --only train`` runs the same function.)
"""
from __future__ import annotations

import sys

from cae_core.train import FitConfig
from bench_common import (flops_per_step, gemm_floor, matmul_peak, memory_mb, optimizer_seconds, patchseq_builder,
                          patchseq_data, plain_loop, script_main, summary, timed, with_torch_dropout, _spread)

#: fit at default settings must stay within 5 % of the plain loop (issue 14).
FIT_VS_PLAIN_TARGET = 0.95


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
    fit_model, fit_log_model, fit_one_model = copy.deepcopy(base), copy.deepcopy(base), copy.deepcopy(base)
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
        "fit": lambda: fit(fit_model, data, steps=steps, **kw),                       # fit's default settings
        "fit_log_every_end": lambda: fit(fit_log_model, data, steps=steps, log_every=steps, **kw),
        # one step: fit's per-call set-up (checks, data fingerprint, scale check) plus one step
        "fit_one_step": lambda: fit(fit_one_model, data, steps=1, **kw),
    }
    return workloads, plain_step, steps, base


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
    one = summary(times.pop("fit_one_step"))
    rates = {name: summary([steps / t for t in ts]) for name, ts in times.items()}
    memory = {name: memory_mb(__file__, "train_workloads", workloads, name, quick, device) for name in rates}
    out = {"steps_per_repeat": steps, "flops_per_step": flops, "matmul": peak, "steps_per_s": rates,
           "peak_memory_mb": memory}
    out["fit_vs_plain"] = rates["fit"]["median"] / rates["plain"]["median"]
    # fit's per-call set-up, amortised over the steps of one call: a call of fit's default length
    # (FitConfig().steps) costs setup + steps * step; the plain loop has no set-up to speak of
    plain_step = 1.0 / rates["plain"]["median"]
    setup = max(one["median"] - plain_step, 0.0)
    fit_step = max(1.0 / rates["fit"]["median"] - setup / steps, 0.0)
    default_steps = FitConfig().steps
    out["fit_call"] = {"one_step_call_seconds": one, "setup_seconds": setup, "step_seconds": fit_step,
                       "default_steps": default_steps,
                       "fit_vs_plain_at_default_steps": default_steps * plain_step / (setup + default_steps * fit_step)}
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


def rows(t: dict) -> list[tuple[str, str, str, str]]:
    """(measurement, median [min, max], target / verdict, peak memory) rows of :func:`bench_train`'s result."""
    out = []
    mem = t["peak_memory_mb"]
    out.append(("train: fp32 matmul peak (GFLOP/s)", f"{t['matmul']['peak_flops'] / 1e9:.3g}", "", ""))
    for name in t["steps_per_s"]:
        out.append((f"train: {name} steps/s", _spread(t["steps_per_s"][name]),
                    f"{100 * t['fraction_of_peak'][name]:.2g}% of peak", f"{mem[name]:.3g} MB"))
    g = t["gemm_only"]
    out.append(("train: matmuls of one step alone, steps/s", f"{g['run_steps_per_s']:.3g}",
                f"{100 * g['fraction_of_peak']:.2g}% of peak (ceiling)", ""))
    a = t["adam_step_seconds"]
    out.append(("train: Adam step default / fused (ms)", f"{1e3 * a['default']:.3g} / {1e3 * a['fused']:.3g}", "", ""))
    c = t["fit_call"]
    out.append((f"train: fit / plain, calls of {t['steps_per_repeat']} steps", f"{t['fit_vs_plain']:.3g}x",
                f"fit's set-up {1e3 * c['setup_seconds']:.3g} ms per call", ""))
    ok = c["fit_vs_plain_at_default_steps"] >= FIT_VS_PLAIN_TARGET
    out.append((f"train: fit (default settings, {c['default_steps']} steps) / plain",
                f"{c['fit_vs_plain_at_default_steps']:.3g}x", f">= {FIT_VS_PLAIN_TARGET}: {'met' if ok else 'NOT met'}",
                ""))
    out.append(("train: fit share of the measured matmul peak", f"{100 * t['fraction_of_peak']['fit']:.2g}%", "", ""))
    return out


if __name__ == "__main__":
    sys.exit(script_main("train", bench_train, rows, __doc__))
