"""Wall time of `cae verify` per claim and in total, and Hypothesis/optimiser cases per second.

    python benchmarks/bench_verify.py [--examples 500] [--seed 0] [--only ID ...]

(``cae bench --only verify`` runs :func:`bench_verify`: the whole ``cae verify`` in a subprocess.)

Prints one line per claim (seconds, cases, cases/s) sorted by time, then the total. Run on an idle machine:
the numbers are wall-clock times and scale with the load of other processes (CPU time is printed too).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from bench_common import _fmt, _run_child


def bench_verify(quick: bool, repeats: int = 1, device: str = "cpu") -> dict:
    """Wall time of ``cae verify`` in a subprocess and its search examples per second (``repeats``, ``device``
    unused)."""
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



def rows(v: dict) -> list[tuple[str, str, str, str]]:
    return [("cae verify wall (s)", f"{v['wall_s']:.3g}", f"<= 60 s: {'met' if v['wall_s'] <= 60 else 'NOT met'}"
             + ("" if v["exit_code"] == 0 else f" (exit {v['exit_code']})"), _fmt(v["peak_memory_mb"], " MB")),
            ("cae verify search examples/s", _fmt(v["search_examples_per_s"]), "", "")]


def main() -> None:
    from cae_theory.ledger import CheckConfig, run_ledger

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=None)
    args = parser.parse_args()
    config = CheckConfig(seed=args.seed, examples=args.examples)
    wall, cpu = time.perf_counter(), time.process_time()
    results = run_ledger(config, args.only)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{'id':<28} {'status':<10} {'seconds':>8} {'cases':>7} {'cases/s':>9}")
    for r in sorted(results, key=lambda r: -r.seconds):
        rate = r.n_cases / r.seconds if r.seconds > 0 else float("inf")
        print(f"{r.id:<28} {r.status:<10} {r.seconds:8.2f} {r.n_cases:7d} {rate:9.0f}")
    cases = sum(r.n_cases for r in results)
    print(f"total: {len(results)} claims, {wall:.1f} s wall, {cpu:.1f} s CPU, {cases} cases, "
          f"{cases / wall:.0f} cases/s (examples per inequality: {config.examples}, seed {config.seed})")
    print("note: a check that reuses a cached search (corrections shared between claims) shows ~0 s; the time is "
          "booked on the first claim that ran it")


if __name__ == "__main__":
    main()
