"""cae_core.dropout: inverted dropout with the keep mask drawn from torch.rand (used by every arm and by
fit_sweep).

Oracles: the definition of inverted dropout (Srivastava et al. 2014; Keras ``Dropout(rate)`` of the supplement's
architectures): y = x * m / (1 - p), m ~ Bernoulli(1 - p) iid, identity in eval mode -- checked against a
binomial test from scipy.stats and against a direct numpy transcription of the mask rule 1[U >= p] on the same
uniforms; and torch.nn.Dropout, whose keep rate must agree with ours (two independent samples).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from cae_core.dropout import Dropout, dropout, scaled_keep_mask

N = 1_000_000  # draws per distribution test: binomial SE of the keep rate <= 5e-4


@pytest.mark.parametrize("p", [0.1, 0.4, 0.5])   # the supplement's rates: E arm, MNIST arm, T arm
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_keep_rate_is_one_minus_p(p, dtype):
    """scipy's exact binomial test of #kept ~ Binomial(N, 1 - p) at level 1e-6 and |rate - (1 - p)| < 5 SE
    (<= 2.5e-3; seeded, so deterministic; a rule keeping w.p. p instead of 1 - p, or 1[U > 1 - p] read the
    wrong way, is off by >= 0.2); every entry is 0 or 1/(1-p)."""
    g = torch.Generator().manual_seed(1)
    m = scaled_keep_mask((N,), p, dtype=dtype, generator=g)
    values = set(torch.unique(m).tolist())
    assert values == {0.0, float(torch.tensor(1.0, dtype=dtype) / (1.0 - p))}
    kept = int((m > 0).sum())
    assert stats.binomtest(kept, N, 1.0 - p).pvalue > 1e-6
    se = np.sqrt(p * (1 - p) / N)
    assert abs(kept / N - (1.0 - p)) < 5 * se


def test_mask_is_the_rule_on_torch_rand_uniforms():
    """Same generator state: the mask equals a numpy transcription of 1[U >= p] / (1 - p) on torch.rand's U."""
    p = 0.5
    u = torch.rand((100, 1252), generator=torch.Generator().manual_seed(7), dtype=torch.float64).numpy()
    m = scaled_keep_mask((100, 1252), p, dtype=torch.float64, generator=torch.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(m, np.where(u >= p, 1.0 / (1.0 - p), 0.0))


def test_layer_draws_from_the_global_rng_like_a_seeded_generator():
    """Dropout.forward uses torch's global RNG: after manual_seed(s) it equals the mask from a Generator seeded
    s (this is what fit_sweep relies on to reproduce fit's masks run by run)."""
    x = torch.randn(30, 12, dtype=torch.float64)
    torch.manual_seed(3)
    y = Dropout(0.4).train()(x)
    expected = x * scaled_keep_mask(x.shape, 0.4, dtype=x.dtype, generator=torch.Generator().manual_seed(3))
    assert torch.equal(y, expected)


def test_same_keep_rate_as_torch_nn_dropout():
    """Two independent samples (ours, torch.nn.Dropout's bernoulli_): keep rates agree within 5 SE of their
    difference; outputs have the same two values."""
    p = 0.5
    x = torch.ones(N)
    torch.manual_seed(0)
    ours = Dropout(p).train()(x)
    theirs = torch.nn.Dropout(p).train()(x)
    assert set(torch.unique(ours).tolist()) == set(torch.unique(theirs).tolist()) == {0.0, 2.0}
    diff = float((ours > 0).float().mean() - (theirs > 0).float().mean())
    assert abs(diff) < 5 * np.sqrt(2 * p * (1 - p) / N)


def test_gradient_is_the_mask_and_eval_is_identity():
    x = torch.randn(20, 9, dtype=torch.float64, requires_grad=True)
    layer = Dropout(0.5).train()
    torch.manual_seed(5)
    y = layer(x)
    y.sum().backward()
    torch.manual_seed(5)
    mask = scaled_keep_mask(x.shape, 0.5, dtype=x.dtype)
    assert torch.equal(x.grad, mask) and torch.equal(y.detach(), x.detach() * mask)
    layer.eval()
    assert layer(x) is x
    assert Dropout(0.0).train()(x) is x and dropout(x, 0.3, training=False) is x


@pytest.mark.parametrize("p, exc", [(1.0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
                                    ("0.5", TypeError), (True, TypeError)])
def test_bad_probability(p, exc):
    with pytest.raises(exc, match="p must"):
        Dropout(p)
