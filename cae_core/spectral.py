"""Second-order statistics of a batch of codes and their spectrum, with gradients (torch).

A batch of codes is ``z: (B, p)`` (rows: samples, columns: latent coordinates). With mu = mean of the rows,

- centred batch       B_c = z - mu                                   -> :func:`centred`
- covariance          V = B_c^T B_c / (B - 1)  (supplement, above Prop. 2) -> :func:`covariance`
- lambda_min(V)       smallest eigenvalue of V                       -> :func:`lambda_min`
- sigma_min(B_c)      smallest singular value; lambda_min(V) = sigma_min(B_c)^2 / (B - 1)
                                                                     -> :func:`min_singular_value`
- spectrum of V       all p eigenvalues, descending                  -> :func:`covariance_spectrum`
- V^{-1/2}            symmetric inverse square root, stable gradient -> :func:`inverse_sqrt_spd`

``lambda_min`` and ``min_singular_value`` have two methods each: torch.linalg (``eigvalsh`` / ``svdvals``, the
public code's choice: a full decomposition with autograd through it) and :func:`inverse_iteration`, the
supplement's Algorithm 1 repaired (see there). Both give gradients; they agree in float64.

Stacks: :func:`covariance`, :func:`batch_lambda_min`, :func:`inverse_sqrt_spd` and the rank checks also take a
stack of batches ``(..., B, p)`` (one per leading index, e.g. the runs of a sweep) and treat each batch exactly as
alone; errors name the first failing batch as ``name[i]``. The couplings check their input with :func:`as_stack`.

Numerical rank (:func:`require_full_rank`, :func:`require_full_rank_batch`): a centred batch counts as
rank-deficient when sigma_min <= max(B, p) * eps * sigma_max + 2 eps ||z||_F (eps: machine epsilon of the
dtype). The first term is the default tolerance of ``numpy.linalg.matrix_rank`` (rounding error of the SVD);
the second bounds the rounding of the codes themselves and of the centring (each entry ~eps |z_si|, the mean
~eps |mu|; sqrt(B) ||mu|| <= ||z||_F), which dominates when the batch mean is large next to its spread. Below
the tolerance sigma_min is indistinguishable from rounding error.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from cae_core.power_of_two import DIRECT_EXPONENT, scale_exponents, times_power_of_two

# --------------------------------------------------------------------------------------------------------------
# Input checks (shared by cae_core.couplings and cae_core.diagnostics)
# --------------------------------------------------------------------------------------------------------------


def _check_values(x: Tensor, name: str) -> Tensor:
    """dtype, emptiness and finiteness checks shared by :func:`as_matrix` and :func:`as_stack`."""
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name} must have a real floating-point dtype (float32 or float64), got {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return x


def as_matrix(x, name: str) -> Tensor:
    """Check that ``x`` is a finite, real floating-point 2-D tensor; return it unchanged.

    TypeError for a non-tensor or a non-floating dtype; ValueError for a wrong number of dimensions, an empty
    tensor or a NaN/inf entry. Messages name the argument and the rule.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D tensor (B, p), got shape {tuple(x.shape)}")
    return _check_values(x, name)


def as_stack(x, name: str) -> Tensor:
    """A batch of codes ``(B, p)`` or a stack of batches ``(..., B, p)`` (one batch per leading index, e.g. the
    runs of a sweep) as a checked tensor: finite, real floating point, at least 2-D, not empty.

    A numpy array of a floating dtype is accepted and wrapped without a copy (``torch.from_numpy``): the
    couplings then return tensors, like for tensor input. Anything else is a TypeError naming ``name``.
    """
    if isinstance(x, np.ndarray):
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"{name} must have a real floating-point dtype (float32 or float64), got numpy "
                            f"{x.dtype}")
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or a numpy array of floats, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"{name} must be a 2-D tensor (B, p) or a stack of them (..., B, p), got shape "
                         f"{tuple(x.shape)}")
    return _check_values(x, name)


def batch_label(name: str, index: tuple) -> str:
    """``name`` for a single batch, ``name[i, j]`` for the batch at leading index (i, j) of a stack."""
    return name if not index else f"{name}[{', '.join(str(i) for i in index)}]"


def first_index(mask: Tensor) -> tuple | None:
    """The leading index of the first True entry of a boolean ``mask: (...)`` (``()`` for a 0-d True), or None."""
    if not bool(mask.any()):
        return None
    return tuple(int(i) for i in mask.nonzero()[0]) if mask.ndim else ()


def as_batch(z, name: str = "z", min_rows: int = 2) -> Tensor:
    """Check a batch of codes ``z: (B, p)`` with B >= ``min_rows`` (a covariance with 1/(B-1) needs B >= 2)."""
    z = as_matrix(z, name)
    if z.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows (samples), got shape {tuple(z.shape)}")
    return z


def as_symmetric(A, name: str = "V", *, stacked: bool = False) -> Tensor:
    """Check a square symmetric matrix (up to sqrt(eps) relative asymmetry); return its symmetric part.
    ``stacked``: also accept a stack ``(..., p, p)`` (each matrix checked on its own scale).

    The symmetric part (A + A^T) / 2 is what the eigen-solvers read, so returning it keeps the value and the
    gradient of every spectral function consistent with each other.
    """
    A = as_stack(A, name) if stacked else as_matrix(A, name)
    if A.shape[-2] != A.shape[-1]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(A.shape)}")
    scale = A.detach().abs().amax(dim=(-2, -1))
    asym = (A.detach() - A.detach().mT).abs().amax(dim=(-2, -1))
    tol = torch.finfo(A.dtype).eps ** 0.5 * torch.clamp(scale, min=torch.finfo(A.dtype).tiny)
    index = first_index(asym > tol)
    if index is not None:
        label = batch_label(name, index)
        raise ValueError(f"{label} must be symmetric: max |{label} - {label}^T| = {float(asym[index]):.3g} > "
                         f"{float(tol[index]):.3g}")
    return (A + A.mT) / 2


def rank_tolerance(z_centred: Tensor) -> float:
    """max(B, p) * eps: the relative singular-value tolerance of ``numpy.linalg.matrix_rank`` for a batch
    ``(..., B, p)``."""
    return max(z_centred.shape[-2:]) * torch.finfo(z_centred.dtype).eps


def require_full_rank(z_centred: Tensor, name: str = "z", why: str = "", *, uncentred_norm=0.0,
                      unit=1.0) -> None:
    """Raise ValueError unless the centred batch ``(B, p)`` -- or every batch of a stack ``(..., B, p)`` -- has
    numerical rank p (so V is invertible); the message names the first failing batch (``name[i]`` in a stack).

    Needs B > p: centring removes one degree of freedom, so rank(B_c) <= B - 1. Rule: sigma_min >
    max(B, p) * eps * sigma_max + 2 eps * ``uncentred_norm`` (||z||_F of the batch before centring, a number or
    one per batch; 0 = the numpy.matrix_rank tolerance alone), compared in float64. Use
    :func:`require_full_rank_batch` for a batch that is not yet centred. ``unit``: the batch was divided by
    ``unit`` (a number or one per batch) beforehand; the message reports sigma values times ``unit``.
    """
    B, p = z_centred.shape[-2:]
    suffix = f" ({why})" if why else ""
    if B <= p:
        raise ValueError(f"{name} must have more rows than columns (B > p) so that its covariance is "
                         f"invertible{suffix}; got B = {B}, p = {p}")
    sigma = torch.linalg.svdvals(z_centred.detach()).to(torch.float64)
    eps = torch.finfo(z_centred.dtype).eps
    tol = rank_tolerance(z_centred) * sigma[..., 0] + 2 * eps * torch.as_tensor(uncentred_norm, dtype=torch.float64,
                                                                                 device=sigma.device)
    index = first_index(sigma[..., -1] <= tol)
    if index is not None:
        unit_here = float(torch.as_tensor(unit, dtype=torch.float64).expand(tol.shape)[index])
        label = batch_label(name, index)
        raise ValueError(
            f"{label} has a singular covariance{suffix}: sigma_min of the centred batch = "
            f"{float(sigma[index][-1]) * unit_here:.3g} <= max(B, p) * eps * sigma_max + 2 eps ||{name}||_F = "
            f"{float(tol[index]) * unit_here:.3g} (collapsed codes, a constant "
            f"coordinate, or a spread below the rounding of codes with a large mean)")


def require_full_rank_batch(z: Tensor, name: str = "z", why: str = "") -> None:
    """:func:`require_full_rank` of ``z: (B, p)`` (or of every batch of a stack ``(..., B, p)``) after centring,
    with the rounding of the codes and of the centring in the tolerance (``uncentred_norm`` = ||z||_F). Runs in
    z's dtype; no gradient."""
    z = z.detach()
    e = scale_exponents(z)
    far = e.abs() > DIRECT_EXPONENT
    unit = torch.ones(e.shape, dtype=torch.float64, device=z.device)
    if bool(far.any()):
        # The rule is homogeneous in the scale, so divide by an exact power of two (largest |z| in [1/2, 1)):
        # near float32's max the centring itself overflows (|z| = 3.3e38: z - mean = inf, a torch LinAlgError
        # from svdvals), and MKL's SVD warns on such matrices. Done in float64, so exact for float32 codes.
        e = torch.where(far, e, torch.zeros_like(e))
        z = times_power_of_two(z.to(torch.float64), -e).to(z.dtype)
        unit = torch.pow(2.0, e.to(torch.float64))
    top = z.abs().amax(dim=(-2, -1))
    scaled = z / torch.where(top > 0, top, torch.ones_like(top))[..., None, None]   # no overflow of the squares
    norm = top.to(torch.float64) * torch.linalg.vector_norm(scaled, dim=(-2, -1)).to(torch.float64)
    require_full_rank(z - z.mean(dim=-2, keepdim=True), name, why, uncentred_norm=norm, unit=unit)


# --------------------------------------------------------------------------------------------------------------
# Batch statistics
# --------------------------------------------------------------------------------------------------------------


def centred(z: Tensor) -> Tensor:
    """B_c = z - mean over rows. ``z: (B, p)`` -> ``(B, p)``."""
    z = as_matrix(z, "z")
    return z - z.mean(dim=0, keepdim=True)


def as_stack_of_batches(z, name: str = "z", min_rows: int = 2) -> Tensor:
    """:func:`as_stack` of ``z: (..., B, p)`` with B >= ``min_rows``."""
    z = as_stack(z, name)
    if z.shape[-2] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows (samples), got shape {tuple(z.shape)}")
    return z


def covariance(z: Tensor) -> Tensor:
    """V = B_c^T B_c / (B - 1), the supplement's V_i (definition above Prop. 2). ``z: (..., B, p)`` ->
    ``(..., p, p)``."""
    z = as_stack_of_batches(z, "z")
    c = z - z.mean(dim=-2, keepdim=True)
    return c.mT @ c / (z.shape[-2] - 1)


def covariance_spectrum(z: Tensor) -> Tensor:
    """All p eigenvalues of V (1/(B-1) normalisation), descending, from the singular values of B_c.

    ``z: (B, p)`` -> ``(p,)``. Computed as sigma_k^2 / (B - 1) (never negative, unlike eigvalsh of V); when
    B < p the p - B missing eigenvalues are exactly 0 and are appended. Differentiable.
    """
    z = as_batch(z, "z")
    B, p = z.shape
    sigma = torch.linalg.svdvals(z - z.mean(dim=0, keepdim=True))
    lam = sigma ** 2 / (B - 1)
    if lam.shape[0] < p:
        lam = torch.cat([lam, lam.new_zeros(p - lam.shape[0])])
    return lam


# --------------------------------------------------------------------------------------------------------------
# Algorithm 1, repaired
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InverseIterationResult:
    """Outcome of :func:`inverse_iteration`: eigenvalue (Rayleigh quotient), unit eigenvector ``(p,)``, number of
    solves, and the final residual ||A v - value v||_2."""
    value: float
    vector: Tensor
    iterations: int
    residual: float


def inverse_iteration(A: Tensor, *, tol: float | None = None, max_iter: int = 10_000,
                      seed: int = 0) -> InverseIterationResult:
    """Smallest eigenvalue of a symmetric positive definite ``A: (p, p)`` by inverse iteration (no autograd).

    The supplement's Algorithm 1 (``solve A x_{i+1} = x_i`` until ``|x_{i+1} - x_i| <= eps``, return
    ``x_{i+1}``) has three defects, repaired here:

    1. the iterates are never normalised, so they grow like lambda_min^{-i} (overflow when lambda_min < 1) or
       shrink to 0 (then the stopping rule fires on a vanishing vector, not on convergence): here each iterate
       is normalised, x <- y / ||y||_2;
    2. it returns a vector, not an eigenvalue: here the estimate is the Rayleigh quotient x^T A x;
    3. the stopping rule compares unnormalised vectors: here we stop when the residual
       ||A x - (x^T A x) x||_2 <= tol * ||A||_F. Then some eigenvalue lies within the residual of the
       estimate, and the estimate's error is at most residual^2 / gap (Kato-Temple).

    The numpy theory version (``cae_theory.algorithm1.min_singular_pair``, batched) repairs it the same way on the
    Householder bidiagonal of B and certifies minimality by Sturm counts (Sylvester's inertia), with bisection
    where the iteration does not settle; this torch version keeps plain inverse iteration (tests check the two
    agree). A is factored once (Cholesky), so each step costs two triangular
    solves. The iteration runs in float64 for any input dtype; ``tol=None`` means
    1000 * float64 machine epsilon. The start vector is a seeded Gaussian (a fixed vector such as all-ones
    can be exactly orthogonal to the wanted eigenvector). Raises ValueError if A is not symmetric positive
    definite (Algorithm 1 assumes a full-rank B, A = B^T B) or if ``max_iter`` solves do not reach ``tol``.
    """
    A_in = as_symmetric(A, "A").detach()
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    # Iterate in float64 whatever A's dtype: in float32 a residual of 1000 eps ||A|| leaves the eigenvector off by
    # ~residual/gap, which gave 0.5-18% gradient errors for p >= 10 (cae bench, spectral section). p is small
    # (a latent dimension), so the cost is negligible; the results are cast back to A's dtype.
    A = A_in.to(torch.float64)
    eps = torch.finfo(A.dtype).eps
    if tol is None:
        tol = 1000 * eps
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (0 < tol < 1):
        raise ValueError(f"tol must be a number in (0, 1), got {tol!r}")
    L, info = torch.linalg.cholesky_ex(A)
    if int(info) != 0:
        raise ValueError("A must be symmetric positive definite (Algorithm 1 solves A x = b; Cholesky failed "
                         f"at leading minor {int(info)})")
    p = A.shape[0]
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(p, 1, generator=gen, dtype=A.dtype).to(A.device)
    x = x / torch.linalg.vector_norm(x)
    norm_A = float(torch.linalg.matrix_norm(A))
    for it in range(1, max_iter + 1):
        y = torch.cholesky_solve(x, L)
        x = y / torch.linalg.vector_norm(y)
        Ax = A @ x
        rho = float((x.T @ Ax).squeeze())
        residual = float(torch.linalg.vector_norm(Ax - rho * x))
        if residual <= tol * norm_A:
            return InverseIterationResult(rho, x.squeeze(1).to(A_in.dtype), it, residual)
    raise ValueError(f"max_iter = {max_iter} inverse-iteration steps did not reach the residual tolerance "
                     f"tol * ||A||_F = {tol * norm_A:.3g} (last residual {residual:.3g}); raise max_iter or tol")


class _InverseIterationLambdaMin(torch.autograd.Function):
    """lambda_min(A) by :func:`inverse_iteration`; backward d lambda = v^T dA v (simple eigenvalue)."""

    @staticmethod
    def forward(ctx, A: Tensor, tol: float | None, max_iter: int) -> Tensor:
        result = inverse_iteration(A, tol=tol, max_iter=max_iter)
        ctx.save_for_backward(result.vector)
        return A.new_tensor(result.value)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor):
        (v,) = ctx.saved_tensors
        return grad * torch.outer(v, v), None, None


# --------------------------------------------------------------------------------------------------------------
# lambda_min and sigma_min with gradients
# --------------------------------------------------------------------------------------------------------------


def lambda_min(V: Tensor, method: Literal["eigvalsh", "inverse_iteration"] = "eigvalsh", *,
               tol: float | None = None, max_iter: int = 10_000) -> Tensor:
    """Smallest eigenvalue of a symmetric ``V: (p, p)`` -> scalar tensor, differentiable.

    ``eigvalsh``: torch.linalg.eigvalsh (any symmetric V). ``inverse_iteration``: repaired Algorithm 1 (V must
    be positive definite), gradient v v^T. For a repeated smallest eigenvalue the derivative does not exist;
    both methods then return one valid subgradient.
    """
    V = as_symmetric(V, "V")
    if method == "eigvalsh":
        return torch.linalg.eigvalsh(V)[0]
    if method == "inverse_iteration":
        return _InverseIterationLambdaMin.apply(V, tol, max_iter)
    raise ValueError(f"method must be 'eigvalsh' or 'inverse_iteration', got {method!r}")


def _sigma_min_svdvals(Bm: Tensor) -> Tensor:
    """sigma_min of an already checked ``Bm: (..., n, p)`` by svdvals -> ``(...)``; exactly 0 (attached, zero
    gradient) if n < p."""
    n, p = Bm.shape[-2:]
    if n < p:
        return Bm.sum(dim=(-2, -1)) * 0.0  # exactly 0, still attached to the graph (zero gradient)
    return torch.linalg.svdvals(Bm)[..., -1]


def min_singular_value(B_centred: Tensor, method: Literal["svdvals", "inverse_iteration"] = "svdvals", *,
                       tol: float | None = None, max_iter: int = 10_000) -> Tensor:
    """sigma_min of ``B_centred: (B, p)``, i.e. the p-th singular value (0 when B < p) -> scalar tensor.

    ``svdvals``: torch.linalg.svdvals. ``inverse_iteration``: sqrt(lambda_min(B^T B)) by the repaired
    Algorithm 1 (the supplement's route; needs B of full column rank). The caller centres the batch
    (:func:`centred`); lambda_min(V) = sigma_min(B_c)^2 / (B - 1).
    """
    Bm = as_matrix(B_centred, "B_centred")
    if method == "svdvals":
        return _sigma_min_svdvals(Bm)
    if method == "inverse_iteration":
        return torch.sqrt(_InverseIterationLambdaMin.apply(Bm.T @ Bm, tol, max_iter))
    raise ValueError(f"method must be 'svdvals' or 'inverse_iteration', got {method!r}")


def batch_lambda_min(z: Tensor) -> Tensor:
    """lambda_min(V) of a batch ``z: (B, p)`` as sigma_min(B_c)^2 / (B - 1) (svdvals), differentiable; for a stack
    ``(..., B, p)`` one value per batch ``(...)``.

    This is how the public code computes the C_MSV denominator (full SVD; AllenInstitute/coupledAE). 0 when B <= p.
    """
    z = as_stack_of_batches(z, "z")
    return _sigma_min_svdvals(z - z.mean(dim=-2, keepdim=True)) ** 2 / (z.shape[-2] - 1)


# --------------------------------------------------------------------------------------------------------------
# V^{-1/2} with a gradient that stays finite at repeated eigenvalues
# --------------------------------------------------------------------------------------------------------------


class _InverseSqrtSPD(torch.autograd.Function):
    """F(V) = Q diag(l^{-1/2}) Q^T. Backward by the Daleckii-Krein formula
    dF = Q (K o (Q^T dV Q)) Q^T with the divided differences of f(l) = l^{-1/2},
    K_ab = (f(l_a) - f(l_b)) / (l_a - l_b) = -1 / (s_a s_b (s_a + s_b)), s = sqrt(l),
    which is exact, free of cancellation and equals f'(l) = -l^{-3/2}/2 when l_a = l_b. (torch's eigh backward
    divides by l_a - l_b and gives inf/NaN at repeated eigenvalues, e.g. at V = I.)"""

    @staticmethod
    def forward(ctx, V: Tensor) -> Tensor:
        lam, Q = torch.linalg.eigh(V)
        s = torch.sqrt(lam)
        ctx.save_for_backward(s, Q)
        return (Q / s[..., None, :]) @ Q.mT

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G: Tensor) -> Tensor:
        s, Q = ctx.saved_tensors
        a, b = s[..., :, None], s[..., None, :]
        K = -1.0 / (a * b * (a + b))
        Gs = (G + G.mT) / 2
        return Q @ (K * (Q.mT @ Gs @ Q)) @ Q.mT


def inverse_sqrt_spd(V: Tensor, name: str = "V") -> Tensor:
    """Symmetric inverse square root V^{-1/2} of a symmetric positive definite ``V: (p, p)`` -> ``(p, p)``, or of
    every matrix of a stack ``(..., p, p)``.

    Raises ValueError if V (the first such matrix of a stack, named ``name[i]``) is not positive definite
    (smallest eigenvalue <= p * eps * largest).
    """
    V = as_symmetric(V, name, stacked=True)
    lam = torch.linalg.eigvalsh(V.detach())
    bad = (lam[..., 0] <= V.shape[-1] * torch.finfo(V.dtype).eps * lam[..., -1].abs()) | (lam[..., -1] <= 0)
    index = first_index(bad)
    if index is not None:
        raise ValueError(f"{batch_label(name, index)} must be positive definite for V^(-1/2): eigenvalues in "
                         f"[{float(lam[index][0]):.3g}, {float(lam[index][-1]):.3g}]")
    return _InverseSqrtSPD.apply(V)
