"""``cae verify``: run the ledger of claims of the supplement and report which hold, fail or changed.

Exit status: 0 when every claim's status (and its correction's status) equals the ledger's expectation,
1 when any differs (the changed ids are listed), 2 on a usage error (e.g. an unwritable --json path).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from cae_cli.main import CLIError, check_writable_file, write_atomically

HELP = ("check every claim of the supplement's proofs (Definition, Eqs. 1-43, Props. 1-2, Algorithm 1) "
        "by sympy certificates, constructions and adversarial search, and compare with the expected verdicts")

EPILOG = """statuses:
  certified  identity proved by sympy and confirmed on numbers
  holds      inequality/construction survived the adversarial search (Hypothesis + Nelder-Mead)
  fails      a concrete witness violates the claim as printed (in the JSON, with its correction)
  error      the check itself crashed (traceback in the JSON)

exit status: 0 all as expected; 1 some status or correction status changed; 2 usage error.
examples:
  cae verify                                 # full ledger, 500 examples per inequality, seed 0
  cae verify --only prop1 eq2.bound --examples 100
  cae verify --seed 7 --json /tmp/ledger.json"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument("--json", metavar="PATH", default="cae-verify.json",
                   help="where to write the full results with witnesses (default: %(default)s)")
    p.add_argument("--seed", metavar="N", type=int, default=0,
                   help="seed of every search; a run is deterministic for a seed (default: %(default)s)")
    p.add_argument("--examples", metavar="N", type=int, default=500,
                   help="Hypothesis examples per inequality (default: %(default)s)")
    p.add_argument("--only", metavar="ID", nargs="+", default=None,
                   help="run only these claim ids (e.g. prop1 eq2.bound alg1)")


def _fmt_margin(m) -> str:
    return "-" if m is None else f"{m:.3g}"


def _status_cell(r) -> str:
    text = r.status
    if r.correction:
        text += f" (corr: {r.correction['status']})"
    return text


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from cae_theory.ledger import CheckConfig, all_claims, ledger_json, run_ledger

    if args.examples < 1:
        raise CLIError(f"--examples must be >= 1, got {args.examples}")
    check_writable_file(args.json, "--json")
    claims = all_claims()
    if args.only:
        known = [c.id for c in claims]
        unknown = [i for i in args.only if i not in known]
        if unknown:
            raise CLIError(f"--only: unknown claim id(s) {', '.join(unknown)}; known: {', '.join(known)}")
    config = CheckConfig(seed=args.seed, examples=args.examples)
    n_total = len(args.only) if args.only else len(claims)
    console = Console()
    interactive = console.is_terminal
    if not interactive:  # a log file or pipe: wide enough that the table does not wrap
        console = Console(width=max(console.width, 150))
    t0 = time.perf_counter()

    if interactive:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("checking claims", total=n_total)

            def on_result(r):
                progress.update(task, advance=1, description=f"checked {r.id}")
            results = run_ledger(config, args.only, on_result)
    else:
        done = [0]

        def on_result(r):
            done[0] += 1
            print(f"[{done[0]:>3}/{n_total}] {r.id:<28} {r.status:<10} {r.seconds:7.2f} s", flush=True)
        results = run_ledger(config, args.only, on_result)
    total = time.perf_counter() - t0

    table = Table(title=f"cae verify: seed {config.seed}, {config.examples} examples per inequality")
    for col, justify in (("id", "left"), ("method", "left"), ("status", "left"), ("expected", "left"),
                         ("worst margin", "right"), ("cases", "right"), ("time (s)", "right")):
        table.add_column(col, justify=justify)
    for r in results:
        expected = r.expected + (f" (corr: {r.expected_correction})" if r.expected_correction else "")
        style = None
        if not r.as_expected:
            style = "bold red"
        elif r.status == "fails":
            style = "yellow"
        table.add_row(r.id, r.method, _status_cell(r), expected, _fmt_margin(r.worst_margin), str(r.n_cases),
                      f"{r.seconds:.2f}", style=style)
    console.print(table)

    doc = ledger_json(results, config)
    try:
        write_atomically(args.json, json.dumps(doc, indent=1, allow_nan=True))
    except OSError as exc:
        raise CLIError(f"--json {args.json!r} could not be written: {exc.strerror}") from None

    changed = [r for r in results if not r.as_expected]
    n_fail = sum(r.status == "fails" for r in results)
    print(f"{len(results)} claims in {total:.1f} s: {n_fail} fail as printed (with corrections), "
          f"{len(results) - len(changed)} as expected; results written to {args.json}")
    if changed:
        for r in changed:
            got = _status_cell(r)
            want = r.expected + (f" (corr: {r.expected_correction})" if r.expected_correction else "")
            reason = f"; error: {r.error.strip().splitlines()[-1]}" if r.error else ""
            print(f"CHANGED {r.id}: got {got}, expected {want}{reason}", file=sys.stderr)
        return 1
    return 0
