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
# # 00 · Watch the collapse: a five-minute demo
#
# **The setting, in plain words.** Two instruments measure the same cells: say, the genes a cell expresses and
# the electrical signals it fires. We want one short description of each cell on which both measurements agree,
# so that we can compare cells across instruments and find cell types.
#
# A *coupled autoencoder* does this with one encoder per instrument. Each encoder compresses a measurement into a
# short *code* (here just two numbers, so every code is a point we can draw), and a decoder rebuilds the
# measurement from the code. Training asks for two things at once:
#
# 1. rebuild every measurement well from its code;
# 2. give the two measurements of the same cell nearby codes (the *coupling*, weighted by a number λ).
#
# Gala et al. (NeurIPS 2019) prove in the supplement of their paper that the second wish hides a trap: an
# optimizer can satisfy it without learning anything about the cells. This notebook lets you watch the trap
# spring, in well under a minute, and then shows the proof's trick on the very codes you trained.
#
# Run the first cell (imports, a few seconds).

# %%
# %matplotlib inline
# %config InlineBackend.figure_format = "retina"
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Image, display

from cae_core.diagnostics import batch_diagnostics
from cae_experiments.animation import start_end_figure, write_animation
from cae_experiments.construction_figure import apply_construction, construction_figure
from cae_experiments.demo import DemoConfig, run_demo
from cae_experiments.plotting import STYLE
from cae_theory.statistics import squared_euclidean_coupling, standardize

plt.rcParams.update(STYLE)
torch.set_num_threads(1)      # tiny models: one thread is fastest
t_start = time.perf_counter()

# %% [markdown]
# ## 1. Predict
#
# We train the same pair of small encoders (linear maps from 32 measured features to a code of 2 numbers, on
# synthetic data with five types of cells) four ways, for 400 steps, from the same starting weights:
#
# | run | coupling | what it asks |
# |---|---|---|
# | control | none (λ = 0) | only: rebuild each measurement |
# | mse | squared distance between the two codes of a cell, λ = 10 | rebuild, and bring the codes together |
# | batch norm + mse | the same, but every code coordinate is standardised over the batch (mean 0, variance 1) | the same, with codes that cannot shrink |
# | msv | the squared distance divided by the smallest variance of the codes in any direction (the paper's fix) | the same, measured relative to the spread of the codes |
#
# **Before you run the next cell, write down your prediction for the mse, batch norm + mse and msv runs:** will
# each cloud of codes end up larger or smaller than the control's? Will it stay a cloud, become a line, or a
# point?

# %%
result = run_demo(DemoConfig())
print(result.summary())

# %% [markdown]
# The table: *max |z|* is the length of the longest code, *effective rank* says how many directions the cloud of
# codes spreads over (2 = a cloud in the plane, 1 = a line), *max |corr|* is the correlation between the two code
# numbers (1 = on a line). Now look at the codes of the first instrument, at the start and at the end (all
# panels on one scale; a small cloud gets a magnifying inset):

# %%
display(start_end_figure(result))

# %% [markdown]
# And the whole training as an animation (GIF; `cae demo --animate codes.gif` writes the same file from the
# command line, sharper). It is written to a temporary folder and shown here; nothing is saved next to the
# notebook.

# %%
with tempfile.TemporaryDirectory() as tmp:
    gif = write_animation(result, Path(tmp) / "codes.gif", dpi=72)      # 72 dpi keeps the notebook small
    display(Image(data=gif.read_bytes(), format="gif"))

# %% [markdown]
# ## 2. What happened
#
# - **mse shrinks the codes.** The cheapest way to make two codes agree is to make both tiny: the distance between
#   two points near 0 is small whatever they mean. The decoder undoes the shrinking (it multiplies back), so
#   rebuilding does not suffer. This is Prop. 1 of the supplement.
# - **Batch norm + mse collapses the codes onto a line.** Standardised codes cannot shrink, but they can make
#   their two numbers copies of each other: on a line, the two instruments only have to agree on one number, not
#   two. This is Prop. 2.
# - **msv keeps both directions.** Dividing by the smallest spread of the codes makes a line (spread 0 in one
#   direction) infinitely expensive.
#
# The next cell checks these statements on the numbers of this run (the midpoint 1.5 between a line and a plane
# is the threshold for "nearer a line").

# %%
first = {title: (d[0], d[-1]) for title, d in zip(result.titles, result.diagnostics)}
control, mse, bn, msv = first.values()
print(f"mse: longest code {mse[0]['max_code_norm']:.3g} -> {mse[1]['max_code_norm']:.3g} "
      f"(control ends at {control[1]['max_code_norm']:.3g})")
print(f"batch norm + mse: effective rank {bn[1]['effective_rank']:.3f}, |corr| {bn[1]['max_abs_corr']:.4f}")
print(f"msv: effective rank {msv[1]['effective_rank']:.3f}")
assert mse[1]["max_code_norm"] < min(mse[0]["max_code_norm"], control[1]["max_code_norm"])
assert bn[1]["effective_rank"] < 1.5 < msv[1]["effective_rank"]

# %% [markdown]
# ## 3. Why: the proof's trick, live
#
# Prop. 2 is proved by a construction you can try by hand. Take standardised codes $z_{si}$ (sample $s$,
# instrument $i$) and pick the coordinate $n$ on which the two instruments agree best. Replace every code by
#
# $$\hat z_{si} = M_i z_{si}, \qquad M_i = D_i\,(\mathbf 1 e_n^T + \beta I) \quad\text{(Eq. 9)},$$
#
# so every coordinate becomes mostly a copy of coordinate $n$, plus $\beta$ times itself; the diagonal $D_i$ of
# Eq. 10 rescales each coordinate so the codes stay standardised. The decoders can undo $M_i$, so rebuilding is
# unchanged, while the coupling falls: the loss drops by $\lambda\,(C - \hat C)$ for every $\lambda > 0$. Repeat,
# and the codes end on a line. (At $\lambda = 0$ nothing is gained, and nothing pushes the codes there.)
#
# Below: the construction applied to the **control's** final codes (100 cells, standardised: a batch-normalised
# code that has not collapsed). **Predict first:** will the construction help more for a small β or a large one?

# %%
rows = np.arange(100)
Z = standardize(result.codes[0, -1][:, rows])          # (2 instruments, 100 cells, 2 numbers)
display(construction_figure(Z, beta=0.2, lam=10.0, times=1, labels=result.labels[rows]))

# %% [markdown]
# With `ipywidgets` installed (`pip install -e ".[teach]"`), the next cell draws sliders for β, λ and the number of
# times the construction is applied; without it, it prints the same numbers for a few fixed values.

# %%
try:
    import ipywidgets
except ImportError:
    ipywidgets = None

C = squared_euclidean_coupling(Z)
for beta in (0.05, 0.2, 0.5, 0.9):
    after = apply_construction(Z, beta, times=1)[-1]
    print(f"beta = {beta:4}: coupling {C:.4g} -> {squared_euclidean_coupling(after):.4g}")
if ipywidgets is None:
    print("(ipywidgets is not installed: `pip install -e \".[teach]\"` adds the sliders)")
else:
    def explore(beta=0.2, lam=10.0, times=1):
        display(construction_figure(Z, beta=beta, lam=lam, times=times, labels=result.labels[rows]))

    ipywidgets.interact(explore, beta=ipywidgets.FloatSlider(value=0.2, min=0.01, max=0.95, step=0.01),
                        lam=ipywidgets.FloatSlider(value=10.0, min=0.0, max=100.0, step=1.0),
                        times=ipywidgets.IntSlider(value=1, min=1, max=10))

# %% [markdown]
# ## 4. Exercises (solutions below each; try first)
#
# **Exercise 1.** Halve every code of both instruments. By what factor does the mse coupling change? And what
# happens to the reconstruction if the decoders double their input first?

# %%
# Solution: the coupling is a sum of squared distances, so halving every code divides it by exactly 4; the
# decoders see the same numbers as before, so nothing else changes (the shrink construction of Prop. 1, Eq. 3).
codes = result.codes[1, -1]                          # mse run, final codes of both instruments
halved = codes / 2
ratio = squared_euclidean_coupling(halved) / squared_euclidean_coupling(codes)
print(f"coupling after halving / before = {ratio}")

# %% [markdown]
# **Exercise 2.** What is the effective rank of 100 codes lying exactly on the line $z(1) = -2\,z(2)$? Why does
# the batch norm + mse run end a little above that value?

# %%
# Solution: one direction only, so 1 (RankMe is exp of the entropy of the normalised singular values: one
# non-zero singular value gives exp(0) = 1). The trained codes still spread a little across the line: the
# reconstruction pulls back, and 400 steps do not reach the limit.
t = np.linspace(-1, 1, 100)
on_line = np.stack([-2 * t, t], axis=1)
print("effective rank of codes on a line:", batch_diagnostics(on_line)["effective_rank"])
print("batch norm + mse at the end:", bn[1]["effective_rank"])

# %% [markdown]
# **Exercise 3.** Does the construction lower the coupling for *every* β in (0, 1)? The proof guarantees it only
# for small β (Eq. 39). Check on the control's codes for a grid of β.

# %%
# Solution: the count below answers it for these codes. Where the proof's bound (Eq. 36) guarantees a decrease
# is far more cautious than where the coupling actually falls: notebook 02 draws both against β.
betas = np.linspace(0.05, 0.95, 19)
lower = [squared_euclidean_coupling(apply_construction(Z, float(b))[-1]) < C for b in betas]
print(f"coupling lowered for {sum(lower)} of {len(betas)} values of beta in [0.05, 0.95]")

# %% [markdown]
# **Exercise 4.** Predict what changes with a ten times weaker coupling, λ = 1; then run it (a few seconds).

# %%
# Solution: the same effects, weaker in 400 steps: the pull towards small or aligned codes is proportional to λ.
weak = run_demo(DemoConfig(lam=1.0, snapshots=1))
print(weak.summary())
print(f"notebook run time: {time.perf_counter() - t_start:.1f} s")
