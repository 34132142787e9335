"""``cae verify``: decide every claim of the supplement (the ledger of ``cae_theory``) and report which are proved,
certified, searched, fail or changed.

Exit status: 0 when every claim's status (and its correction's status) equals the ledger's expectation, 1 when any
differs (the changed ids are listed on stderr), 2 on a usage error, 130 when interrupted.
"""
from __future__ import annotations

import argparse
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
    p.add_argument("--workers", metavar="N", type=int, default=1,
                   help="processes for the bulk phase of the searches; the result does not depend on it "
                        "(default: %(default)s)")
    p.add_argument("--only", metavar="PATTERN", nargs="+", default=None,
                   help="run only the claims whose id matches (shell patterns: eq20* prop1 alg1.?)")
    p.add_argument("--explain", metavar="ID", default=None,
                   help="decide one claim and print it as printed, its verdict and evidence, where its quantity, "
                        "certificate and check live (file:line), what it uses and what uses it")


def _status_text(r) -> str:
    text = r.status
    if r.correction_status:
        text += f" -> {r.correction_status}"
    return text


def _evidence_short(r) -> str:
    if r.verdict is None:
        return (r.error or "").strip().splitlines()[-1][:60] if r.error else ""
    parts = []
    for e in r.verdict.evidence:
        if e.kind == "search":
            parts.append(f"{e.details.get('cases', 0):,} cases")
        elif e.kind == "proof":
            parts.append(e.procedure.split(" (")[0].split(":")[0])
        elif e.kind == "identity":
            parts.append("sympy" if "sympy" in e.procedure else f"{e.details.get('cases', 0)} nums")
        elif e.kind == "witness":
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


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    if not args.explain:
        check_writable_file(args.json, "--json")
    if args.report:
        check_writable_file(args.report, "--report")

    from cae_theory.blueprint import SECTIONS, all_claims
    from cae_theory.ledger.run import run_ledger, select, used_by

    claims = all_claims()
    if args.explain:
        return _explain(args, claims)
    try:
        chosen = select(claims, args.only)
    except ValueError as exc:
        raise CLIError(f"--only: {exc}; ids look like {', '.join(c.id for c in claims[:6])}, ...") from None
    seeds = args.seeds if args.seeds is not None else [args.seed]
    docs, changed_any = {}, False
    for seed in seeds:
        results, seconds = _run_one(chosen, _config(args, seed), run_ledger, len(seeds) > 1)
        users = used_by(claims)
        for r in results:
            r.used_by = users.get(r.claim.id, [])
        changed_any |= _print_table(results, seed, seconds)
        docs[seed] = (results, seconds)
    from cae_theory.ledger.run import ledger_json
    if len(seeds) == 1:
        results, seconds = docs[seeds[0]]
        doc = {**ledger_json(results, _config(args, seeds[0])), "seconds": round(seconds, 2)}
    else:
        doc = {"seeds": {str(s): {**ledger_json(r, _config(args, s)), "seconds": round(t, 2)}
                         for s, (r, t) in docs.items()}}
    try:
        write_atomically(args.json, json.dumps(doc, indent=1, allow_nan=True))
        if args.report:
            write_atomically(args.report, _report_text(args.report, docs[seeds[0]][0], seeds[0], SECTIONS))
    except OSError as exc:
        raise CLIError(f"output could not be written: {exc.strerror}") from None
    print(f"results written to {args.json}" + (f", findings to {args.report}" if args.report else ""))
    return 1 if changed_any else 0


def _report_text(path: str, results, seed: int, sections) -> str:
    """The findings; when ``path`` is an existing file with a generated block (README.md), that file with only
    the block replaced."""
    import os

    from cae_theory.ledger.report import BEGIN, END, findings_markdown, replace_block
    block = findings_markdown(results, seed, [s.__name__ for s in sections])
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if BEGIN in text and END in text:
            return replace_block(text, block)
    return block


def _run_one(chosen, config, run_ledger, quiet: bool):
    from rich.console import Console
    console = Console(stderr=False)
    t0 = time.perf_counter()
    if console.is_terminal and not quiet:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task(f"seed {config.seed}: deciding claims", total=len(chosen))
            results = run_ledger(chosen, config, lambda r: progress.update(task, advance=1,
                                                                          description=f"decided {r.claim.id}"))
    else:
        done = [0]

        def line(r):
            done[0] += 1
            print(f"[{done[0]:>3}/{len(chosen)}] seed {config.seed} {r.claim.id:<26} {_status_text(r):<22} "
                  f"{r.seconds:6.2f} s", flush=True)
        results = run_ledger(chosen, config, line)
    return results, time.perf_counter() - t0


def _print_table(results, seed: int, seconds: float) -> bool:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    from rich.markup import escape

    table = Table(title=f"cae verify: seed {seed} (ok: status as expected; a -> b: claim as printed -> its "
                        "correction)", title_justify="left", pad_edge=False)
    id_width = max(len(r.claim.id) for r in results)
    status_width = max(len(_status_text(r)) for r in results)
    evidence_width = min(22, max(len(_evidence_short(r)) for r in results))
    rest = console.width - (id_width + status_width + 2 + evidence_width) - 5 * 3 - 1   # borders and padding
    table.add_column("id", no_wrap=True, min_width=id_width)       # ids are never cut: --only and --explain use them
    table.add_column("status", no_wrap=True, min_width=status_width)
    table.add_column("ok", no_wrap=True, justify="center", min_width=2)
    table.add_column("evidence", no_wrap=True, overflow="ellipsis", min_width=evidence_width, max_width=evidence_width)
    table.add_column("claim (as printed)", overflow="ellipsis", no_wrap=True, min_width=max(10, rest),
                     max_width=max(10, rest))
    for r in results:
        ok = "[green]✓[/green]" if r.as_expected else "[bold red]✗[/bold red]"
        style = None if r.as_expected else "bold red"
        table.add_row(r.claim.id, _status_text(r), ok, escape(_evidence_short(r)), escape(r.claim.printed),
                      style=style)
    console.print(table)
    changed = [r for r in results if not r.as_expected]
    counts = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    print(f"seed {seed}: {len(results)} claims in {seconds:.1f} s: " +
          ", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {len(results) - len(changed)} as expected")
    for r in changed:
        want = r.claim.expected + (f" -> {r.claim.correction.expected}" if r.claim.correction else "")
        reason = f"; error: {r.error.strip().splitlines()[-1]}" if r.error else ""
        print(f"CHANGED {r.claim.id} (seed {seed}): got {_status_text(r)}, expected {want}{reason}", file=sys.stderr)
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
