"""``cae bench``: the benchmarks of ``benchmarks/`` (real scripts there, one per section) side by side in one run.

Sections (``--only`` picks some; all by default), each a script ``benchmarks/bench_SECTION.py`` with a function
``bench_SECTION(quick, repeats, device)`` and ``rows(result)``:

- ``train``    fit at default settings vs a plain PyTorch loop of the same computation; matmul share of the peak
- ``sweep``    fit_sweep vs the same runs one after another, and the matmul-only ceiling
- ``spectral`` lambda_min with its gradient: inverse iteration vs svdvals vs eigvalsh
- ``verify``   wall time of ``cae verify`` (a subprocess) and search examples per second
- ``pytest``   wall time of the default ``python -m pytest`` run (a subprocess; skipped with ``--quick``)

This module only parses and checks the options, runs the sections and prints one table; the workloads live in
the scripts. The benchmarks ship with the source checkout (they are not part of the installed packages).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

from cae_cli.main import CLIError, check_device, check_writable_file

HELP = "measure training, sweep, spectral and verification speed on this machine (prints a table, writes JSON)"
SECTIONS = ("train", "sweep", "spectral", "verify", "pytest")
#: the benchmark scripts: benchmarks/ next to the packages of a source checkout
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="PATH", default="cae-bench.json",
                   help="where to write the measurements (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (seconds; the smoke test's size)")
    p.add_argument("--only", metavar="SECTION", nargs="+", choices=SECTIONS, default=None,
                   help=f"run only these sections ({', '.join(SECTIONS)})")
    p.add_argument("--repeats", metavar="N", type=int, default=None,
                   help="interleaved repeats per measurement (default 5, 2 with --quick)")
    p.add_argument("--device", default="cpu", help="torch device for train/sweep/spectral (default cpu)")
    p.add_argument("--threads", metavar="N", type=int, default=None,
                   help="torch intra-op threads for train/sweep/spectral (default: torch's own choice)")



def benchmark_module(name: str):
    """The benchmark script ``benchmarks/NAME.py`` as a module (e.g. ``bench_train``, ``bench_common``); the
    folder goes on sys.path, as when the script runs, so the scripts import ``bench_common`` either way."""
    path = BENCHMARKS / f"{name}.py"
    if not path.is_file():
        raise CLIError(f"cae bench needs the benchmark scripts of a source checkout; {path} does not exist")
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


def machine_info() -> dict:
    """The machine's description (``benchmarks/bench_common.machine_info``)."""
    return benchmark_module("bench_common").machine_info()


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 5)
    if repeats < 1:
        raise CLIError(f"--repeats must be >= 1, got {repeats}")
    check_writable_file(args.json, "--json")
    check_device(args.device)
    import torch
    if args.threads is not None:
        if args.threads < 1:
            raise CLIError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    sections = args.only or list(SECTIONS)
    modules = {name: benchmark_module(f"bench_{name}") for name in sections}
    doc = {"machine": machine_info(), "quick": bool(args.quick), "repeats": repeats, "device": args.device}
    console = Console(stderr=True)
    rows = []
    for name, module in modules.items():
        console.print(f"[bold]bench[/bold] {name} ...")
        t0 = time.perf_counter()
        doc[name] = getattr(module, f"bench_{name}")(args.quick, repeats, args.device)
        doc[name]["section_wall_s"] = time.perf_counter() - t0
        rows += module.rows(doc[name])
    doc["machine"]["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    m = doc["machine"]
    table = Table(title=f"cae bench on {m['cpu']} ({m['usable_cores']} cores, {m['torch_threads']} torch threads), "
                        f"load {m['loadavg_start'][0]:.1f} -> {m['loadavg_end'][0]:.1f}; median \\[min, max] of "
                        f"{repeats} repeats")
    for col in ("measurement", "value", "target / note", "peak memory"):
        table.add_column(col)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    Console(width=None if Console().is_terminal else 150).print(table)
    try:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
    except OSError as exc:
        raise CLIError(f"--json {args.json!r} could not be written: {exc.strerror}") from None
    print(f"wrote {args.json}")
    return 0
