"""Scale-out of independent runs (issue 14 item 4) and the refusal to overwrite results (issue 12 item 12).

Oracle for the scale-out: the same experiment run serially in this process. Each run is a pure function of its
config and seed (CPU training is bit-identical per seed, cae_core.train), so the metrics of a run on a local Dask
cluster of two single-threaded worker PROCESSES must equal the serial metrics exactly (wall time aside)."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from cae_cli.main import main as cae_main
from cae_experiments import lambda_tradeoff
from cae_experiments.distributed import map_runs
from cae_experiments.runner import run_experiment


def test_serial_map_runs_imports_nothing_from_dask():
    """The serial path needs no optional dependency: in a fresh interpreter, map_runs(scheduler=None) and a
    serial experiment run leave dask and distributed unimported."""
    code = ("import sys; from cae_experiments.distributed import map_runs; "
            "assert list(map_runs(abs, [-1, 2])) == [1, 2]; "
            "from cae_experiments import shrinkage; import dataclasses; "
            "shrinkage.run(dataclasses.replace(shrinkage.QUICK, steps=1, lams=(0.0,), arms=(2,))); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("bad, error", [(3, TypeError), ("", ValueError)])
def test_bad_scheduler(bad, error):
    with pytest.raises(error, match="scheduler must be"):
        list(map_runs(abs, [1], scheduler=bad))


def test_local_cluster_equals_the_serial_run(tmp_path):
    """lambda-tradeoff at --quick size with 5 steps, 2 lam runs: on a local cluster (one single-threaded worker process per core, 2 here) and
    serially; metrics.json equal (wall time aside) -- every history value, final value and normalised ratio."""
    pytest.importorskip("distributed")
    cfg = dataclasses.replace(lambda_tradeoff.QUICK, steps=5, lams=(0.0, 10.0))
    serial = run_experiment("lambda-tradeoff", tmp_path / "serial", config=cfg)
    cluster = run_experiment("lambda-tradeoff", tmp_path / "cluster", config=cfg, scheduler="local")
    for m in (serial, cluster):
        m.pop("wall_time_s")
    assert json.dumps(serial, sort_keys=True) == json.dumps(cluster, sort_keys=True)


def test_scheduler_refused_where_runs_depend_on_each_other(tmp_path, capsys):
    assert cae_main(["experiment", "discovery", "--quick", "--scheduler", "local", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--scheduler" in err and "'discovery'" in err


def test_experiment_refuses_a_non_empty_out_unless_overwrite(tmp_path, capsys):
    """Issue 12 item 12: an existing metrics.json is never overwritten silently: one CLI line, exit 2, the file
    untouched; --overwrite writes."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("{\"keep\": true}")
    argv = ["experiment", "shrinkage", "--quick", "--steps", "1", "--no-progress", "--out", str(out)]
    assert cae_main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is not empty" in err and "--overwrite" in err
    assert (out / "metrics.json").read_text() == "{\"keep\": true}"
    with pytest.raises(ValueError, match="is not empty"):
        run_experiment("shrinkage", out, quick=True, steps=1)
    assert cae_main([*argv, "--overwrite"]) == 0
    assert json.loads((out / "metrics.json").read_text())["experiment"] == "shrinkage"


def test_a_checkpoint_folder_inside_out_does_not_count_as_results(tmp_path):
    out = tmp_path / "out"
    (out / "ckpt").mkdir(parents=True)
    run_experiment("shrinkage", out, quick=True, steps=1, checkpoint=out / "ckpt")
    assert (out / "metrics.json").exists()
