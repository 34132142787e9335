"""Cases per second of the ledger's search over Prop. 2's steps, measured side by side in one process:

- vectorised: the bulk phase of ``cae_theory.ledger.search`` (batches of cases, every relation evaluated on the
  whole batch at once);
- Hypothesis only: the way the ledger searched before, one case per Hypothesis example (``@given`` drawing a
  family, its sizes and a seed, then the same relations on that single case), no vectorisation.

Both evaluate every registered relation of the Prop. 2 domain on every case, with the same code and families.
Each figure is the median of ``--repeats`` interleaved runs; the load average is recorded (the machine may be
shared). Usage:

    python benchmarks/bench_ledger_search.py [--cases 20000] [--examples 300] [--repeats 3] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cae_theory import blueprint  # noqa: F401  (registers every relation)
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import CheckConfig
from cae_theory.prop2 import construction


def vectorised(cases: int, seed: int) -> float:
    """Cases per second of the bulk phase alone."""
    srch.explore.cache_clear()
    t0 = time.perf_counter()
    parts = srch._bulk_parts(construction.DOMAIN, CheckConfig(seed=seed, cases=cases, examples=1, refine=0))
    seconds = time.perf_counter() - t0
    return sum(sum(p["families"].values()) for p in parts) / seconds


def hypothesis_only(examples: int, seed: int) -> float:
    """Cases per second of one-case-per-example Hypothesis search over the same relations and families."""
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

    from hypothesis import seed as hseed
    t0 = time.perf_counter()
    hseed(seed)(run)()
    return seen[0] / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=20000, help="cases of the vectorised bulk per repeat")
    ap.add_argument("--examples", type=int, default=300, help="Hypothesis examples per repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the figures as JSON")
    args = ap.parse_args()
    vec, hyp = [], []
    for r in range(args.repeats):                       # interleaved, so load changes hit both
        vec.append(vectorised(args.cases, r))
        hyp.append(hypothesis_only(args.examples, r))
    out = {"relations": len(srch.relations_of(construction.DOMAIN)),
           "vectorised_cases_per_s": {"median": statistics.median(vec), "min": min(vec), "max": max(vec)},
           "hypothesis_only_cases_per_s": {"median": statistics.median(hyp), "min": min(hyp), "max": max(hyp)},
           "speedup": statistics.median(vec) / statistics.median(hyp), "repeats": args.repeats,
           "cases_per_repeat": args.cases, "examples_per_repeat": args.examples,
           "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    print(f"{out['relations']} relations of Prop. 2, every one evaluated on every case:")
    print(f"  vectorised bulk:   {out['vectorised_cases_per_s']['median']:10.0f} cases/s "
          f"[{out['vectorised_cases_per_s']['min']:.0f}, {out['vectorised_cases_per_s']['max']:.0f}]")
    print(f"  Hypothesis only:   {out['hypothesis_only_cases_per_s']['median']:10.0f} cases/s "
          f"[{out['hypothesis_only_cases_per_s']['min']:.0f}, {out['hypothesis_only_cases_per_s']['max']:.0f}]")
    print(f"  speed-up: {out['speedup']:.0f}x  (load average {out['load_average'][0]:.2f}, {out['cpus']} CPUs)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
