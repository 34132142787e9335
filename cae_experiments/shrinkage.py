"""Experiment ``shrinkage`` (Prop. 1): with no latent normalisation and the mse coupling, every lam > 0 makes
the codes shrink toward 0, at no cost in reconstruction.

Why: E -> beta E, D -> D / beta (Eqs. 3-4) leaves the reconstruction unchanged and multiplies the mse coupling
by beta^2, so the loss has no minimiser with codes of positive size; gradient descent follows this direction.

Setup: two and three arms on ``synthetic_multimodal`` data (a 2-D shared latent through random nonlinear maps
into 20 features per modality), MLP arms 20 -> 32 -> 32 -> p = 3 (and back), latent_norm "none", coupling
"mse", lam in {0, 1, 10, 100}, Adam lr 1e-3, batches of 100 fully paired rows. All lam runs of one k start from
the same initial weights and see the same batches (same seed), so they differ only in lam. ``sweep=True``
trains the lam runs of one k as one vectorised model (cae_core.sweep.fit_sweep; equal to rounding).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from cae_experiments import plotting
from cae_experiments.common import build_model, record, trained_runs

NAME = "shrinkage"
LAMS = (0.0, 1.0, 10.0, 100.0)
ARMS = (2, 3)
FULL = {"steps": 3000, "n": 1000}
QUICK = {"steps": 400, "n": 500}


def config(steps: int | None, seed: int, device: str, quick: bool, sweep: bool = False) -> dict:
    size = QUICK if quick else FULL
    return {"steps": size["steps"] if steps is None else steps, "seed": seed, "device": device, "quick": quick,
            "lams": list(LAMS), "arms": list(ARMS), "n_samples": size["n"], "in_dim": 20, "latent_dim": 3,
            "widths": [32, 32], "data": "synthetic_multimodal(latent_dim=2, noise=0.1, n_types=5)",
            "latent_norm": "none", "coupling": "mse", "batch_size": 100, "n_paired": 100, "lr": 1e-3,
            "dtype": "float32", "sweep": sweep}


def run(steps: int | None = None, seed: int = 0, device: str = "cpu", quick: bool = False, progress=None,
        sweep: bool = False) -> dict:
    from cae_core import mlp_arm
    from cae_core.data import synthetic_multimodal
    from cae_experiments.runner import check_sweep

    check_sweep(NAME, sweep)
    cfg = config(steps, seed, device, quick, sweep)
    if progress is not None:
        progress.start(len(ARMS) * len(LAMS))
    runs = []
    for k in ARMS:
        data = synthetic_multimodal(n=cfg["n_samples"], k=k, latent_dim=2, dims=(cfg["in_dim"],) * k,
                                    noise=0.1, seed=seed)
        make_model = lambda lam, k=k: build_model(lambda: mlp_arm(cfg["in_dim"], cfg["latent_dim"],
                                                                  tuple(cfg["widths"])), k,
                                                  latent_norm="none", coupling="mse", lam=lam, seed=seed)
        for lam, model, hist in trained_runs(make_model, data, cfg["lams"], sweep=sweep, steps=cfg["steps"],
                                             batch_size=cfg["batch_size"], seed=seed, device=device):
            recon_all = float(sum(np.mean((x - r) ** 2) for x, r in zip(data.modalities, model.reconstruct(data))))
            run_ = record(f"k={k}, lam={lam:g}", model, hist, {"recon_all": recon_all}, k=k)
            norm = run_["history"]["max_code_norm"]                 # max over arms, per logged step
            run_["final"]["max_code_norm_ratio"] = norm[-1] / norm[0]
            runs.append(run_)
            if progress is not None:
                progress.advance(f"k={k} lam={lam:g}")
    return {"experiment": NAME, "config": cfg, "runs": runs, "comparison": _comparison(runs)}


def _comparison(runs: list[dict]) -> list[dict]:
    """Per run: its final/initial max code norm (training batches, max over arms) and final coupling relative
    to the lam = 0 run with the same k, and its whole-data reconstruction error (eval mode, sum over arms)
    relative to lam = 0."""
    base = {r["k"]: r for r in runs if r["lam"] == 0.0}
    out = []
    for r in runs:
        b = base[r["k"]]["final"]
        f = r["final"]
        out.append({"k": r["k"], "lam": r["lam"],
                    "norm_ratio_vs_lam0": f["max_code_norm_ratio"] / b["max_code_norm_ratio"],
                    "coupling_vs_lam0": f["coupling"] / b["coupling"],
                    "recon_vs_lam0": f["recon_all"] / b["recon_all"]})
    return out


def figures(metrics: dict, out_dir) -> list[Path]:
    """One figure per number of arms k: the largest code length (absolute, and relative to the lam = 0 control
    at the same step), the coupling and the reconstruction error vs step, one line per lam."""
    out = []
    for k in metrics["config"]["arms"]:
        runs = [r for r in metrics["runs"] if r["k"] == k]
        control = next(r for r in runs if r["lam"] == 0.0)
        shown = []
        for r in runs:
            ratio = np.asarray(r["history"]["max_code_norm"], float) / np.asarray(control["history"]["max_code_norm"],
                                                                                 float)
            shown.append({**r, "history": {**r["history"], "max_code_norm_vs_control": ratio.tolist()}})
        fig = plotting.history_lines(
            shown, ["max_code_norm", "max_code_norm_vs_control", "coupling", "recon"], ncols=2,
            label=lambda r: f"λ = {r['lam']:g}", control="λ = 0",
            ylabels={"max_code_norm_vs_control": "largest code length\nrelative to λ = 0 (same step)"},
            title=f"Prop. 1 with k = {k} arms, no latent normalisation, mse coupling:\n"
                  "for every λ > 0 the codes end smaller than with λ = 0")
        out.append(plotting.save(fig, Path(out_dir) / f"shrinkage_k{k}.png"))
    return out


def summarize(metrics: dict) -> str:
    lines = [f"shrinkage (Prop. 1): {metrics['config']['steps']} steps, seed {metrics['config']['seed']}",
             "  k   lam   max|z| end/start  (vs lam=0)   coupling (vs lam=0)   recon (vs lam=0)"]
    for r, c in zip(metrics["runs"], metrics["comparison"]):
        f = r["final"]
        lines.append(f"  {r['k']}  {r['lam']:5g}   {f['max_code_norm_ratio']:10.4f}  ({c['norm_ratio_vs_lam0']:8.4f})"
                     f"   {f['coupling']:9.3g} ({c['coupling_vs_lam0']:7.3g})   {f['recon_all']:7.4f} "
                     f"({c['recon_vs_lam0']:5.3f})")
    return "\n".join(lines)
