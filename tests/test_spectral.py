"""cae_core.spectral: covariance, lambda_min / sigma_min (torch.linalg and repaired Algorithm 1), V^{-1/2}.

Oracles: spectra known by construction (A = Q diag(l) Q^T, centred batches U diag(s) W^T with U orthonormal and
orthogonal to the all-ones vector), numpy (np.cov, np.linalg.eigvalsh), the definition W V W = I of V^{-1/2}, the numpy
theory implementation cae_theory.min_singular_value, and torch.autograd.gradcheck (finite differences).
All checks in float64 unless stated.

Tolerances are derived, never tuned (tests/rounding_bounds.py): a spectrum "known by construction" is known only
up to the construction's rounding, bounded in running-error arithmetic (the float Q is orthogonal up to
eta >= ||Q^T Q - I||_2, which moves eigenvalues by at most l_k eta -- Ostrowski -- and the rounding of forming
Q diag(l) Q^T by its Frobenius norm -- Weyl); the solvers' errors come from their documented guarantees:
LAPACK's backward error (eigvalsh, svdvals, eigenvectors), the stopping rule of the repaired Algorithm 1
(residual <= 1000 eps ||A||_F, so an eigenvalue lies within the residual of the Rayleigh quotient and the
eigenvector's angle is at most residual / gap, Davis-Kahan), and cae_theory's certified residual.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from cae_core import spectral as S
from cae_theory.min_singular_value import min_singular_pair
from cae_theory.min_singular_value import min_singular_value as theory_min_singular_value
from cae_theory.rounding import Bounded, gamma, sqrt
import bounded_couplings as BC
import bounded_diagnostics as BD
from rounding_bounds import (LAPACK_RATIO, U64, agree, assert_within, carried, exact, frobenius_upper,
                             inverse_sqrt_spd, lapack_ulp, norm1_upper, svdvals)
from rounding_bounds import eigvalsh as lapack_eigvalsh

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
    return batch_and_factors(rng, B, s)[0]


def batch_and_factors(rng: np.random.Generator, B: int, s: np.ndarray):
    """(z, U, W) of :func:`batch_with_singular_values`."""
    p = s.shape[0]
    mu, U, W = rng.standard_normal((1, p)), centred_basis(rng, B, p), orthogonal(rng, p)
    return mu + (U * s) @ W.T, U, W


def non_orthogonality(Q: np.ndarray) -> float:
    """eta >= ||Q^T Q - I||_2 for a float Q with (nearly) orthonormal columns."""
    Qb = exact(Q)
    return frobenius_upper(Qb.T @ Qb - np.eye(Q.shape[1]))


def spectrum_enclosure(Q: np.ndarray, lam: np.ndarray):
    """A = fl((Q * lam) @ Q^T) and bounds: |lambda_k(A) - lam_k| <= delta_k (Ostrowski for Q's non-orthogonality
    eta, Weyl for the rounding F0 of forming A), and ||A - M||_2 <= F with M = Q_o diag(lam) Q_o^T the exact matrix
    whose eigenvectors are the columns of Q's orthogonal polar factor Q_o (||Q - Q_o||_2 <= eta). Returns
    (A, delta, F, eta)."""
    Qb = exact(Q)
    A = (Qb * exact(lam)) @ Qb.T
    eta = non_orthogonality(Q)
    F0 = frobenius_upper(Bounded(np.zeros_like(A.error), A.error))
    return A.value, lam * eta + F0, F0 + (2 * eta + eta ** 2) * float(lam.max()), eta


def inverse_iteration_radius(norm_A: float, rho: float, p: int, tol: float = 1000 * 2.0 ** -52) -> float:
    """Bound on the distance from the repaired Algorithm 1's Rayleigh quotient rho to an eigenvalue of A: its
    stopping rule ||A x - rho x|| <= tol ||A||_F on the computed residual, plus that residual's rounding
    (A x, rho x, the difference and the norm: gamma_{p+2} (||A||_F + |rho|) for ||x|| ~ 1), divided by
    ||x|| >= 1 - gamma_p (x normalised in floats)."""
    return (tol * norm_A + gamma(p + 2) * (norm_A + abs(rho)) * (1 + gamma(p))) / (1 - gamma(p + 1))


@st.composite
def separated_spectra(draw, max_p: int = 5):
    """Ascending eigenvalues l_1 < ... < l_p with l_{k+1} / l_k in [1.1, 10] and l_1 in [1e-3, 1e2]."""
    p = draw(st.integers(1, max_p))
    low = 10.0 ** draw(st.floats(-3, 2))
    ratios = draw(st.lists(st.floats(1.1, 10.0), min_size=p - 1, max_size=p - 1))
    return np.array([low] + list(low * np.cumprod(ratios)))


seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------------- lambda_min, sigma_min


# lambda_0(A) lies within delta_0 of l_0 (spectrum_enclosure); eigvalsh adds LAPACK's bound, the repaired
# inverse iteration the radius of its stopping rule (the separated spectra make l_0's eigenvalue the nearest).
@given(lam=separated_spectra(), seed=seeds)
@example(lam=np.array([1e-3, 1e-3 * 1.1]), seed=0)
@example(lam=np.array([1.0]), seed=0)
def test_lambda_min_agrees_with_construction(lam, seed):
    A, Q = spd_with_spectrum(np.random.default_rng(seed), lam)
    A_b, delta, _, _ = spectrum_enclosure(Q, lam)
    assert np.array_equal(A, A_b)                      # the same float matrix
    At = torch.tensor(A, dtype=F64)
    solver = float(lapack_eigvalsh(exact(A)).error[0])
    assert abs(float(S.lambda_min(At, "eigvalsh")) - lam[0]) <= delta[0] + solver
    rho = float(S.lambda_min(At, "inverse_iteration"))
    radius = inverse_iteration_radius(frobenius_upper(A), rho, A.shape[0])
    assert abs(rho - lam[0]) <= delta[0] + radius
    assert abs(np.linalg.eigvalsh(A)[0] - lam[0]) <= delta[0] + solver  # numpy, sanity of the construction


def outer_product_error(A: np.ndarray, lam: np.ndarray, Q: np.ndarray, method: str, rho: float) -> float:
    """Bound on max |v v^T - q q^T| (entrywise <= spectral norm) for the library's unit eigenvector v of the
    smallest eigenvalue and q = Q[:, 0]. The exact M = Q_o diag(lam) Q_o^T (spectrum_enclosure) has eigenvector
    q_o, ||q - q_o|| <= eta; ||q q^T - q_o q_o^T|| <= 2 eta + eta^2.
    eigvalsh: v is an exact eigenvector of A + E up to LAPACK's non-orthogonality delta_Z, ||E|| <= LAPACK's
    backward error; Davis-Kahan: sin(v, q_o) <= ||A + E - M|| / (l_1 - l_0 - ||A + E - M||).
    inverse_iteration: sin(x, eigenvector of A) <= r / (gap of rho to A's other eigenvalues), r the stopping
    rule's radius; then Davis-Kahan from A to M. Plus one rounding per entry of the outer product, and
    |1 - ||x||^2| <= gamma_{p+1} for the normalised iterate."""
    p = A.shape[0]
    _, delta, F, eta = spectrum_enclosure(Q, lam)
    ulp = lapack_ulp()
    to_M = 2 * eta + eta ** 2
    if method == "eigvalsh":
        P = F + LAPACK_RATIO * p * ulp * norm1_upper(A)
        dz = LAPACK_RATIO * p * ulp
        sin = P / (lam[1] - lam[0] - P)
        return sin + 2 * dz + dz ** 2 + to_M + 2 * U64
    r = inverse_iteration_radius(frobenius_upper(A), rho, p)
    gap_A = (lam[1] - delta[1]) - rho - r
    sin = r / gap_A + F / (lam[1] - lam[0] - F)
    return sin + gamma(p + 1) + to_M + 2 * U64


@given(lam=separated_spectra(), seed=seeds)
def test_lambda_min_gradient_is_outer_product_of_eigenvector(lam, seed):
    """Gradient oracle: d lambda_min / dA = q_1 q_1^T for a simple eigenvalue, q_1 = Q[:, 0] by construction,
    within outer_product_error (p = 1: exactly 1)."""
    A, Q = spd_with_spectrum(np.random.default_rng(seed), lam)
    expected = np.outer(Q[:, 0], Q[:, 0])
    for method in ("eigvalsh", "inverse_iteration"):
        At = torch.tensor(A, dtype=F64, requires_grad=True)
        value = S.lambda_min(At, method)
        value.backward()
        bound = outer_product_error(A, lam, Q, method, float(value.detach())) if len(lam) > 1 else 2 * U64
        assert np.max(np.abs(At.grad.numpy() - expected)) <= bound, method


# Singular values s of a centred batch are known by construction up to its rounding: the float centred batch
# B_c is within ||B_c - U diag(s) W^T||_F of the exact product (Weyl), whose singular values are s_k times
# [(1 - eta_U)(1 - eta_W), (1 + eta_U)(1 + eta_W)]^(1/2) (U, W orthonormal up to eta). svdvals adds LAPACK's bound;
# inverse iteration on the float B_c^T B_c (its rounding by Weyl) the radius of its stopping rule, then a square
# root; the theory routine its certified residual (<= max(1e-12 sigma, 1024 eps ||R||_F), cae_theory) and the
# backward error of its QR (LAPACK's bound). lambda_min(V) = s_min^2 / (B - 1).
@given(s=separated_spectra(max_p=3), extra=st.integers(1, 20), seed=seeds)
def test_min_singular_value_all_methods(s, extra, seed):
    p = s.shape[0]
    B = p + extra
    z, U, W = batch_and_factors(np.random.default_rng(seed), B, s[::-1].copy())
    Bc = S.centred(torch.tensor(z, dtype=F64))
    Y = (exact(U) * exact(s[::-1].copy())) @ exact(W).T
    eta = non_orthogonality(U) + non_orthogonality(W)
    delta = frobenius_upper(Bounded(np.abs(Bc.numpy() - Y.value), Y.error)) + s[0] * (eta + eta ** 2)
    svd_error = float(svdvals(exact(Bc)).error[p - 1])
    assert abs(float(S.min_singular_value(Bc, "svdvals")) - s[0]) <= delta + svd_error
    G = exact(Bc).T @ exact(Bc)
    sigma = float(S.min_singular_value(Bc, "inverse_iteration"))
    rho = Bounded(sigma * sigma, 0.0)     # sigma = fl(sqrt(rho)): rho within 2u rho of sigma^2
    radius = inverse_iteration_radius(frobenius_upper(G), float(rho.value), p)
    lam = sqrt(Bounded(float(rho.value), float(rho.value) * 4 * U64 + radius
                       + frobenius_upper(Bounded(np.zeros((p, p)), G.error))))
    assert abs(sigma - s[0]) <= float(lam.error) + delta
    lam_min = Bounded(s[0], delta + svd_error)
    lam_min = lam_min * lam_min / (B - 1)
    assert abs(float(S.batch_lambda_min(torch.tensor(z))) - float(lam_min.value)) <= float(lam_min.error)
    # the numpy theory implementation (repaired Algorithm 1, RQI + inertia certificate) is a second oracle
    pair = min_singular_pair(Bc.numpy())
    assert pair.converged and pair.certified_minimal
    certified = max(1e-12 * pair.sigma, 1024 * 2.0 ** -52 * frobenius_upper(Bc.numpy()))
    assert abs(theory_min_singular_value(Bc.numpy()) - s[0]) <= certified + svd_error + delta


def test_min_singular_value_is_zero_for_wide_batches():
    z = torch.randn(3, 5, dtype=F64, requires_grad=True)
    value = S.min_singular_value(S.centred(z))
    assert float(value.detach()) == 0.0
    value.backward()
    assert torch.count_nonzero(z.grad) == 0
    # B = p: the exact centred batch has rank <= p - 1, so sigma_min is 0 up to its bound (centring + LAPACK)
    square = torch.randn(4, 4, dtype=F64)
    from bounded_couplings import centred
    bound = float(svdvals(centred(exact(square))).error[3])
    assert float(S.batch_lambda_min(square)) <= bound * bound / 3 * (1 + gamma(2))


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
    """Both gradients are 2 / (B - 1) P c v v^T (P the centring projection, c the centred batch, v the unit
    eigenvector of lambda_min(V)) with each method's own v: they differ by at most
    2 / (B - 1) * 2 max_s ||c_s|| * (||v1 v1^T - v* v*^T|| + ||v2 v2^T - v* v*^T||) (v* exact; Davis-Kahan with
    LAPACK's backward error for eigvalsh, the stopping rule's residual for inverse iteration, V's rounding for
    both, gap from the bounded eigenvalues of V) plus the rounding of the backward graph: V / (B - 1), two
    products c G (p terms), their sum, the centring's mean over B rows: gamma_{p + B + 6} times the magnitudes
    M = 2 |c| |G| / (B - 1) and their column means."""
    z1, z2 = gradcheck_batch(seed=11), gradcheck_batch(seed=11)
    value1 = S.lambda_min(S.covariance(z1), "eigvalsh")
    value1.backward()
    value2 = S.lambda_min(S.covariance(z2), "inverse_iteration")
    value2.backward()
    z = exact(z1)
    B, p = z.shape
    c = BC.centred(z)
    V = BC.covariance(z)
    ev = lapack_eigvalsh(V)
    gap = (ev.value[1] - ev.error[1]) - (ev.value[0] + ev.error[0])
    v_err = frobenius_upper(Bounded(np.zeros((p, p)), V.error))
    ulp = lapack_ulp()
    dz = LAPACK_RATIO * p * ulp
    e_eig = (LAPACK_RATIO * p * ulp * norm1_upper(V) + v_err) / gap + 2 * dz + dz ** 2
    r = inverse_iteration_radius(frobenius_upper(V), float(value2), p)
    e_inv = r / (gap - r) + v_err / gap + gamma(p + 1)
    c_rows = float(np.max(np.sqrt(((np.abs(c.value) + c.error) ** 2).sum(axis=1))))
    propagated = 2 / (B - 1) * 2 * c_rows * (e_eig + e_inv)
    w = np.linalg.eigh(V.value)[1][:, 0]
    M = 2 * (np.abs(c.value) + c.error) @ (np.abs(np.outer(w, w)) + e_eig + e_inv) / (B - 1)
    rounding = gamma(p + B + 6) * (M + M.mean(axis=0, keepdims=True))
    assert np.all(np.abs(z1.grad.numpy() - z2.grad.numpy()) <= propagated + 2 * rounding)


# ----------------------------------------------------------------------------------- the repaired Algorithm 1


def test_inverse_iteration_finds_eigenvector_orthogonal_to_all_ones():
    # the min eigenvector (1, -1)/sqrt(2) is orthogonal to a naive all-ones start; the seeded start is not
    # Error bounds from the stopping rule's residual r (inverse_iteration_radius) and the gap 2 to the other
    # eigenvalue: the Rayleigh quotient within r^2 / (2 - r) of 1 (Kato-Temple) plus its own rounding
    # (x^T A x: gamma_3 |x|^T |A| |x| <= 3 gamma_3); the angle to (1, -1)/sqrt(2) has sine <= r / (2 - r), so the
    # cosine is within sin^2 of 1, plus the rounding of the dot product, the division by sqrt(2) and ||x|| != 1.
    A = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=F64)  # eigenvalues 1 and 3 (by hand)
    result = S.inverse_iteration(A)
    r = inverse_iteration_radius(frobenius_upper(A.numpy()), result.value, 2)
    assert abs(result.value - 1.0) <= r ** 2 / (2 - r) + 3 * gamma(3)
    cosine = abs(float(result.vector @ torch.tensor([1.0, -1.0], dtype=F64))) / 2 ** 0.5
    assert abs(cosine - 1.0) <= (r / (2 - r)) ** 2 + gamma(6)
    assert result.residual <= 1000 * np.finfo(np.float64).eps * float(torch.linalg.matrix_norm(A))
    assert result.iterations >= 1


def test_inverse_iteration_float32_agrees_with_float64():
    # The float32 matrix A32 is A moved by its rounding (Weyl: ||A32 - A||_F), A's eigenvalue within delta_0 of
    # 0.5 (spectrum_enclosure); the iteration runs in float64 on A32 (its symmetric part: the float32 halving of
    # A32 + A32^T, measured exactly below) within its stopping radius; the value is cast to float32 (u32).
    lam = np.array([0.5, 1.0, 4.0])
    A, Q = spd_with_spectrum(np.random.default_rng(0), lam)
    _, delta, _, _ = spectrum_enclosure(Q, lam)
    A32 = torch.tensor(A, dtype=torch.float32)
    value32 = S.lambda_min(A32, "inverse_iteration")
    assert value32.dtype == torch.float32
    sym32 = ((A32 + A32.T) / 2).double().numpy()
    moved = frobenius_upper(sym32 - A)
    r = inverse_iteration_radius(frobenius_upper(sym32), float(value32), 3)
    assert abs(float(value32) - 0.5) <= delta[0] + moved + r + 2.0 ** -24 * abs(float(value32))


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
    """V and its spectrum: the library's V and numpy's np.cov evaluate one formula, both within twice the bound of
    its transcription; the spectrum (singular values of the centred batch) within its transcription's bound and
    within the sum of the bounds of a second route, a symmetric eigen-solver on V (zero eigenvalues included)."""
    z = np.random.default_rng(seed).standard_normal((B, p)) * 3 + 1
    V_np = np.atleast_2d(np.cov(z, rowvar=False))  # numpy's unbiased covariance, ddof = 1
    V = S.covariance(torch.tensor(z))
    want = BC.covariance(exact(z))
    assert_within(V, want, "covariance")
    assert_within(V_np, want, "np.cov")
    spectrum = S.covariance_spectrum(torch.tensor(z)).numpy()
    assert spectrum.shape == (p,)
    assert np.all(spectrum >= 0) and np.all(np.diff(spectrum) <= 0)
    lam = BD.spectrum(exact(z))
    assert_within(spectrum, lam, "spectrum")
    ev = lapack_eigvalsh(want)
    assert agree(carried(spectrum, lam), Bounded(ev.value[::-1].copy(), ev.error[::-1].copy()))


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
def test_inverse_sqrt_matches_its_definition(lam, seed):
    """V^{-1/2} of the symmetric part of A: within twice the bound of its transcription (LAPACK eigh, operator
    Lipschitz bound of t^(-1/2), tests/rounding_bounds.py), and -- an oracle independent of any eigen-solver --
    it satisfies its definition W A W = I: the residual, evaluated in bounded arithmetic with W's bound, contains
    0, and the construction's eigenvalues give ||W||_2 <= (l_1 - delta_1)^(-1/2)."""
    A, Q = spd_with_spectrum(np.random.default_rng(seed), lam)
    _, delta, _, _ = spectrum_enclosure(Q, lam)
    sym = BC.symmetric_part(exact(A))
    got = S.inverse_sqrt_spd(torch.tensor(A)).numpy()
    want = inverse_sqrt_spd(sym)
    assert_within(got, want, "V^(-1/2)")
    W = carried(got, want)
    residual = W @ sym @ W - np.eye(A.shape[0])
    assert np.all(np.abs(residual.value) <= residual.error * (1 + 2.0 ** -30))
    assert np.linalg.norm(got, 2) <= (lam[0] - delta[0]) ** -0.5 + frobenius_upper(Bounded(0 * got, want.error))


def test_gradcheck_inverse_sqrt():
    X = torch.tensor(np.random.default_rng(5).standard_normal((4, 4)), dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: S.inverse_sqrt_spd(x @ x.T / 4 + 0.3 * torch.eye(4, dtype=F64)),
                                    (X,), **TIGHT)


def test_inverse_sqrt_gradient_at_identity_is_finite_and_exact():
    # At V = I every eigenvalue is repeated; the derivative of V^{-1/2} there is dV -> -dV / 2 (first-order
    # expansion (I + E)^{-1/2} = I - E/2 + O(E^2)), so the gradient of sum(W * V^{-1/2}) is -sym(W) / 2.
    # Bound: the backward pass is Q (K o (Q^T G Q)) Q^T with G = (W + W^T) / 2 and K = -1 / (s_a s_b (s_a + s_b))
    # = -1/2 for eigenvalues exactly 1 (LAPACK's eigenvalues of I are exact), so it is -G/2 up to the
    # non-orthogonality delta_Z of LAPACK's Q (||Q K Q^T - K|| <= 2 delta_Z + delta_Z^2, four times) and the
    # rounding of four p-term products of entries |Q| <= 1 + delta_Z: gamma_{4p+4} p^2 max|G| / 2, plus the
    # expected value's own rounding (W + W^T: u).
    V = torch.eye(3, dtype=F64, requires_grad=True)
    W = torch.tensor(np.random.default_rng(2).standard_normal((3, 3)))
    (S.inverse_sqrt_spd(V) * W).sum().backward()
    expected = -(W + W.T) / 4
    G = float((W + W.T).abs().max()) / 2
    dz = LAPACK_RATIO * 3 * lapack_ulp()
    bound = G / 2 * (4 * (2 * dz + dz ** 2) * 3 + gamma(16) * 9 * (1 + dz) ** 4) + U64 * float(expected.abs().max())
    assert float((V.grad - expected).abs().max()) <= bound


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
    with numpy's float64 eigh of the same (float32-rounded) matrix. Oracle: numpy.linalg.eigh. Bounds: the
    library iterates in float64 on the float32 symmetric part S of V (|S - V| measured exactly: Weyl and
    Davis-Kahan), within its stopping radius r; numpy's eigenpair within LAPACK's bound; value cast to float32
    (u32), vector to float32 before its outer product (3 roundings u32 per entry). The gap lambda_2 - lambda_1
    comes from numpy's eigenvalues and their bound. Before iterating in float64 the gradient was off by 0.5-18%
    here (cae bench)."""
    g = torch.Generator().manual_seed(p)
    z = torch.randn(B, p, generator=g) * torch.logspace(-1, 1, p)
    c = z - z.mean(0)
    V = (c.T @ c / (B - 1)).requires_grad_(True)
    value = S.lambda_min(V, "inverse_iteration")
    value.backward()
    V64 = V.detach().double().numpy()
    w, Q = np.linalg.eigh(V64)
    assert value.dtype == torch.float32 and V.grad.dtype == torch.float32
    Vt = V.detach()
    sym = ((Vt + Vt.T) / 2).double().numpy()
    numpy_tri = np.tril(V64) + np.tril(V64, -1).T            # the triangle LAPACK reads
    moved = frobenius_upper(sym - numpy_tri)
    ev = lapack_eigvalsh(exact(numpy_tri))
    rho = float(value.detach())
    r = inverse_iteration_radius(frobenius_upper(sym), rho, p)
    assert abs(rho - w[0]) <= moved + r + ev.error[0] + 2.0 ** -24 * abs(rho)
    gap = (ev.value[1] - ev.error[1]) - (ev.value[0] + ev.error[0]) - moved
    ulp = lapack_ulp()
    dz = LAPACK_RATIO * p * ulp
    sin_numpy = LAPACK_RATIO * p * ulp * norm1_upper(numpy_tri) / gap + 2 * dz + dz ** 2
    sin_library = r / (gap - r) + moved / gap + gamma(p + 1)
    bound = sin_numpy + sin_library + 3 * 2.0 ** -24 + U64
    assert np.max(np.abs(V.grad.double().numpy() - np.outer(Q[:, 0], Q[:, 0]))) <= bound
