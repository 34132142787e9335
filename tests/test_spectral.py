"""cae_core.spectral: covariance, lambda_min / sigma_min (torch.linalg and repaired Algorithm 1), V^{-1/2}.

Oracles: spectra known by construction (A = Q diag(l) Q^T, centred batches U diag(s) W^T with U orthonormal and
orthogonal to the all-ones vector), numpy/scipy (np.cov, np.linalg.eigvalsh, scipy.linalg.sqrtm), the numpy
theory implementation cae_theory.algorithm1.min_singular_value, and torch.autograd.gradcheck (finite differences).
All checks in float64.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from cae_core import spectral as S
from cae_theory.algorithm1 import min_singular_value as theory_min_singular_value

F64 = torch.float64
#: gradcheck: central differences with eps 1e-6 have truncation error ~1e-12 here; rtol 1e-6 is far tighter
#: than torch's default 1e-3 (which would let a 0.1% error in a gradient formula through).
TIGHT = dict(eps=1e-6, atol=1e-8, rtol=1e-6)




# ----------------------------------------------------------------------------------------------- constructions


def orthogonal(rng: np.random.Generator, p: int) -> np.ndarray:
    """A random orthogonal (p, p) matrix (Q of a QR; always orthogonal, whatever the draw)."""
    return np.linalg.qr(rng.standard_normal((p, p)))[0]


def spd_with_spectrum(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """A = Q diag(lam) Q^T: eigenvalues lam and eigenvectors Q[:, k] known by construction. Returns (A, Q)."""
    Q = orthogonal(rng, lam.shape[0])
    return (Q * lam) @ Q.T, Q


def centred_basis(rng: np.random.Generator, B: int, p: int) -> np.ndarray:
    """U: (B, p) with orthonormal columns orthogonal to the all-ones vector (needs B > p): columns 2..p+1 of
    the Q of a QR of [1 | G], whose first column is proportional to 1."""
    M = np.concatenate([np.ones((B, 1)), rng.standard_normal((B, p))], axis=1)
    return np.linalg.qr(M)[0][:, 1:p + 1]


def batch_with_singular_values(rng: np.random.Generator, B: int, s: np.ndarray) -> np.ndarray:
    """z = mu + U diag(s) W^T: centred batch with singular values s exactly (up to rounding)."""
    p = s.shape[0]
    return rng.standard_normal((1, p)) + (centred_basis(rng, B, p) * s) @ orthogonal(rng, p).T


@st.composite
def separated_spectra(draw, max_p: int = 5):
    """Ascending eigenvalues l_1 < ... < l_p with l_{k+1} / l_k in [1.1, 10] and l_1 in [1e-3, 1e2]."""
    p = draw(st.integers(1, max_p))
    low = 10.0 ** draw(st.floats(-3, 2))
    ratios = draw(st.lists(st.floats(1.1, 10.0), min_size=p - 1, max_size=p - 1))
    return np.array([low] + list(low * np.cumprod(ratios)))


seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------------- lambda_min, sigma_min


# Tolerances: forming A = Q diag(l) Q^T in float64 perturbs its eigenvalues by ~p * eps * l_max (Weyl), so
# values are compared with atol 1e-12 * l_max. The repaired inverse iteration stops at residual
# ||A v - rho v|| <= 1000 eps ||A||_F, and |rho - lambda| <= residual: also below 1e-12 * l_max for p <= 5.
@given(lam=separated_spectra(), seed=seeds)
@example(lam=np.array([1e-3, 1e-3 * 1.1]), seed=0)
@example(lam=np.array([1.0]), seed=0)
def test_lambda_min_agrees_with_construction(lam, seed):
    A, _ = spd_with_spectrum(np.random.default_rng(seed), lam)
    At = torch.tensor(A, dtype=F64)
    atol = 1e-12 * lam[-1]
    assert abs(float(S.lambda_min(At, "eigvalsh")) - lam[0]) <= atol
    assert abs(float(S.lambda_min(At, "inverse_iteration")) - lam[0]) <= atol
    assert abs(np.linalg.eigvalsh(A)[0] - lam[0]) <= atol  # numpy, sanity of the construction itself


# Gradient oracle: d lambda_min / dA = q_1 q_1^T for a simple eigenvalue, q_1 = Q[:, 0] by construction.
# eigvalsh: eigenvector error ~ eps * l_max / gap <= 1e-10 here. Inverse iteration: sin(angle) <= residual / gap
# <= 1000 eps * sqrt(p) l_max / (0.1 l_1) <= 1e-7 for l_max / l_1 <= 1e4 (p <= 5), hence atol 1e-6.
@given(lam=separated_spectra(), seed=seeds)
def test_lambda_min_gradient_is_outer_product_of_eigenvector(lam, seed):
    A, Q = spd_with_spectrum(np.random.default_rng(seed), lam)
    expected = np.outer(Q[:, 0], Q[:, 0])
    for method, atol in (("eigvalsh", 1e-9), ("inverse_iteration", 1e-6)):
        At = torch.tensor(A, dtype=F64, requires_grad=True)
        S.lambda_min(At, method).backward()
        np.testing.assert_allclose(At.grad.numpy(), expected, atol=atol, err_msg=method)


# Singular values s of a centred batch are known by construction; lambda_min(V) = s_min^2 / (B - 1).
# Inverse iteration on B^T B squares the condition number; with s_max / s_min <= 100 (ratios up to 10 over
# p <= 3) its relative error stays below 1e-9.
@given(s=separated_spectra(max_p=3), extra=st.integers(1, 20), seed=seeds)
def test_min_singular_value_all_methods(s, extra, seed):
    p = s.shape[0]
    B = p + extra
    z = batch_with_singular_values(np.random.default_rng(seed), B, s[::-1].copy())
    Bc = S.centred(torch.tensor(z, dtype=F64))
    np.testing.assert_allclose(float(S.min_singular_value(Bc, "svdvals")), s[0], rtol=1e-10)
    np.testing.assert_allclose(float(S.min_singular_value(Bc, "inverse_iteration")), s[0], rtol=1e-9)
    np.testing.assert_allclose(float(S.batch_lambda_min(torch.tensor(z))), s[0] ** 2 / (B - 1), rtol=1e-10)
    # the numpy theory implementation (repaired Algorithm 1, RQI + inertia certificate) is a second oracle
    np.testing.assert_allclose(theory_min_singular_value(Bc.numpy()), s[0], rtol=1e-10)


def test_min_singular_value_is_zero_for_wide_batches():
    z = torch.randn(3, 5, dtype=F64, requires_grad=True)
    value = S.min_singular_value(S.centred(z))
    assert float(value.detach()) == 0.0
    value.backward()
    assert torch.count_nonzero(z.grad) == 0
    assert float(S.batch_lambda_min(torch.randn(4, 4, dtype=F64))) < 1e-28  # B = p: rank <= p - 1 after centring


def gradcheck_batch(seed: int = 3, B: int = 9, s=(3.0, 1.7, 0.6)) -> torch.Tensor:
    z = batch_with_singular_values(np.random.default_rng(seed), B, np.array(s))
    return torch.tensor(z, dtype=F64, requires_grad=True)


@pytest.mark.parametrize("method", ["eigvalsh", "inverse_iteration"])
def test_gradcheck_lambda_min_of_batch_covariance(method):
    z = gradcheck_batch()
    assert torch.autograd.gradcheck(lambda x: S.lambda_min(S.covariance(x), method), (z,), **TIGHT)


@pytest.mark.parametrize("method", ["svdvals", "inverse_iteration"])
def test_gradcheck_min_singular_value(method):
    z = gradcheck_batch()
    assert torch.autograd.gradcheck(lambda x: S.min_singular_value(S.centred(x), method), (z,), **TIGHT)


def test_methods_agree_on_gradients():
    z1, z2 = gradcheck_batch(seed=11), gradcheck_batch(seed=11)
    S.lambda_min(S.covariance(z1), "eigvalsh").backward()
    S.lambda_min(S.covariance(z2), "inverse_iteration").backward()
    torch.testing.assert_close(z1.grad, z2.grad, rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------------------------- the repaired Algorithm 1


def test_inverse_iteration_finds_eigenvector_orthogonal_to_all_ones():
    # the min eigenvector (1, -1)/sqrt(2) is orthogonal to a naive all-ones start; the seeded start is not
    A = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=F64)  # eigenvalues 1 and 3 (by hand)
    result = S.inverse_iteration(A)
    assert abs(result.value - 1.0) < 1e-13
    assert abs(abs(float(result.vector @ torch.tensor([1.0, -1.0], dtype=F64))) / 2 ** 0.5 - 1.0) < 1e-12
    assert result.residual <= 1000 * np.finfo(np.float64).eps * float(torch.linalg.matrix_norm(A))
    assert result.iterations >= 1


def test_inverse_iteration_float32_agrees_with_float64():
    A, _ = spd_with_spectrum(np.random.default_rng(0), np.array([0.5, 1.0, 4.0]))
    value32 = S.lambda_min(torch.tensor(A, dtype=torch.float32), "inverse_iteration")
    assert value32.dtype == torch.float32
    assert abs(float(value32) - 0.5) < 1e-5  # float32: 1000 eps ||A|| ~ 5e-4 residual, error <= r^2/gap


def test_inverse_iteration_reports_non_convergence():
    A, _ = spd_with_spectrum(np.random.default_rng(1), np.array([1.0, 1.01, 5.0]))
    with pytest.raises(ValueError, match="max_iter"):
        S.inverse_iteration(torch.tensor(A), max_iter=2)


@pytest.mark.parametrize("A, error, match", [
    (torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=F64), ValueError, "positive definite"),
    (torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=F64), ValueError, "positive definite"),
    (torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=F64), ValueError, "A must be symmetric"),
    (torch.ones(2, 3, dtype=F64), ValueError, "A must be a square"),
    (torch.tensor([[1.0, float("nan")], [float("nan"), 1.0]], dtype=F64), ValueError, "A must contain only finite"),
    (torch.eye(2, dtype=torch.int64), TypeError, "A must have a real floating-point dtype"),
    ([[1.0, 0.0], [0.0, 1.0]], TypeError, "A must be a torch.Tensor"),
    (torch.ones(3, dtype=F64), ValueError, "A must be a 2-D"),
])
def test_inverse_iteration_rejects_bad_matrices(A, error, match):
    with pytest.raises(error, match=match):
        S.inverse_iteration(A)


@pytest.mark.parametrize("kwargs, match", [
    ({"tol": 0.0}, "tol"), ({"tol": 2.0}, "tol"), ({"tol": "small"}, "tol"),
    ({"max_iter": 0}, "max_iter"), ({"max_iter": 1.5}, "max_iter"), ({"max_iter": True}, "max_iter"),
])
def test_inverse_iteration_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        S.inverse_iteration(torch.eye(2, dtype=F64), **kwargs)


def test_unknown_methods_are_rejected():
    with pytest.raises(ValueError, match="method"):
        S.lambda_min(torch.eye(2, dtype=F64), "power")
    with pytest.raises(ValueError, match="method"):
        S.min_singular_value(torch.eye(2, dtype=F64), "eigvalsh")


# ------------------------------------------------------------------------------------- covariance & spectrum


@given(B=st.integers(2, 12), p=st.integers(1, 6), seed=seeds)
def test_covariance_and_spectrum_match_numpy(B, p, seed):
    z = np.random.default_rng(seed).standard_normal((B, p)) * 3 + 1
    V_np = np.atleast_2d(np.cov(z, rowvar=False))  # numpy's unbiased covariance, ddof = 1
    V = S.covariance(torch.tensor(z))
    np.testing.assert_allclose(V.numpy(), V_np, rtol=1e-12, atol=1e-12)
    spectrum = S.covariance_spectrum(torch.tensor(z)).numpy()
    assert spectrum.shape == (p,)
    assert np.all(spectrum >= 0) and np.all(np.diff(spectrum) <= 0)
    # eigvalsh of V is accurate to ~eps * ||V|| in absolute terms (zero eigenvalues come out as +-1e-15)
    np.testing.assert_allclose(spectrum, np.linalg.eigvalsh(V_np)[::-1], atol=1e-12 * max(1, V_np.trace()))


def test_batch_checks():
    with pytest.raises(ValueError, match="z must have at least 2 rows"):
        S.covariance(torch.ones(1, 3, dtype=F64))
    with pytest.raises(ValueError, match="z must not be empty"):
        S.centred(torch.ones(0, 3, dtype=F64))
    with pytest.raises(ValueError, match="z must contain only finite"):
        S.covariance(torch.tensor([[1.0], [float("inf")]]))


# ------------------------------------------------------------------------------------------------- V^{-1/2}


@given(lam=separated_spectra(), seed=seeds)
@example(lam=np.array([2.0, 2.0, 2.0]), seed=0)  # repeated eigenvalues
def test_inverse_sqrt_matches_scipy_sqrtm(lam, seed):
    A, _ = spd_with_spectrum(np.random.default_rng(seed), lam)
    expected = np.linalg.inv(np.real(scipy.linalg.sqrtm(A)))
    got = S.inverse_sqrt_spd(torch.tensor(A)).numpy()
    # both sides carry errors ~ eps * cond(A) relative to ||A^{-1/2}|| = l_1^{-1/2}; cond(A) <= 1e4 here
    np.testing.assert_allclose(got, expected, atol=1e-9 * lam[0] ** -0.5)


def test_gradcheck_inverse_sqrt():
    X = torch.tensor(np.random.default_rng(5).standard_normal((4, 4)), dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: S.inverse_sqrt_spd(x @ x.T / 4 + 0.3 * torch.eye(4, dtype=F64)),
                                    (X,), **TIGHT)


def test_inverse_sqrt_gradient_at_identity_is_finite_and_exact():
    # At V = I every eigenvalue is repeated; the derivative of V^{-1/2} there is dV -> -dV / 2 (first-order
    # expansion (I + E)^{-1/2} = I - E/2 + O(E^2)), so the gradient of sum(W * V^{-1/2}) is -sym(W) / 2.
    V = torch.eye(3, dtype=F64, requires_grad=True)
    W = torch.tensor(np.random.default_rng(2).standard_normal((3, 3)))
    (S.inverse_sqrt_spd(V) * W).sum().backward()
    torch.testing.assert_close(V.grad, -(W + W.T) / 4, rtol=0, atol=1e-14)


def test_inverse_sqrt_rejects_singular():
    with pytest.raises(ValueError, match="V must be positive definite"):
        S.inverse_sqrt_spd(torch.diag(torch.tensor([1.0, 0.0], dtype=F64)))


def test_require_full_rank():
    z = torch.tensor(np.random.default_rng(0).standard_normal((6, 2)))
    S.require_full_rank(S.centred(z))  # generic: passes
    line = torch.cat([z[:, :1], 2 * z[:, :1]], dim=1)
    with pytest.raises(ValueError, match="z has a singular covariance"):
        S.require_full_rank(S.centred(line))
    with pytest.raises(ValueError, match="B > p"):
        S.require_full_rank(S.centred(z[:2]))


@pytest.mark.parametrize("B,p", [(100, 10), (1000, 50)])
def test_inverse_iteration_accurate_for_float32_input(B, p):
    """float32 covariances with spread-out scales (p = 10, 50): inverse iteration's value and gradient v v^T agree
    with numpy's float64 eigh of the same (float32-rounded) matrix. Oracle: numpy.linalg.eigh. Tolerance 1e-6:
    a few float32 ulps; before iterating in float64 the gradient was off by 0.5-18% here (cae bench)."""
    g = torch.Generator().manual_seed(p)
    z = torch.randn(B, p, generator=g) * torch.logspace(-1, 1, p)
    c = z - z.mean(0)
    V = (c.T @ c / (B - 1)).requires_grad_(True)
    value = S.lambda_min(V, "inverse_iteration")
    value.backward()
    w, Q = np.linalg.eigh(V.detach().double().numpy())
    assert value.dtype == torch.float32 and V.grad.dtype == torch.float32
    assert abs(float(value.detach()) - w[0]) <= 1e-6 * w[0]
    np.testing.assert_allclose(V.grad.double().numpy(), np.outer(Q[:, 0], Q[:, 0]), atol=1e-6)
