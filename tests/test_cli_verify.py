"""`cae verify` in-process via cae_cli.main.main: exit codes, JSON, patterns, --explain, --report, seeds,
determinism, unwritable paths, help. Small searches (--cases 2000) keep it fast; the default run is
tests/test_ledger_run.py."""
import json

import pytest

from cae_cli import verify
from cae_cli.main import main
from cae_theory.ledger.report import BEGIN, END

FAST = ["--cases", "2000", "--examples", "5", "--only", "eq5", "eq6", "eq20.term2", "eq38.q_sqrt_typo"]


def _strip_times(doc):
    if isinstance(doc, dict):
        return {k: _strip_times(v) for k, v in doc.items() if k not in ("seconds", "domain_seconds")}
    if isinstance(doc, list):
        return [_strip_times(v) for v in doc]
    return doc


def test_exit_0_and_json_written(tmp_path, capsys):
    path = tmp_path / "out.json"
    assert main(["verify", "--json", str(path), *FAST]) == 0
    doc = json.loads(path.read_text())
    assert [c["id"] for c in doc["claims"]] == ["eq5", "eq6", "eq20.term2", "eq38.q_sqrt_typo"]
    assert doc["all_as_expected"] and doc["config"]["seed"] == 0 and doc["config"]["cases"] == 2000
    by_id = {c["id"]: c for c in doc["claims"]}
    assert by_id["eq5"]["status"] == "certified" and by_id["eq6"]["status"] == "proved"
    w = by_id["eq20.term2"]["witness"]
    assert w["exact"] and w["lhs_exact"] == ["-52/63"] and w["rhs_exact"] == ["-4"]
    assert by_id["eq20.term2"]["correction"]["status"] == "searched"
    out = capsys.readouterr().out
    assert "[  1/4] seed 0 eq5" in out            # plain progress lines when stdout is not a terminal
    assert "4 claims in" in out and "eq20.term2" in out


def test_patterns_select_claims(tmp_path):
    path = tmp_path / "p.json"
    assert main(["verify", "--json", str(path), "--cases", "500", "--examples", "1", "--only", "eq7*"]) == 0
    ids = [c["id"] for c in json.loads(path.read_text())["claims"]]
    assert ids == ["eq7.trace", "eq7.cauchy_schwarz", "eq7.am_gm", "eq7.total", "eq7"]


def test_explain_names_the_claim_evidence_location_and_uses(capsys):
    assert main(["verify", "--explain", "eq20.term2", "--cases", "1000", "--examples", "1"]) == 0
    out = capsys.readouterr().out
    for words in ("as printed:", "verdict: fails (expected fails)", "cae_theory/prop2/gamma1.py:", "uses: eq2.bound",
                  "used by: eq22.uses", "lhs_exact", "correction (restatement; searched"):
        assert words in out, words


def test_report_replaces_only_the_generated_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n\n{BEGIN}\nSTALE-BLOCK\n{END}\n\nafter\n")
    assert main(["verify", "--json", str(tmp_path / "x.json"), "--report", str(readme), *FAST]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n\n" + BEGIN) and text.endswith(END + "\n\nafter\n")
    assert "STALE-BLOCK" not in text and "| `eq20.term2` |" in text
    fresh = tmp_path / "findings.md"
    assert main(["verify", "--json", str(tmp_path / "y.json"), "--report", str(fresh), *FAST]) == 0
    assert fresh.read_text().startswith(BEGIN)


def test_deterministic_for_a_seed_and_seeds_in_one_document(tmp_path):
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    args = ["--cases", "2000", "--examples", "5", "--only", "eq30.pairs", "eq34"]
    assert main(["verify", "--json", str(a), "--seed", "3", *args]) == 0
    assert main(["verify", "--json", str(b), "--seed", "3", *args]) == 0
    assert main(["verify", "--json", str(c), "--seeds", "3", "4", *args]) == 0
    da, db, dc = (_strip_times(json.loads(p.read_text())) for p in (a, b, c))
    assert da == db
    assert dc["seeds"]["3"] == da                      # the multi-seed document holds the same run
    assert dc["seeds"]["4"]["claims"][0]["witness"] != da["claims"][0]["witness"]   # another seed, other cases


def test_a_stored_query_does_not_depend_on_what_ran_before():
    """z3 names the let-bound terms of its SMT-LIB output after process-wide ids; cae_theory.ledger.solver.canonical
    renumbers them, so a claim decided alone (--only) stores the same query as after other claims. Expected value:
    the text of the first run (the ids of the second run are larger, as z3 built more terms in between)."""
    def query(doc):
        return [c for c in doc["claims"] if c["id"] == "eq22"][0]["evidence"][0]["details"]["smtlib2"]
    alone = verify.ledger_document(0, cases=1000, examples=2, workers=1, only=["eq22"])
    after = verify.ledger_document(0, cases=1000, examples=2, workers=1, only=["eq19", "eq20*", "eq22"])
    assert "(let " in query(alone) and query(alone) == query(after)


def test_exit_1_names_the_changed_ids(tmp_path, capsys, monkeypatch):
    from cae_theory.prop2 import eqs5_8
    from dataclasses import replace
    flipped = replace(eqs5_8.EQ5, expected="fails")
    claims = [flipped if c.id == "eq5" else c for c in eqs5_8.CLAIMS]
    monkeypatch.setattr(eqs5_8, "CLAIMS", claims)
    path = tmp_path / "x.json"
    assert main(["verify", "--json", str(path), "--cases", "500", "--examples", "1", "--only", "eq5"]) == 1
    assert "CHANGED eq5 (seed 0): got certified, expected fails" in capsys.readouterr().err
    assert not json.loads(path.read_text())["all_as_expected"]


@pytest.mark.parametrize("make_path, words", [
    (lambda d: d / "missing-dir" / "x.json", "does not exist"),
    (lambda d: d, "is a directory"),
])
def test_unwritable_json_path_is_one_line_exit_2_before_running(tmp_path, capsys, monkeypatch, make_path, words):
    ran = []
    monkeypatch.setattr("cae_theory.ledger.run.run_ledger", lambda *a, **k: ran.append(1) or [])
    assert main(["verify", "--json", str(make_path(tmp_path)), "--only", "eq5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cae verify: error: --json") and words in err[0]
    assert not ran


def test_help_is_useful(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = capsys.readouterr().out
    for words in ("--json", "--seed", "--seeds", "--cases", "--only", "--explain", "--report", "exit status",
                  "proved", "certified", "searched", "fails", "unknown"):
        assert words in out
    assert verify.HELP


def test_seeds_on_a_local_dask_cluster_equal_the_serial_run(tmp_path):
    """`--seeds 0 1 --scheduler local`: each seed decided in a worker process of a local Dask cluster gives the
    same document as the serial run (times aside)."""
    pytest.importorskip("dask.distributed")
    args = ["--cases", "1000", "--examples", "2", "--only", "eq6", "eq30.pairs", "--seeds", "0", "1"]
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    assert main(["verify", "--json", str(serial), *args]) == 0
    assert main(["verify", "--json", str(parallel), *args, "--scheduler", "local"]) == 0
    a, b = (_strip_times(json.loads(p.read_text())) for p in (serial, parallel))
    assert a == b and a["verdicts_identical_across_seeds"]
