"""The scikit-learn-style estimator (issue 12 item 8): the same model as cae_core.fit, and scikit-learn's own
estimator checks.

Checks run: every check of ``sklearn.utils.estimator_checks`` for a transformer (``parametrize_with_checks``),
on a tiny configuration (5 steps) so they stay fast. Skipped: ``check_array_api_input`` only, which scikit-learn
itself skips unless SCIPY_ARRAY_API is set (the model is torch, not an array-API namespace). The generic checks
pass a single 2-D X; the estimator splits its columns into two views (view_dims), as documented."""
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from cae_core import CoupledAutoencoder, PairedDataset, fit, mlp_arm
from cae_core.data import synthetic_multimodal
from cae_core.estimator import CoupledAutoencoderEstimator

FAST = dict(latent_dim=2, widths=(8,), steps=5)


@parametrize_with_checks([CoupledAutoencoderEstimator(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_estimator_wraps_the_same_model_as_fit():
    """Oracle: the model built by hand (same seed before building, same arms) and trained with cae_core.fit on the
    same settings; the estimator's codes equal its encode bit for bit."""
    d = synthetic_multimodal(120, dims=(8, 6), seed=0)
    est = CoupledAutoencoderEstimator(latent_dim=2, widths=(10,), steps=20, batch_size=32, seed=3)
    codes = est.fit_transform(d.modalities)
    torch.manual_seed(3)
    model = CoupledAutoencoder([mlp_arm(8, 2, (10,)), mlp_arm(6, 2, (10,))], latent_norm="none", coupling="msv",
                               lam=1.0)
    history = fit(model, PairedDataset(d.modalities), steps=20, batch_size=32, seed=3, standardize=True,
                  progress=False)
    assert history == est.history_
    for a, b in zip(codes, model.encode(d)):
        np.testing.assert_array_equal(a, b)
    assert [c.shape for c in est.transform(d.modalities)] == [(120, 2), (120, 2)]
    # one 2-D array of views side by side: the codes side by side
    est2 = CoupledAutoencoderEstimator(latent_dim=2, widths=(10,), steps=20, batch_size=32, seed=3, view_dims=(8, 6))
    wide = est2.fit_transform(np.hstack(d.modalities))
    np.testing.assert_array_equal(wide, np.hstack(codes))


def test_params_clone_and_pickle():
    est = CoupledAutoencoderEstimator(**FAST)
    assert est.get_params()["coupling"] == "msv" and est.get_params()["latent_norm"] == "none"
    est.set_params(lam=0.5, coupling="fc")
    assert clone(est).get_params()["lam"] == 0.5
    d = synthetic_multimodal(40, dims=(5, 4), seed=1)
    est.fit(d.modalities)
    again = pickle.loads(pickle.dumps(est))
    for a, b in zip(est.transform(d.modalities), again.transform(d.modalities)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"views of \(4, 5\) features"):
        est.transform(d.modalities[::-1])
    with pytest.raises(ValueError, match="arm must be 'mlp' or 'linear'"):
        CoupledAutoencoderEstimator(arm="conv", steps=1).fit(d.modalities)
