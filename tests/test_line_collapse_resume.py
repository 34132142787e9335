"""``cae experiment line-collapse --checkpoint DIR [--resume]`` (issue 7 part 4).

line-collapse trains each run in chunks (``fit(..., steps=t, resume=True)`` to every snapshot step t) and takes
whole-data snapshots between them with a numpy rng that advances across snapshots. With ``--checkpoint DIR``
the chunk checkpoint of run k lives in DIR/run<k> next to ``snapshots.pt`` (snapshots so far, shown codes, rng
state), written atomically after every snapshot. The expected value of every test is the same experiment run
uninterrupted with the same seed.

- In-process, a kill is simulated exactly at chosen points by raising (a BaseException nothing catches) just
  before or just after the n-th write of ``snapshots.pt``; the resumed run must equal the uninterrupted one to
  the last bit (full-precision JSON of ``run()``'s metrics, not the 6-digit metrics.json).
- A real ``cae experiment line-collapse`` process is SIGKILLed once its second run has saved its first snapshot
  (the kill point is read from the files that appear, so it works on a loaded machine), then ``--resume``d
  in a new process; its metrics.json equals that of an uninterrupted run_experiment (what the CLI calls) in
  this process, wall time aside.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time

import pytest

import cae_experiments.line_collapse as lc
from cae_core.checkpoint import CHECKPOINT_NAME, load_checkpoint
from cae_experiments.common import Checkpoints
from cae_experiments.io import to_jsonable
from cae_experiments.runner import run_experiment

#: --quick with 16 steps: snapshots at steps 0, 2, ..., 16, so 9 writes of snapshots.pt per run, 18 in all.
STEPS, SEED = 16, 1
SAVES_PER_RUN = 9


class Killed(BaseException):
    """Stands for a hard kill: nothing in the experiment catches a BaseException, so no later write happens."""


CONFIG = dataclasses.replace(lc.QUICK, steps=STEPS, seed=SEED)
#: the runs' checkpoint folders (Checkpoints.folder of their labels)
RUN0, RUN1 = "bn+mse_lam=10", "bn+mse_lam=0"


def _run(checkpoints=None) -> str:
    """Full-precision JSON of line_collapse.run (quick, STEPS, SEED)."""
    return json.dumps(to_jsonable(lc.run(CONFIG, checkpoints=checkpoints)), sort_keys=True)


@pytest.fixture(scope="module")
def uninterrupted() -> str:
    return _run()               # no --checkpoint: chunks through a temporary folder


def _kill_at(monkeypatch, n: int, before: bool) -> None:
    """Make the n-th write of snapshots.pt (1-based) raise Killed just before or just after it happens."""
    real = lc.save_checkpoint
    calls = [0]

    def save(path, state):
        calls[0] += 1
        if before and calls[0] == n:
            raise Killed
        real(path, state)
        if not before and calls[0] == n:
            raise Killed

    monkeypatch.setattr(lc, "save_checkpoint", save)


def _interrupt(monkeypatch, root, n: int, before: bool, resume: bool = False) -> None:
    _kill_at(monkeypatch, n, before)
    with pytest.raises(Killed):
        lc.run(CONFIG, checkpoints=Checkpoints(root, resume=resume))
    monkeypatch.undo()


def _state(run_dir) -> tuple[int, int]:
    """(step of fit's chunk checkpoint or -1, number of saved snapshots or 0) in a run folder."""
    ck, snaps = run_dir / CHECKPOINT_NAME, run_dir / lc.SNAPSHOT_STATE
    step = int(load_checkpoint(ck)["next_step"]) if ck.exists() else -1
    n = len(json.loads(load_checkpoint(snaps)["done"])["snapshots"]) if snaps.exists() else 0
    return step, n


# (n-th write of snapshots.pt, kill before it?) -> what RUN0 / RUN1 hold at the kill: (chunk step, snapshots)
KILL_POINTS = {
    "run0 initial snapshot saved, no chunk yet": (1, False, (-1, 1), None),
    "run0 checkpoint at step 2, its snapshot not saved": (2, True, (2, 1), None),
    "run0 complete, run1 not started": (SAVES_PER_RUN, False, (16, 9), None),
    "run1 final checkpoint, final snapshot not saved": (2 * SAVES_PER_RUN, True, (16, 9), (16, 8)),
    "both runs complete, metrics not returned": (2 * SAVES_PER_RUN, False, (16, 9), (16, 9)),
}


@pytest.mark.parametrize("n, before, run0, run1", KILL_POINTS.values(), ids=list(KILL_POINTS))
def test_killed_at_a_chosen_point_resumes_to_the_uninterrupted_run(n, before, run0, run1, tmp_path, monkeypatch,
                                                                   uninterrupted):
    _interrupt(monkeypatch, tmp_path, n, before)
    assert _state(tmp_path / RUN0) == run0                     # the kill landed where the case says
    assert _state(tmp_path / RUN1) == (run1 or (-1, 0))
    assert _run(Checkpoints(tmp_path, resume=True)) == uninterrupted


def test_a_fresh_start_ignores_what_an_earlier_run_left(tmp_path, monkeypatch, uninterrupted):
    """Without --resume the run folder is cleared first: fit must not continue from the earlier checkpoint."""
    _interrupt(monkeypatch, tmp_path, SAVES_PER_RUN, before=False)            # run0 complete (step 16)
    _interrupt(monkeypatch, tmp_path, 1, before=False, resume=False)          # started afresh over it
    assert _state(tmp_path / RUN0) == (-1, 1)
    assert _run(Checkpoints(tmp_path, resume=True)) == uninterrupted


def test_resume_with_other_settings_is_a_clear_error(tmp_path, monkeypatch):
    _interrupt(monkeypatch, tmp_path, 1, before=False)
    with pytest.raises(ValueError, match=r"different settings.*steps"):
        lc.run(dataclasses.replace(CONFIG, steps=2 * STEPS), checkpoints=Checkpoints(tmp_path, resume=True))


# ------------------------------------------------------------------------------------ a real killed process

#: One BLAS thread in the children, as tests/conftest.py sets in this process (multi-threaded BLAS on the
#: tiny matrices of the batch floors is ~100x slower on a loaded 2-core machine); --steps 40: 8 chunks of 5
#: steps per run.
CHILD_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
COMMON = ["line-collapse", "--quick", "--steps", "40", "--no-progress", "--seed", "3"]


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "cae_cli", "experiment", *COMMON, *args]


def _metrics_without_times(out_dir) -> dict:
    metrics = json.loads((out_dir / "metrics.json").read_text())
    metrics.pop("wall_time_s")
    return metrics


def test_cae_experiment_line_collapse_sigkilled_and_resumed_equals_an_uninterrupted_run(tmp_path):
    ckpt, resumed_out = tmp_path / "ckpt", tmp_path / "resumed"
    proc = subprocess.Popen(_cli(["--out", str(resumed_out), "--checkpoint", str(ckpt)]), env=CHILD_ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # meanwhile, the uninterrupted run in this process (run_experiment is what the CLI calls)
    run_experiment("line-collapse", tmp_path / "straight", steps=40, seed=3, quick=True)
    deadline = time.monotonic() + 300
    while not (ckpt / RUN1 / lc.SNAPSHOT_STATE).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    killed_mid_run = proc.poll() is None
    proc.kill()
    proc.wait(timeout=60)
    assert killed_mid_run, "the experiment finished (or hung) before it could be killed"
    assert not (resumed_out / "metrics.json").exists()
    # run0 is complete (its last chunk at step 40, 9 snapshots); run1 has at least its initial snapshot
    assert _state(ckpt / RUN0) == (40, 9)
    assert _state(ckpt / RUN1)[1] >= 1
    for run_dir in (ckpt / RUN0, ckpt / RUN1):       # nothing else, at most a stale temporary
        assert all(name in (CHECKPOINT_NAME, lc.SNAPSHOT_STATE) or name.startswith(".checkpoint-")
                   for name in os.listdir(run_dir))

    resumed = subprocess.run(_cli(["--out", str(resumed_out), "--checkpoint", str(ckpt), "--resume"]),
                             check=False, env=CHILD_ENV, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-500:]
    assert _metrics_without_times(resumed_out) == _metrics_without_times(tmp_path / "straight")
