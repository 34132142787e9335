"""``CAE_FUZZ_COUNTS=path``: the fuzz tests add their number of checked calls per function and rule to ``path``
(JSON, keys ``"<package> | <function> [<rule>]"``), the source of the counts in docs/hardening.md."""
from __future__ import annotations

import json
import os
from collections import Counter


def write_counts(package: str, counts: Counter) -> None:
    """Merge ``counts`` under ``package`` into the JSON file named by CAE_FUZZ_COUNTS (nothing if unset)."""
    path = os.environ.get("CAE_FUZZ_COUNTS")
    if not path:
        return
    old = json.load(open(path)) if os.path.exists(path) else {}
    old.update({f"{package} | {k}": v for k, v in sorted(counts.items())})
    with open(path, "w") as fh:
        json.dump(old, fh, indent=1, sort_keys=True)
