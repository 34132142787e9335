"""The ``cae`` command line on bad input (issue 7, part 2): bad flags, unknown names, unwritable output paths
and interrupts end with ONE clear error line on stderr (argparse's own errors add its usage line before it),
a non-zero exit code and no traceback; a Ctrl-C leaves earlier output files intact.

Most cases run in-process through ``cae_cli.main.main`` (fast); a few run the real console entry point
(``python -m cae_cli``) to check the exit status and that no traceback reaches the terminal. The CLI reads no
input files (experiments generate or bundle their data), so "missing files" means missing output directories.
The fail-fast checks live in cae_cli.main (check_writable_file, check_output_dir, check_device).
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import torch

from cae_cli.main import main


def run_cli(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:            # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, err: str, prefix: str, words: str):
    assert code == 2, (code, err)
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if not line.startswith(("usage:", " "))]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{prefix}: error:") and words in lines[0], lines[0]


@pytest.fixture
def not_a_dir(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("x")
    return path


CASES = [
    # (argv, prefix, words)
    (["nosuch"], "cae", "invalid choice"),
    (["verify", "--examples", "abc"], "cae verify", "invalid int value"),
    (["verify", "--seed", "1.5"], "cae verify", "invalid int value"),
    (["verify", "--only"], "cae verify", "expected at least one argument"),
    (["verify", "--no-such-flag"], "cae", "unrecognized arguments"),
    (["verify", "--examples", "-3"], "cae verify", "--examples must be >= 0"),
    (["verify", "--cases", "0"], "cae verify", "--cases must be >= 1"),
    (["verify", "--only", "eq5", "nope.claim"], "cae verify", "no claim id matches nope.claim"),
    (["verify", "--explain", "eq99"], "cae verify", "unknown claim id 'eq99'"),
    (["verify", "--json", "{not_a_dir}/x.json", "--only", "eq5"], "cae verify", "does not exist"),
    (["verify", "--json", "{tmp}", "--only", "eq5"], "cae verify", "is a directory"),
    (["verify", "--json", "/proc/no-such-dir/x.json", "--only", "eq5"], "cae verify", "--json"),
    (["verify", "--report", "{tmp}", "--only", "eq5"], "cae verify", "--report"),
    (["experiment"], "cae experiment", "give an experiment NAME"),
    (["experiment", "nosuch"], "cae experiment", "unknown experiment 'nosuch'"),
    (["experiment", "shrinkage", "--steps", "0"], "cae experiment", "--steps must be >= 1"),
    (["experiment", "shrinkage", "--steps", "x"], "cae experiment", "invalid int value"),
    (["experiment", "shrinkage", "--seed", "-1"], "cae experiment", "--seed must be >= 0"),
    (["experiment", "shrinkage", "--device", "tpu"], "cae experiment", "--device 'tpu' is not usable"),
    (["experiment", "couplings", "--sweep"], "cae experiment", "--sweep"),
    (["bench", "--repeats", "0"], "cae bench", "--repeats must be >= 1"),
    (["bench", "--threads", "0"], "cae bench", "--threads must be >= 1"),
    (["bench", "--only", "nosuch"], "cae bench", "invalid choice"),
    (["bench", "--json", "{tmp}"], "cae bench", "is a directory"),
    (["bench", "--device", "tpu"], "cae bench", "--device 'tpu' is not usable"),
]


@pytest.mark.parametrize("argv, prefix, words", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_flags_give_one_line_and_exit_2(argv, prefix, words, tmp_path, not_a_dir, capsys, monkeypatch):
    ran = []
    # nothing long may start: the ledger, the experiments and the benchmarks are replaced by tripwires
    monkeypatch.setattr("cae_theory.ledger.run.run_ledger", lambda *a, **k: ran.append("ledger") or [])
    monkeypatch.setattr("cae_experiments.runner.run_experiment", lambda *a, **k: ran.append("experiment"))
    monkeypatch.setattr("cae_cli.bench.machine_info", lambda *a, **k: ran.append("bench") or {})
    argv = [a.format(tmp=tmp_path, not_a_dir=not_a_dir) for a in argv]
    code, out, err = run_cli(argv, capsys)
    assert_one_error_line(code, err, prefix, words)
    assert not ran


def test_no_command_prints_help_and_exits_2(capsys):
    code, out, err = run_cli([], capsys)
    assert code == 2 and "usage: cae" in out and "Traceback" not in out + err


@pytest.mark.parametrize("argv, prefix", [(["verify", "--examples", "zero"], "cae verify"),
                                          (["experiment", "nosuch"], "cae experiment"),
                                          (["no-such-command"], "cae")])
def test_console_entry_point_exits_2_without_traceback(argv, prefix):
    """The real process: exit status 2, no traceback (these errors come before torch or sympy is imported)."""
    proc = subprocess.run([sys.executable, "-m", "cae_cli", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.strip().splitlines()[-1].startswith(f"{prefix}: error:")


def test_ctrl_c_during_verify_is_one_line_exit_130_and_keeps_the_old_json(tmp_path):
    """SIGINT in the middle of the ledger: 'cae verify: interrupted', exit 130, no traceback, and the JSON of an
    earlier run is neither truncated nor half-written (the ledger writes it only at the end)."""
    out = tmp_path / "ledger.json"
    out.write_text('{"earlier": "run"}')
    proc = subprocess.Popen([sys.executable, "-m", "cae_cli", "verify", "--json", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    first = proc.stdout.readline()            # the first progress line: the ledger is running
    assert first.startswith("[") and time.monotonic() < deadline, first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-500:])
    assert err.strip() == "cae verify: interrupted"
    assert out.read_text() == '{"earlier": "run"}'


# ------------------------------------------------------------------------------------------ known bugs

def test_experiment_unwritable_out_fails_before_running(not_a_dir, capsys, monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("the experiment started before --out was checked")
    monkeypatch.setattr("cae_experiments.runner.run_experiment", tripwire)
    code, _, err = run_cli(["experiment", "shrinkage", "--quick", "--no-progress", "--out", str(not_a_dir)], capsys)
    assert_one_error_line(code, err, "cae experiment", "--out")


def test_bench_unwritable_json_fails_before_running(not_a_dir, capsys, monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("the benchmarks started before --json was checked")
    monkeypatch.setattr("cae_cli.bench.machine_info", tripwire)
    code, _, err = run_cli(["bench", "--quick", "--json", f"{not_a_dir}/x.json"], capsys)
    assert_one_error_line(code, err, "cae bench", "--json")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("argv", [["experiment", "shrinkage", "--device", "cuda"], ["bench", "--device", "cuda"]])
def test_cuda_without_cuda_is_a_one_line_error(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("cae_experiments.runner.run_experiment", lambda *a, **k: None)
    monkeypatch.setattr("cae_cli.bench.machine_info", lambda *a, **k: None)
    code, _, err = run_cli(argv + ["--quick"] + (["--out", str(tmp_path)] if argv[0] == "experiment" else
                                                 ["--json", str(tmp_path / "b.json")]), capsys)
    assert_one_error_line(code, err, f"cae {argv[0]}", "--device")
