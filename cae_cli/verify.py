"""``cae verify``: decide every claim of the supplement (the ledger of ``cae_theory``) and report which are proved,
certified, searched, fail or changed.

Exit status: 0 when every claim's status (and its correction's status) equals the ledger's expectation, 1 when any
differs (the changed ids are listed on stderr), 2 on a usage error, 130 when interrupted.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time

from cae_cli.main import CLIError, check_writable_file, write_atomically

HELP = ("decide every claim of the supplement (Definition, Eqs. 1-43, the sentences of the proofs, Props. 1-2, "
        "Algorithm 1) by proof, certificate, search or witness, and compare with the expected verdicts")

EPILOG = """statuses (strongest evidence first):
  proved     exact decision (z3, nonlinear real arithmetic) or symbolic proof, for the sizes in its scope
  certified  identity: sympy on symbolic inputs AND numbers within rigorous rounding bounds
  searched   survived a search (depth and breadth in the JSON: cases, families, size ranges)
  fails      a witness violates the claim as printed (in the JSON, re-checkable; with its correction)
  unknown    undecided (solver timeout, only rounding-level cases), never read as "holds"
  error      the check itself crashed (traceback in the JSON)

exit status: 0 all as expected; 1 some status changed; 2 usage error; 130 interrupted.
examples:
  cae verify                              # every claim, seed 0, 100,000 cases per search domain
  cae verify --only 'eq20*' prop2         # shell-style patterns of claim ids
  cae verify --explain eq20.term2         # the claim, its verdict and evidence, where its code lives
  cae verify --seeds 0 1 2 3 4 5          # several seeds (verdicts must not depend on the seed)
  cae verify --seeds 0 1 2 3 --scheduler local   # the seeds in parallel on a local Dask cluster
  cae verify --report findings.md         # the findings as Markdown, in the supplement's order"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument("--json", metavar="PATH", default="cae-verify.json",
                   help="where to write every verdict with its evidence and witness (default: %(default)s)")
    p.add_argument("--report", metavar="PATH", default=None,
                   help="also write the findings as Markdown; a file that already holds a generated block (e.g. "
                        "README.md) gets only that block replaced")
    p.add_argument("--seed", metavar="N", type=int, default=0, help="seed of every search (default: %(default)s)")
    p.add_argument("--seeds", metavar="N", type=int, nargs="+", default=None,
                   help="run these seeds one after another (the JSON holds one document per seed)")
    p.add_argument("--cases", metavar="N", type=int, default=100_000,
                   help="cases per search domain, every searched claim sees them all (default: %(default)s)")
    p.add_argument("--examples", metavar="N", type=int, default=100,
                   help="Hypothesis examples of the targeted phase per domain (default: %(default)s)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="with --seeds: decide the seeds in parallel on Dask distributed ('local' starts a local "
                        "cluster; or a scheduler address such as tcp://host:8786; needs the extra [dist]); the "
                        "documents are identical to a serial run")
    p.add_argument("--workers", metavar="N", type=int, default=1,
                   help="processes (forked) for the bulk phase of the searches; the result does not depend "
                        "on it (default: %(default)s)")
    p.add_argument("--only", metavar="PATTERN", nargs="+", default=None,
                   help="run only the claims whose id matches (shell patterns: eq20* prop1 alg1.?)")
    p.add_argument("--explain", metavar="ID", default=None,
                   help="decide one claim and print it as printed, its verdict and evidence, where its quantity, "
                        "certificate and check live (file:line), what it uses and what uses it")


def _status_text(c: dict) -> str:
    text = c["status"]
    if c.get("correction"):
        text += f" -> {c['correction']['status']}"
    return text


def _evidence_short(c: dict) -> str:
    if c["status"] == "error":
        return (c.get("error") or "").strip().splitlines()[-1][:60]
    parts = []
    for e in c["evidence"]:
        if e["kind"] == "search":
            parts.append(f"{e['details'].get('cases', 0):,} cases")
        elif e["kind"] == "proof":
            parts.append(e["procedure"].split(" (")[0].split(":")[0])
        elif e["kind"] == "identity":
            parts.append("sympy" if "sympy" in e["procedure"] else f"{e['details'].get('cases', 0)} nums")
        elif e["kind"] == "witness":
            parts.append("witness")
    return ", ".join(dict.fromkeys(parts))


def _config(args, seed: int):
    from cae_theory.ledger.claims import CheckConfig
    return CheckConfig(seed=seed, cases=args.cases, examples=args.examples, workers=args.workers)


def _check_args(args) -> None:
    for flag, value, low in (("--cases", args.cases, 1), ("--examples", args.examples, 0),
                             ("--workers", args.workers, 1)):
        if value < low:
            raise CLIError(f"{flag} must be >= {low}, got {value}")
    if args.seeds is not None and args.explain:
        raise CLIError("--explain decides one claim at one --seed; it does not take --seeds")
    if args.scheduler is not None and args.seeds is None:
        raise CLIError("--scheduler runs several seeds in parallel: give them with --seeds")
    if args.scheduler is not None:
        from cae_experiments.distributed import check_scheduler
        try:
            check_scheduler(args.scheduler)
        except (TypeError, ValueError) as exc:
            raise CLIError(f"--scheduler: {exc}") from None


def ledger_document(seed: int, *, cases: int, examples: int, workers: int, only, progress: bool = False) -> dict:
    """The JSON document of one run of the ledger at ``seed`` (picklable: the unit of work of --scheduler)."""
    from cae_theory.blueprint import all_claims
    from cae_theory.ledger.claims import CheckConfig
    from cae_theory.ledger.run import ledger_json, run_ledger, select, used_by
    claims = all_claims()
    chosen = select(claims, only)
    config = CheckConfig(seed=seed, cases=cases, examples=examples, workers=workers)
    done = [0]

    def line(r):
        done[0] += 1
        status = r.status + (f" -> {r.correction_status}" if r.correction_status else "")
        print(f"[{done[0]:>3}/{len(chosen)}] seed {seed} {r.claim.id:<26} {status:<22} {r.seconds:6.2f} s",
              flush=True)
    t0 = time.perf_counter()
    results = run_ledger(chosen, config, line if progress else None)
    users = used_by(claims)
    for r in results:
        r.used_by = users.get(r.claim.id, [])
    return {**ledger_json(results, config), "seconds": round(time.perf_counter() - t0, 2)}


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    if not args.explain:
        check_writable_file(args.json, "--json")
    if args.report:
        check_writable_file(args.report, "--report")

    from cae_theory.blueprint import all_claims
    from cae_theory.ledger.run import select

    claims = all_claims()
    if args.explain:
        return _explain(args, claims)
    try:
        select(claims, args.only)
    except ValueError as exc:
        raise CLIError(f"--only: {exc}; ids look like {', '.join(c.id for c in claims[:6])}, ...") from None
    seeds = args.seeds if args.seeds is not None else [args.seed]
    work = functools.partial(ledger_document, cases=args.cases, examples=args.examples, workers=args.workers,
                             only=args.only)
    if args.scheduler is not None:
        from cae_experiments.distributed import map_runs
        print(f"deciding {len(seeds)} seeds on {args.scheduler!r} ...", flush=True)
        try:
            docs = dict(zip(seeds, map_runs(work, seeds, scheduler=args.scheduler)))
        except ImportError as exc:
            raise CLIError(str(exc)) from None
    else:
        docs = {s: work(s, progress=True) for s in seeds}
    changed_any = False
    for seed, doc in docs.items():
        changed_any |= _print_table(doc)
    if len(seeds) == 1:
        out = docs[seeds[0]]
    else:
        out = {"seeds": {str(s): d for s, d in docs.items()},
               "verdicts_identical_across_seeds": _same_verdicts(list(docs.values()))}
        print("verdicts identical across seeds" if out["verdicts_identical_across_seeds"]
              else "verdicts DIFFER across seeds (see CHANGED lines)")
    try:
        write_atomically(args.json, json.dumps(out, indent=1, allow_nan=True))
        if args.report:
            write_atomically(args.report, _report_text(args.report, docs[seeds[0]]))
    except OSError as exc:
        raise CLIError(f"output could not be written: {exc.strerror}") from None
    print(f"results written to {args.json}" + (f", findings to {args.report}" if args.report else ""))
    return 1 if changed_any else 0


def _same_verdicts(docs) -> bool:
    def verdicts(d):
        return [(c["id"], c["status"], (c.get("correction") or {}).get("status")) for c in d["claims"]]
    return all(verdicts(d) == verdicts(docs[0]) for d in docs)


def _report_text(path: str, doc: dict) -> str:
    """The findings; when ``path`` is an existing file with a generated block (README.md), that file with only
    the block replaced."""
    import os

    from cae_theory.ledger.report import BEGIN, END, findings_markdown, replace_block
    block = findings_markdown(doc)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if BEGIN in text and END in text:
            return replace_block(text, block)
    return block


def _print_table(doc: dict) -> bool:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    claims, seed = doc["claims"], doc["config"]["seed"]
    console = Console()
    table = Table(title=f"cae verify: seed {seed} (ok: status as expected; a -> b: claim as printed -> its "
                        "correction)", title_justify="left", pad_edge=False)
    id_width = max(len(c["id"]) for c in claims)
    status_width = max(len(_status_text(c)) for c in claims)
    evidence_width = min(22, max(len(_evidence_short(c)) for c in claims))
    rest = console.width - (id_width + status_width + 2 + evidence_width) - 5 * 3 - 1   # borders and padding
    table.add_column("id", no_wrap=True, min_width=id_width)       # ids are never cut: --only and --explain use them
    table.add_column("status", no_wrap=True, min_width=status_width)
    table.add_column("ok", no_wrap=True, justify="center", min_width=2)
    table.add_column("evidence", no_wrap=True, overflow="ellipsis", min_width=evidence_width, max_width=evidence_width)
    table.add_column("claim (as printed)", overflow="ellipsis", no_wrap=True, min_width=max(10, rest),
                     max_width=max(10, rest))
    for c in claims:
        ok = "[green]✓[/green]" if c["as_expected"] else "[bold red]✗[/bold red]"
        table.add_row(c["id"], _status_text(c), ok, escape(_evidence_short(c)), escape(c["printed"]),
                      style=None if c["as_expected"] else "bold red")
    console.print(table)
    changed = [c for c in claims if not c["as_expected"]]
    counts = ", ".join(f"{n} {s}" for s, n in doc["counts"]["by_status"].items() if n)
    print(f"seed {seed}: {len(claims)} claims in {doc['seconds']:.1f} s: {counts}; "
          f"{len(claims) - len(changed)} as expected")
    for c in changed:
        want = c["expected"] + (f" -> {c['correction']['expected']}" if c.get("correction") else "")
        reason = f"; error: {c['error'].strip().splitlines()[-1]}" if c.get("error") else ""
        print(f"CHANGED {c['id']} (seed {seed}): got {_status_text(c)}, expected {want}{reason}", file=sys.stderr)
    return bool(changed)


def _explain(args, claims) -> int:
    from cae_theory.ledger.report import explain
    from cae_theory.ledger.run import run_claim, used_by
    by_id = {c.id: c for c in claims}
    if args.explain not in by_id:
        import difflib
        close = difflib.get_close_matches(args.explain, list(by_id), n=3)
        raise CLIError(f"--explain: unknown claim id {args.explain!r}" + (f"; did you mean {', '.join(close)}?"
                                                                           if close else ""))
    c = by_id[args.explain]
    r = run_claim(c, _config(args, args.seed))
    r.used_by = used_by(claims).get(c.id, [])
    locations = dict(c.decide.locations())
    if c.correction is not None:
        locations.update({f"correction {k}": v for k, v in c.correction.decide.locations().items()})
    print(explain(r, {"claim": c.defined_at, **locations}))
    return 0 if r.as_expected else 1
