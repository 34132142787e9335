"""fit_sweep (cae_core/sweep.py) against its oracle: the same runs trained one after another with ``fit``.

Oracle: for lam in lams, for seed in seeds: torch.manual_seed(seed); model = build(lam); fit(model, data,
seed=seed, ...) -- the sequential loop the module docstring promises to equal. Only the summation order inside
batched matrix products / reductions differs, so values must agree to rounding error amplified by training.

Tolerances (float64, eps = 2.2e-16): observed agreement is ~2e-16 relative after 30 steps; we allow 1e-9, which
leaves room for another BLAS's blocking yet fails at once on a wrong batch, a wrong RNG stream, a shared
parameter or a missed running statistic (all of which change values at O(1e-3) or more).
Exception, with batch-standardised codes: the loss is exactly invariant to a constant shift of the pre-norm code,
so the code layer's bias (and the bias of hidden units active on a whole batch) has a gradient that is
rounding noise, and Adam, which divides by sqrt(v), turns that noise into O(lr) steps. Those biases therefore do
NOT agree (they differ at 1e-11..1e-5 in float64) although nothing the loss sees depends on them; the test
checks every weight matrix, the whole history and the loss of a fixed batch, not those biases.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cae_core import CoupledAutoencoder, PairedDataset, fit, linear_arm, mlp_arm, mnist_arm
from cae_core.data import synthetic_multimodal
from cae_core.sweep import fit_sweep

LAMS = (0.0, 1.0, 10.0)
SEEDS = (0, 3)


@pytest.fixture(scope="module")
def data() -> PairedDataset:
    """150 paired + 50 unpaired rows per modality (so batches mix paired and unpaired rows, as Patch-seq's)."""
    d = synthetic_multimodal(n=200, k=2, latent_dim=2, dims=(12, 7), seed=0)
    x1, x2 = d.modalities
    return PairedDataset([x1[:150], x2[:150]], unpaired=[x1[150:], x2[150:]])


def build_dropout_msv(lam: float) -> CoupledAutoencoder:
    """Patch-seq-like arms (dropout on arm 0; dropout + Gaussian noise on arm 1), msv with the 1e-2 floor."""
    return CoupledAutoencoder([mlp_arm(12, 3, (8, 8), dropout=0.5, relu_output=True),
                               mlp_arm(7, 3, (6,), dropout=0.1, noise_std=0.05)],
                              latent_norm="none", coupling="msv", coupling_options={"floor": 1e-2}, lam=lam,
                              alphas=(1.0, 0.1))


def build_bn_mse(lam: float) -> CoupledAutoencoder:
    return CoupledAutoencoder([mlp_arm(12, 3, (8,)), mlp_arm(7, 3, (6,))], latent_norm="batchnorm",
                              coupling="mse", lam=lam)


def sequential(build, data, lams, seeds, **kw):
    out = []
    for lam in lams:
        for seed in seeds:
            torch.manual_seed(seed)
            model = build(lam)
            out.append((model, fit(model, data, seed=seed, **kw)))
    return out


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def assert_histories_equal(h_seq, h_sweep, tol):
    assert h_seq.keys() == h_sweep.keys()
    assert h_seq["step"] == h_sweep["step"]
    for key in h_seq:
        assert rel(h_seq[key], h_sweep[key]) <= tol, key


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-9), (torch.float32, 1e-5)])
def test_sweep_equals_sequential_fit_with_dropout_noise_and_msv(data, dtype, tol):
    """Every weight, bias and logged value of each run equals the sequential fit (float32: rounding 6e-8 per op,
    observed 1e-7 after 30 steps; 1e-5 allows amplification, a wrong stream gives O(1))."""
    kw = dict(steps=30, batch_size=20, n_paired=15, lr=1e-3, dtype=dtype, log_every=5, progress=False)
    res = fit_sweep(build_dropout_msv, data, LAMS, SEEDS, **kw)
    for (model, history), r in zip(sequential(build_dropout_msv, data, LAMS, SEEDS, **kw), range(6)):
        assert res.models[r].lam == model.lam
        for (name, p), q in zip(model.named_parameters(), res.models[r].parameters()):
            assert rel(p.detach(), q.detach()) <= tol, name
        assert_histories_equal(history, res.histories[r], tol)


def test_sweep_equals_sequential_fit_with_batchnorm(data):
    """Batch-standardised codes: history, all weight matrices, and the loss of the full data set as one batch
    (batch statistics, so the loss-invariant biases drop out) agree to 1e-9; see the module docstring."""
    kw = dict(steps=30, batch_size=20, n_paired=15, lr=1e-3, dtype=torch.float64, log_every=3, progress=False)
    res = fit_sweep(build_bn_mse, data, LAMS, SEEDS, **kw)
    full = [torch.as_tensor(x) for x in data.modalities]
    for r, (model, history) in enumerate(sequential(build_bn_mse, data, LAMS, SEEDS, **kw)):
        assert_histories_equal(history, res.histories[r], 1e-9)
        for (name, p), q in zip(model.named_parameters(), res.models[r].parameters()):
            if name.endswith("weight"):
                assert rel(p.detach(), q.detach()) <= 1e-9, name
        with torch.no_grad():
            a, b = model.loss(full), res.models[r].loss(full)
        assert rel(float(a.total), float(b.total)) <= 1e-9


def test_fallback_coupling_run_by_run_equals_sequential(data):
    """A coupling without a batched twin (vicreg) is applied run by run; still equal to sequential fit."""
    def build(lam):
        return CoupledAutoencoder([linear_arm(12, 3), linear_arm(7, 3)], latent_norm="none", coupling="vicreg",
                                  lam=lam)
    kw = dict(steps=10, batch_size=20, lr=1e-3, dtype=torch.float64, log_every=1, progress=False)
    res = fit_sweep(build, data, (0.5, 2.0), (1,), **kw)
    for r, (model, history) in enumerate(sequential(build, data, (0.5, 2.0), (1,), **kw)):
        assert_histories_equal(history, res.histories[r], 1e-9)
        for p, q in zip(model.parameters(), res.models[r].parameters()):
            assert rel(p.detach(), q.detach()) <= 1e-9


def test_runs_are_independent_and_indexed_lam_major(data):
    """Run order is lam-major; runs with the same seed share batches but not weights; index() finds a run."""
    res = fit_sweep(build_bn_mse, data, (0.0, 5.0), (0, 1), steps=3, batch_size=20, progress=False)
    assert [m.lam for m in res.models] == [0.0, 0.0, 5.0, 5.0]
    assert res.index(5.0, 1) == 3
    w = [m.arms[0].encoder[0].weight.detach() for m in res.models]
    assert not torch.equal(w[0], w[1])      # different seeds: different initial weights
    assert not torch.equal(w[0], w[2])      # same seed, different lam: same start, different training


def test_caller_rng_untouched(data):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    fit_sweep(build_dropout_msv, data, (1.0,), (0,), steps=2, batch_size=20, n_paired=15, progress=False)
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.parametrize("kwargs, match", [
    (dict(lams=()), "lams"),
    (dict(lams=(1.0, -1.0)), "lams"),
    (dict(lams=(1.0, 1.0)), "repeat"),
    (dict(seeds=()), "seeds"),
    (dict(seeds=(-1,)), "seeds"),
    (dict(steps=0), "steps"),
    (dict(n_paired=30), "n_paired"),
    (dict(batch_size=1000), "batch_size"),
    (dict(lr=0.0), "lr"),
])
def test_bad_arguments(data, kwargs, match):
    args = dict(lams=(1.0,), seeds=(0,), steps=2, batch_size=20)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fit_sweep(build_bn_mse, data, **args)


def test_bad_models(data):
    with pytest.raises(ValueError, match="with that lam"):
        fit_sweep(lambda lam: build_bn_mse(1.0), data, (2.0,), (0,), steps=1, batch_size=20)
    with pytest.raises(TypeError, match="build_model"):
        fit_sweep("not callable", data, (1.0,), (0,), steps=1, batch_size=20)
    with pytest.raises(ValueError, match="same architecture"):
        fit_sweep(lambda lam: build_bn_mse(lam) if lam < 1 else build_dropout_msv(lam), data, (0.5, 2.0), (0,),
                  steps=1, batch_size=20)


def test_torch_nn_dropout_is_refused_with_the_remedy(data):
    """Under vmap a layer cannot draw from its run's generator; cae_core's RandomLayers get their draws from the
    sweep, torch.nn.Dropout cannot, so it is refused before training (not silently given another stream)."""
    from torch import nn

    from cae_core.arms import Arm

    def build(lam):
        t = Arm(nn.Sequential(nn.Dropout(0.5), nn.Linear(12, 3)), nn.Sequential(nn.Linear(3, 12)), 12, 3)
        return CoupledAutoencoder([t, linear_arm(7, 3)], latent_norm="none", coupling="mse", lam=lam)
    with pytest.raises(ValueError, match=r"torch.nn.Dropout \(arms.0.encoder.0\).*cae_core.dropout.Dropout"):
        fit_sweep(build, data, (0.5,), (0,), steps=1, batch_size=20)


def test_conv_arms_equal_sequential_fit():
    """Built from the runs' own modules, the sweep also runs the paper's MNIST arm (Conv2D, MaxPool, Dropout 0.4,
    Upsampling), which the hand-written batched layers before could not: float64 agreement to 1e-9 as above (no
    latent norm: under batch norm the loss-invariant biases drift apart, see the module docstring)."""
    rng = np.random.default_rng(0)
    digits = PairedDataset([rng.random((40, 64)), rng.random((40, 64))])

    def build(lam):
        return CoupledAutoencoder([mnist_arm(8, 2, channels=3, hidden=8), mnist_arm(8, 2, channels=3, hidden=8)],
                                  latent_norm="none", coupling="mse", lam=lam)
    kw = dict(steps=4, batch_size=10, lr=1e-3, dtype=torch.float64, log_every=1, progress=False)
    res = fit_sweep(build, digits, (0.0, 1.0), (0, 2), **kw)
    for r, (model, history) in enumerate(sequential(build, digits, (0.0, 1.0), (0, 2), **kw)):
        assert_histories_equal(history, res.histories[r], 1e-9)
        for (name, p), q in zip(model.named_parameters(), res.models[r].parameters()):
            assert rel(p.detach(), q.detach()) <= 1e-9, name


@pytest.mark.parametrize("floor", [None, 1e-8])
def test_msv_of_a_float32_stack_equals_msv_run_by_run(floor):
    """The sweep calls couplings.msv on the stacked codes (R, B, p); oracle: couplings.msv applied to each run's
    codes. Float32 codes whose centred batch has condition number ~1e3 in a rotated basis (column scales 1, 1,
    1e-3 times a random orthogonal Q, so sigma_min is not a column norm). msv computes mse, lambda_min and the
    quotient in float64 and casts back, so both values lie within the bound of run r's transcription
    (tests/bounded_couplings.py: LAPACK's SVD bound, the cast to float32), and agree within twice it; a float32
    computation (the sweep's own msv before it moved to float64) is off by 8e-5 here (measured), far outside."""
    from cae_core.couplings import get
    coupling = get("msv") if floor is None else get("msv", floor=floor)
    g = torch.Generator().manual_seed(0)
    scale = torch.tensor([1.0, 1.0, 1e-3], dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    z_i = ((torch.randn(4, 20, 3, generator=g, dtype=torch.float64) * scale) @ q).float()
    z_j = ((torch.randn(4, 20, 3, generator=g, dtype=torch.float64) * scale) @ q).float()
    got = coupling(z_i, z_j, paired=15)
    assert got.dtype == torch.float32 and got.shape == (4,)
    import bounded_couplings as BC
    from rounding_bounds import assert_within, exact
    for r in range(4):
        expected = coupling(z_i[r], z_j[r], paired=15)
        mine = BC.msv(exact(z_i[r]), exact(z_j[r]), 15, floor=floor, dtype=np.float32)
        assert_within(got[r], mine, f"run {r}")
        assert_within(expected, mine, f"run {r} alone")


def test_the_rank_rule_of_a_stack_is_the_rule_of_one_batch():
    """The sweep's own rank check lacked the 2 eps ||z||_F term (issue 14): a batch on a line whose mean is large
    next to its spread (tests/test_fuzz_core.py NEAR_LINE, which passed the bare numpy.matrix_rank tolerance) is
    now refused in a stack exactly as alone, naming the run."""
    from cae_core.couplings import msv
    g = torch.Generator().manual_seed(5)
    line = torch.randn(3, 1, generator=g, dtype=torch.float64) @ torch.randn(1, 2, generator=g, dtype=torch.float64)
    line = line + torch.randn(1, 2, generator=g, dtype=torch.float64) * 7
    good = torch.randn(3, 2, generator=g, dtype=torch.float64)
    with pytest.raises(ValueError, match="z_i has a singular covariance") as alone:
        msv(line, good)
    with pytest.raises(ValueError, match=r"z_i\[1\] has a singular covariance") as stacked:
        msv(torch.stack([good, line]), torch.stack([good, good]))
    assert "2 eps ||z_i||_F" in str(alone.value) and "2 eps ||z_i||_F" in str(stacked.value)
