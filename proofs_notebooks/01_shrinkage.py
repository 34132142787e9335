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
# # 01 · Shrinkage (Prop. 1)
#
# **In plain words.** A coupled autoencoder compresses each of several paired measurements (say, the genes and
# the electrical activity of the same cell) into a short code, rebuilds the measurement from its code, and is
# rewarded when the codes of the same cell agree. Prop. 1 of the supplement (Gala et al., NeurIPS 2019) says that
# with a plain distance as the reward the best "agreement" is bought by making every code tiny: shrink all codes
# towards 0, let the decoders blow them back up, and the measurements are rebuilt as well as before while the
# distances between codes vanish. This notebook checks the argument by computation and shows an optimizer doing
# it. (Notebook 00 shows it in pictures in a minute.)
#
# **The k-CAE loss (Eq. 1).** $k$ autoencoders $(E_i, D_i)$ see paired inputs $x_{si}$, $s \in S$, and are trained on
# $$C_\Phi(X) = \sum_s\sum_i r_i\big(x_{si} - D_i(E_i(x_{si}))\big) + \lambda \sum_s\sum_{i<j} c\big(E_i(x_{si}) - E_j(x_{sj})\big).$$
#
# **Claim (Prop. 1).** With a coupling $C_{\text{coupling}} > 0$ the codes of a minimiser are smaller than every
# $\varepsilon$, in any norm.
#
# **Proof idea (Eqs. 3-4).** Replace $E_i$ by $\beta E_i$ and $D_i$ by $D_i/\beta$: the reconstruction does not
# change (the Remark with $T = \beta I$), while a convex $c$ with $c(0) = 0$ satisfies $c(\beta x) \le \beta c(x)$,
# so the coupling drops. Nothing stops the codes from shrinking; the loss has no minimiser with non-zero codes.
# (The conditions this needs — $\lambda > 0$, $c(0) = 0$, convexity — are examined in notebook 03.)

# %%
# %matplotlib inline
# %config InlineBackend.figure_format = "retina"
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from cae_theory.kcae import coupling_loss, encode, kcae_loss, recon_loss
from cae_theory.shrink_construction import lp_norm, max_code_norm, shrink, shrink_beta
from cae_experiments.plotting import STYLE

np.set_printoptions(precision=4, suppress=True)
plt.rcParams.update(STYLE)      # the figure style of cae_experiments: large type for a projector
t_start = time.perf_counter()

# %% [markdown]
# ## 1. A concrete linear k-CAE
# Two arms, eight samples in $\mathbb R^4$, codes in $\mathbb R^2$ ($p < p'$ as the Definition requires).
# Encoders and decoders are matrices; $r_i$ and $c$ are the squared Euclidean norm (the defaults of
# `cae_theory.kcae`). The decoders are the pseudo-inverses of the encoders, so part of each input is lost.

# %%
rng = np.random.default_rng(0)
k, S, p_in, p = 2, 8, 4, 2
X = rng.normal(size=(k, S, p_in))
encoders = [rng.normal(size=(p, p_in)) for _ in range(k)]
decoders = [np.linalg.pinv(E) for E in encoders]
lam = 1.0
Z = encode(X, encoders)
print(f"C_recon = {recon_loss(X, encoders, decoders):.6g}")
print(f"C_coupling = {coupling_loss(X, encoders):.6g}")
print(f"C_Phi (lambda = {lam}) = {kcae_loss(X, encoders, decoders, lam):.6g}")
print(f"max_s,i ||z_si||_2 = {max_code_norm(Z):.6g}")

# %% [markdown]
# ## 2. The shrink construction (Eqs. 3-4)
# **Predict, then run:** if every code is multiplied by $\beta = 0.01$ and the decoders by $1/\beta$, by what factor
# does the squared-distance coupling change? And the reconstruction error?
#
# For a target $\varepsilon$, Eq. 4 sets $\beta = \min(1/2, \varepsilon / (2\max_{s,i}\|z_{si}\|))$, and
# `shrink` builds $\hat\Phi$ of Eq. 3. We check the three facts the proof uses, in three different norms.

# %%
eps = 0.1
for name, norm in (("l2", lp_norm(2)), ("l1", lp_norm(1)), ("linf", lp_norm(np.inf))):
    beta = shrink_beta(Z, eps, norm)
    enc_hat, dec_hat = shrink(encoders, decoders, beta)
    Z_hat = encode(X, enc_hat)
    print(f"[{name}] beta = {beta:.4g}: max ||z_hat|| = {max_code_norm(Z_hat, norm):.4g} < eps = {eps}; "
          f"C_recon {recon_loss(X, encoders, decoders):.6g} -> {recon_loss(X, enc_hat, dec_hat):.6g}; "
          f"C_coupling {coupling_loss(X, encoders):.6g} -> {coupling_loss(X, enc_hat):.6g} "
          f"(beta^2 C = {beta**2 * coupling_loss(X, encoders):.6g})")
    # The proof's three facts, asserted. Tolerance 1e-9 relative: float64 sums of 8 squared residuals carry
    # rounding errors near 1e-15, so anything above 1e-9 would be a real change, not rounding.
    assert max_code_norm(Z_hat, norm) < eps
    assert np.isclose(recon_loss(X, enc_hat, dec_hat), recon_loss(X, encoders, decoders), rtol=1e-9, atol=0)
    assert np.isclose(coupling_loss(X, enc_hat), beta ** 2 * coupling_loss(X, encoders), rtol=1e-9, atol=0)

# %% [markdown]
# For the squared norm the coupling scales exactly by $\beta^2$; the reconstruction is unchanged up to
# rounding. So the loss decreases monotonically as $\beta \to 0$:

# %%
betas = np.linspace(0.02, 1.0, 50)
recon_b, coupling_b = [], []
for bt in betas[:-1]:
    e_b, d_b = shrink(encoders, decoders, float(bt))
    recon_b.append(recon_loss(X, e_b, d_b))
    coupling_b.append(coupling_loss(X, e_b))
recon_b.append(recon_loss(X, encoders, decoders))          # beta = 1: the original k-CAE
coupling_b.append(coupling_loss(X, encoders))
recon_b, coupling_b = np.array(recon_b), np.array(coupling_b)
print(f"spread of C_recon over the beta grid: {recon_b.max() - recon_b.min():.2e} (relative to {recon_b[0]:.4g})")

# %% [markdown]
# ## 3. An optimizer does the same
# Two linear arms (20 → p = 3 → 20) in cae_core, **no** latent normalisation, mse coupling, Adam, on
# `synthetic_multimodal` data. The same initial weights and batches are trained with $\lambda = 0$ (control) and
# $\lambda = 100$ (a large $\lambda$ makes the slow drift visible in a few hundred steps: once the arms agree, the
# pull towards smaller codes is proportional to the coupling that is left); the history logs, per batch, the largest code norm (`max_code_norm`) and the reconstruction error.
#
# **Predict, then run:** will the coupled run's codes end smaller than where they started, or only smaller than
# the control's? Will its decoder weights be larger or smaller than the control's?

# %%
from cae_core import CoupledAutoencoder, linear_arm
from cae_core.data import synthetic_multimodal
from cae_core.train import fit

data = synthetic_multimodal(n=400, k=2, latent_dim=2, dims=(20, 20), noise=0.1, seed=0)
runs = {}
t0 = time.perf_counter()
for lam_run in (0.0, 100.0):
    torch.manual_seed(0)                       # the same initial weights for both runs
    model = CoupledAutoencoder([linear_arm(20, 3), linear_arm(20, 3)], latent_norm="none", coupling="mse",
                               lam=lam_run)
    hist = fit(model, data, steps=250, batch_size=100, lr=3e-2, seed=0, log_every=5, progress=False)
    recon_all = float(sum(np.mean((x - r) ** 2) for x, r in zip(data.modalities, model.reconstruct(data))))
    decoder_norm = float(sum(torch.linalg.matrix_norm(arm.decoder.weight.detach()) for arm in model.arms))
    runs[lam_run] = (hist, recon_all, decoder_norm)
print(f"training: {time.perf_counter() - t0:.1f} s")
for lam_run, (hist, recon_all, decoder_norm) in runs.items():
    norm = np.maximum(hist["max_code_norm_0"], hist["max_code_norm_1"])
    print(f"lambda = {lam_run:g}: max code norm {norm[0]:.3g} -> {norm[-1]:.3g} (ratio {norm[-1] / norm[0]:.3g}); "
          f"coupling {hist['coupling'][0]:.3g} -> {hist['coupling'][-1]:.3g}; "
          f"whole-data reconstruction error {recon_all:.4g}; decoder weight norms (sum over arms) {decoder_norm:.3g}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
axes[0].plot(betas, recon_b, label=r"$C_{recon}$")
axes[0].plot(betas, coupling_b, label=r"$C_{coupling}$")
axes[0].plot(betas, recon_b + lam * coupling_b, "k--", label=r"$C_\Phi$")
axes[0].set_xlabel(r"$\beta$ (codes $\beta z$)"); axes[0].set_title("shrink construction (Eq. 3)"); axes[0].legend(fontsize=8)
for lam_run, (hist, _, _) in runs.items():
    norm = np.maximum(hist["max_code_norm_0"], hist["max_code_norm_1"])
    axes[1].semilogy(hist["step"], norm, label=rf"$\lambda={lam_run:g}$")
    axes[2].semilogy(hist["step"], np.add(hist["recon_0"], hist["recon_1"]), label=rf"$\lambda={lam_run:g}$")
axes[1].set_title("max code norm (batch)"); axes[1].set_xlabel("step"); axes[1].legend(fontsize=8)
axes[2].set_title("reconstruction error (batch)"); axes[2].set_xlabel("step"); axes[2].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Compare the two printed lines: with $\lambda > 0$ the code norm falls while the reconstruction error stays of the
# same order as the $\lambda = 0$ control (a $\lambda$ this large also trades some reconstruction for agreement
# between the arms), and the decoder weights are larger — the $D_i/\beta$ of Eq. 3 that undoes the shrinking. The drift is slow: once the arms agree, the pull towards smaller codes is proportional to the coupling
# that is left, so the norm decreases without reaching 0 in a finite run (the infimum is not attained). The rank-type diagnostics do
# not see this (a shrunk code has the same effective rank), which is why cae_core also logs the code norm.

# %%
hist1 = runs[100.0][0]
print("effective rank of arm 0, first/last logged batch:", hist1["effective_rank_0"][0], hist1["effective_rank_0"][-1])

# %% [markdown]
# ## 4. Exercises (solutions below each; try first)
#
# **Exercise 1.** The coupling $c(x) = \|x\|_1$ (sum of absolute values) is convex with $c(0) = 0$. By what factor
# does the shrink construction change it? Check on the codes `Z` of section 1.

# %%
# Solution: c(beta x) = beta c(x) for any norm, so the coupling scales by beta (not beta^2): it still drops, only
# more slowly, and Prop. 1 holds for every norm (Eqs. 3-4 use only c(beta x) <= beta c(x)).
beta = 0.1
l1 = lambda Zs: sum(np.abs(Zs[i] - Zs[j]).sum() for i in range(len(Zs)) for j in range(i + 1, len(Zs)))
print(f"l1 coupling: {l1(Z):.6g} -> {l1(beta * Z):.6g}, ratio {l1(beta * Z) / l1(Z):.6g}")

# %% [markdown]
# **Exercise 2.** With $\lambda = 0$ nothing rewards small codes. What does the optimizer do with the code length
# then? Look at the control run's printed line above.

# %%
# Solution: without a coupling the code length is free (any T of the Remark keeps the reconstruction), and Adam
# lets it drift; here it grew. The coupled run's codes ended far below the control's.
norm0 = np.maximum(runs[0.0][0]["max_code_norm_0"], runs[0.0][0]["max_code_norm_1"])
norm1 = np.maximum(runs[100.0][0]["max_code_norm_0"], runs[100.0][0]["max_code_norm_1"])
print(f"control: {norm0[0]:.3g} -> {norm0[-1]:.3g};  lambda = 100: {norm1[0]:.3g} -> {norm1[-1]:.3g}")
assert norm0[-1] > norm0[0] and norm1[-1] < norm0[-1]      # what the solution says
print(f"notebook run time: {time.perf_counter() - t_start:.1f} s")
