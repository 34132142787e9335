"""The sweep's throughput against sequential runs, side by side in one process: 4 lam x 10 seeds of the
Patch-seq-size model trained by ``fit_sweep`` (one stacked model, cae_core.sweep) and by 40 ``fit`` calls one after
another; the largest relative difference of their logged losses; and the ceiling: the sweep's matrix products
alone, batched over the runs (no stacked implementation with these products can pass it).

The ceiling depends on the CPU: at 1 thread it was 3.6x on an idle AMD EPYC (benchmarks/results/
train-sweep-1thread.json), below the earlier 5x target, which is therefore not kept on CPU; 6.4x on an idle Intel
Xeon (sweep-1thread.json), where the sweep reaches 1.6-2.1x. The code is device-agnostic, so ``--device cuda``
shows the gain where batched products pay.

    python benchmarks/bench_sweep.py [--quick] [--threads 1] [--repeats 5] [--device cuda] [--json PATH]
"""
from __future__ import annotations

import sys

from bench_common import gemm_floor, memory_mb, patchseq_builder, patchseq_data, script_main, summary, timed, _spread


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
            "peak_memory_mb": {name: memory_mb(__file__, maker, workloads, name, quick, device) for name in workloads}}


def bench_sweep(quick: bool, repeats: int, device="cpu") -> dict:
    """The sweep on the paper's model (dropout 0.5 / 0.1 and input noise, each run drawing its own masks from
    its own generator, as ``fit`` does) and on the same model without dropout/noise (the vectorisation alone)."""
    return {"with_dropout": _bench_sweep_variant(quick, repeats, device, True),
            "no_dropout": _bench_sweep_variant(quick, repeats, device, False)}


def rows(doc: dict) -> list[tuple[str, str, str, str]]:
    """Table rows of :func:`bench_sweep`'s result."""
    out = []
    for variant, s in doc.items():
        if not isinstance(s, dict):
            continue
        for name in ("sequential", "sweep"):
            out.append((f"sweep ({variant}): {name} run-steps/s", _spread(s["run_steps_per_s"][name]), "",
                        f"{s['peak_memory_mb'][name]:.3g} MB"))
        g = s["gemm_only"]
        out.append((f"sweep ({variant}): speed-up", f"{s['speedup']:.3g}x",
                    f"ceiling (matmuls alone, bmm) {g['max_speedup_vs_sequential']:.3g}x", ""))
        out.append((f"sweep ({variant}): max rel diff of losses (fp32)",
                    f"{s['max_rel_diff_logged_losses_float32']:.2g}", "", ""))
    return out


if __name__ == "__main__":
    sys.exit(script_main("sweep", bench_sweep, rows, __doc__))
