"""Helpers shared by the tests of the section modules: decide claims once and keep exactly the JSON that
``cae verify`` writes for them (a round trip through ``json``), so the tests read plain data as an independent
program would; collect every stored SMT-LIB query of a result."""
from __future__ import annotations

import json

from cae_theory.ledger.claims import CheckConfig
from cae_theory.ledger.run import result_json, run_claim

#: A small search (the default is 100,000 cases and 300 examples): enough to exercise every phase.
SMALL = CheckConfig(seed=0, cases=3000, examples=10, refine=3)


def decide_as_json(claims, config: CheckConfig = SMALL) -> dict[str, dict]:
    """claim id -> its JSON entry (with ``correction`` and evidence), after a JSON round trip."""
    return {c.id: json.loads(json.dumps(result_json(run_claim(c, config)))) for c in claims}


def assert_as_expected(results: dict[str, dict]) -> None:
    """Every claim (and its correction) decided without error and with its expected status."""
    for cid, r in results.items():
        assert "error" not in r, (cid, r.get("error"))
        assert r["status"] == r["expected"], cid
        if r.get("correction"):
            assert r["correction"]["status"] == r["correction"]["expected"], cid


def smtlib_queries(entry: dict) -> list[str]:
    """Every z3 query stored in a claim's JSON entry (its evidence and its correction's evidence)."""
    evidence = list(entry.get("evidence") or []) + list((entry.get("correction") or {}).get("evidence") or [])
    return [e["details"]["smtlib2"] for e in evidence if "smtlib2" in e.get("details", {})]


__all__ = ["SMALL", "assert_as_expected", "decide_as_json", "smtlib_queries"]
