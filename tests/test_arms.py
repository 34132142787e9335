"""Arms: architectures of the supplement ("Datasets, network architectures, and training").

Oracle for the parameter counts: the number of weights and biases computed by hand from the layer widths the
supplement prints (a Dense(a -> b) layer has a*b + b parameters, a 3x3 Conv2D(c_in -> c_out) has
9*c_in*c_out + c_out), written out independently of the code that builds the layers.
"""
import pytest
import torch
from torch import nn

from cae_core.arms import Arm, GaussianNoise, facs_arm, linear_arm, mlp_arm, mnist_arm, patchseq_e_arm, patchseq_t_arm
from cae_core.dropout import Dropout


def dense(a, b):
    return a * b + b


def conv3(c_in, c_out):
    return 9 * c_in * c_out + c_out


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def linear_widths(module):
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_patchseq_t_parameter_count():
    # Input(1252) -> Dense(60) x4 -> Dense(3) | Dense(60) x4 -> Dense(1252)
    arm = patchseq_t_arm(d=3)
    enc = dense(1252, 60) + 3 * dense(60, 60) + dense(60, 3)
    dec = dense(3, 60) + 3 * dense(60, 60) + dense(60, 1252)
    assert n_params(arm.encoder) == enc == 86343
    assert n_params(arm.decoder) == dec == 87592
    assert linear_widths(arm.encoder) == [(1252, 60), (60, 60), (60, 60), (60, 60), (60, 3)]


def test_patchseq_e_parameter_count():
    # Input(54) -> Dense(50) x4 -> Dense(3) | Dense(50) x4 -> Dense(54)
    arm = patchseq_e_arm(d=3)
    assert n_params(arm) == (dense(54, 50) + 3 * dense(50, 50) + dense(50, 3)
                             + dense(3, 50) + 3 * dense(50, 50) + dense(50, 54)) == 21157


def test_facs_parameter_count():
    # "number of inputs set to 5,000 and number of units in the intermediate layers set to 100"
    arm = facs_arm(n_genes=5000, d=2)
    assert n_params(arm) == (dense(5000, 100) + 3 * dense(100, 100) + dense(100, 2)
                             + dense(2, 100) + 3 * dense(100, 100) + dense(100, 5000)) == 1066202


def test_mnist_parameter_count():
    # Conv2D(10) 3x3 -> MaxPool(2) -> Flatten (10*14*14) -> Dense(49) x3 -> Dense(2)
    # | Dense(49) x2 -> Dense(196) -> Reshape(14x14) -> UpSampling(2) -> Conv2D(10) -> Conv2D(1)
    arm = mnist_arm(image_size=28, latent_dim=2)
    enc = conv3(1, 10) + dense(10 * 14 * 14, 49) + 2 * dense(49, 49) + dense(49, 2)
    dec = dense(2, 49) + dense(49, 49) + dense(49, 196) + conv3(1, 10) + conv3(10, 1)
    assert n_params(arm.encoder) == enc == 101189
    assert n_params(arm.decoder) == dec == 12588


def test_mnist_arm_for_8x8_digits():
    # 8x8 -> conv (same) 8x8x10 -> pool 4x4x10 = 160 -> ... -> Dense(16) -> 4x4 -> up 8x8 -> conv -> conv
    arm = mnist_arm(image_size=8, latent_dim=2)
    assert arm.in_dim == 64
    assert n_params(arm) == (conv3(1, 10) + dense(160, 49) + 2 * dense(49, 49) + dense(49, 2)
                             + dense(2, 49) + dense(49, 49) + dense(49, 16) + conv3(1, 10) + conv3(10, 1))
    x = torch.rand(5, 64)
    z = arm.encoder(x)
    assert z.shape == (5, 2) and arm.decoder(z).shape == (5, 64)


@pytest.mark.parametrize("size", [7, 1, 27])
def test_mnist_arm_rejects_sizes_that_do_not_round_trip(size):
    # MaxPool(2) floors odd sizes (7 -> 3) and UpSampling(2) gives 6 != 7.
    with pytest.raises(ValueError, match="image_size"):
        mnist_arm(image_size=size)


@pytest.mark.parametrize("make", [lambda: linear_arm(7, 3), lambda: mlp_arm(7, 3, (5, 4)), lambda: patchseq_t_arm(),
                                  lambda: patchseq_e_arm(), lambda: mnist_arm(), lambda: facs_arm(50, 2)])
def test_arm_shapes_and_attributes(make):
    arm = make()
    assert isinstance(arm, Arm)
    x = torch.rand(4, arm.in_dim)
    z = arm.encoder(x)
    assert z.shape == (4, arm.latent_dim)
    assert arm.decoder(z).shape == (4, arm.in_dim)


def test_activations_follow_the_supplement():
    # "Dense layers use ReLU except for Dense(d) layers and the last Dense layer for the electrophysiology data"
    t, e = patchseq_t_arm(), patchseq_e_arm()
    assert isinstance(t.encoder[-1], nn.Linear)            # Dense(d) linear
    assert isinstance(t.decoder[-1], nn.ReLU)              # last transcriptomic layer ReLU
    assert isinstance(e.decoder[-1], nn.Linear)            # last electrophysiology layer linear
    assert isinstance(t.encoder[0], Dropout) and t.encoder[0].p == 0.5    # cae_core.dropout (torch.rand mask)
    assert isinstance(e.encoder[0], Dropout) and e.encoder[0].p == 0.1
    assert isinstance(e.encoder[1], GaussianNoise) and e.encoder[1].std == 0.05
    t.eval()
    assert (t.decoder(torch.randn(50, 3) * 10) >= 0).all()


def test_noise_and_dropout_only_in_training_mode():
    torch.manual_seed(0)
    arm = patchseq_e_arm()
    x = torch.randn(8, 54)
    arm.train()
    assert not torch.equal(arm.encoder(x), arm.encoder(x))
    arm.eval()
    assert torch.equal(arm.encoder(x), arm.encoder(x))


def test_gaussian_noise_has_the_requested_std():
    # Keras GaussianNoise(sigma): x + N(0, sigma^2); sample std over 200k draws is within 1% (rel. SE ~ 0.16%).
    torch.manual_seed(0)
    layer = GaussianNoise(0.05).train()
    x = torch.zeros(200_000, 1, dtype=torch.float64)
    assert abs(float(layer(x).std()) / 0.05 - 1) < 0.01


@pytest.mark.parametrize("call, name", [
    (lambda: linear_arm(0, 2), "in_dim"),
    (lambda: linear_arm(5, -1), "latent_dim"),
    (lambda: mlp_arm(5, 2, (4, 0)), "widths"),
    (lambda: mlp_arm(5, 2, dropout=1.0), "dropout"),
    (lambda: mlp_arm(5, 2, noise_std=-0.1), "noise_std"),
    (lambda: mnist_arm(28, dropout=-0.1), "dropout"),
])
def test_bad_arguments_raise_value_error(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="in_dim"):
        linear_arm(5.0, 2)
    with pytest.raises(TypeError, match="widths"):
        mlp_arm(5, 2, widths=60)
