"""Wall time of the default ``python -m pytest`` run, in a subprocess (its own max RSS).

    python benchmarks/bench_pytest.py [--json PATH]
"""
from __future__ import annotations

import sys
from pathlib import Path

from bench_common import _run_child, script_main

ROOT = str(Path(__file__).resolve().parent.parent)


def bench_pytest(quick: bool, repeats: int = 1, device: str = "cpu", root: str = ROOT) -> dict:
    """The default suite's wall time (``repeats`` and ``device`` unused: one subprocess run)."""
    if quick:
        return {"skipped": "--quick (the smoke test cannot time the suite that contains it)"}
    out = _run_child([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root)
    return out


def rows(pt: dict) -> list[tuple[str, str, str, str]]:
    if "skipped" in pt:
        return [("pytest wall (s)", "skipped", pt["skipped"], "")]
    return [("pytest wall (s)", f"{pt['wall_s']:.3g}", f"<= 300 s: {'met' if pt['wall_s'] <= 300 else 'NOT met'}"
             + ("" if pt["exit_code"] == 0 else f" (exit {pt['exit_code']})"), f"{pt['peak_memory_mb']:.3g} MB")]


if __name__ == "__main__":
    sys.exit(script_main("pytest", bench_pytest, rows, __doc__))
