"""Cost of fit's history logging (issue 12 item 9): steps/s of `fit` with the diagnostics at every step
(log_every=1, the old default), at the default (FitConfig.log_every) and never but at the last step, measured side
by side in one process (interleaved repeats in rotating order, median [min, max], steps per CPU second of the
process), on two models:

- "readme": the README example (two linear arms 32 -> 3, batch norm, mse, batch 100 with 75 paired);
- "patchseq": the Patch-seq model (1252 + 54 inputs, d = 3, msv, alphas (1, 0.1), dropout and noise, 75 + 25).

Target: the default logging costs <= 5% of a step, i.e. steps/s(default) >= 0.95 * steps/s(no logging).
On a shared machine the direct difference of two close rates is noisy, so the script also prints the cost implied
by the per-log cost measured with log_every=1 (which is large and robust): (1/r_1 - 1/r_none) / log_every *
r_none.

    python benchmarks/bench_logging.py [--threads 1] [--repeats 5] [--steps 400] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch

from cae_core import CoupledAutoencoder, PairedDataset, fit, linear_arm, patchseq_e_arm, patchseq_t_arm
from cae_core.train import FitConfig


def readme_case():
    X1, X2 = np.random.default_rng(0).normal(size=(2, 500, 32))

    def build():
        torch.manual_seed(0)
        return CoupledAutoencoder([linear_arm(32, 3), linear_arm(32, 3)], latent_norm="batchnorm", coupling="mse",
                                  lam=10.0)
    return build, PairedDataset([X1, X2])


def patchseq_case():
    rng = np.random.default_rng(0)
    n, u = 1518, 500
    t = np.log1p(rng.gamma(0.5, 20.0, size=(n + u, 1252)))
    e = rng.normal(size=(n + u, 54))

    def build():
        torch.manual_seed(0)
        return CoupledAutoencoder([patchseq_t_arm(3), patchseq_e_arm(3)], latent_norm="none", coupling="msv",
                                  lam=1.0, alphas=(1.0, 0.1))
    return build, PairedDataset([t[:n], e[:n]], unpaired=[t[n:], e[n:]])


def measure(build, data, steps: int, log_every: int) -> float:
    """Steps per CPU second of one fit run (model built outside the timed region). CPU time of the process, not
    wall time: on a machine shared with other jobs the wall clock also counts the time this process waited for a
    core, which has nothing to do with the work measured (with one torch thread, CPU time = the work)."""
    model = build()
    start = time.process_time()
    fit(model, data, steps=steps, batch_size=100, n_paired=75, log_every=log_every, progress=False)
    return steps / (time.process_time() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    default = FitConfig().log_every
    settings = {"every step (log_every=1)": 1, f"default (log_every={default})": default,
                "last step only": args.steps}
    results = {}
    for name, (build, data) in {"readme": readme_case(), "patchseq": patchseq_case()}.items():
        measure(build, data, 20, 1)                                  # warm-up
        runs = {label: [] for label in settings}
        order = list(settings.items())
        for r in range(args.repeats):              # interleaved, order rotated: drift hits every setting alike
            for label, every in order[r % 3:] + order[:r % 3]:
                runs[label].append(measure(build, data, args.steps, every))
        base = statistics.median(runs["last step only"])
        results[name] = {label: {"steps_per_s_median": statistics.median(v), "min": min(v), "max": max(v),
                                 "cost_vs_no_logging": base / statistics.median(v) - 1.0}
                         for label, v in runs.items()}
        per_log_s = 1.0 / statistics.median(runs["every step (log_every=1)"]) - 1.0 / base
        results[name]["per_log_ms"] = 1e3 * per_log_s
        results[name]["default_cost_from_per_log"] = per_log_s / default * base
    print(f"fit logging cost, {args.threads} thread(s), {args.steps} steps x {args.repeats} interleaved repeats "
          f"(median [min, max] steps per CPU second; cost = extra time per step vs logging only the last step)")
    for name, rows in results.items():
        for label in settings:
            r = rows[label]
            print(f"  {name:9s} {label:28s} {r['steps_per_s_median']:8.1f} [{r['min']:.1f}, {r['max']:.1f}]"
                  f"   cost {100 * r['cost_vs_no_logging']:+.1f}%")
        print(f"  {name:9s} one logged step costs {rows['per_log_ms']:.3f} ms: at log_every={default} that is "
              f"{100 * rows['default_cost_from_per_log']:.2f}% of a step")
    ok = all(max(rows[f"default (log_every={default})"]["cost_vs_no_logging"], rows["default_cost_from_per_log"])
             <= 0.05 for rows in results.values())
    print(f"default logging <= 5% of a step (both estimates): {'met' if ok else 'NOT met'}; "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"threads": args.threads, "steps": args.steps, "repeats": args.repeats,
                       "default_log_every": default, "load_average": os.getloadavg(),
                       "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
                       "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
