"""Ctrl-C during `cae verify` at 20 random moments: exit 130, exactly one line on stderr, earlier JSON untouched.

Why a test at random moments: a KeyboardInterrupt that lands inside a garbage-collector callback (Hypothesis
installs one) is printed as "Exception ignored in ..." and swallowed; the run then finished, exited 0 and rewrote
the JSON (3 of 15 tries by hand). The moments are drawn from a seeded generator between the start of the process
(imports included) and 90% of the measured length of an uninterrupted run, so a few may still land after the
ledger finished; such a run must then have completed normally (exit 0, no stderr, a complete new JSON).

One window is Python's, not ours: a signal during the interpreter's own start-up (site-packages, .pth files such
as an editable install's import finder: ~40 ms on an idle machine), before any line of cae runs, is handled by
Python's default handler (a KeyboardInterrupt traceback). Such a run is recognised by a traceback without a
single frame from this project's packages, and must also leave the earlier JSON untouched.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ARGS = ["verify", "--only", "eq6", "eq10*", "--cases", "500", "--examples", "2"]
EARLIER = '{"earlier": "run"}'


def _run(tmp_path, name: str, delay: float | None) -> tuple[int, str, str, float]:
    out = tmp_path / f"{name}.json"
    out.write_text(EARLIER)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "cae_cli", *ARGS, "--json", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if delay is not None:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err, out.read_text(), time.monotonic() - t0


def _in_python_startup(err: str) -> bool:
    """A KeyboardInterrupt traceback none of whose frames is in this project's code."""
    frames = [line for line in err.splitlines() if line.strip().startswith('File "')]
    return ("KeyboardInterrupt" in err and bool(frames)
            and not any(f"{pkg}/" in line for line in frames for pkg in ("cae_cli", "cae_theory", "cae_core")))


def test_ctrl_c_at_20_random_moments(tmp_path):
    code, err, _, length = _run(tmp_path, "reference", None)
    assert code == 0 and err == ""
    moments = np.random.default_rng(20261201).uniform(0.0, 0.9 * length, 20)
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda a: _run(tmp_path, f"run{a[0]}", float(a[1])), enumerate(moments)))
    interrupted = 0
    for moment, (code, err, text, _) in zip(moments, outcomes):
        if _in_python_startup(err):
            assert text == EARLIER, moment
        elif code == 130:
            interrupted += 1
            assert err.splitlines() == ["cae verify: interrupted"], (moment, err[-500:])
            assert text == EARLIER, moment
        else:   # the signal came after the ledger had finished: a normal, complete run
            assert code == 0 and err == "", (moment, code, err[-500:])
            assert json.loads(text)["all_as_expected"]
    assert interrupted >= 15, f"only {interrupted} of 20 runs were interrupted: the moments missed the runs"
    assert not list(tmp_path.glob("*.tmp-*"))  # no partial file left behind


Z3_INTERRUPTED = """
import os, signal, threading, time
from cae_theory.ledger.solver import prove
caught = []
signal.signal(signal.SIGINT, lambda *a: caught.append(1))
def hard(z3):   # a nonlinear system z3 does not decide in 3 s
    a, b, c, d, e, f = z3.Reals("a b c d e f")
    return [a*a*b + c*d*d*e - f*f*a*b*c + 3 == 0, a*b*c*d*e*f > 7, a*a + b*b + c*c + d*d + e*e + f*f < 10,
            a*c - b*d*e*f*f > 2], e*e*e - a*b*f != 1
threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
prove(hard, timeout_s=3.0)
time.sleep(0.1)
print("handler ran" if caught else "signal swallowed")
"""


def test_ctrl_c_during_a_z3_check_reaches_python():
    """z3 catches SIGINT during a check unless its ctrl_c option is off: it then answered `unknown` and swallowed
    the signal, and the interrupted run went on (seen as eq6 `unknown`, exit 1, in this file's random moments).
    Expected: Python's handler runs once the check returns."""
    out = subprocess.run([sys.executable, "-c", Z3_INTERRUPTED], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "handler ran", out.stdout + out.stderr[-500:]
