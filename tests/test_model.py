"""CoupledAutoencoder: Eq. 1 (mean form), the supplement's Remark, the k-CBNAE latent, encode/decode, bad input.

Tolerances are derived: the expected values are transcriptions of the formulas in running-error arithmetic
(tests/bounded_model.py: Linear, ReLU, the batch standardisation, Eq. 1; tests/rounding_bounds.py), whose bound
covers any evaluation of them in the model's dtype; the library lies within twice it, two library values of one
exact quantity within the sum of their bounds.
"""
import numpy as np
import pytest
import torch
from hypothesis import example, given, strategies as st

from cae_core import CoupledAutoencoder, PairedDataset, couplings, linear_arm, mlp_arm, patchseq_e_arm
from cae_core.latent_norm import BatchStandardize
from cae_core.model import Batch
from cae_theory.rounding import Bounded, sqrt
from cae_theory.validation import require_kcbnae
import bounded_model as BM
from bounded_couplings import variance
from rounding_bounds import agree, assert_within, carried, divide_either, exact, float32_arithmetic, frobenius_upper




def mse_helper(z_i, z_j, paired=None):
    """Test-side transcription of the squared-Euclidean coupling: mean over paired rows of ||z_i - z_j||^2."""
    n = z_i.shape[0] if paired is None else paired
    return ((z_i[:n] - z_j[:n]) ** 2).sum(dim=1).mean()


def linear_model(k=2, d=(6, 5), p=2, latent_norm="none", coupling="mse", lam=1.0, alphas=None, seed=0):
    torch.manual_seed(seed)
    arms = [linear_arm(d[i], p) for i in range(k)]
    return CoupledAutoencoder(arms, latent_norm=latent_norm, coupling=coupling, lam=lam, alphas=alphas).double()


@pytest.mark.parametrize("latent_norm", ["none", "batchnorm"])
@pytest.mark.parametrize("n_paired", [9, 6])
def test_loss_matches_numpy_transcription_of_eq1(latent_norm, n_paired):
    rng = np.random.default_rng(1)
    model = linear_model(k=3, d=(6, 5, 4), p=2, latent_norm=latent_norm, lam=2.5, alphas=(1.0, 0.1, 3.0))
    xs = [rng.normal(size=(9, d)) for d in (6, 5, 4)]
    parts = model.loss(Batch([torch.from_numpy(x) for x in xs], n_paired=n_paired))
    # Eq. 1 in the public code's mean form, transcribed: sum_i alpha_i mean((x_i - D_i(z_i))^2) + lam *
    # sum_{i<j} mean_{s < n} ||z_si - z_sj||^2, z_i = E_i(x_i), standardised over ALL batch rows for batchnorm
    total, recon, coupling = BM.eq1(model, xs, n_paired)
    assert_within(parts.total, total, "total")
    for got, want in zip(parts.recon, recon):
        assert_within(got, want, "R_i")
    assert_within(parts.coupling, coupling, "coupling")
    assert set(parts.pair_couplings) == {(0, 1), (0, 2), (1, 2)}


def test_named_mse_coupling_agrees_with_the_test_transcription():
    rng = np.random.default_rng(2)
    xs = [torch.from_numpy(rng.normal(size=(8, d))) for d in (6, 5)]
    named = linear_model(coupling="mse").loss(Batch(xs, 5))
    inline = linear_model(coupling=mse_helper).loss(Batch(xs, 5))
    total, _, _ = BM.eq1(linear_model(coupling="mse"), [x.numpy() for x in xs], 5)
    assert_within(named.total, total, "named mse")
    assert_within(inline.total, total, "test-side mse")


def test_coupling_options_pass_through():
    rng = np.random.default_rng(3)
    xs = [torch.from_numpy(rng.normal(size=(12, d))) for d in (6, 5)]
    torch.manual_seed(0)
    model = CoupledAutoencoder([linear_arm(6, 2), linear_arm(5, 2)], coupling="msv",
                               coupling_options={"floor": 1e-2}).double()
    parts = model.loss(Batch(xs, 12))
    f = couplings.get("msv", floor=1e-2)
    assert torch.equal(parts.coupling, f(parts.codes[0], parts.codes[1]))
    with pytest.raises(ValueError, match="floor"):
        CoupledAutoencoder([linear_arm(6, 2), linear_arm(5, 2)], coupling="msv", coupling_options={"floor": -1.0})


def invertible(p, seed):
    """T = Q diag(s) R^T with Q, R orthogonal (QR of Gaussian matrices) and s in [0.2, 5]: invertible by
    construction, cond(T) <= 25."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    R, _ = np.linalg.qr(rng.normal(size=(p, p)))
    s = np.exp(rng.uniform(np.log(0.2), np.log(5.0), size=p))
    return Q @ np.diag(s) @ R.T


@given(seed=st.integers(0, 2 ** 32 - 1), p=st.integers(1, 4))
@example(seed=0, p=1)
def test_remark_reconstruction_invariant_under_invertible_latent_map(seed, p):
    # Supplement, Remark: r_i(x - D_i(E_i(x))) = r_i(x - D^_i(z^)), D^_i = D_i o T^-1, z^ = T z.
    # With linear arms (E = A x + a, D = B z + b): (A, a, B) -> (T A, T a, B T^-1). latent_norm "none".
    rng = np.random.default_rng(seed)
    # Bound: the transformed weights are floats, T A, T a and B T^-1 up to the rounding of their products and the
    # inaccuracy of the computed inverse X ~ T^-1: ||X - T^-1|| <= ||X|| ||T X - I|| / (1 - ||T X - I||)
    # (Neumann), with T X - I evaluated in bounded arithmetic. Those distances enter the weights' bounds, so the
    # transcription of the new recon bounds its distance from the exact recon of (T A, T a, B T^-1), which is the
    # old one; the old recon within its own transcription's bound.
    model = linear_model(d=(6, 5), p=p, seed=seed % 1000)
    xs = [torch.from_numpy(rng.normal(size=(10, d))) for d in (6, 5)]
    before = model.loss(Batch(xs, 10)).recon
    _, want_before, _ = BM.eq1(model, [x.numpy() for x in xs], 10)
    ideal = []
    with torch.no_grad():
        for i, arm in enumerate(model.arms):
            T = torch.from_numpy(invertible(p, seed + 1 + i))
            X = torch.linalg.inv(T)
            A, a, Bd = (exact(w) for w in (arm.encoder.weight, arm.encoder.bias, arm.decoder.weight))
            res = frobenius_upper(exact(T) @ exact(X) - np.eye(p))
            inverse_error = frobenius_upper(X) * res / (1 - res)
            TA, Ta, BX = exact(T) @ A, exact(T) @ a, Bd @ exact(X)
            arm.encoder.weight.copy_(T @ arm.encoder.weight)
            arm.encoder.bias.copy_(T @ arm.encoder.bias)
            arm.decoder.weight.copy_(arm.decoder.weight @ X)
            new = [arm.encoder.weight, arm.encoder.bias, arm.decoder.weight]
            # each new weight: the float the model holds, its distance from the ideal weight as the bound
            extras = (0.0, 0.0, np.abs(Bd.value) @ np.full((p, p), inverse_error))
            ideal.append([Bounded(w.numpy(), np.abs(w.numpy() - b.value) + b.error + extra)
                          for w, b, extra in zip(new, (TA, Ta, BX), extras)])
    after = model.loss(Batch(xs, 10)).recon
    for i, arm in enumerate(model.arms):
        (We, be, Wd) = ideal[i]
        x = exact(xs[i])
        z = BM.linear(x, We, be)
        d = x - BM.linear(z, Wd, exact(arm.decoder.bias))
        want_after = (d * d).sum() / (d.shape[0] * d.shape[1])
        assert_within(before[i], want_before[i], "recon before")
        assert agree(carried(after[i], want_after), carried(before[i], want_before[i])), i


@given(seed=st.integers(0, 2 ** 32 - 1), B=st.integers(2, 40), p=st.integers(1, 4))
@example(seed=0, B=2, p=1)
def test_batchnorm_latent_is_kcbnae(seed, B, p):
    # k-CBNAE definition (above Prop. 2): mu_i = 0 and diag(V_i) = 1 with V_i using 1/(|S|-1).
    # Oracle: cae_theory.validation.require_kcbnae (numpy, atol 1e-8). Inputs built constructively: each column
    # has sample standard deviation s_m in [0.5, 10] and an arbitrary offset, so eps = 1e-10 perturbs the
    # variance by at most eps / s^2 = 4e-10 < 1e-8.
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(B, p))
    g = (g - g.mean(0)) / g.std(0, ddof=1)
    raw = g * rng.uniform(0.5, 10.0, size=p) + rng.normal(scale=5.0, size=p)
    norm = BatchStandardize(p).double().train()
    z = norm(torch.from_numpy(raw)).detach().numpy()
    require_kcbnae(np.stack([z, z]), "z", atol=1e-8)
    assert len(list(norm.parameters())) == 0


def test_model_latent_norm_has_no_learnable_parameters():
    model = linear_model(latent_norm="batchnorm")
    assert all(len(list(n.parameters())) == 0 for n in model.norms)
    n_arm_params = sum(p.numel() for arm in model.arms for p in arm.parameters())
    assert sum(p.numel() for p in model.parameters()) == n_arm_params


def test_biased_variant_equals_torch_batchnorm_without_affine():
    """Oracle: torch.nn.BatchNorm1d(affine=False) (biased variance in training, unbiased running variance,
    exponential running averages) -- our unbiased=False must match it in training AND eval mode. Both evaluate
    one formula: (z - mean) / sqrt(var + eps) (torch: times 1 / sqrt(var + eps)), the running statistics
    r + m (x - r) (ours: lerp) or (1 - m) r + m x (torch); transcribed with a bound valid for every variant
    (variance: two-pass or Welford, bounded_couplings.variance; division or reciprocal; both updates), both
    modules lie within twice it."""
    rng = np.random.default_rng(4)
    ours = BatchStandardize(3, eps=1e-5, momentum=0.1, unbiased=False).double()
    ref = torch.nn.BatchNorm1d(3, eps=1e-5, momentum=0.1, affine=False).double()
    running_mean, running_var = Bounded.exact(np.zeros(3)), Bounded.exact(np.ones(3))

    def update(r, x):
        one, two = r + 0.1 * (x - r), (1 - 0.1) * r + 0.1 * x
        return Bounded(one.value, np.maximum(one.error, two.error + np.abs(two.value - one.value)))
    for _ in range(5):
        z = torch.from_numpy(rng.normal(size=(7, 3)) * 3 + 1)
        x = exact(z)
        c = x - x.sum(axis=0, keepdims=True) / 7
        unbiased, biased = variance(x), variance(x, ddof=0)
        want = divide_either(c, sqrt(biased + 1e-5))
        assert_within(ours(z), want, "ours, training")
        assert_within(ref(z), want, "BatchNorm1d, training")
        running_mean = update(running_mean, x.sum(axis=0) / 7)
        running_var = update(running_var, unbiased)
    ours.eval(), ref.eval()
    z = torch.from_numpy(rng.normal(size=(4, 3)))
    want = divide_either(exact(z) - running_mean, sqrt(running_var + 1e-5))
    assert_within(ours(z), want, "ours, eval")
    assert_within(ref(z), want, "BatchNorm1d, eval")


def test_batchnorm_rejects_a_one_row_training_batch():
    with pytest.raises(ValueError, match="B >= 2"):
        BatchStandardize(2)(torch.zeros(1, 2))


def test_encode_decode_reconstruct():
    rng = np.random.default_rng(5)
    torch.manual_seed(0)
    model = CoupledAutoencoder([patchseq_e_arm(d=3), mlp_arm(7, 3, (8, 8), dropout=0.5)], lam=1.0)
    X = [rng.normal(size=(30, 54)), rng.normal(size=(30, 7))]
    data = PairedDataset(X, unpaired=[rng.normal(size=(4, 54)), None])
    model.train()
    model.loss(Batch([torch.tensor(x, dtype=torch.float32) for x in X], 30))  # move the running statistics
    codes = model.encode(data)
    assert [c.shape for c in codes] == [(30, 3), (30, 3)] and codes[0].dtype == np.float64
    assert model.training  # restored
    # eval mode: dropout / noise off and running statistics, so codes do not depend on chunking or repetition:
    # both encodings are evaluations of one float32 forward pass on the float32-rounded data, within twice the
    # bound of its transcription (tests/bounded_model.py); so are the reconstruction and the decoding of the
    # (float32) codes
    again = model.encode(X, chunk=7)
    model.eval()
    with float32_arithmetic():
        inputs = [exact(torch.tensor(x, dtype=torch.float32)) for x in X]
        want = [BM.codes(model, i, x) for i, x in enumerate(inputs)]
        decoded = [BM.forward(model.arms[i].decoder, exact(torch.tensor(c, dtype=torch.float32)))
                   for i, c in enumerate(codes)]
        for a, b, w in zip(codes, again, want):
            assert_within(a, w, "codes")
            assert_within(b, w, "codes, chunks of 7")
    model.train()
    assert [c.shape for c in model.encode(data, include_unpaired=True)] == [(34, 3), (30, 3)]
    rec = model.reconstruct(data)
    dec = model.decode(codes)
    assert [r.shape for r in rec] == [(30, 54), (30, 7)]
    with float32_arithmetic():
        for r, d, w in zip(rec, dec, decoded):
            assert_within(r, w, "reconstruct")
            assert_within(d, w, "decode")


def test_encode_is_eval_mode_batchnorm_with_running_statistics():
    rng = np.random.default_rng(6)
    model = linear_model(latent_norm="batchnorm")
    x = [rng.normal(size=(20, 6)), rng.normal(size=(20, 5))]
    # expected: (E(x) - running_mean) / sqrt(running_var + eps), the encoder and the standardisation transcribed
    model.eval()
    expected = BM.codes(model, 0, x[0])
    model.train()
    assert_within(model.encode(x)[0], expected, "codes")


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(arms=[linear_arm(3, 2)]), ValueError, "k >= 2"),
    (dict(arms=[linear_arm(3, 2), linear_arm(3, 3)]), ValueError, "latent dimension"),
    (dict(lam=-1.0), ValueError, "lam"),
    (dict(lam=float("nan")), ValueError, "lam"),
    (dict(lam="1"), TypeError, "lam"),
    (dict(alphas=(1.0,)), ValueError, "alphas"),
    (dict(alphas=(1.0, -0.1)), ValueError, r"alphas\[1\]"),
    (dict(alphas=(1.0, float("inf"))), ValueError, r"alphas\[1\]"),
    (dict(coupling="nope"), ValueError, "coupling must be one of"),
    (dict(coupling=3), TypeError, "coupling"),
    (dict(latent_norm="layernorm"), ValueError, "latent_norm"),
    (dict(latent_norm_options={"affine": True}), ValueError, "latent_norm_options"),
    (dict(arms=[linear_arm(3, 2), torch.nn.Linear(3, 2)]), TypeError, r"arms\[1\]"),
])
def test_constructor_rejects_bad_input(kwargs, error, name):
    args = dict(arms=[linear_arm(3, 2), linear_arm(4, 2)])
    args.update(kwargs)
    with pytest.raises(error, match=name):
        CoupledAutoencoder(**args)


def test_encode_and_loss_reject_mismatched_data():
    model = linear_model()
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match="in_dim"):
        model.encode([rng.normal(size=(4, 6)), rng.normal(size=(4, 6))])
    with pytest.raises(ValueError, match="k = 2"):
        model.encode(PairedDataset([rng.normal(size=(4, 6))] * 3))
    with pytest.raises(ValueError, match="same number of rows"):
        model.encode([rng.normal(size=(4, 6)), rng.normal(size=(3, 5))])
    with pytest.raises(ValueError, match="finite"):
        model.encode([np.full((4, 6), np.nan), rng.normal(size=(4, 5))])
    with pytest.raises(ValueError, match=r"batch.xs\[1\]"):
        model.loss([torch.zeros(4, 6, dtype=torch.float64), torch.zeros(4, 4, dtype=torch.float64)])
    with pytest.raises(ValueError, match="n_paired"):
        model.loss(Batch([torch.zeros(4, 6, dtype=torch.float64), torch.zeros(4, 5, dtype=torch.float64)], 5))
    with pytest.raises(ValueError, match=r"codes\[0\]"):
        model.decode([np.zeros((3, 3)), np.zeros((3, 2))])
