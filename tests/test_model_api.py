"""The practitioner's model API (issue 12 items 3, 4 and 7): evaluating a loss leaves the model alone, per-feature
standardisation fitted on the training rows and stored with the model, encoding one modality, cross-modal
translation, save/load of a folder of plain data. Every run is tiny (a few steps, dims <= 12).

Tolerances are derived: expected values are transcriptions of the formulas in running-error arithmetic
(tests/bounded_model.py for the modules, cae_theory.rounding for statistics), whose bounds cover any evaluation of
them in the model's dtype; the library lies within twice them, two values of one exact quantity within the sum
of their bounds (tests/rounding_bounds.py)."""
import json
import os
import warnings

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from cae_core import CoupledAutoencoder, PairedDataset, fit, linear_arm, mlp_arm, mnist_arm
from cae_core.data import synthetic_multimodal
from cae_core.model import Batch
from cae_core.preprocessing import FeatureScaleWarning
from cae_theory.rounding import Bounded, sqrt
import bounded_model as BM
from rounding_bounds import U32, U64, agree, assert_within, carried, exact, float32_arithmetic, round_to


def bn_model(seed=0, dims=(8, 6), p=2, **kw):
    torch.manual_seed(seed)
    return CoupledAutoencoder([mlp_arm(dims[0], p, (10,), dropout=0.2), mlp_arm(dims[1], p, (10,), noise_std=0.05)],
                              latent_norm="batchnorm", coupling="mse", lam=2.0, **kw)


def scaled_data(n=60, seed=0):
    """Two modalities on very different scales: around 40 (spread 5) and around 0 (spread 1e4 / 1e-1)."""
    d = synthetic_multimodal(n, dims=(8, 6), seed=seed, types_only_in={0: 0})
    a = 40.0 + 5.0 * d.modalities[0]
    b = d.modalities[1] * np.array([1e4, 1e4, 1e4, 0.1, 0.1, 0.1])
    return PairedDataset([a, b], unpaired=[40.0 + 5.0 * d.unpaired[0], None])


# ------------------------------------------------------------------------------------ item 3: loss is pure

def test_evaluating_the_loss_does_not_change_the_model():
    """Issue 12 item 3: model.loss(...) in training mode updated the batch-norm running statistics (of the latent
    norm and of torch BatchNorm1d layers inside arms). Oracle: the state dict before the call, compared bitwise."""
    torch.manual_seed(0)
    from cae_core.arms import Arm
    enc = torch.nn.Sequential(torch.nn.Linear(8, 2), torch.nn.BatchNorm1d(2))
    custom = Arm(enc, torch.nn.Linear(2, 8), 8, 2)
    model = CoupledAutoencoder([custom, linear_arm(6, 2)], latent_norm="batchnorm", coupling="mse")
    model.train()
    rng = np.random.default_rng(0)
    xs = [torch.tensor(rng.normal(size=(12, 8)) * 3 + 1, dtype=torch.float32),
          torch.tensor(rng.normal(size=(12, 6)) * 3 + 1, dtype=torch.float32)]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    parts = model.loss(Batch(xs, 12))
    parts.total.backward()                                  # differentiable as before
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert model.training
    # a training step asks for the update explicitly: the running mean moves by momentum 0.1 towards the batch
    # mean of the pre-norm codes (torch's BatchNorm rule: running = (1 - m) running + m mean)
    with torch.no_grad():
        pre = model.arms[1].encoder(xs[1])
    model.loss(Batch(xs, 12), update_running_stats=True)
    # expected: 0.1 * mean of the pre-norm codes (float32: the mean's sum of 12 terms and division, the momentum
    # 0.1 as a float32 number -- within u32 0.1 of 0.1 -- and the product)
    with float32_arithmetic():
        want = Bounded(0.1, 0.1 * U32) * (exact(pre).sum(axis=0) / 12)
    assert_within(model.norms[1].running_mean, want, "running_mean")


def test_fit_still_moves_the_running_statistics():
    """One fit step over all rows (batch = the data, float64, rows in the sampler's order): running_mean = 0.1 *
    mean of the pre-norm codes of the initial weights, the encoder and the mean transcribed (any row order, any
    summation order) and 0.1 taken as the float64 number within u 0.1 of it."""
    torch.manual_seed(0)
    model = CoupledAutoencoder([linear_arm(8, 2), linear_arm(6, 2)], latent_norm="batchnorm", coupling="mse")
    data = synthetic_multimodal(40, dims=(8, 6), seed=0)
    model.double()
    pre = BM.forward(model.arms[0].encoder, exact(data.modalities[0]))
    fit(model, data, steps=1, batch_size=40, dtype=torch.float64, progress=False)
    want = Bounded(0.1, 0.1 * U64) * (pre.sum(axis=0) / 40)
    assert_within(model.norms[0].running_mean, want, "running_mean")


# ------------------------------------------------------------------------------ item 4: standardisation

def test_standardize_is_fitted_on_the_training_rows_and_stored():
    """Issue 12 item 4. Oracle: scikit-learn's StandardScaler on all training rows of each modality (paired then
    unpaired). Both are bounded: ours the float64 mean and two-pass population standard deviation cast to the
    float32 buffers, scikit-learn's the mean and its corrected two-pass variance (sum T^2 - (sum T)^2 / n) / n,
    T = x - mean; they must agree within the sum of the bounds."""
    data = scaled_data()
    model = bn_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FeatureScaleWarning)      # standardize=True: no scale warning
        fit(model, data, steps=3, batch_size=16, n_paired=12, standardize=True, progress=False)
    for i in range(2):
        rows = exact(data.rows(i))
        n = rows.shape[0]
        ref = StandardScaler().fit(data.rows(i))
        mean = rows.sum(axis=0) / n
        T = rows - mean
        ours = sqrt((T * T).sum(axis=0) / n)
        sums = T.sum(axis=0)
        theirs = sqrt(((T * T).sum(axis=0) - sums * sums / n) / n)
        assert_within(model.scalers[i].mean, round_to(mean, np.float32), "mean")
        assert agree(carried(model.scalers[i].mean, round_to(mean, np.float32)), carried(ref.mean_, mean))
        assert_within(model.scalers[i].scale, round_to(ours, np.float32), "scale")
        assert agree(carried(model.scalers[i].scale, round_to(ours, np.float32)), carried(ref.scale_, theirs))


def test_encode_and_loss_apply_the_stored_standardisation():
    """encode(X) = N(E((X - mean) / scale)) in eval mode; R_i of the loss is measured on the standardised scale
    and decode/reconstruct answer in data units (x_hat * scale + mean). Oracles: the same formulas transcribed
    from the arms' modules (tests/bounded_model.py), in float64."""
    data = scaled_data()
    model = bn_model()
    fit(model, data, steps=3, batch_size=16, n_paired=12, standardize=True, dtype=torch.float64, progress=False)
    model.eval()
    X = data.modalities
    z = [BM.codes(model, i, X[i]) for i in range(2)]
    rec = [BM.forward(model.arms[i].decoder, z[i]) * exact(model.scalers[i].scale) + exact(model.scalers[i].mean)
           for i in range(2)]
    codes = model.encode(data)
    for i in range(2):
        assert_within(codes[i], z[i], "codes")
        assert_within(model.reconstruct(data)[i], rec[i], "reconstruct")
    parts = model.loss([torch.from_numpy(x) for x in X])
    _, recon, _ = BM.eq1(model, X, X[0].shape[0])
    for i in range(2):
        assert_within(parts.recon[i], recon[i], "R_i")


def test_scale_warning():
    """Features whose standard deviations differ by > 1000x warn (naming the extremes) unless standardize=True;
    data on one scale does not."""
    with pytest.warns(FeatureScaleWarning, match=r"modality 1, column [345].*modality 1, column [012].*standardize"):
        fit(bn_model(), scaled_data(), steps=1, batch_size=16, n_paired=12, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FeatureScaleWarning)
        fit(bn_model(), synthetic_multimodal(60, dims=(8, 6), seed=0), steps=1, batch_size=16, progress=False)


# --------------------------------------------------------------------- item 7: one modality, translate

def test_encode_one_modality_and_translate():
    """Issue 12 item 7: encode([X_rna]) failed with "a coupling needs two arms". Now encode(X, modality=i) gives
    arm i's codes of any number of rows; translate(X, source=i, target=j) = D_j(z_i) (oracle: the modules
    called directly in eval mode, float64)."""
    data = scaled_data()
    model = bn_model()
    fit(model, data, steps=3, batch_size=16, n_paired=12, standardize=True, dtype=torch.float64, progress=False)
    both = model.encode(data)
    rna = data.rows(0)                                           # paired and unpaired rows: 60 + 12
    alone = model.encode(rna, modality=0)
    assert alone.shape == (len(rna), 2)
    np.testing.assert_array_equal(alone[:data.n_paired], both[0])
    with pytest.raises(ValueError, match=r"modality=i"):
        model.encode([rna])
    with pytest.raises(ValueError, match="modality must be an arm index"):
        model.encode(rna, modality=2)
    with pytest.raises(ValueError, match=r"data has 8 features but arms\[1\].in_dim = 6"):
        model.encode(rna, modality=1)
    out = model.translate(rna, source=0, target=1)
    model.eval()
    s1 = model.scalers[1]
    expected = BM.forward(model.arms[1].decoder, BM.codes(model, 0, rna)) * exact(s1.scale) + exact(s1.mean)
    same = BM.forward(model.arms[1].decoder, BM.codes(model, 1, data.modalities[1])) * exact(s1.scale) + \
        exact(s1.mean)
    assert out.shape == (len(rna), 6)
    assert_within(out, expected, "translate 0 -> 1")
    assert_within(model.translate(data.modalities[1], source=1, target=1), same, "translate 1 -> 1")
    assert_within(model.reconstruct(data)[1], same, "reconstruct")
    with pytest.raises(ValueError, match="target must be an arm index"):
        model.translate(rna, source=0, target=5)


# -------------------------------------------------------------------------------- item 7: save / load

def trained(dtype=torch.float32):
    data = scaled_data()
    model = bn_model(coupling_options=None)
    fit(model, data, steps=4, batch_size=16, n_paired=12, standardize=True, dtype=dtype, progress=False)
    return model, data


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_save_load_round_trip(tmp_path, dtype):
    """The loaded model has the same state dict (weights, running statistics, standardisation) bit for bit and
    encodes/translates identically; the folder holds only JSON and a numpy archive without pickles."""
    model, data = trained(dtype)
    model.save(tmp_path / "m")
    assert sorted(os.listdir(tmp_path / "m")) == ["model.json", "weights.npz"]
    loaded = CoupledAutoencoder.load(tmp_path / "m")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert (loaded.lam, loaded.alphas, loaded.coupling_name, loaded.latent_norm_name) == (2.0, (1.0, 1.0), "mse",
                                                                                           "batchnorm")
    for a, b in zip(model.encode(data), loaded.encode(data)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.translate(data.modalities[0], source=0, target=1),
                                  loaded.translate(data.modalities[0], source=0, target=1))
    with np.load(tmp_path / "m" / "weights.npz", allow_pickle=False) as z:   # plain arrays only
        assert all(z[k].dtype != object for k in z.files)


def test_save_load_mnist_arm_and_options(tmp_path):
    torch.manual_seed(0)
    model = CoupledAutoencoder([mnist_arm(8), mlp_arm(64, 2, (5,))], latent_norm="none", coupling="msv", lam=0.5,
                               coupling_options={"floor": 1e-3})
    model.save(tmp_path / "m")
    loaded = CoupledAutoencoder.load(tmp_path / "m")
    assert loaded.coupling_options == {"floor": 1e-3} and loaded.latent_norm_name == "none"
    x = np.random.default_rng(0).random((5, 64))
    np.testing.assert_array_equal(model.encode(x, modality=0), loaded.encode(x, modality=0))


def test_save_refuses_what_it_cannot_describe_or_would_overwrite(tmp_path):
    model, _ = trained()
    model.save(tmp_path / "m")
    with pytest.raises(ValueError, match="non-empty folder; pass overwrite=True"):
        model.save(tmp_path / "m")
    model.save(tmp_path / "m", overwrite=True)
    custom = CoupledAutoencoder([linear_arm(3, 2), linear_arm(3, 2)],
                                coupling=lambda z_i, z_j, paired=None: (z_i - z_j).pow(2).mean())
    with pytest.raises(ValueError, match="callable"):
        custom.save(tmp_path / "c")
    from cae_core.arms import Arm
    odd = CoupledAutoencoder([Arm(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh()), torch.nn.Linear(2, 3),
                                  3, 2), linear_arm(3, 2)])
    with pytest.raises(ValueError, match=r"arms\[0\].encoder\[1\] is a Tanh"):
        odd.save(tmp_path / "o")
    assert not (tmp_path / "c").exists() and not (tmp_path / "o").exists()


def test_load_refuses_tampered_files_and_other_versions(tmp_path):
    model, _ = trained()
    model.save(tmp_path / "m")
    folder = tmp_path / "m"
    config = json.loads((folder / "model.json").read_text())

    # weights changed after saving (a value of the standardisation rewritten as a valid archive)
    with np.load(folder / "weights.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["scalers.0.mean"] = arrays["scalers.0.mean"] + 1
    np.savez(folder / "weights.npz", **arrays)
    with pytest.raises(ValueError, match="weights.npz does not match the SHA-256.*changed after saving"):
        CoupledAutoencoder.load(folder)

    model.save(folder, overwrite=True)
    edited = json.loads((folder / "model.json").read_text())
    edited["model"]["lam"] = 100.0
    (folder / "model.json").write_text(json.dumps(edited))
    with pytest.raises(ValueError, match="model section .* was edited after saving"):
        CoupledAutoencoder.load(folder)

    other = dict(config, format_version=config["format_version"] + 1)
    (folder / "model.json").write_text(json.dumps(other))
    with pytest.raises(ValueError, match=r"format version 2 .* reads format version 1 only"):
        CoupledAutoencoder.load(folder)
    (folder / "model.json").write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        CoupledAutoencoder.load(folder)
    os.remove(folder / "model.json")
    with pytest.raises(ValueError, match="model.json is missing"):
        CoupledAutoencoder.load(folder)
