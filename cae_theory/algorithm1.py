"""Calculation of the minimum singular value, Algorithm 1 and its prose (supplement, end of the proofs).

    "We are interested in calculating the minimum singular value of a full-rank matrix B. Noting that the singular
     values of B are square roots of the eigenvalues of B^T B, it suffices to calculate the minimum eigenvalue of
     A = B^T B. The following basic power iteration algorithm obtains an estimate:"
    Algorithm 1  Simple power iteration to find minimum eigenvalue, eps determines the precision of convergence.
        initialize x0 randomly, and i <- 0;  solve for x1: A x1 = x0
        while |x_{i+1} - x_i| > eps do:  solve for x_{i+1}: A x_{i+1} = x_i;  i <- i + 1
        return x_{i+1}
    "Note that the algorithm corresponds to a power iteration of A^-1 without explicit matrix inversion. Therefore,
     the result will be an approximation to the largest eigenvalue of A^-1, which is the smallest eigenvalue of A."

:func:`printed_loop` is the literal transcription (|.| read as the Euclidean norm, plus an iteration cap) on floats
(:func:`algorithm1_as_printed`: an overflow gives NaN, and ``NaN > eps`` is false, which ends the printed loop) or
on exact rationals (:func:`algorithm1_exact`, for the witnesses).

:func:`min_singular_pair` is the repaired routine, batched over leading axes ``B: (..., n, m)``:

1. B (transposed when wide, so n >= m) is scaled by a power of two and reduced to an upper bidiagonal B_d with
   diagonal d and superdiagonal e by Householder reflections (Golub-Kahan; backward stable: B_d is the exact
   bidiagonal of B + dB with ||dB||_F of order m n u ||B||_F);
2. normalised inverse iteration on A = B_d^T B_d (the power iteration of A^-1 of Algorithm 1, each solve two
   bidiagonal substitutions, never forming A or its inverse), with the estimate sigma = ||B_d x|| (a Rayleigh
   quotient: sigma >= sigma_min), until sigma settles (it decreases by less than tol/8 in a step; at most
   ``inverse_steps`` steps); the residual ||B_d^T u - sigma x|| (u = B_d x / sigma) is reported;
3. sigma certified by Sylvester's law of inertia: the Sturm count of the Golub-Kahan tridiagonal (off-diagonal
   d_1, e_1, d_2, ..., d_m; eigenvalues +-sigma_j) shifted by mu is m + #{sigma_j < mu}; sigma is accepted when no
   singular value lies below sigma - tol and one lies below sigma + tol (tol = max(rtol sigma, floor),
   floor = 1024 eps_mach ||B||_F). The count computed in floating point is exact for a bidiagonal whose entries
   are perturbed by a few ulps relatively (Demmel and Kahan, 1990), far below tol;
4. where the iteration did not settle on sigma_min (sigma_min and sigma_2 close, or a start nearly orthogonal to
   its singular vector), multisection on the same counts (31 shifts a step, 5 bits) brackets sigma_min to
   within tol.

Contract: |sigma - sigma_min(B)| <= ``tolerance`` = max(rtol sigma, floor) + floor (the second floor covers the
backward error of step 1). The previous, unbatched routine's Rayleigh-quotient iteration on [[0, R^T], [R, 0]]
(with an LDL^T inertia check, and bisection as a fallback) is replaced by the Sturm counts of step 3 and the
multisection of step 4, which vectorise over a batch (benchmarks/bench_min_singular_value.py).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
import sympy as sp

from cae_theory import arith
from cae_theory.cases import matrices
from cae_theory.ledger import search as srch
from cae_theory.ledger.claims import Correction, claim
from cae_theory.ledger.decide import Proved, Searched, Witnessed
from cae_theory.rounding import Bounded
from cae_theory.validation import as_array, as_scalar

CLAIMS: list = []

StopReason = Literal["tolerance", "non_finite", "max_iter"]


# --- Algorithm 1 as printed ---------------------------------------------------------------------------------

@dataclass
class Algorithm1Run:
    """What the printed loop returned: ``x`` is x_{i+1}; ``solves``: linear solves performed."""
    x: np.ndarray
    solves: int
    stopped: StopReason


def printed_loop(solve, x0, above_eps, max_iter: int) -> tuple[object, int, str]:
    """The loop of Algorithm 1: x1 = solve(x0); while above_eps(x_{i+1} - x_i): x_{i+1} = solve(x_i). ``above_eps``
    is the printed test |d| > eps (for floats NaN > eps is False and ends the loop). Returns (x_{i+1}, solves,
    'tolerance' | 'max_iter')."""
    x_prev, x = x0, solve(x0)
    solves = 1
    while above_eps(x - x_prev):
        if solves > max_iter:
            return x, solves, "max_iter"
        x_prev, x = x, solve(x)
        solves += 1
    return x, solves, "tolerance"


def _positive_int(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
    if v < 1:
        raise ValueError(f"{name} must be >= 1, got {v}")
    return int(v)


def _square(A, name: str) -> np.ndarray:
    A = as_array(A, name, ndim=2)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be square (m, m), got shape {A.shape}")
    return A


def algorithm1_as_printed(A, eps: float, x0, max_iter: int = 10_000) -> Algorithm1Run:
    """Algorithm 1 as printed on floats, for ``A: (m, m)`` non-singular, ``eps > 0``, ``x0: (m,)``; ``max_iter``
    caps the iterations (the printed loop has no cap). ``stopped``: 'tolerance' (|x_{i+1} - x_i| <= eps with a finite
    x), 'non_finite' (the iterate overflowed; NaN > eps is false, which ends the printed loop) or 'max_iter'."""
    A = _square(A, "A")
    eps = as_scalar(eps, "eps", low=0.0)
    x0 = as_array(x0, "x0", ndim=1)
    max_iter = _positive_int(max_iter, "max_iter")
    if x0.shape[0] != A.shape[0]:
        raise ValueError(f"x0 must have length {A.shape[0]} (the size of A), got {x0.shape[0]}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)      # a zero pivot is reported below
        lu = scipy.linalg.lu_factor(A, check_finite=False)
    if np.any(np.diag(lu[0]) == 0):
        raise ValueError("A must be non-singular (Algorithm 1 solves A x_{i+1} = x_i)")
    with np.errstate(all="ignore"):
        x, solves, stopped = printed_loop(lambda v: scipy.linalg.lu_solve(lu, v, check_finite=False), x0,
                                          lambda d: bool(np.linalg.norm(d) > eps), max_iter)
    if stopped == "tolerance" and not np.all(np.isfinite(x)):
        stopped = "non_finite"
    return Algorithm1Run(x, solves, stopped)


def algorithm1_exact(A, eps, x0, max_iter: int = 10_000) -> tuple[sp.Matrix, int, str]:
    """The printed loop in exact rational arithmetic (sympy): |d| > eps decided as d^T d > eps^2."""
    A, x0, eps = sp.Matrix(A), sp.Matrix(x0), sp.nsimplify(eps)
    return printed_loop(A.LUsolve, x0, lambda d: (d.T * d)[0] > eps * eps, max_iter)


def rayleigh_quotient(A, x):
    """x^T A x / x^T x (exact for sympy matrices)."""
    return (x.T * A * x)[0] / (x.T * x)[0]


# --- the repaired routine, batched ---------------------------------------------------------------------------

def _householder(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(v, tau) with (I - tau v v^T) x = alpha e_1 for each row of ``x: (N, L)``; tau = 0 for a zero row."""
    norm = np.sqrt((x * x).sum(axis=1))
    alpha = -np.where(x[:, 0] >= 0, 1.0, -1.0) * norm
    v = x.copy()
    v[:, 0] -= alpha
    vv = (v * v).sum(axis=1)
    tau = np.where(vv > 0, 2.0 / np.where(vv > 0, vv, 1.0), 0.0)
    return v, tau


def bidiagonalize(B: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
    """Golub-Kahan bidiagonalisation of ``B: (N, n, m)``, n >= m: diagonal ``d: (N, m)``, superdiagonal
    ``e: (N, m-1)`` and the right reflectors [(column, v, tau)] (B = Q_L B_d Q_R^T, Q_R = G_1 G_2 ...)."""
    A = np.array(B, dtype=np.float64, copy=True)
    N, n, m = A.shape
    d = np.zeros((N, m))
    e = np.zeros((N, max(m - 1, 0)))
    right = []
    for j in range(m):
        v, tau = _householder(A[:, j:, j])
        A[:, j:, j:] -= (tau[:, None] * v)[:, :, None] * (v[:, None, :] @ A[:, j:, j:])
        d[:, j] = A[:, j, j]
        if j < m - 1:
            v, tau = _householder(A[:, j, j + 1:])
            A[:, j:, j + 1:] -= (A[:, j:, j + 1:] @ v[:, :, None]) * (tau[:, None] * v)[:, None, :]
            e[:, j] = A[:, j, j + 1]
            right.append((j + 1, v, tau))
    return d, e, right


def count_below(d: np.ndarray, e: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """#{j: sigma_j(B_d) < mu} for shifts mu > 0 of shape ``(N,)`` or ``(N, K)``, by the Sturm count (LDL^T
    inertia, Sylvester) of the Golub-Kahan tridiagonal shifted by mu: its off-diagonal is d_1, e_1, d_2, ..., d_m
    and it has m + #{sigma_j < mu} eigenvalues below mu."""
    N, m = d.shape
    mu = np.asarray(mu, dtype=np.float64)
    extra = (None,) * (mu.ndim - 1)
    b2 = np.empty((N, 2 * m - 1))
    b2[:, 0::2] = d * d
    b2[:, 1::2] = e * e
    pivmin = (np.finfo(np.float64).tiny * np.maximum(1.0, b2.max(axis=1)))[(slice(None),) + extra]
    q = -mu
    negative = (q < 0).astype(np.int64)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for k in range(2 * m - 1):
            q = -mu - b2[(slice(None), k) + extra] / q
            q = np.where(np.abs(q) < pivmin, -pivmin, q)
            negative += q < 0
    return negative - m


def _multisect(d, e, lo, hi, width, max_steps, points: int = 31):
    """Shrink brackets [lo, hi] of sigma_min (count(lo) = 0, count(hi) >= 1) with ``points`` interior Sturm counts
    per step (log2(points + 1) bits a step) until hi - lo <= width(lo) or ``max_steps`` steps; (lo, hi, steps)."""
    steps = np.zeros(len(lo), dtype=np.int64)
    t = np.arange(1, points + 1) / (points + 1)
    idx = np.flatnonzero(hi - lo > width(lo, idx=np.arange(len(lo))))
    for _ in range(max_steps):
        if not len(idx):
            break
        l, h = lo[idx], hi[idx]
        mu = l[:, None] + (h - l)[:, None] * t[None, :]
        c = count_below(d[idx], e[idx], mu)                                   # (n, points), non-decreasing
        first = (c >= 1).argmax(axis=1)                                        # the first point with a count
        any_ = (c >= 1).any(axis=1)
        new_hi = np.where(any_, mu[np.arange(len(idx)), first], h)
        new_lo = np.where(first > 0, mu[np.arange(len(idx)), np.maximum(first - 1, 0)], l)
        new_lo = np.where(any_, new_lo, mu[:, -1])
        lo[idx], hi[idx] = new_lo, new_hi
        steps[idx] += 1
        idx = idx[hi[idx] - lo[idx] > width(lo[idx], idx=idx)]
    return lo, hi, steps


def _solve_gram(d, e, x):
    """A^-1 x for A = B_d^T B_d: solve B_d^T y = x (forward), then B_d z = y (backward)."""
    N, m = d.shape
    y = np.empty_like(x)
    y[:, 0] = x[:, 0] / d[:, 0]
    for k in range(1, m):
        y[:, k] = (x[:, k] - e[:, k - 1] * y[:, k - 1]) / d[:, k]
    z = np.empty_like(x)
    z[:, m - 1] = y[:, m - 1] / d[:, m - 1]
    for k in range(m - 2, -1, -1):
        z[:, k] = (y[:, k] - e[:, k] * z[:, k + 1]) / d[:, k]
    return z


def _bd_times(d, e, x):
    """B_d x."""
    out = d * x
    out[:, :-1] += e * x[:, 1:]
    return out


def _bdt_times(d, e, u):
    """B_d^T u."""
    out = d * u
    out[:, 1:] += e * u[:, :-1]
    return out


@dataclass
class SingularPair:
    """Result of :func:`min_singular_pair` for ``B: (..., n, m)`` (arrays over the leading axes ``...``).
    ``sigma``: the estimate of sigma_min(B); ``v``: a unit right singular vector estimate of the tall orientation
    (B, or B^T when B is wide), accurate when sigma_min is well separated; ``lower``, ``upper``: a bracket of
    sigma_min of the computed bidiagonal certified by Sturm counts; ``tolerance``: the contract
    |sigma - sigma_min(B)| <= tolerance; ``iterations``: inverse-iteration steps plus multisection steps;
    ``residual``: ||B_d^T u - sigma x|| of the last inverse iterate; ``converged``: met within ``max_iter``;
    ``certified_minimal``: the bracket is certified (always, when converged)."""
    sigma: np.ndarray
    v: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    tolerance: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    converged: np.ndarray
    certified_minimal: np.ndarray


def _tall(B) -> np.ndarray:
    B = as_array(B, "B")
    if B.ndim < 2:
        raise ValueError(f"B must have at least 2 dimensions (..., n, m), got shape {B.shape}")
    return np.swapaxes(B, -1, -2) if B.shape[-2] < B.shape[-1] else B


def min_singular_pair(B, rtol: float = 1e-12, max_iter: int = 10_000, seed: int = 0, x0=None,
                      inverse_steps: int = 16) -> SingularPair:
    """Smallest singular value of full-rank matrices ``B: (..., n, m)`` (the repaired Algorithm 1, module
    docstring). ``rtol`` in (0, 1); ``max_iter`` caps inverse-iteration plus multisection steps; ``x0: (m',)`` the
    start (m' = min(n, m)), else a seeded Gaussian; ``inverse_steps``: inverse-iteration steps before the
    multisection.
    ValueError naming B if some B is rank-deficient (sigma_min below floor = 1024 eps_mach ||B||_F)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    rtol = as_scalar(rtol, "rtol", low=0.0, high=1.0)
    max_iter = _positive_int(max_iter, "max_iter")
    inverse_steps = _positive_int(inverse_steps, "inverse_steps")
    Bt = _tall(B)
    batch = Bt.shape[:-2]
    n, m = Bt.shape[-2:]
    Bt = Bt.reshape((-1, n, m))
    N = len(Bt)
    # an exact power-of-two scaling: max |B| in [1, 2)
    top = np.abs(Bt).max(axis=(1, 2))
    if np.any(top == 0):
        raise ValueError("B must have full rank (an all-zero B has sigma_min = 0)")
    scale = 2.0 ** np.floor(np.log2(top))
    Bs = Bt / scale[:, None, None]
    d, e, right = bidiagonalize(Bs)
    floor = 1024 * np.finfo(np.float64).eps * np.sqrt((Bs * Bs).sum(axis=(1, 2)))
    if x0 is None:
        x = np.random.default_rng(seed).standard_normal((N, m))
    else:
        x = as_array(x0, "x0", ndim=1)
        if x.shape[0] != m:
            raise ValueError(f"x0 must have length {m} = min(n, m) of B, got {x.shape[0]}")
        if not np.any(x != 0):
            raise ValueError("x0 must be non-zero")
        x = np.broadcast_to(x, (N, m)).copy()
    x = x / np.sqrt((x * x).sum(axis=1, keepdims=True))
    if np.any(d == 0):
        raise ValueError(f"B must have full rank (its bidiagonal has a zero pivot at batch index "
                         f"{int(np.argwhere(np.any(d == 0, axis=1))[0, 0])})")

    # normalised inverse iteration (the power iteration of A^-1) until the Rayleigh quotient settles
    sigma = np.sqrt((_bd_times(d, e, x) ** 2).sum(axis=1))
    residual = np.full(N, np.inf)
    iterations = np.zeros(N, dtype=np.int64)
    idx = np.arange(N)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(min(inverse_steps, max_iter)):
            dd, ee = d[idx], e[idx]
            y = _solve_gram(dd, ee, x[idx])
            ny = np.sqrt((y * y).sum(axis=1, keepdims=True))
            if not np.all(np.isfinite(ny)) or np.any(ny == 0):
                raise ValueError("B must have full rank (numerically singular: inverse iteration overflowed)")
            xi = y / ny
            u = _bd_times(dd, ee, xi)
            s = np.sqrt((u * u).sum(axis=1))
            r = _bdt_times(dd, ee, u / s[:, None]) - s[:, None] * xi
            settled = sigma[idx] - s <= np.maximum(rtol * s, floor[idx]) / 8
            x[idx], sigma[idx], residual[idx] = xi, s, np.sqrt((r * r).sum(axis=1))
            iterations[idx] += 1
            idx = idx[~settled]
            if not len(idx):
                break
    # certify sigma_min(B_d) in [sigma - tol, sigma + tol] by two Sturm counts
    tol = np.maximum(rtol * sigma, floor)
    low = np.maximum(sigma - tol, np.finfo(np.float64).tiny)
    counts = count_below(d, e, np.stack([low, sigma + tol], axis=1))
    certified = ((counts[:, 0] == 0) | (sigma - tol <= 0)) & (counts[:, 1] >= 1)
    lower, upper = np.where(certified, np.maximum(sigma - tol, 0.0), 0.0), sigma + tol
    # elsewhere: a bracket (upper: sigma + tol if it holds a singular value, else ||B_d||_F >= sigma_max; lower:
    # the largest hi 2^-j, j <= 64, with no singular value below), then multisection on the same counts
    todo = np.flatnonzero(~certified)
    if len(todo):
        dd, ee = d[todo], e[todo]
        frob = np.sqrt((dd * dd).sum(axis=1) + (ee * ee).sum(axis=1)) * (1 + 1e-8) + floor[todo]
        hi = np.where(counts[todo, 1] >= 1, upper[todo], frob)
        probes = hi[:, None] * 2.0 ** -np.arange(1, 65)[None, :]
        zero = count_below(dd, ee, probes) == 0
        lo = np.where(zero.any(axis=1), probes[np.arange(len(todo)), zero.argmax(axis=1)], 0.0)
        fl = floor[todo]

        def width(lo_, idx):
            return 2 * np.maximum(rtol * lo_, fl[idx])
        lo, hi, steps = _multisect(dd, ee, lo, hi, width, max(1, max_iter - int(iterations.max(initial=0))))
        lower[todo], upper[todo] = lo, hi
        iterations[todo] += steps + 1
        sigma[todo] = 0.5 * (lo + hi)
        certified[todo] = hi - lo <= width(lo, np.arange(len(todo)))
    if np.any(sigma <= floor):
        bad = int(np.argwhere(sigma <= floor)[0, 0])
        raise ValueError(f"B must have full rank (numerically: sigma_min is below the rounding level 1024 eps "
                         f"||B||_F at batch index {bad})")
    for j, v, tau in reversed(right):                           # the singular vector in B's coordinates
        x[:, j:] -= (tau * (v * x[:, j:]).sum(axis=1))[:, None] * v
    tolerance = np.maximum(rtol * sigma, floor) + floor
    shape = batch

    def out(a, per=()):
        return a.reshape(shape + per)
    return SingularPair(out(sigma * scale), out(x, (m,)), out(lower * scale), out(upper * scale),
                        out(tolerance * scale), out(iterations), out(residual * scale), out(certified),
                        out(certified))


def min_singular_value(B, rtol: float = 1e-12, max_iter: int = 10_000, seed: int = 0):
    """sigma_min(B) of a full-rank ``B: (n, m)`` (a float) or of each matrix of ``(..., n, m)`` (an array), by the
    repaired routine; ValueError if the bracket could not be certified within ``max_iter`` steps."""
    pair = min_singular_pair(B, rtol=rtol, max_iter=max_iter, seed=seed)
    if not np.all(pair.converged):
        raise ValueError(f"max_iter = {max_iter} was too small to bracket sigma_min to rtol = {rtol}; raise max_iter")
    return float(pair.sigma) if np.ndim(pair.sigma) == 0 else pair.sigma


def min_singular_value_exact(B) -> float:
    """Reference: the smallest of ``scipy.linalg.svdvals(B)`` for ``B: (n, m)``."""
    return float(scipy.linalg.svdvals(as_array(B, "B", ndim=2)).min())


# --- the cases: B = U diag(s) V^T and rigorous bounds on its singular values ------------------------------------

@dataclass
class Constructed:
    """A batch of B = U diag(s) V^T computed in floats, the repaired routine's answer on it, and a rigorous
    bracket [low, high] of sigma_min(B) from s: sigma_min(U S V^T) lies in s_min [sqrt((1-eta_U)(1-eta_V)),
    sqrt((1+eta_U)(1+eta_V))] (sigma_j(XY) between sigma_min(X) sigma_j(Y) and ||X|| sigma_j(Y); the singular
    values of U lie in [sqrt(1-eta_U), sqrt(1+eta_U)], eta_U >= ||U^T U - I||_2), and the float B differs from
    U S V^T by at most delta = ||rounding bound of the product||_F (Weyl)."""
    B: np.ndarray
    s_min: object
    eta_U: object
    eta_V: object
    delta: object
    sigma: object
    tolerance: object
    failed: object

    def bracket(self):
        low = self.s_min * arith.sqrt((1 - self.eta_U) * (1 - self.eta_V)) - self.delta
        high = self.s_min * arith.sqrt((1 + self.eta_U) * (1 + self.eta_V)) + self.delta
        return low, high


def _upper_frobenius(x: Bounded) -> np.ndarray:
    """An upper bound on the exact ||x||_F over the last two axes (inflated for the rounding of this sum)."""
    bound = np.abs(x.value) + x.error
    n = bound.shape[-1] * bound.shape[-2]
    return np.sqrt((bound * bound).sum(axis=(-2, -1))) * (1 + 4 * n * np.finfo(float).eps)


def constructed(arrays: dict, lift) -> Constructed:
    """The derived quantities of a batch of Algorithm 1 cases (``U: (N, n, r)``, ``s: (N, r)``, ``V: (N, m, r)``)."""
    U, s, V = (arith.value(arrays[k]) for k in ("U", "s", "V"))
    Ub, Vb = Bounded.exact(U), Bounded.exact(V)
    Bb = (Ub * Bounded.exact(s)[:, None, :]) @ Vb.mT
    r = s.shape[-1]
    eta_U = _upper_frobenius(Ub.mT @ Ub - np.eye(r))
    eta_V = _upper_frobenius(Vb.mT @ Vb - np.eye(r))
    delta = np.sqrt((Bb.error * Bb.error).sum(axis=(1, 2))) * (1 + 1e-12)
    pair = min_singular_pair(Bb.value)
    s_min = -((-arrays["s"]).max(axis=-1))
    failed = (~pair.converged).astype(np.float64)
    return Constructed(Bb.value, s_min, lift(eta_U), lift(eta_V), lift(delta), lift(pair.sigma),
                       lift(pair.tolerance), lift(failed))


ALG1_DOMAIN = srch.Domain("full-rank matrices B = U diag(s) V^T", matrices.alg1_families(), constructed,
                          matrices.alg1_perturb, matrices.alg1_witness, matrices.alg1_cells,
                          "U, V with orthonormal columns (to rounding), s > 0: singular values known to rigorous "
                          "bounds; tall, square and wide")


def _repaired(arrays, c: Constructed) -> srch.Sides:
    """low - tolerance <= sigma <= high + tolerance, and the routine converged (failed = 0 <= 1/2, not 1)."""
    low, high = c.bracket()
    return srch.Sides((low - c.tolerance, c.sigma, c.failed), (c.sigma, high + c.tolerance, 0.5))


REPAIRED_TEXT = (
    "Repaired (min_singular_pair): normalised inverse iteration on B_d^T B_d (B_d the Householder bidiagonal of B, "
    "transposed when wide), sigma = ||B_d x||, sigma certified by Sturm counts (Sylvester's inertia), multisection "
    "where the iteration does not settle: |sigma - sigma_min(B)| <= max(rtol sigma, floor) + floor, floor = "
    "1024 eps ||B||_F, rtol = 1e-12")

REPAIRED = claim(
    "alg1.repaired", "Probe: " + REPAIRED_TEXT, origin="probe", registry=CLAIMS, expected="searched",
    decide=Searched(srch.register(srch.Relation("alg1.repaired", ALG1_DOMAIN, "<=", _repaired))))


def _repaired_correction() -> Correction:
    return Correction(REPAIRED_TEXT, REPAIRED.decide, "searched", kind="restatement")


# --- "the singular values of B are square roots of the eigenvalues of B^T B" -----------------------------------------

def _gram_witness() -> tuple[bool, dict]:
    """B = [[1, 0]] has full rank (1 = min(1, 2)) and the SVD B = U S V^T with U = [[1]], S = [[1]], V = [[1], [0]]
    (checked exactly): one singular value, 1. B^T B = diag(1, 0) has the eigenvalues 1 and 0: sqrt(0) is not a
    singular value, and the minimum eigenvalue of A = B^T B gives 0, not sigma_min(B)^2 = 1."""
    B = sp.Matrix([[1, 0]])
    U, S, V = sp.Matrix([[1]]), sp.Matrix([[1]]), sp.Matrix([[1], [0]])
    svd_ok = U * S * V.T == B and U.T * U == sp.eye(1) and V.T * V == sp.eye(1)
    A = B.T * B
    eig = sorted(A.eigenvals(multiple=True))
    if not svd_ok:
        raise RuntimeError("the witness's SVD is wrong")
    return sp.sqrt(eig[0]) == S[0, 0], {
        "B": [[1, 0]], "U": [[1]], "S": [[1]], "V": [[1], [0]], "BtB": [[1, 0], [0, 0]],
        "eigenvalues_BtB": [str(v) for v in eig], "singular_values_B": ["1"], "lhs": str(sp.sqrt(eig[0])),
        "rhs": "1", "relation": "=", "lhs_is": "sqrt(lambda_min(B^T B))", "rhs_is": "sigma_min(B) (B = U S V^T)",
        "exact": True}


def _cayley(K: sp.Matrix) -> sp.Matrix:
    """(I - K)(I + K)^-1: a rational orthogonal matrix for a skew-symmetric K."""
    eye = sp.eye(K.shape[0])
    return (eye - K) * (eye + K).inv()


def certify_gram() -> dict:
    """sympy, exactly: for B = U diag(s) V^T with rational orthogonal U, V (Cayley transforms) and symbolic s > 0,
    the characteristic polynomial of B^T B is prod_j (x - s_j^2) when n >= m (every eigenvalue a squared singular
    value), and x^(m-n) prod_j (x - s_j^2) when n < m (m - n extra zero eigenvalues). With B = U S V^T, U^T U = I:
    B^T B = V S^2 V^T for every n >= m."""
    x = sp.Symbol("x")
    done = []
    for n, m in ((2, 2), (3, 2), (4, 3), (2, 3)):
        r = min(n, m)
        s = sp.symbols(f"s0:{r}", positive=True)
        Kn = sp.Matrix(n, n, lambda i, j: 0 if i == j else (i + 2 * j + 1) * (1 if i < j else -1))
        Km = sp.Matrix(m, m, lambda i, j: 0 if i == j else (2 * i + j + 1) * (1 if i < j else -1))
        Kn = (Kn - Kn.T) / 2
        Km = (Km - Km.T) / 2
        U, V = _cayley(Kn)[:, :r], _cayley(Km)[:, :r]
        B = U * sp.diag(*s) * V.T
        char = (B.T * B).charpoly(x).as_expr()
        expected = x ** (m - r) * sp.prod([x - v * v for v in s])
        if sp.expand(sp.simplify(char - expected)) != 0:
            return {"ok": False, "failed_at": [n, m]}
        done.append([n, m])
    return {"ok": True, "form": "charpoly(B^T B) = x^(m - r) prod_j (x - s_j^2)", "sizes_checked": done}


GRAM = claim(
    "alg1.gram", "The singular values of a full-rank matrix B are square roots of the eigenvalues of B^T B, so it "
    "suffices to calculate the minimum eigenvalue of A = B^T B", origin="sentence", registry=CLAIMS,
    expected="fails",
    decide=Witnessed(_gram_witness, "one exact full-rank wide B: B = [[1, 0]]",
                     note="For B: (n, m) with n < m, B^T B (m x m, rank n) has m - n extra zero eigenvalues."),
    correction=Correction(
        "For B: (n, m) with n >= m (tall or square), the singular values are the square roots of the eigenvalues "
        "of B^T B; for n < m use B B^T",
        Proved("every n >= m: B^T B = V S U^T U S V^T = V S^2 V^T (the SVD); exact instances with symbolic s for "
               "(n, m) in (2, 2), (3, 2), (4, 3), and the wide (2, 3) with its extra zero eigenvalue",
               symbolic=certify_gram),
        "proved", kind="assumption"))


# --- Algorithm 1 as printed -----------------------------------------------------------------------------------

def _run_json(A, x0, eps, x, solves, stopped) -> dict:
    return {"A": [[str(v) for v in row] for row in np.asarray(A.tolist(), dtype=object)],
            "x0": [str(v) for v in x0], "eps": str(eps), "solves": solves, "stopped": stopped,
            "returned_x": [str(v) for v in x]}


def _alg1_witness() -> tuple[bool, dict]:
    """B = diag(2, 3), A = diag(4, 9), x0 = (1, 1), eps = 10^-6, exactly: the loop returns the vector x_{i+1} =
    (4^-(i+1), 9^-(i+1)), never an eigenvalue; its length is ~1e-7 while lambda_min(A) = 4."""
    A, x0, eps = sp.diag(4, 9), [1, 1], sp.Rational(1, 10 ** 6)
    x, solves, stopped = algorithm1_exact(A, eps, x0)
    length = sp.sqrt((x.T * x)[0])
    return bool(2 <= length <= 8), {**_run_json(A, x0, eps, x, solves, stopped), "B": [[2, 0], [0, 3]],
                                    "lambda_min": "4", "lhs": str(sp.N(length, 20)), "rhs": "4",
                                    "relation": "within a factor 2",
                                    "lhs_is": "||returned x||_2 (the algorithm returns a vector, not a number)",
                                    "rhs_is": "lambda_min(A)", "exact": True}


ALG1 = claim(
    "alg1", "Algorithm 1 (solve A x_{i+1} = x_i until |x_{i+1} - x_i| <= eps, return x_{i+1}) obtains an estimate of "
    "the minimum eigenvalue of A = B^T B", registry=CLAIMS, expected="fails", uses=("alg1.gram",),
    decide=Witnessed(_alg1_witness, "one exact run: A = diag(4, 9), x0 = (1, 1), eps = 1e-6",
                     note="The printed algorithm returns the vector x_{i+1}; it never forms an eigenvalue estimate."),
    correction=_repaired_correction())


def _termination_witness() -> tuple[bool, dict]:
    """A = diag(1/4, 1) (B = diag(1/2, 1)), x0 = (1, 1), eps = 10^-6. Exactly: every eigenvalue of A^-1 = diag(4, 1)
    is >= 1, so |x_{i+1} - x_i| = |A^-1 (x_i - x_{i-1})| >= |x_i - x_{i-1}| >= ... >= |x_1 - x_0| = 3 > eps: the loop
    never ends. In floats x_i = (4^i, 1) overflows, inf - inf = NaN, NaN > eps is false and the loop exits with a
    non-finite x."""
    A, x0, eps = sp.diag(sp.Rational(1, 4), 1), [1, 1], sp.Rational(1, 10 ** 6)
    inv_eigs = [1 / v for v in A.diagonal()]
    x1 = A.LUsolve(sp.Matrix(x0))
    first = ((x1 - sp.Matrix(x0)).T * (x1 - sp.Matrix(x0)))[0]
    never_ends = all(v >= 1 for v in inv_eigs) and first > eps * eps
    run = algorithm1_as_printed(np.diag([0.25, 1.0]), 1e-6, np.ones(2), max_iter=2000)
    return not never_ends and run.stopped == "tolerance", {
        "A": [["1/4", "0"], ["0", "1"]], "x0": x0, "eps": str(eps), "eigenvalues_A_inverse": [str(v) for v in inv_eigs],
        "first_step_squared": str(first), "exact": True,
        "why": "|x_{i+1} - x_i| >= lambda_min(A^-1) |x_i - x_{i-1}| >= |x_1 - x_0| = 3 > eps for every i",
        "float_run": {"stopped": run.stopped, "solves": run.solves,
                      "returned_x": [float(v) if np.isfinite(v) else str(v) for v in run.x], "max_iter": 2000},
        "lhs": "3", "rhs": str(eps), "relation": "<=", "lhs_is": "a lower bound of every |x_{i+1} - x_i|",
        "rhs_is": "eps (the loop's exit test)"}


TERMINATION = claim(
    "alg1.termination", "Algorithm 1 terminates with a finite x_{i+1} satisfying |x_{i+1} - x_i| <= eps",
    registry=CLAIMS, expected="fails", uses=("alg1",),
    decide=Witnessed(_termination_witness, "one exact case, A = diag(1/4, 1): never ends (exact); the float loop "
                                           "exits on NaN"),
    correction=_repaired_correction())


def _rq_error_witness(A, x0, eps, bound) -> tuple[bool, dict]:
    x, solves, stopped = algorithm1_exact(A, eps, x0)
    lam = min(A.eigenvals(multiple=True))
    rq = rayleigh_quotient(A, x)
    rel = abs(rq - lam) / lam
    return bool(rel <= bound), {**_run_json(A, x0, eps, x, solves, stopped), "lambda_min": str(lam),
                                "rayleigh_quotient": str(rq), "lhs": str(sp.N(rel, 20)), "rhs": str(bound),
                                "relation": "<=", "lhs_is": "|x^T A x / x^T x - lambda_min| / lambda_min of the "
                                                            "returned x", "exact": True}


def _precision_witness() -> tuple[bool, dict]:
    """A = 10^8 diag(4, 9), eps = 10^-12 (a demanding precision), x0 = (1, 1): the loop stops after a few solves, since
    x_i = A^-i x0 is tiny at once (3 solves); the returned direction is far from the eigenvector and the Rayleigh
    quotient's relative error is ~10^10 times eps."""
    return _rq_error_witness(sp.diag(4 * 10 ** 8, 9 * 10 ** 8), [1, 1], sp.Rational(1, 10 ** 12),
                             sp.Rational(1, 10 ** 12))


PRECISION = claim(
    "alg1.precision", "eps determines the precision of convergence (Algorithm 1's caption)", origin="sentence",
    registry=CLAIMS, expected="fails", uses=("alg1",),
    decide=Witnessed(_precision_witness, "one exact run: A = 1e8 diag(4, 9), eps = 1e-12"),
    correction=_repaired_correction(),
    reading="the estimate read charitably as the Rayleigh quotient of the returned x; its relative error should be "
            "of the order of eps")


def _direction_witness() -> tuple[bool, dict]:
    """A = diag(4, 5), x0 = (1, 1), eps = 10^-6: the loop ends when x_i is short (i ~ 10), while the direction has
    converged only like (4/5)^i: the Rayleigh quotient's relative error is ~1e-3."""
    return _rq_error_witness(sp.diag(4, 5), [1, 1], sp.Rational(1, 10 ** 6), sp.Rational(1, 10 ** 6))


DIRECTION = claim(
    "alg1.direction", "Probe (charitable reading): the Rayleigh quotient of the returned x_{i+1} approximates "
    "lambda_min(A) to relative 1e-6 whenever the loop ends", origin="probe", registry=CLAIMS, expected="fails",
    uses=("alg1",),
    decide=Witnessed(_direction_witness, "one exact run: A = diag(4, 5), eps = 1e-6",
                     note="The test |x_{i+1} - x_i| <= eps measures the length of x, not the convergence of its "
                          "direction."),
    correction=_repaired_correction())


# --- the prose after Algorithm 1 -----------------------------------------------------------------------------------

def certify_power_iteration() -> dict:
    """sympy: A (adj(A) y) = det(A) y for symbolic A (2 x 2, 3 x 3): the solution of A x_{i+1} = x_i is
    A^-1 x_i = adj(A) x_i / det(A), so x_i = A^-i x0, the (unnormalised) power iteration of A^-1."""
    for m in (2, 3):
        A = sp.Matrix(arith.symbols("a", (m, m), real=True))
        y = sp.Matrix(arith.symbols("y", (m, 1), real=True))
        if not arith.expand_is_zero(np.asarray(A * (A.adjugate() * y) - A.det() * y, dtype=object)):
            return {"ok": False, "failed_at": m}
    return {"ok": True, "form": "A adj(A) = det(A) I", "sizes_checked": [2, 3]}


POWER_ITERATION = claim(
    "alg1.power_iteration", "the algorithm corresponds to a power iteration of A^-1 without explicit matrix "
    "inversion", origin="sentence", registry=CLAIMS, expected="proved", uses=("alg1",),
    decide=Proved("every invertible A: solving A x_{i+1} = x_i gives x_{i+1} = A^-1 x_i = adj(A) x_i / det(A)",
                  symbolic=certify_power_iteration,
                  note="Unnormalised: the directions are those of the power iteration, the lengths A^-i x0 are not "
                       "controlled (alg1.termination)."))


def _reciprocal_witness() -> tuple[bool, dict]:
    """A = diag(4, 9): the eigenvalues of A^-1 are 1/4 and 1/9, the largest 1/4; the smallest eigenvalue of A is 4."""
    A = sp.diag(4, 9)
    top_inv = max(A.inv().eigenvals(multiple=True))
    lam = min(A.eigenvals(multiple=True))
    return top_inv == lam, {"A": [[4, 0], [0, 9]], "lhs": str(top_inv), "rhs": str(lam), "relation": "=",
                            "lhs_is": "lambda_max(A^-1)", "rhs_is": "lambda_min(A)", "exact": True}


def lemma_reciprocal(z3):
    """For p = 1..6 eigenvalues lambda_m > 0 of A with lambda_0 the smallest, the eigenvalues mu_m = 1/lambda_m of
    A^-1 (same eigenvectors) have their largest at m = 0: lambda_max(A^-1) = 1/lambda_min(A)."""
    hyps, concl = [], []
    for p in range(1, 7):
        lam = z3.Reals(" ".join(f"l{p}_{m}" for m in range(p)))
        mu = z3.Reals(" ".join(f"mu{p}_{m}" for m in range(p)))
        hyps += [x > 0 for x in lam] + [lam[0] <= x for x in lam] + [a * b == 1 for a, b in zip(lam, mu)]
        concl += [mu[0] >= x for x in mu] + [mu[0] * lam[0] == 1]
    return hyps, z3.And(concl)


RECIPROCAL = claim(
    "alg1.reciprocal", "the result will be an approximation to the largest eigenvalue of A^-1, which is the "
    "smallest eigenvalue of A", origin="sentence", registry=CLAIMS, expected="fails", uses=("alg1.power_iteration",),
    decide=Witnessed(_reciprocal_witness, "one exact case: A = diag(4, 9)"),
    correction=Correction("lambda_max(A^-1) = 1 / lambda_min(A), with the same eigenvector",
                          Proved("p <= 6 eigenvalues (z3); A v = lambda v gives A^-1 v = v / lambda",
                                 lemma=lemma_reciprocal), "proved", kind="restatement"),
    reading="'which' read as referring to the largest eigenvalue of A^-1 (the reading that the sentence's equality "
            "holds is the reciprocal)")


def certify_random_start() -> dict:
    """The power iteration of A^-1 in the eigenbasis of A (symmetric positive definite, lambda_1 < lambda_2 <= ...):
    x_i = sum_j c_j lambda_j^-i v_j, so the tangent of the angle between x_i and v_1 is at most
    (lambda_1/lambda_2)^i |x0 - c_1 v_1| / |c_1|, which tends to 0 (sympy: the limit of (r/(1 + r))^i is 0 for
    r = lambda_1/(lambda_2 - lambda_1) > 0) whenever c_1 = v_1^T x0 != 0; for x0 drawn with a density that holds with probability 1 (the
    hyperplane v_1^T x0 = 0 has measure 0). Exactly: from x0 = (0, 1), orthogonal to v_1 for A = diag(4, 9), every
    iterate stays on e_2 and its Rayleigh quotient is 9, never 4."""
    r, i = sp.Symbol("r", positive=True), sp.Symbol("i", integer=True, positive=True)
    limit = sp.limit((r / (1 + r)) ** i, i, sp.oo)
    A = sp.diag(4, 9)
    x, _, _ = algorithm1_exact(A, sp.Rational(1, 10 ** 6), [0, 1])
    orthogonal_rq = rayleigh_quotient(A, x)
    return {"ok": limit == 0 and orthogonal_rq == 9, "limit": str(limit),
            "orthogonal_start_rayleigh_quotient": str(orthogonal_rq),
            "form": "tan angle(x_i, v_1) <= (lambda_1/lambda_2)^i tan angle(x0, v_1) -> 0 for v_1^T x0 != 0"}


RANDOM_START = claim(
    "alg1.random_start", "initialize x0 randomly (so that the iteration reaches the eigenvector of the minimum "
    "eigenvalue)", origin="sentence", registry=CLAIMS, expected="proved", uses=("alg1.power_iteration",),
    decide=Proved("exact arithmetic; A symmetric positive definite with a simple smallest eigenvalue; x0 with a "
                  "density (probability 1)", symbolic=certify_random_start))


__all__ = ["ALG1_DOMAIN", "Algorithm1Run", "CLAIMS", "Constructed", "SingularPair", "algorithm1_as_printed",
           "algorithm1_exact", "bidiagonalize", "constructed", "count_below", "min_singular_pair",
           "min_singular_value", "min_singular_value_exact", "printed_loop", "rayleigh_quotient"]
