"""The whole ledger, as `cae verify` runs it by default (seed 0, 100,000 cases per search domain), once per test
session: every verdict as expected, its evidence stated, every witness and proof re-checkable from the JSON, and
the README's findings section equal to the generated report.

Oracles: the independent mpmath transcription (tests/independent.py) for the Prop. 2 witnesses found by search;
z3 re-running every stored SMT-LIB query from its text; the report generator for the README.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import independent
import independent_fractions
from cae_cli.main import main
from cae_theory.ledger import solver
from cae_theory.ledger.report import extract_block

ROOT = Path(__file__).resolve().parents[1]

#: Independent re-checks of the witnesses of the other sections (Definition, Prop. 1, Algorithm 1): id -> function
#: of the witness JSON returning True when the printed claim is violated.
OTHER_RECHECKS: dict = independent_fractions.RECHECKS


@pytest.fixture(scope="session")
def ledger(tmp_path_factory):
    d = tmp_path_factory.mktemp("ledger")
    code = main(["verify", "--json", str(d / "ledger.json"), "--report", str(d / "findings.md")])
    return code, json.loads((d / "ledger.json").read_text()), (d / "findings.md").read_text()


def test_default_run_exits_0_with_every_verdict_as_expected(ledger):
    code, doc, _ = ledger
    changed = [(c["id"], c["status"], c.get("error", "")[-300:]) for c in doc["claims"] if not c["as_expected"]]
    assert code == 0 and doc["all_as_expected"], changed


def test_every_claim_states_its_evidence_scope_and_depth(ledger):
    _, doc, _ = ledger
    for c in doc["claims"]:
        assert c["evidence"], c["id"]
        for e in c["evidence"]:
            assert e["procedure"] and e["scope"], (c["id"], e)
            if e["kind"] == "search":                       # depth and breadth of every search
                assert e["details"]["cases"] >= 100_000, (c["id"], e["details"]["cases"])
                assert len(e["details"]["families"]) >= 5 and e["details"]["ranges"]
            if e["kind"] == "proof" and e["procedure"].startswith("z3"):
                assert e["details"]["smtlib2"] and e["details"]["outcome"] in ("proved", "refuted", "unknown")
        if c["status"] == "fails":
            w = c["witness"]
            assert w and "relation" in w and ("lhs" in w or "lhs_exact" in w), c["id"]


def test_prop2_searches_reach_hundreds_of_samples_and_many_arms(ledger):
    _, doc, _ = ledger
    ranges = next(e["details"]["ranges"] for c in doc["claims"] if c["id"] == "eq34" for e in c["evidence"])
    assert ranges["S"][1] >= 200 and ranges["k"][1] >= 16 and ranges["S"][0] == 2


def test_every_stored_z3_query_rechecks(ledger):
    _, doc, _ = ledger
    queries = [(c["id"], e["details"]["smtlib2"]) for c in doc["claims"]
               for v in (c, c.get("correction") or {}) for e in v.get("evidence", [])
               if e["kind"] == "proof" and e["details"].get("outcome") == "proved" and "smtlib2" in e["details"]]
    assert len(queries) >= 10
    for cid, q in queries:
        assert solver.recheck(q) == "unsat", cid


@pytest.mark.parametrize("cid", ["eq30.pairs", "eq31.gamma2", "eq42.eps_sentence"])
def test_searched_prop2_witnesses_recheck_independently(ledger, cid):
    """From the JSON alone (Z, beta, eps), by mpmath code that imports nothing from cae_theory: the printed
    relation is violated, and the stored sides are the float values of the same numbers within their bound."""
    _, doc, _ = ledger
    c = next(c for c in doc["claims"] if c["id"] == cid)
    assert c["status"] == "fails"
    w = c["witness"]
    (lhs,), (rhs,) = independent.sides(cid, w)
    assert lhs >= rhs and not independent.small(lhs - rhs, lhs)
    if cid != "eq42.eps_sentence":      # its beta is recomputed from eps here (a float rounding apart)
        assert abs(float(lhs) - w["lhs"]) <= w["rounding_bound"] + 1e-12 * abs(float(lhs))


def test_every_failing_claim_has_an_independent_recheck_that_confirms_it(ledger):
    """Every 'fails' of the default run is re-checked from its witness JSON alone by code that imports nothing
    from cae_theory (tests/independent.py's RECHECKS for Prop. 2, the section tests' checkers otherwise)."""
    _, doc, _ = ledger
    failing = {c["id"]: c["witness"] for c in doc["claims"] if c["status"] == "fails"}
    unchecked = sorted(set(failing) - set(independent.RECHECKS) - set(OTHER_RECHECKS))
    assert not unchecked, f"failing claims without an independent re-check: {unchecked}"
    for cid, w in failing.items():
        check = independent.RECHECKS.get(cid) or OTHER_RECHECKS[cid]
        assert check(w), cid


def test_counts_keep_printed_claims_and_probes_apart(ledger):
    _, doc, _ = ledger
    counts = doc["counts"]
    assert counts["claims"] == counts["printed"] + counts["sentences"] + counts["probes"]
    assert sum(counts["by_category"].values()) == counts["claims"]
    for c in doc["claims"]:
        if c["origin"] == "probe":
            assert c["category"] == "probe"


def test_readme_findings_are_the_generated_report(ledger):
    """The README's findings section is `cae verify --report` output (regenerate: cae verify --report README.md)."""
    _, _, report = ledger
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert extract_block(readme) == extract_block(report)
