"""`cae verify`: wall time in total and per claim, and the search's cases per second, vectorised and
Hypothesis-only side by side in one process.

    python benchmarks/bench_verify.py [--seed 0] [--cases 100000] [--compare-cases 20000] [--compare-examples 300]
                                      [--repeats 3] [--json PATH]

(``cae bench --only verify`` runs :func:`bench_verify`: the whole default ``cae verify`` in a subprocess.)

Part 1 runs the default ledger once and prints one line per claim (seconds, cases searched) sorted by time.
Part 2 measures the search over Prop. 2's steps two ways with the same relations and families:
- vectorised: the bulk phase of ``cae_theory.ledger.search`` (batches of cases, every relation on the whole batch);
- Hypothesis only: one case per Hypothesis example (``@given`` drawing a family, its sizes and a seed), the way the
  ledger searched before.
Each rate is the median of ``--repeats`` interleaved runs; the load average is recorded (wall-clock figures scale
with the load of other processes; CPU time is printed too).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

from bench_common import _fmt, _run_child


def bench_verify(quick: bool, repeats: int = 1, device: str = "cpu") -> dict:
    """Wall time of the default ``cae verify`` in a subprocess and its search cases per second (``repeats``,
    ``device`` unused)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ledger.json")
        cmd = [sys.executable, "-m", "cae_cli.main", "verify", "--json", path]
        if quick:
            cmd += ["--cases", "2000", "--examples", "5", "--only", "eq2*"]
        out = _run_child(cmd)
        try:
            with open(path, encoding="utf-8") as fh:
                claims = json.load(fh)["claims"]
        except (OSError, ValueError, KeyError):
            claims = []
    domains = {}
    for c in claims:
        for e in c.get("evidence", []):
            if e["kind"] == "search":   # one exploration per domain (cases, seconds), shared by its claims
                domains[tuple(sorted(e["details"]["families"]))] = (e["details"]["cases"],
                                                                     e["details"].get("domain_seconds", 0.0))
    cases = sum(n for n, _ in domains.values())
    seconds = sum(t for _, t in domains.values())
    out.update({"claims": len(claims), "search_domains": len(domains), "search_cases": cases,
                "search_seconds": seconds, "search_cases_per_s": cases / seconds if seconds else None})
    return out


def rows(v: dict) -> list[tuple[str, str, str, str]]:
    return [("cae verify wall (s)", f"{v['wall_s']:.3g}", f"<= 60 s: {'met' if v['wall_s'] <= 60 else 'NOT met'}"
             + ("" if v["exit_code"] == 0 else f" (exit {v['exit_code']})"), _fmt(v["peak_memory_mb"], " MB")),
            ("cae verify search cases/s", _fmt(v["search_cases_per_s"]), "", "")]


def vectorised(cases: int, seed: int) -> float:
    """Cases per second of the vectorised bulk phase over Prop. 2's relations."""
    from cae_theory import blueprint  # noqa: F401  (registers every relation)
    from cae_theory.ledger import search as srch
    from cae_theory.ledger.claims import CheckConfig
    from cae_theory.prop2 import construction
    t0 = time.perf_counter()
    parts = srch._bulk_parts(construction.DOMAIN, CheckConfig(seed=seed, cases=cases, examples=1, refine=0))
    return sum(sum(p["families"].values()) for p in parts) / (time.perf_counter() - t0)


def hypothesis_only(examples: int, seed: int) -> float:
    """Cases per second of one-case-per-example Hypothesis search over the same relations and families."""
    import numpy as np
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from cae_theory import blueprint  # noqa: F401
    from cae_theory.ledger import search as srch
    from cae_theory.prop2 import construction
    domain = construction.DOMAIN
    relations = srch.relations_of(domain)
    tracks = {r.id: srch.Track(r) for r in relations}
    counter = iter(range(10 ** 12))
    seen = [0]

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        fam = data.draw(st.sampled_from(domain.families))
        sizes = data.draw(fam.sizes)
        batch = fam.draw(np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1))), 1, **sizes)
        if len(batch):
            seen[0] += 1
            srch._evaluate(relations, tracks, batch, counter, "targeted", domain)

    t0 = time.perf_counter()
    hseed(seed)(run)()
    return seen[0] / (time.perf_counter() - t0)


def main() -> None:
    from cae_cli.verify import ledger_document
    from cae_theory.ledger import search as srch
    from cae_theory.prop2 import construction

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", type=int, default=100_000, help="cases per search domain of the ledger run")
    ap.add_argument("--compare-cases", type=int, default=20_000, help="cases of the vectorised bulk per repeat")
    ap.add_argument("--compare-examples", type=int, default=300, help="Hypothesis examples per repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the figures as JSON")
    args = ap.parse_args()

    wall, cpu = time.perf_counter(), time.process_time()
    doc = ledger_document(args.seed, cases=args.cases, examples=100, workers=1, only=None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{'id':<28} {'status':<10} {'seconds':>8} {'cases':>8}")
    for c in sorted(doc["claims"], key=lambda c: -c["seconds"])[:25]:
        cases = max([e["details"].get("cases", 0) for e in c["evidence"] if e["kind"] == "search"], default=0)
        print(f"{c['id']:<28} {c['status']:<10} {c['seconds']:8.2f} {cases:8d}")
    print(f"ledger: {len(doc['claims'])} claims, {wall:.1f} s wall, {cpu:.1f} s CPU (the first claim of a search "
          "domain carries the domain's whole search)")

    vec, hyp = [], []
    for r in range(args.repeats):                       # interleaved, so load changes hit both
        srch.explore.cache_clear()
        vec.append(vectorised(args.compare_cases, r))
        hyp.append(hypothesis_only(args.compare_examples, r))
    out = {"ledger": {"claims": len(doc["claims"]), "wall_s": wall, "cpu_s": cpu,
                      "all_as_expected": doc["all_as_expected"]},
           "relations": len(srch.relations_of(construction.DOMAIN)),
           "vectorised_cases_per_s": {"median": statistics.median(vec), "min": min(vec), "max": max(vec)},
           "hypothesis_only_cases_per_s": {"median": statistics.median(hyp), "min": min(hyp), "max": max(hyp)},
           "speedup": statistics.median(vec) / statistics.median(hyp), "repeats": args.repeats,
           "compare_cases": args.compare_cases, "compare_examples": args.compare_examples,
           "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    print(f"{out['relations']} relations of Prop. 2, every one evaluated on every case:")
    for key, label in (("vectorised_cases_per_s", "vectorised bulk"), ("hypothesis_only_cases_per_s", "Hypothesis only")):
        v = out[key]
        print(f"  {label:<17} {v['median']:10.0f} cases/s [{v['min']:.0f}, {v['max']:.0f}]")
    print(f"  speed-up: {out['speedup']:.0f}x  (load average {out['load_average'][0]:.2f}, {out['cpus']} CPUs)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
