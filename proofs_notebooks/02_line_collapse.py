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
# # 02 · Line collapse (Prop. 2), step by step
#
# **In plain words.** The natural fix for shrinking codes (notebook 01) is to standardise them: every coordinate of
# a code gets mean 0 and variance 1 over the batch (batch normalisation without a learned scale), so a code can
# no longer be made tiny. Prop. 2 of the supplement (Gala et al., NeurIPS 2019) says this is not enough: the
# optimizer can instead make all coordinates of a code copies of one another. The codes then lie on a line, and the
# arms only have to agree on one number instead of p. This notebook follows the proof's construction step by step,
# compares its bounds with the truth, and watches an optimizer find the line.
#
# **Claim (supplement, Prop. 2).** For a *k-CBNAE* — a k-CAE whose codes are batch-standardised
# (every arm: mean $\mu_i = 0$, $\operatorname{diag}(V_i) = 1$, variance with $1/(|S|-1)$) — with the squared
# Euclidean coupling and a matrix $W = \sum_{i<j}\sum_s (z_{si}-z_{sj})(z_{si}-z_{sj})^T$ whose diagonal is not
# constant, a minimiser puts all coordinates of every code on one line: $|z_{si}(m) - z_{si}(\bar m)| < \varepsilon$.
#
# **Proof idea.** Standardisation forbids shrinking (Prop. 1), but it does not forbid *mixing coordinates*.
# Pick the coordinate $n$ on which the arms already agree best ($W(n,n)$ minimal), and replace every code by
# $\hat z_{si} = M_i z_{si}$ with $M_i = D_i(\mathbf 1 b^T + \beta I)$, $b = e_n$ (Eq. 9): each new coordinate is
# mostly a copy of coordinate $n$, rescaled by the diagonal $D_i$ (Eq. 10) so that the codes stay standardised.
# For small $\beta$ the new coupling is smaller (Eq. 39) and all coordinates are nearly equal (Eq. 42). The decoders
# absorb $M_i^{-1}$ (Remark), so reconstruction is unchanged.
#
# Everything below calls `cae_theory` (numpy, float64) and `cae_core` (PyTorch); nothing is re-implemented here.

# %%
# %matplotlib inline
# %config InlineBackend.figure_format = "retina"
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from cae_theory.batchnorm_construction import batchnorm_construction
from cae_theory.coordinate_gap import eq42_bound, max_gap_hat
from cae_theory.coupling_bound import coupling_hat, eq36_bound, eq39_beta_limit, q_roots
from cae_theory.gamma2_bound import f_printed
from cae_theory.prop2_cases import max_coordinate_gap
from cae_theory.statistics import latent_covariance, latent_mean, squared_euclidean_coupling, standardize
from cae_theory.validation import require_kcbnae
from cae_experiments.plotting import STYLE

np.set_printoptions(precision=4, suppress=True)
plt.rcParams.update(STYLE)      # the figure style of cae_experiments: large type for a projector
t_start = time.perf_counter()

# %% [markdown]
# ## 1. A small k-CBNAE
# Two arms, six samples, three latent coordinates. `standardize` makes each arm's coordinates zero-mean with unit
# variance (the k-CBNAE constraint); `require_kcbnae` raises if that is not so.

# %%
rng = np.random.default_rng(3)
k, S, p = 2, 6, 3
shared = rng.normal(size=(1, S, p))
Z = standardize(shared + np.array([0.3, 1.0, 2.0]) * rng.normal(size=(k, S, p)))   # arms agree best in coord. 0
require_kcbnae(Z)
print("Z (arm, sample, coordinate):\n", Z)
print("mu_i:", latent_mean(Z))
print("diag V_i:", np.array([np.diag(V) for V in latent_covariance(Z)]))

# %% [markdown]
# ## 2. W, n, b, gamma, D_i, M_i (Eqs. 5-10)
# **Predict, then run:** the arms were built to agree best in coordinate 0 (smallest noise). Which coordinate
# will the construction copy into the others ($n$), and will the coupling after $M_i$ be larger or smaller?
#
# `batchnorm_construction(Z, beta)` builds every object of the proof. $C_c = \operatorname{tr} W$ is Eq. 5;
# $\gamma = p\,W(n,n)/\operatorname{tr}W < 1$ is the ratio Eq. 21 needs (the printed sentence about $\gamma$ is
# examined in notebook 03).

# %%
beta = 0.2
bc = batchnorm_construction(Z, beta)
print("W =\n", bc.W)
print("diag W =", np.diag(bc.W), "-> n =", bc.n, ", b =", bc.b)
print(f"C_c = tr W = {bc.coupling:.6g};  squared_euclidean_coupling(Z) = {squared_euclidean_coupling(Z):.6g}")
print(f"gamma = p W(n,n) / tr W = {bc.gamma:.6g}")
for i in range(k):
    print(f"D_{i} diag =", np.diag(bc.D[i]), f"  (bounds of Eq. 10: [{1/(1+beta):.4f}, {1/(1-beta):.4f}])")
    print(f"M_{i} =\n", bc.M[i])

# %% [markdown]
# ## 3. After $M_i$: still a k-CBNAE (Eqs. 13-15)
# The new codes have mean 0 (Eq. 13) and unit variance in every coordinate (Eq. 15); `require_kcbnae` checks
# both to 1e-8 (float64 rounding is ~1e-15).

# %%
require_kcbnae(bc.Z_hat)
print("mean of z_hat per arm:", latent_mean(bc.Z_hat))
print("diag of V_hat per arm:", np.array([np.diag(V) for V in latent_covariance(bc.Z_hat)]))
print("max |mean|:", np.abs(latent_mean(bc.Z_hat)).max(),
      " max |var - 1|:", np.abs(np.array([np.diag(V) for V in latent_covariance(bc.Z_hat)]) - 1).max())
print(f"coupling before {bc.coupling:.6g}  after {coupling_hat(bc):.6g}")
print(f"max coordinate gap before {max_coordinate_gap(Z):.4g}  after {max_gap_hat(bc):.4g}")

# %% [markdown]
# ## 4. The proof's bound versus the true coupling, as functions of $\beta$
# The proof bounds the new coupling by Eq. 36, $[(\gamma+3\beta)C + f\beta + 4\beta\sqrt{fC}]/(1-\beta)^2$ with
# $f = 8p^3(|S|-1)$, and concludes $\hat C < C$ only for $\beta < \min(1/2, r_1/2)$, $r_1$ the smaller root of the
# quadratic $Q$ (Eqs. 38-39). The true coupling of $M_i z$ (Eq. 32, computed directly) is plotted alongside,
# with the gap bound of Eq. 42.

# %%
betas = np.geomspace(1e-4, 0.95, 60)
C = bc.coupling
f = f_printed(p, S)
true_c, bound_c, gap, gap_bound = [], [], [], []
for bt in betas:
    c_b = batchnorm_construction(Z, float(bt))
    true_c.append(coupling_hat(c_b))
    bound_c.append(eq36_bound(C, c_b.gamma, float(bt), f))
    gap.append(max_gap_hat(c_b))
    gap_bound.append(eq42_bound(c_b, "2").max())
true_c, bound_c = np.array(true_c), np.array(bound_c)
r1, r2 = q_roots(C, bc.gamma, f)
beta_proof = eq39_beta_limit(C, bc.gamma, f)
decrease = betas[true_c < C]
print(f"f = {f:.6g};  roots of Q: r1 = {r1:.4g}, r2 = {r2:.4g};  proof guarantees a decrease for beta < {beta_proof:.4g}")
print(f"true coupling is below C for beta in [{decrease.min():.3g}, {decrease.max():.3g}] of the grid "
      f"({len(decrease)}/{len(betas)} grid points)")
print(f"largest beta where Eq. 36's bound is below C: "
      f"{betas[bound_c < C].max() if np.any(bound_c < C) else float('nan'):.4g}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
ax = axes[0]
ax.loglog(betas, true_c, label=r"true $\hat C_c$ (Eq. 32)")
ax.loglog(betas, bound_c, "--", label="proof's bound (Eq. 36)")
ax.axhline(C, color="k", lw=0.8, label=r"$C_c$ before")
ax.axvline(beta_proof, color="r", lw=0.8, ls=":", label=r"$\min(1/2, r_1/2)$ (Eq. 39)")
ax.set_xlabel(r"$\beta$"); ax.set_ylabel("coupling"); ax.legend(fontsize=8); ax.set_title("coupling after $M_i$")
ax = axes[1]
ax.loglog(betas, gap, label=r"max gap $|\hat z(m)-\hat z(\bar m)|$")
ax.loglog(betas, gap_bound, "--", label=r"Eq. 42 bound $4\beta\|z\|/(1-\beta)$")
ax.set_xlabel(r"$\beta$"); ax.legend(fontsize=8); ax.set_title("coordinate gap after $M_i$")
fig.tight_layout()
plt.show()

# %% [markdown]
# The proof's bound is loose by orders of magnitude (its constant $f$ grows like $p^3|S|$), so the $\beta$ it
# certifies is tiny, while the true coupling drops for every $\beta$ on the grid that the print above reports.
# The conclusion is the same: mixing towards coordinate $n$ lowers the coupling and the gap together.
#
# ## 5. An optimizer finds the line
# Two linear arms (32 → p = 3 → 32) with cae_core's batch standardisation (no learned scale or shift), the mse
# coupling, $\lambda = 10$, Adam, float64, on `synthetic_multimodal` data (a 2-D shared latent). We stop and
# resume `fit` from its checkpoint to look at the whole data set at a few steps.
#
# **Predict, then run:** the data have a 2-D shared latent and the codes have p = 3 coordinates. After 200 steps,
# how many directions will the codes of each arm still spread over?

# %%
import tempfile

from cae_core import CoupledAutoencoder, linear_arm
from cae_core.data import synthetic_multimodal
from cae_core.train import fit
from cae_experiments.cca import top_canonical_correlation
from cae_experiments.line_collapse import whole_data_state

data = synthetic_multimodal(n=600, k=2, latent_dim=2, dims=(32, 32), noise=0.5, seed=0)
X = data.modalities
rho1 = top_canonical_correlation(*X)
torch.manual_seed(0)
model = CoupledAutoencoder([linear_arm(32, 3), linear_arm(32, 3)], latent_norm="batchnorm", coupling="mse",
                           lam=10.0)
model.to(torch.float64)
checkpoints = [0, 10, 25, 50, 100, 200]
states, history = [], {}
t0 = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    for t in checkpoints:
        if t > 0:
            history = fit(model, data, steps=t, batch_size=100, lr=1e-2, seed=0, dtype=torch.float64,
                          log_every=5, progress=False, checkpoint_dir=tmp, checkpoint_every=1000, resume=True)
        # whole_data_state standardises the codes over all rows, so the eval-mode codes (standardised with the
        # running statistics, an affine map per coordinate) give the same state as the raw codes
        states.append({"step": t, **whole_data_state(model.encode(data), rho1)})
print(f"training: {time.perf_counter() - t0:.1f} s;  top canonical correlation rho_1 = {rho1:.4f}")
for s in states:
    print(f"step {s['step']:4d}: whole-data coupling {s['coupling']:.4f}  floor {s['floor']:.4f}  "
          f"max|corr| {s['max_abs_corr']:.4f}  lambda_min(V) {s['lambda_min']:.2e}")

# %% [markdown]
# `max|corr|` is the largest off-diagonal entry of each arm's code covariance (= correlation matrix, since the
# codes are standardised): it tends to 1 and the smallest eigenvalue $\lambda_{\min}(V)$ to 0 as the
# coordinates collapse onto a line.
#
# ## 6. The linear case against its canonical-correlation floor
# With linear arms and unit-variance coordinates,
# $\sum_s\|z_{s1}-z_{s2}\|^2 = (|S|-1)\sum_m (2 - 2\,\mathrm{corr}_m) \ge (|S|-1)\,p\,(2-2\rho_1)$
# (`cae_experiments.cca.coupling_floor`): with linear arms every coordinate is a linear projection of each input,
# and no pair of standardised projections correlates more than the top canonical correlation $\rho_1$ of the
# inputs (Hotelling's canonical correlation analysis), so every coordinate can at best be the top canonical
# variate, and reaching the floor *is* the collapse. The floor is exact for the rows it is computed on,
# so the whole-data coupling (codes standardised over all rows) is compared with the whole-data floor.

# %%
final = states[-1]
print(f"final whole-data coupling {final['coupling']:.5f}, floor (N-1)/N p (2 - 2 rho_1) = {final['floor']:.5f}, "
      f"relative excess {(final['coupling'] - final['floor']) / final['floor']:.3%}")
assert all(s["coupling"] >= s["floor"] * (1 - 1e-9) for s in states), "a coupling went below its exact floor"

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
steps_h = np.array(history["step"])
axes[0].semilogy(steps_h, history["coupling"], lw=0.8, label="batch coupling (history)")
axes[0].plot([s["step"] for s in states], [s["coupling"] for s in states], "o-", label="whole-data coupling")
axes[0].axhline(final["floor"], color="r", ls="--", label="CCA floor (whole data)")
axes[0].set_xlabel("step"); axes[0].legend(fontsize=8); axes[0].set_title("coupling vs floor")
axes[1].plot(steps_h, history["max_abs_corr_0"], label="arm 0"); axes[1].plot(steps_h, history["max_abs_corr_1"], label="arm 1")
axes[1].set_xlabel("step"); axes[1].set_title("max |corr| between coordinates (batch)"); axes[1].legend(fontsize=8)
Zw = standardize(np.stack(model.encode(data)))
axes[2].scatter(Zw[0, :, 0], Zw[0, :, 1], s=4, c=data.labels, cmap="tab10")
axes[2].set_title("arm 0 codes, coordinates 0 vs 1 (end)"); axes[2].set_aspect("equal")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 7. Exercises (solutions below each; try first)
#
# **Exercise 1.** The collapse line need not be the diagonal $z(1) = z(2) = z(3)$ that Prop. 2 describes: the
# coupling does not change if a coordinate flips its sign in every arm. Which signs did the trained codes take?
# Look at the signs of the correlations between coordinates at the end.

# %%
# Solution: the correlation matrix of arm 0's codes, printed below. An entry near +1 means the two coordinates lie
# on the line with the same sign, near -1 with opposite signs; the coupling cannot tell the two apart (the ledger's
# prop2.sign_symmetry: Eq. 1 is invariant under z(m) -> -z(m) in every arm). Which one a run finds depends on the
# start: the full-size `cae experiment line-collapse` run (docs/figures) ended on a line with mixed signs.
print(np.round(latent_covariance(Zw)[0], 3))

# %% [markdown]
# **Exercise 2.** Apply the construction of section 2 five times in a row (β = 0.2), each time to the codes it
# produced. What happens to the coupling and the coordinate gap? Predict before running.

# %%
# Solution: each step keeps a k-CBNAE (Eqs. 13-15) and lowers the coupling; the gap shrinks geometrically towards 0:
# repeated mixing towards coordinate n drives the codes onto the line of Prop. 2.
Zi = Z
for i in range(5):
    Zi = batchnorm_construction(Zi, 0.2).Z_hat
    print(f"after {i + 1}: coupling {squared_euclidean_coupling(Zi):.4g}, max coordinate gap {max_coordinate_gap(Zi):.3g}")
print(f"notebook run time: {time.perf_counter() - t_start:.1f} s")
