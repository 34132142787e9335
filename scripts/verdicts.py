"""Compare the verdicts of two sets of `cae verify --json` outputs (e.g. under the lock and under the newest
releases): every claim's status and its correction's status must be identical; witnesses and margins may differ.

Usage: python scripts/verdicts.py DIR_A DIR_B    (each holding verify-seed<N>.json files)
Exit status 0 when every shared seed gives identical verdicts, 1 otherwise (the differences are printed).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def verdicts(path: Path) -> dict[str, tuple[str, str | None]]:
    doc = json.loads(path.read_text())
    return {c["id"]: (c["status"], (c.get("correction") or {}).get("status")) for c in doc["claims"]}


def evidence_differs(path_a: Path, path_b: Path) -> int:
    """How many claims carry a different witness or margin in the two runs (allowed: only statuses must agree)."""
    ca = {c["id"]: c for c in json.loads(path_a.read_text())["claims"]}
    cb = {c["id"]: c for c in json.loads(path_b.read_text())["claims"]}
    return sum(1 for i in ca.keys() & cb.keys()
               if (ca[i].get("witness"), ca[i].get("margin")) != (cb[i].get("witness"), cb[i].get("margin")))


def main(a: str, b: str) -> int:
    seeds = sorted({p.name for p in Path(a).glob("verify-seed*.json")} & {p.name for p in Path(b).glob("verify-seed*.json")})
    if not seeds:
        print("no verify-seed*.json files common to both folders", file=sys.stderr)
        return 2
    differ = 0
    for name in seeds:
        va, vb = verdicts(Path(a) / name), verdicts(Path(b) / name)
        diff = sorted(i for i in va.keys() | vb.keys() if va.get(i) != vb.get(i))
        differ += len(diff)
        print(f"{name}: {len(va)} claims, {len(diff)} verdicts differ, "
              f"{evidence_differs(Path(a) / name, Path(b) / name)} witnesses or margins differ" + "".join(
            f"\n  {i}: {va.get(i)} vs {vb.get(i)}" for i in diff))
    return 1 if differ else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
