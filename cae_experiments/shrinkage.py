"""Experiment ``shrinkage`` (Prop. 1): with no latent normalisation and the mse coupling, every lam > 0 makes
the codes shrink toward 0, at no cost in reconstruction.

Why: E -> beta E, D -> D / beta (Eqs. 3-4) leaves the reconstruction unchanged and multiplies the mse coupling
by beta^2, so the loss has no minimiser with codes of positive size; gradient descent follows this direction.

Setup (:class:`Config`; ``FULL`` and ``QUICK``): two and three arms on ``synthetic_multimodal`` data (a 2-D
shared latent through random nonlinear maps into 20 features per modality), MLP arms 20 -> 32 -> 32 -> p = 3
(and back), latent_norm "none", coupling "mse", lam in {0, 1, 10, 100}, Adam lr 1e-3, batches of 100 fully
paired rows. All lam runs of one k start from
the same initial weights and see the same batches (same seed), so they differ only in lam. ``sweep=True``
trains the lam runs of one k as one vectorised model (cae_core.sweep.fit_sweep; equal to rounding).
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from cae_experiments import plotting
from cae_experiments.common import (Checkpoints, SyntheticConfig, build_model, checkpoint_options, mapped_runs, record,
                                     swept_runs, train)

NAME = "shrinkage"


@dataclass(frozen=True)
class Config(SyntheticConfig):
    """Every setting of a shrinkage run (``metrics["config"]`` is ``asdict`` of it)."""
    steps: int = 3000
    lams: tuple[float, ...] = (0.0, 1.0, 10.0, 100.0)
    arms: tuple[int, ...] = (2, 3)             # numbers of arms k
    latent_dim: int = 3
    widths: tuple[int, ...] = (32, 32)
    latent_norm: str = "none"
    coupling: str = "mse"
    batch_size: int = 100
    n_paired: int = 100
    sweep: bool = False                        # train the lam runs of one k as one fit_sweep


FULL = Config()
QUICK = replace(FULL, steps=400, n_samples=500, quick=True)


def _make_model(cfg: Config, k: int, lam: float):
    from cae_core import mlp_arm

    return build_model(lambda: mlp_arm(cfg.in_dim, cfg.latent_dim, cfg.widths), k, latent_norm=cfg.latent_norm,
                       coupling=cfg.coupling, lam=lam, seed=cfg.seed)


def _label(k: int, lam: float) -> str:
    return f"k={k}, lam={lam:g}"


def _record(k: int, lam: float, model, hist, data) -> dict:
    recon_all = float(sum(np.mean((x - r) ** 2) for x, r in zip(data.modalities, model.reconstruct(data))))
    run_ = record(_label(k, lam), model, hist, {"recon_all": recon_all}, k=k)
    norm = run_["history"]["max_code_norm"]                 # max over arms, per logged step
    run_["final"]["max_code_norm_ratio"] = norm[-1] / norm[0]
    return run_


def one_run(cfg: Config, checkpoints: Checkpoints | None, item: tuple[int, float]) -> dict:
    """The run (k, lam): trained with ``fit``, its metrics.json entry."""
    k, lam = item
    data, model = cfg.synthetic_data(k), _make_model(cfg, k, lam)
    hist = train(model, data, steps=cfg.steps, batch_size=cfg.batch_size, n_paired=cfg.n_paired, seed=cfg.seed,
                 device=cfg.device, lr=cfg.lr, dtype=cfg.dtype, **checkpoint_options(checkpoints, _label(k, lam)))
    return _record(k, lam, model, hist, data)


def run(cfg: Config = FULL, *, progress=None, checkpoints: Checkpoints | None = None,
        scheduler: str | None = None) -> dict:
    """The experiment: every (k, lam) run, one ``fit`` each (on Dask distributed with a ``scheduler``,
    :func:`cae_experiments.common.mapped_runs`), or with ``cfg.sweep`` the lam runs of each k as one fit_sweep."""
    items = [(k, lam) for k in cfg.arms for lam in cfg.lams]
    if progress is not None:
        progress.start(len(items))
    if cfg.sweep:
        records = []
        for k in cfg.arms:
            data = cfg.synthetic_data(k)
            for lam, model, hist in swept_runs(functools.partial(_make_model, cfg, k), data, cfg.lams,
                                               steps=cfg.steps, batch_size=cfg.batch_size, n_paired=cfg.n_paired,
                                               seed=cfg.seed, device=cfg.device, lr=cfg.lr, dtype=cfg.dtype):
                records.append(_record(k, lam, model, hist, data))
    else:
        records = mapped_runs(functools.partial(one_run, cfg, checkpoints), items, scheduler)
    runs = []
    for (k, lam), run_ in zip(items, records):
        runs.append(run_)
        if progress is not None:
            progress.advance(f"k={k} lam={lam:g}")
    return {"experiment": NAME, "config": asdict(cfg), "runs": runs, "comparison": _comparison(runs)}


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
