"""Checkpoints: atomic writes, and resume reproducing an uninterrupted run bit for bit on CPU -- after an
exception mid-run, after a clean stop, and after a real subprocess is killed with SIGKILL."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from cae_core import CoupledAutoencoder, fit, mlp_arm
from cae_core.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from cae_core.data import synthetic_multimodal




class Stop(Exception):
    pass


class InterruptingMSE:
    """Squared-Euclidean coupling (mean over paired rows) that raises Stop on call number ``stop_at + 1``."""
    __name__ = "mse_test"

    def __init__(self, stop_at=None):
        self.calls, self.stop_at = 0, stop_at

    def __call__(self, z_i, z_j, paired=None):
        if self.stop_at is not None and self.calls >= self.stop_at:
            raise Stop
        self.calls += 1
        n = z_i.shape[0] if paired is None else paired
        return ((z_i[:n] - z_j[:n]) ** 2).sum(dim=1).mean()


def make_model(init_seed=0, coupling="mse"):
    torch.manual_seed(init_seed)
    # dropout and Gaussian noise make the run depend on the torch RNG; BN running stats are buffers
    return CoupledAutoencoder([mlp_arm(8, 2, (10,), dropout=0.2), mlp_arm(6, 2, (10,), noise_std=0.05)],
                              latent_norm="batchnorm", coupling=coupling, lam=2.0)


DATA = synthetic_multimodal(100, dims=(8, 6), seed=0, types_only_in={0: 0})  # unpaired rows: numpy RNG matters
RUN = dict(batch_size=16, n_paired=12, seed=3, log_every=1)


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_save_load_round_trip_and_atomicity(tmp_path):
    path = tmp_path / "ck" / "checkpoint.pt"
    good = {"x": torch.arange(3), "numpy_rng": np.random.default_rng(5).bit_generator.state,
            "python_rng": random.getstate(), "history": {"total": [1.0, 2.0]}}
    save_checkpoint(path, good)
    back = load_checkpoint(path)            # weights_only=True load
    assert torch.equal(back["x"], good["x"]) and back["numpy_rng"] == good["numpy_rng"]
    assert back["python_rng"] == good["python_rng"] and back["history"] == good["history"]
    with pytest.raises(Exception):
        save_checkpoint(path, {"x": lambda: 0})   # cannot be pickled: the write fails midway
    assert torch.equal(load_checkpoint(path)["x"], good["x"])    # old checkpoint intact
    assert os.listdir(path.parent) == ["checkpoint.pt"]          # no temporary left behind
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")


def test_save_fsyncs_the_directory_after_the_rename(tmp_path, monkeypatch):
    """The rename is durable only once the directory entry is on disk: save_checkpoint must fsync the
    checkpoint's directory after os.replace (POSIX). os.fsync is wrapped to record what each fd is; the
    directory must be synced once the new checkpoint is in place (the file fsync alone fails this test)."""
    if not hasattr(os, "O_DIRECTORY"):
        pytest.skip("no os.O_DIRECTORY on this platform (directory fsync is skipped by design)")
    import stat
    path = tmp_path / "ck" / "checkpoint.pt"
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        info = os.fstat(fd)
        synced.append((stat.S_ISDIR(info.st_mode), info.st_ino, path.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    save_checkpoint(path, {"x": torch.arange(3)})
    directory = os.stat(path.parent).st_ino
    assert (False, os.stat(path).st_ino, False) in synced              # the data, before the rename
    assert synced[-1] == (True, directory, True)                       # then the directory, after it
    assert torch.equal(load_checkpoint(path)["x"], torch.arange(3))


def test_resume_after_an_interruption_is_bit_identical(tmp_path):
    straight = make_model(coupling=InterruptingMSE())
    h_straight = fit(straight, DATA, steps=20, **RUN)

    interrupted = make_model(coupling=InterruptingMSE(stop_at=13))   # dies in step 13; last checkpoint at 10
    with pytest.raises(Stop):
        fit(interrupted, DATA, steps=20, checkpoint_dir=tmp_path, checkpoint_every=5, **RUN)
    assert load_checkpoint(checkpoint_path(tmp_path))["next_step"] == 10

    resumed = make_model(init_seed=99, coupling=InterruptingMSE())    # different init: all state must come back
    h_resumed = fit(resumed, DATA, steps=20, checkpoint_dir=tmp_path, checkpoint_every=5, resume=True, **RUN)
    assert h_resumed == h_straight
    assert_same(state(resumed), state(straight))


def test_resume_after_a_clean_stop_at_half_way(tmp_path):
    straight = make_model()
    h_straight = fit(straight, DATA, steps=16, **RUN)
    first = make_model()
    fit(first, DATA, steps=8, checkpoint_dir=tmp_path, **RUN)
    second = make_model(init_seed=5)
    h = fit(second, DATA, steps=16, checkpoint_dir=tmp_path, resume=True, **RUN)
    assert h == h_straight
    assert_same(state(second), state(straight))


def test_resume_without_a_checkpoint_starts_afresh(tmp_path):
    a, b = make_model(), make_model()
    assert fit(a, DATA, steps=5, **RUN) == fit(b, DATA, steps=5, checkpoint_dir=tmp_path, resume=True, **RUN)
    assert_same(state(a), state(b))


def test_resume_with_different_settings_is_refused(tmp_path):
    fit(make_model(), DATA, steps=4, checkpoint_dir=tmp_path, **RUN)
    with pytest.raises(ValueError, match="different settings .*lr"):
        fit(make_model(), DATA, steps=8, checkpoint_dir=tmp_path, resume=True, lr=5e-3, **RUN)
    model = make_model()
    before = state(model)
    with pytest.raises(ValueError, match="steps"):
        fit(model, DATA, steps=3, checkpoint_dir=tmp_path, resume=True, **RUN)
    torch.manual_seed(0)
    other = CoupledAutoencoder([mlp_arm(8, 2, (11,)), mlp_arm(6, 2, (10,))], lam=2.0)
    with pytest.raises(ValueError, match=r"different settings .*model.arms\[0\].decoder.layers\[0\].out: 10 vs 11"):
        fit(other, DATA, steps=8, checkpoint_dir=tmp_path, resume=True, **RUN)
    assert_same(state(model), before)               # refused before touching the model
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        fit(model, DATA, steps=8, checkpoint_dir=tmp_path, resume=True, **RUN)


CHILD = textwrap.dedent("""
    import sys, torch
    from cae_core import CoupledAutoencoder, fit, mlp_arm
    from cae_core.data import synthetic_multimodal

    def run(checkpoint_dir, steps):
        torch.manual_seed(0)
        model = CoupledAutoencoder([mlp_arm(8, 2, (10,), dropout=0.2), mlp_arm(6, 2, (10,), noise_std=0.05)],
                                   latent_norm="batchnorm", coupling="mse", lam=2.0)
        data = synthetic_multimodal(100, dims=(8, 6), seed=0, types_only_in={0: 0})
        history = fit(model, data, steps=steps, batch_size=16, n_paired=12, seed=3, checkpoint_dir=checkpoint_dir,
                      checkpoint_every=10, resume=True)
        return model.state_dict(), history

    if __name__ == "__main__":
        torch.set_num_threads(1)
        state, history = run(sys.argv[1], int(sys.argv[3]))
        torch.save({"state": state, "history": history}, sys.argv[2])
""")


def test_resume_after_sigkill_is_bit_identical(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    steps = 120
    run = [sys.executable, str(script)]
    # 1. the uninterrupted run (in this process, also single-threaded; the same code as the child's)
    namespace = {}
    exec(CHILD, namespace)
    straight_state, straight_history = namespace["run"](str(tmp_path / "a"), steps)
    # 2. the same run in a child process, killed with SIGKILL as soon as its first checkpoint exists
    killed_dir = tmp_path / "b"
    proc = subprocess.Popen(run + [str(killed_dir), str(tmp_path / "never.pt"), str(steps)])
    deadline = time.monotonic() + 300
    while not os.path.exists(checkpoint_path(killed_dir)):
        assert proc.poll() is None, "the child ended before writing a checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    stopped_at = load_checkpoint(checkpoint_path(killed_dir))["next_step"]
    assert 0 < stopped_at < steps and not (tmp_path / "never.pt").exists()
    # 3. resume in a new process
    subprocess.run(run + [str(killed_dir), str(tmp_path / "resumed.pt"), str(steps)], check=True, timeout=300)
    resumed = torch.load(tmp_path / "resumed.pt", weights_only=True)
    assert resumed["history"] == straight_history
    assert_same(resumed["state"], straight_state)
    assert os.listdir(killed_dir) == ["checkpoint.pt"]


# ------------------------------------------------------------ issue 12 item 11: resuming with something else

def test_resume_with_other_data_model_or_configuration_names_what_differs(tmp_path):
    """Issue 12 item 11: fit(..., resume=True) with other data (same shapes, one value changed), another lambda
    or another configuration continued silently. The checkpoint now records the SHA-256 of the data, the model's
    configuration and the full FitConfig, and a mismatch is a ValueError naming each differing entry."""
    fit(make_model(), DATA, steps=4, checkpoint_dir=tmp_path, **RUN)
    saved = load_checkpoint(checkpoint_path(tmp_path))
    assert saved["config"]["batch_size"] == 16 and saved["config"]["log_every"] == 1   # asdict(FitConfig)
    assert saved["fingerprint"]["data"]["dims"] == [8, 6]
    other = synthetic_multimodal(100, dims=(8, 6), seed=0, types_only_in={0: 0})
    other.modalities[1][5, 2] += 1e-9
    with pytest.raises(ValueError, match=r"different settings .*data.sha256: '[0-9a-f]+\.\.\. vs '[0-9a-f]+"):
        fit(make_model(), other, steps=8, checkpoint_dir=tmp_path, resume=True, **RUN)
    torch.manual_seed(0)
    relaxed = CoupledAutoencoder([mlp_arm(8, 2, (10,), dropout=0.2), mlp_arm(6, 2, (10,), noise_std=0.05)],
                                 latent_norm="batchnorm", coupling="mse", lam=3.0)
    with pytest.raises(ValueError, match=r"model.lam: 2.0 vs 3.0"):
        fit(relaxed, DATA, steps=8, checkpoint_dir=tmp_path, resume=True, **RUN)
    with pytest.raises(ValueError, match=r"config.standardize: False vs True"):
        fit(make_model(), DATA, steps=8, checkpoint_dir=tmp_path, resume=True, standardize=True, **RUN)
    # what may change on resume: steps, progress, checkpoint_every
    fit(make_model(), DATA, steps=6, checkpoint_dir=tmp_path, resume=True, checkpoint_every=2, progress=False, **RUN)
