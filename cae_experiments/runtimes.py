"""Measured run times of the experiments, for ``cae experiment --list``: the data file ``runtimes.json`` next to
this module, written by ``python -m cae_experiments.runtimes`` (run it from a source checkout).

What the command measures, per experiment:

- ``quick``: it runs the experiment at ``--quick`` size here (:func:`cae_experiments.runner.run_experiment` into a
  temporary folder, exactly what ``cae experiment NAME --quick`` does: training, figures, files) and times the whole
  call with a wall clock; the experiments run one after another, one torch/BLAS thread each.
- ``full``: with ``--full NAME`` it runs NAME at full size and times it the same way, writing the run's outputs to
  ``RUNS/NAME`` (``--runs``, default docs/figures; ``--overwrite`` to replace what is there). Otherwise it keeps
  the ``full`` entry already in runtimes.json, or, if there is none, takes the ``wall_time_s`` that the full run in
  ``RUNS/NAME/metrics.json`` recorded (training only: run_experiment stops its clock before drawing the figures),
  noting which settings of that run differ from today's ``FULL``.

Each entry keeps the seconds, how they were measured, the date and the machine (CPU, cores, torch version, load
average before and after, the nice value of the timing process), or ``null`` where the run did not record its
machine. The machine matters: on a
2-core machine shared with other jobs everything takes about twice as long as on an idle one.

Usage::

    python -m cae_experiments.runtimes                       # time every experiment at --quick (a few minutes)
    python -m cae_experiments.runtimes --full shrinkage      # ... and re-run shrinkage at full size (minutes)
    python -m cae_experiments.runtimes --only couplings      # time (and replace) the entry of one experiment
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import tempfile
import textwrap
import time
from pathlib import Path

from cae_experiments import EXPERIMENTS

#: The data file ``cae experiment --list`` reads.
RUNTIMES = Path(__file__).with_name("runtimes.json")
#: Where the documented full-size runs live (relative to a source checkout's root).
DEFAULT_RUNS = Path("docs/figures")
COMMAND = "python -m cae_experiments.runtimes"


def load(path: Path = RUNTIMES) -> dict:
    """The content of runtimes.json (``{"experiments": {}}`` if the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return {"experiments": {}}
    return json.loads(path.read_text())


def duration(seconds: float | None) -> str:
    """``seconds`` for people: "8 s", "4 min", "1.2 h"; "not measured" for None."""
    if seconds is None:
        return "not measured"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _machine_words(machine: dict | None) -> str:
    if not machine:
        return "machine not recorded"
    return f"{machine.get('cpu') or 'unknown CPU'}, {machine.get('usable_cores')} cores"


def _conditions(entries: list[dict]) -> str:
    """Where and how ``entries`` (timed here) were timed, in words."""
    machines = sorted({_machine_words(e.get("machine")) for e in entries})
    loads = [v for e in entries for v in (e.get("load_average") or []) if v is not None]
    nice = sorted({e.get("niceness") for e in entries if e.get("niceness") is not None})
    return "; ".join(machines) + (f", load average {min(loads):.1f}-{max(loads):.1f}" if loads else "") + (
        f", at nice {'/'.join(map(str, nice))}" if nice else "")


def listing(runtimes: dict | None = None) -> str:
    """The text of ``cae experiment --list``: one line per experiment with its measured run time at ``--quick``
    and at full size and its description, then how the times were measured and what ``--quick`` is."""
    runtimes = load() if runtimes is None else runtimes
    measured = runtimes.get("experiments", {})
    width = max(len(n) for n in EXPERIMENTS)
    times = {name: (duration((measured.get(name, {}).get("quick") or {}).get("seconds")),
                    duration((measured.get(name, {}).get("full") or {}).get("seconds"))) for name in EXPERIMENTS}
    qw = max([len(q) for q, _ in times.values()] + [len("--quick")])
    fw = max([len(f) for _, f in times.values()] + [len("full")])
    lines = [f"  {'NAME':<{width}}  {'--quick':>{qw}}  {'full':>{fw}}  what it shows"]
    lines += [f"  {name:<{width}}  {times[name][0]:>{qw}}  {times[name][1]:>{fw}}  {desc}"
              for name, (_, desc) in EXPERIMENTS.items()]
    quick = [e["quick"] for e in measured.values() if e.get("quick")]
    timed = [e["full"] for e in measured.values() if e.get("full") and e["full"].get("machine")]
    recorded = [name for name, e in measured.items() if e.get("full") and not e["full"].get("machine")]
    notes = ["", "Run times: wall clock, one CPU thread per run (as `cae experiment` runs), measured by "
             f"`{COMMAND}` (cae_experiments/runtimes.json: the machine and load of each)."]
    if quick:
        notes.append(f"  --quick: timed on {_conditions(quick)}.")
    if timed:
        notes.append(f"  full size: the documented runs in docs/figures, timed on {_conditions(timed)}" +
                     (f"; for {', '.join(recorded)} the training time those runs recorded (machine not recorded)."
                      if recorded else "."))
    notes += ["A busy machine takes longer.",
              "",
              "--quick runs the same experiment smaller (fewer steps, or fewer cells of a grid; each experiment's "
              "QUICK says what differs) and still shows its effect; the tests run every experiment at --quick.",
              "Example: cae experiment couplings --quick --out runs/couplings-quick"]
    wrapped = [textwrap.fill(n, 100, subsequent_indent="    " if n.startswith("  ") else "") for n in notes]
    return "\n".join(lines + wrapped)


# ----------------------------------------------------------------------------------------------- measuring
def _today() -> str:
    return datetime.date.today().isoformat()


def _loadavg() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def timed_run(name: str, out_dir: Path, *, quick: bool, overwrite: bool = False) -> dict:
    """Run experiment ``name`` into ``out_dir`` with :func:`run_experiment` (no progress bar) and time the whole
    call: ``{"seconds", "how", "date", "machine", "load_average": [before, after], "niceness"}`` (the process's
    nice value: a run at nice 10 on a busy machine gets less of it)."""
    from cae_cli.bench import machine_info
    from cae_experiments.runner import run_experiment

    machine = machine_info()
    before = _loadavg()
    t0 = time.perf_counter()
    run_experiment(name, out_dir, quick=quick, overwrite=overwrite)
    seconds = time.perf_counter() - t0
    flag = " --quick" if quick else ""
    return {"seconds": round(seconds, 1), "how": f"`cae experiment {name}{flag}` timed by {COMMAND}",
            "date": _today(), "machine": machine, "load_average": [before, _loadavg()],
            "niceness": os.nice(0) if hasattr(os, "nice") else None}


def _jsonable_config(cfg) -> dict:
    from cae_experiments.io import to_jsonable

    return json.loads(json.dumps(to_jsonable(dataclasses.asdict(cfg))))


def config_differences(recorded: dict, full: dict) -> dict:
    """``{setting: [recorded value, FULL's value]}`` for the settings both configs have and that differ (settings
    renamed or added since the run are not compared)."""
    return {k: [recorded[k], full[k]] for k in sorted(recorded.keys() & full.keys()) if recorded[k] != full[k]}


def recorded_full_run(name: str, runs: Path) -> dict | None:
    """The ``full`` entry from the full run in ``runs/name/metrics.json`` (its recorded ``wall_time_s``), or None
    if there is no such run or it was a --quick run."""
    from cae_experiments import get_experiment

    path = Path(runs) / name / "metrics.json"
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text())
    if metrics.get("config", {}).get("quick") or "wall_time_s" not in metrics:
        return None
    entry = {"seconds": metrics["wall_time_s"],
             "how": f"wall_time_s recorded by the full run in {path.as_posix()} (training only, without figures)",
             "date": None, "machine": metrics.get("machine"), "load_average": None}
    differences = config_differences(metrics["config"], _jsonable_config(get_experiment(name).FULL))
    if differences:
        entry["config_differences"] = differences
    return entry


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=list(EXPERIMENTS), metavar="NAME",
                   help="measure only these experiments (the others keep their entries)")
    p.add_argument("--full", nargs="+", choices=list(EXPERIMENTS), default=[], metavar="NAME",
                   help="also run these experiments at full size and time them (outputs to RUNS/NAME)")
    p.add_argument("--runs", type=Path, default=DEFAULT_RUNS,
                   help="folder of the documented full-size runs (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="let --full replace the outputs in RUNS/NAME")
    p.add_argument("--out", type=Path, default=RUNTIMES, help="the data file to write (default: %(default)s)")
    args = p.parse_args(argv)
    from cae_experiments.runner import leftover_entries

    for name in args.full:
        if name not in (args.only or EXPERIMENTS):
            p.error(f"--full {name}: {name} is not among --only {' '.join(args.only)}")
        if leftover_entries(args.runs / name) and not args.overwrite:
            p.error(f"--full {name}: {args.runs / name} is not empty; pass --overwrite to replace its outputs")

    doc = load(args.out)
    doc["measured_by"] = COMMAND
    experiments = doc.setdefault("experiments", {})
    for name in args.only or list(EXPERIMENTS):
        entry = experiments.setdefault(name, {})
        with tempfile.TemporaryDirectory() as tmp:
            entry["quick"] = timed_run(name, Path(tmp) / name, quick=True)
        print(f"{name} --quick: {entry['quick']['seconds']} s", flush=True)
        if name in args.full:
            entry["full"] = timed_run(name, args.runs / name, quick=False, overwrite=args.overwrite)
            entry["full"]["how"] += f", outputs in {(args.runs / name).as_posix()}"
        elif not entry.get("full"):
            entry["full"] = recorded_full_run(name, args.runs)
        if entry.get("full"):
            print(f"{name} full: {entry['full']['seconds']} s ({entry['full']['how']})", flush=True)
    doc["experiments"] = {name: experiments[name] for name in EXPERIMENTS if name in experiments}
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
