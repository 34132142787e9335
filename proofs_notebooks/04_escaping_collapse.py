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
# # 04 · Escaping collapse: C_FC, C_MSV and the later methods
#
# **In plain words.** Notebooks 01 and 02 show that rewarding two codes for being close also rewards useless
# codes: tiny ones, or ones squeezed onto a line. A good coupling must measure closeness *relative to how spread
# out the codes are*, so that shrinking or flattening them gains nothing. The paper proposes two such couplings
# (C_FC and C_MSV), and later self-supervised learning methods found others. Here each one is put to the same
# tests on one batch of codes, without training.
#
# Prop. 1 (shrinking) and Prop. 2 (collapse onto a line) say the squared-Euclidean coupling *rewards* degenerate
# codes. The paper's fixes and the later self-supervised losses each remove the reward by an **invariance** or a
# **penalty**:
#
# | coupling (`cae_core.couplings`) | what it does | why collapse no longer pays |
# |---|---|---|
# | `mse` | mean squared distance | nothing: scales by $\beta^2$ (Prop. 1) |
# | `msv` (C_MSV) | mse / $\min_i\lambda_{\min}(V_i)$ | invariant to a common scale; $\lambda_{\min}\to0$ on a line |
# | `fc` (C_FC) | mse after whitening each arm by $V_i^{-1/2}$ | whitened codes have identity covariance |
# | `fc_code` (C_FC, public code) | Mahalanobis distance under the other arm's covariance + 1e-3 ridge, both ways | $d^T(TVT^T)^{-1}Td = d^TV^{-1}d$: invariant to a common map (without the ridge) |
# | `vicreg` | invariance + variance hinge + covariance penalty | penalises small and correlated coordinates |
# | `barlow_twins` | cross-correlation matrix pushed to $I$ | off-diagonal penalty |
# | `wmse` | Cholesky whitening, then $2-2\cos$ | whitened codes cannot collapse |
# | `dcca` | minus the sum of canonical correlations | whitening inside the canonical correlations |
#
# All numbers below come from calling these couplings on one batch of codes (no training; notebook 06 trains).

# %%
# %matplotlib inline
# %config InlineBackend.figure_format = "retina"
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from cae_core import couplings
from cae_core.spectral import batch_lambda_min
from cae_experiments.plotting import STYLE

plt.rcParams.update(STYLE)      # the figure style of cae_experiments: large type for a projector
t_start = time.perf_counter()
NAMES = ("mse", "msv", "fc", "fc_code", "vicreg", "barlow_twins", "wmse", "dcca")
COUPLINGS = {name: couplings.get(name) for name in NAMES}
COUPLINGS["fc_code ridge=0"] = couplings.get("fc_code", ridge=0.0)   # the public code's form without its ridge
NAMES = tuple(COUPLINGS)

# %% [markdown]
# ## 1. One batch of paired codes
# Two arms' codes $z_1, z_2 \in \mathbb R^{B\times p}$ share a signal and differ by noise (float64, $B = 128$, $p = 3$).

# %%
rng = np.random.default_rng(0)
B, p = 128, 3
signal = rng.normal(size=(B, p)) @ np.diag([2.0, 1.0, 0.5])
z1 = torch.tensor(signal + 0.3 * rng.normal(size=(B, p)))
z2 = torch.tensor(signal + 0.3 * rng.normal(size=(B, p)))
base = {name: float(f(z1, z2)) for name, f in COUPLINGS.items()}
for name, v in base.items():
    print(f"{name:15s} {v: .5f}")

# %% [markdown]
# ## 2. Invariances
# The same couplings on $(\beta z_1, \beta z_2)$ (the shrink of Prop. 1) and on $(z_1T^T, z_2T^T)$ for one common
# invertible $T$. A ratio of 1 means invariant.
#
# **Predict, then run:** which couplings will not change at all when both arms' codes are multiplied by 0.1?

# %%
T = torch.tensor(rng.normal(size=(p, p)) + 2 * np.eye(p))
print(f"{'coupling':15s} {'beta = 0.1':>12s} {'common T':>12s}")
for name, f in COUPLINGS.items():
    scaled = float(f(0.1 * z1, 0.1 * z2))
    mapped = float(f(z1 @ T.T, z2 @ T.T))
    print(f"{name:15s} {scaled / base[name]:12.4g} {mapped / base[name]:12.4g}")

# %% [markdown]
# `mse` drops by $\beta^2$ under shrinking — the reward of Prop. 1. `msv` is scale-invariant but not
# $T$-invariant. `fc` and `wmse` whiten each arm by its *own* covariance: a common $T$ becomes a different rotation
# in each arm ($(TV_iT^T)^{-1/2}TV_i^{1/2}$ for `fc`) unless $V_1 = V_2$, so they are invariant to a common scale
# but only approximately to a common $T$ — compare the printed ratios with 1. `dcca` depends on the data only
# through canonical correlations, which are invariant to invertible maps, up to its ridge; `fc_code` (the public
# code's form) is exactly invariant without its ridge, since $d^T(TVT^T)^{-1}Td = d^TV^{-1}d$. `vicreg` and
# `barlow_twins` are not invariant; their extra terms react to shrinking and correlation instead.
#
# ## 3. Collapse onto a line: reward or penalty?
# Standardise both arms per coordinate (the k-CBNAE constraint) and push every coordinate towards the shared first
# one: $z(m) \leftarrow \sqrt{1-\delta}\,z(0) + \sqrt{\delta}\,z(m)$, re-standardised. $\delta = 1$ is the original
# batch, $\delta \to 0$ the line of Prop. 2. A coupling that *decreases* as $\delta \to 0$ rewards the collapse
# (along this path, for this batch; the verdicts printed below are measured, not assumed). The mixing is the same
# linear map for both arms, so the whitening couplings cannot see it at all. Compare `fc_code` with and without its
# 1e-3 ridge: once the collapsed direction's variance falls below the ridge, the ridge caps $V^{-1}$ there.
#
# **Predict, then run:** mse on standardised codes is the coupling of Prop. 2. Will it fall or rise as the codes
# approach the line?

# %%
from cae_theory.statistics import standardize


def toward_line(z, delta):
    """Mix every coordinate towards coordinate 0, then standardise (k-CBNAE); presentation helper."""
    z = z.numpy()
    mixed = np.sqrt(1 - delta) * z[:, :1] + np.sqrt(delta) * z
    mixed[:, 0] = z[:, 0]
    return mixed


deltas = np.geomspace(1e-4, 1.0, 25)
curves = {name: [] for name in NAMES}
for d in deltas:
    Zs = standardize(np.stack([toward_line(z1, d), toward_line(z2, d)]))
    a, b = torch.tensor(Zs[0]), torch.tensor(Zs[1])
    for name, f in COUPLINGS.items():
        curves[name].append(float(f(a, b)))
for name in NAMES:
    c = np.array(curves[name])
    change = (c[0] - c[-1]) / abs(c[-1])
    trend = ("indifferent (|change| < 1%)" if abs(change) < 0.01 else
             "rewards collapse" if change < 0 else "penalises collapse")
    print(f"{name:15s} delta = 1: {c[-1]: .4g}   delta = 1e-4: {c[0]: .4g}   -> {trend}")

# %% [markdown]
# ## 4. Where each one breaks: small batches and large p
# Whitening needs an invertible batch covariance, i.e. $B > p$; the couplings check this and raise a
# `ValueError` naming the rule instead of returning garbage. With $B$ close to $p$ they do return a value, but the
# smallest eigenvalue of a sample covariance is biased towards 0: for isotropic Gaussian codes
# $\lambda_{\min} \approx (1-\sqrt{p/B})^2$ (Marchenko–Pastur), so C_MSV's denominator is noise when $p/B$ is not
# small. (Paper, Fig. 1C/D: C_MSV beats C_FC exactly in that regime; W-MSE's authors require $B \ge 2p$.)

# %%
p_big = 8
for B_small in (p_big, p_big + 1):
    zz1 = torch.tensor(rng.normal(size=(B_small, p_big)))
    zz2 = torch.tensor(rng.normal(size=(B_small, p_big)))
    print(f"B = {B_small}, p = {p_big}:")
    for name, f in COUPLINGS.items():
        try:
            print(f"   {name:15s} {float(f(zz1, zz2)): .4g}")
        except ValueError as err:
            print(f"   {name:15s} ValueError: {str(err)[:110]}")

ratios = np.array([1.25, 1.5, 2, 3, 5, 10, 20, 50])
lam_mean, lam_sd = [], []
for r in ratios:
    Bb = int(round(r * p_big))
    vals = [float(batch_lambda_min(torch.tensor(rng.normal(size=(Bb, p_big))))) for _ in range(30)]
    lam_mean.append(np.mean(vals)); lam_sd.append(np.std(vals))
mp = (1 - np.sqrt(1 / ratios)) ** 2
for r, m_, s_, q in zip(ratios, lam_mean, lam_sd, mp):
    print(f"B/p = {r:5.2f}: mean lambda_min = {m_:.3f} +- {s_:.3f} (Marchenko-Pastur edge {q:.3f}; true value 1)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for name in NAMES:
    c = np.array(curves[name])
    axes[0].plot(deltas, c / abs(c[-1]), label=name)
axes[0].set_xscale("log"); axes[0].set_yscale("symlog", linthresh=0.1); axes[0].set_ylim(-1.5, None)
axes[0].set_xlabel(r"$\delta$ (0 = codes on a line)"); axes[0].set_ylabel("coupling / |coupling at $\\delta$=1|")
axes[0].set_title("which couplings reward collapse")
axes[0].legend(fontsize=9, loc="upper left", bbox_to_anchor=(0.0, -0.2), ncols=3)   # below: covers no curve
axes[1].errorbar(ratios, lam_mean, yerr=lam_sd, fmt="o", label=r"$\lambda_{\min}$ of batch covariance")
axes[1].plot(ratios, mp, "r--", label="Marchenko-Pastur edge")
axes[1].axhline(1.0, color="k", lw=0.8, label="true value")
axes[1].set_xscale("log"); axes[1].set_xticks(ratios, [f"{r:g}" for r in ratios]); axes[1].minorticks_off()
axes[1].set_xlabel("B / p"); axes[1].set_title(f"C_MSV denominator, p = {p_big}")
axes[1].legend(fontsize=9, loc="upper left", bbox_to_anchor=(0.0, -0.2))
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Exercises (solutions below each; try first)
#
# **Exercise 1.** Swap the two arms ($z_1 \leftrightarrow z_2$). Which couplings are symmetric?

# %%
# Solution: all of them. Most are symmetric by construction; fc_code weights the distance by the other arm's
# covariance in each direction and sums both directions, so swapping the arms swaps the two terms. Any printed
# difference could only be float64 rounding (summation order).
for name, f in COUPLINGS.items():
    print(f"{name:15s} |C(z1, z2) - C(z2, z1)| = {abs(float(f(z1, z2)) - float(f(z2, z1))):.2e}")

# %% [markdown]
# **Exercise 2.** The Marchenko-Pastur edge says $\lambda_{\min} \approx (1 - \sqrt{p/B})^2$ for isotropic codes.
# How large must the batch be, relative to $p$, for C_MSV's denominator to be within 10% of its true value 1?

# %%
# Solution: (1 - sqrt(p/B))^2 >= 0.9  <=>  B/p >= 1 / (1 - sqrt(0.9))^2, about 380 rows per code dimension.
print(f"B/p >= {1 / (1 - np.sqrt(0.9)) ** 2:.0f}")
print(f"notebook run time: {time.perf_counter() - t_start:.1f} s")
