# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · The minimum singular value: Algorithm 1 as printed, repaired, and SVD
#
# **In plain words.** The paper's fix C_MSV divides the distance between codes by the smallest spread of the
# codes in any direction, so that squeezing them onto a line stops paying. That smallest spread is the smallest
# singular value of the batch of codes. The supplement gives an iteration to compute it (Algorithm 1); run as
# printed, it does not return what it should. This notebook shows why, and checks the repaired iteration and the
# library's differentiable versions against a standard SVD.
#
# C_MSV divides the coupling by $\sigma_{\min}$ of the centred batch. The supplement computes it with
# **Algorithm 1**: solve $A x_{i+1} = x_i$ with $A = B^TB$ until $|x_{i+1} - x_i| \le \varepsilon$, return
# $x_{i+1}$. Read literally it never normalises and returns a vector, not an eigenvalue.
# `cae_theory.min_singular_value` has the literal transcription (`algorithm1_as_printed`, plus an iteration cap),
# the repaired routine (`min_singular_pair`: normalised inverse iteration, then Rayleigh-quotient iteration,
# a residual-based stop and a certificate of minimality) and the reference (`min_singular_value_exact`, scipy's
# `svdvals`). `cae_core.spectral` has the differentiable versions used in training.

# %%
# %matplotlib inline
# %config InlineBackend.figure_format = "retina"
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg
import torch

from cae_theory.min_singular_value import (algorithm1_as_printed, min_singular_pair, min_singular_value,
                                           min_singular_value_exact)
from cae_experiments.plotting import STYLE

plt.rcParams.update(STYLE)      # the figure style of cae_experiments: large type for a projector
t_start = time.perf_counter()


def matrix_with_singular_values(s, n_rows, seed):
    """B = U diag(s) V^T with random orthonormal U (n_rows, m), V (m, m): a test matrix of known spectrum."""
    rng = np.random.default_rng(seed)
    m = len(s)
    U, _ = np.linalg.qr(rng.normal(size=(n_rows, m)))
    V, _ = np.linalg.qr(rng.normal(size=(m, m)))
    return U @ np.diag(s) @ V.T


# %% [markdown]
# ## 1. Algorithm 1 as printed
# Two matrices with the same singular vectors: one with $\sigma_{\min} > 1$, one with $\sigma_{\min} < 1$. We run
# the printed loop with an increasing cap on the iterations and record the length of the returned vector and, as
# the most charitable reading, its Rayleigh quotient $x^TAx/x^Tx$ compared with $\lambda_{\min}(A)$.
#
# **Predict, then run:** each step solves $Ax_{i+1} = x_i$, i.e. multiplies by $A^{-1}$. What happens to the length
# of $x_i$ when all eigenvalues of $A$ are above 1? Below 1?

# %%
m = 6
cases = {"sigma_min = 2": np.array([9, 7, 5, 4, 3, 2.0]), "sigma_min = 0.3": np.array([3, 2, 1.5, 1, 0.6, 0.3])}
x0 = np.random.default_rng(1).normal(size=m)
trace = {}
for name, s in cases.items():
    B = matrix_with_singular_values(s, 20, seed=0)
    A = B.T @ B
    lam_min = s.min() ** 2
    norms, rq_err, stops = [], [], []
    for cap in range(1, 60):
        run = algorithm1_as_printed(A, 1e-8, x0, max_iter=cap)
        x = run.x
        with np.errstate(all="ignore"):
            norms.append(np.linalg.norm(x))
            rq = float(x @ A @ x / (x @ x))
        rq_err.append(abs(rq - lam_min) / lam_min)
        stops.append(run.stopped)
    final = algorithm1_as_printed(A, 1e-8, x0, max_iter=10_000)
    trace[name] = (np.array(norms), np.array(rq_err))
    with np.errstate(all="ignore"):
        length = np.linalg.norm(final.x)
    print(f"{name}: printed loop stops after {final.solves} solves ({final.stopped}); "
          f"returns a vector of length {length:.3g} (lambda_min(A) = {lam_min:.4g})")

# %% [markdown]
# With $\sigma_{\min} > 1$ the iterates shrink like $\lambda_{\min}^{-i}$ and the stopping test fires because the
# vector is small, not because it has converged; with $\sigma_{\min} < 1$ they grow until they overflow, and the
# comparison `NaN > eps` is false, which ends the loop with a non-finite vector. The direction does converge
# (the Rayleigh quotient error falls) — which is what the repair keeps.
#
# ## 2. The repaired iteration versus SVD: accuracy and convergence
# Random matrices with a controlled ratio $\sigma_{\min}/\sigma_2$ (the convergence rate of plain inverse
# iteration is its square) and condition numbers up to $10^{8}$.

# %%
ratios = [0.1, 0.5, 0.9, 0.99, 0.999]
conds = [1e2, 1e4, 1e8]
rows = []
for cond in conds:
    for ratio in ratios:
        s = np.geomspace(1.0, 1.0 / cond * 10, 7)
        s = np.append(s, s[-1] * ratio)                                  # sigma_min = ratio * sigma_2
        B = matrix_with_singular_values(s, 40, seed=int(ratio * 1000) + int(np.log10(cond)))
        pair = min_singular_pair(B)
        exact = min_singular_value_exact(B)
        assert abs(pair.sigma - exact) <= 1e-10 * exact + 1e-12 * np.linalg.norm(B), (cond, ratio)
        rows.append((cond, ratio, pair.iterations, abs(pair.sigma - exact) / exact, pair.converged,
                     pair.certified_minimal))
print("cond      sigma_min/sigma_2  iterations  rel.error vs svdvals  converged  certified")
for cond, ratio, it, err, conv, cert in rows:
    print(f"{cond:8.0e}  {ratio:17.3f}  {it:10d}  {err:20.2e}  {str(conv):9s}  {cert}")
worst = max(r[3] for r in rows)
print(f"worst relative error: {worst:.2e}")
# The accuracy the ledger establishes for the repaired routine (alg1 correction): |sigma - svdvals| <=
# 1e-10 sigma_min + 1e-12 ||B||_F, and every run must converge with a certificate of minimality.
assert all(conv and cert for *_, conv, cert in rows)

# %% [markdown]
# ## 3. Speed
# Wall-clock time per call (best of 3) for a tall batch matrix $B$ of size $(4p, p)$, the shape of a C_MSV
# denominator. These are timings of one run on a shared machine, quoted for orientation only.

# %%
import timeit

sizes = [4, 16, 32]
speed = {"svdvals (scipy)": [], "repaired iteration": [], "eigvalsh(B^T B) (numpy)": []}
for p in sizes:
    B = np.random.default_rng(p).normal(size=(4 * p, p))
    for name, fn in (("svdvals (scipy)", lambda: scipy.linalg.svdvals(B).min()),
                     ("repaired iteration", lambda: min_singular_value(B)),
                     ("eigvalsh(B^T B) (numpy)", lambda: np.sqrt(np.linalg.eigvalsh(B.T @ B)[0]))):
        speed[name].append(min(timeit.repeat(fn, number=1, repeat=3)))
for name, ts in speed.items():
    print(f"{name:26s}", "  ".join(f"p={p}: {t * 1e3:.3f} ms" for p, t in zip(sizes, ts)))

# %% [markdown]
# ## 4. Gradients
# Training needs $\partial\lambda_{\min}(V)/\partial V = v v^T$ for a simple smallest eigenvalue.
# `cae_core.spectral.lambda_min` offers `eigvalsh` (torch) and `inverse_iteration` (the repaired Algorithm 1 with
# that analytic backward). `torch.autograd.gradcheck` compares each with finite differences in float64, and the
# two gradients are compared with each other.

# %%
from cae_core.spectral import batch_lambda_min, lambda_min

rng = np.random.default_rng(0)
Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
V = torch.tensor(Q @ np.diag([5.0, 3.0, 2.0, 1.0, 0.2]) @ Q.T, dtype=torch.float64, requires_grad=True)


def sym(fn):
    return lambda M: fn((M + M.T) / 2)   # gradcheck perturbs entries one at a time; keep the input symmetric


for method in ("eigvalsh", "inverse_iteration"):
    ok = torch.autograd.gradcheck(sym(lambda M: lambda_min(M, method=method)), (V,), eps=1e-6, atol=1e-7)
    print(f"gradcheck lambda_min(method={method!r}): {ok}")
g_eig = torch.autograd.grad(lambda_min(V, "eigvalsh"), V)[0]
g_inv = torch.autograd.grad(lambda_min(V, "inverse_iteration"), V)[0]
v = torch.tensor(Q[:, -1])
print(f"max |grad(eigvalsh) - grad(inverse_iteration)| = {float((g_eig - g_inv).abs().max()):.2e}; "
      f"max |grad - v v^T| = {float((g_inv - torch.outer(v, v)).abs().max()):.2e}")
z = torch.tensor(rng.normal(size=(30, 4)), dtype=torch.float64, requires_grad=True)
print("gradcheck batch_lambda_min (svdvals of the centred batch):",
      torch.autograd.gradcheck(batch_lambda_min, (z,), eps=1e-6, atol=1e-7))

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for name, (norms, rq_err) in trace.items():
    axes[0].semilogy(np.arange(1, len(norms) + 1), norms, label=name)
    axes[1].semilogy(np.arange(1, len(rq_err) + 1), np.maximum(rq_err, 1e-17), label=name)
axes[0].set_title("Alg. 1 as printed: ||x_i||"); axes[0].set_xlabel("iteration cap"); axes[0].legend(fontsize=8)
axes[1].set_title("Rayleigh quotient rel. error of x_i"); axes[1].set_xlabel("iteration cap"); axes[1].legend(fontsize=8)
for name, ts in speed.items():
    axes[2].loglog(sizes, np.array(ts) * 1e3, "o-", label=name)
axes[2].set_xlabel("p (B is 4p x p)"); axes[2].set_ylabel("ms per call"); axes[2].set_title("speed (one run)")
axes[2].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Exercises (solutions below each; try first)
#
# **Exercise 1.** Algorithm 1 stops when $|x_{i+1} - x_i| \le \varepsilon$. Multiply $A$ by 1000: does the number of
# printed-loop steps change? Should it, for a method that computes an eigenvalue?

# %%
# Solution: the iterates scale with A^-i, so the stopping test depends on the scale of A; a scale-free method's
# step count would not change (the eigenvalue just scales by 1000).
A = matrix_with_singular_values(cases["sigma_min = 2"], 20, seed=0)
A = A.T @ A
for scale in (1.0, 1000.0):
    print(f"A x {scale:g}: printed loop stops after {algorithm1_as_printed(scale * A, 1e-8, x0).solves} solves")

# %% [markdown]
# **Exercise 2.** For a wide matrix (more columns than rows), what is the smallest eigenvalue of $B^TB$, and why does
# $\sigma_{\min}(B) = \sqrt{\lambda_{\min}(B^TB)}$ then mislead?

# %%
# Solution: B^T B (m x m) has rank <= n < m, so its smallest eigenvalue is 0 (up to rounding), while B's n singular
# values can all be large: sigma(B) = sqrt(eig(B^T B)) needs B to be tall (the ledger's alg1.gram).
Bw = np.random.default_rng(3).normal(size=(3, 5))
print("singular values of B:", np.round(np.linalg.svd(Bw, compute_uv=False), 4))
print("eigenvalues of B^T B:", np.round(np.linalg.eigvalsh(Bw.T @ Bw), 10))
print(f"notebook run time: {time.perf_counter() - t_start:.1f} s")
