"""Matrices per second of the repaired Algorithm 1 (cae_theory.algorithm1.min_singular_pair), measured side by side
in one process on the same matrices:

- batched: one call on a stack ``(N, n, m)`` (how the ledger's search of ``alg1.repaired`` runs it);
- one call per matrix: the same routine in a Python loop (how the previous, unbatched routine was searched);
- scipy.linalg.svdvals per matrix (the reference of the tests), for orientation.

The matrices are B = U diag(s) V^T from the ``generic`` family of cae_theory.cases.matrices (m = 4, n = 6). Each
figure is the median of ``--repeats`` interleaved runs; the load average is recorded (the machine may be shared).

    python benchmarks/bench_min_singular_value.py [--batch 100000] [--loop 2000] [--repeats 3] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import scipy.linalg

from cae_theory.algorithm1 import min_singular_pair
from cae_theory.cases import matrices


def matrices_of(n: int, seed: int) -> np.ndarray:
    fam = matrices.alg1_families()[0]
    c = fam.draw(np.random.default_rng(seed), n, m=4, extra=2)
    return (c["U"] * c["s"][:, None, :]) @ np.swapaxes(c["V"], 1, 2)


def rate(fn, B) -> float:
    t0 = time.perf_counter()
    fn(B)
    return len(B) / (time.perf_counter() - t0)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=100_000, help="matrices in the batched call")
    p.add_argument("--loop", type=int, default=2_000, help="matrices in the one-per-call loops")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    runs: dict[str, list[float]] = {"batched": [], "one call per matrix": [], "scipy svdvals per matrix": []}
    for r in range(args.repeats):
        big, small = matrices_of(args.batch, r), matrices_of(args.loop, 100 + r)
        runs["batched"].append(rate(min_singular_pair, big))
        runs["one call per matrix"].append(rate(lambda B: [min_singular_pair(b) for b in B], small))
        runs["scipy svdvals per matrix"].append(rate(lambda B: [scipy.linalg.svdvals(b).min() for b in B], small))
    out = {"matrices_per_second": {k: statistics.median(v) for k, v in runs.items()},
           "batch": args.batch, "loop": args.loop, "repeats": args.repeats, "shape": [6, 4],
           "load_average": os.getloadavg()}
    for k, v in out["matrices_per_second"].items():
        print(f"{k:26s} {v:12,.0f} matrices/s")
    print(f"load average {out['load_average'][0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
