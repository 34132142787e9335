"""Experiment ``couplings`` (the paper's Fig. 1B on scikit-learn's 8x8 digits): the same image goes to both
arms, 2-D codes; one panel per coupling, points coloured by digit.

Panels (latent_norm, coupling): an uncoupled reference (lam = 0); ("none", "mse") shrinks (Prop. 1);
("batchnorm", "mse") collapses to a line
(Prop. 2); ("none", "fc") and ("none", "msv") the paper's fixes; and the later self-supervised losses
("none", "vicreg" | "barlow_twins" | "wmse" | "dcca") with their reference defaults (cae_core.couplings).

Setup: lam = 1 (the paper's figure uses 0.1, but at our step budget lam = 0.1 shows no visible collapse: a
300-step trial gave max |corr| 0.49 for bn+mse), batch 150 as in the paper's figure, Adam lr 1e-3, all rows paired. Full size: the paper's
MNIST arm (cae_core.mnist_arm with image_size 8: Conv2D(10) -> MaxPool -> Dense(49) x3 -> Dense(2) | ...).

``QUICK`` (``--quick``, the tests) is ``FULL`` with 300 steps instead of 3000, nothing else changed: the same
arm, lam, batch and panels. Measured at 300 steps, seeds 0-2: bn+mse is already on a line (effective rank
1.27 / 1.07 / 1.04) and mse's largest code ends below where it started (0.16 / 0.02 / 0.19 vs 0.19 / 0.16 / 0.21),
while fc and msv stay spread (effective rank >= 1.91). What the shorter run does not show: at 300 steps the
uncoupled control is itself still close to a line (effective rank 1.03-1.17; an autoencoder with a 2-D bottleneck
learns its first direction first), which it leaves between steps 500 and 1500 of the full runs (their
histories in docs/figures/couplings). So at --quick compare bn+mse with fc and msv (coupled with the same lam),
not with the control. Earlier quick sizes with a small MLP arm (64 -> 32 -> 32 -> 2) did not collapse within
2000 steps (bn+mse effective rank 1.69-1.75).

Metrics per coupling on all 1,797 images (eval mode): code norm (max and mean), effective rank and max |corr|
of each arm's codes (cae_core.diagnostics.batch_diagnostics), reconstruction error (mean squared error per
pixel, per arm), and k-NN digit accuracy (scikit-learn, k = 5) of held-out images (30 %, fixed by the seed):
within arm i (neighbours among arm i's codes of the other 70 %) and across arms (codes of arm i classified
by neighbours among arm j's codes; raw, and "aligned": after per-arm whitening and a Procrustes rotation,
which a coupling that compares whitened codes, such as fc or wmse, leaves free). Labels are never used in training. Chance is 0.1 (ten balanced digits).
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from cae_experiments import plotting
from cae_experiments.common import Checkpoints, RunConfig, build_model, checkpoint_options, mapped_runs, record, train
from cae_experiments.evaluation import aligned_knn_accuracy, knn_accuracy

NAME = "couplings"


@dataclass(frozen=True)
class Config(RunConfig):
    """Every setting of a couplings-panel run (``metrics["config"]`` is ``asdict`` of it)."""
    steps: int = 3000
    arm: str = "mnist_arm"                     # "mnist_arm" (image_size 8) or "mlp_arm" (64 -> mlp_widths -> 2)
    mlp_widths: tuple[int, ...] = (32, 32)
    latent_dim: int = 2
    lam: float = 1.0
    #: (label, latent_norm, coupling, coupled): a coupled panel trains with ``lam``, the first panel is the
    #: uncoupled reference (lam = 0)
    panels: tuple[tuple[str, str, str, bool], ...] = (
        ("uncoupled", "none", "mse", False), ("mse", "none", "mse", True), ("bn+mse", "batchnorm", "mse", True),
        ("fc", "none", "fc", True), ("msv", "none", "msv", True), ("vicreg", "none", "vicreg", True),
        ("barlow_twins", "none", "barlow_twins", True), ("wmse", "none", "wmse", True), ("dcca", "none", "dcca", True))
    batch_size: int = 150
    held_out_fraction: float = 0.3
    knn_neighbors: int = 5


FULL = Config()
QUICK = replace(FULL, steps=300, quick=True)


def _make_arm(cfg: Config):
    from cae_core import mlp_arm, mnist_arm

    if cfg.arm == "mlp_arm":
        return lambda: mlp_arm(64, cfg.latent_dim, cfg.mlp_widths)
    if cfg.arm == "mnist_arm":
        return lambda: mnist_arm(8, cfg.latent_dim)
    raise ValueError(f"Config.arm must be 'mnist_arm' or 'mlp_arm', got {cfg.arm!r}")


def code_metrics(model, data, held_out: np.ndarray, n_neighbors: int) -> dict:
    """Whole-data metrics of a trained model (see module docstring). ``held_out``: boolean mask (N,)."""
    from cae_core.diagnostics import batch_diagnostics

    codes = model.encode(data)
    recon = model.reconstruct(data)
    y = np.asarray(data.labels)
    ref, qry = ~held_out, held_out
    out = {"recon": [float(np.mean((x - r) ** 2)) for x, r in zip(data.modalities, recon)]}
    for i, z in enumerate(codes):
        diag = batch_diagnostics(z)
        for key in ("max_code_norm", "mean_code_norm", "effective_rank", "max_abs_corr", "lambda_min"):
            out[f"{key}_{i}"] = diag[key]
        out[f"knn_within_{i}"] = knn_accuracy(z[ref], y[ref], z[qry], y[qry], n_neighbors)
    out["knn_across_0_from_1"] = knn_accuracy(codes[1][ref], y[ref], codes[0][qry], y[qry], n_neighbors)
    out["knn_across_1_from_0"] = knn_accuracy(codes[0][ref], y[ref], codes[1][qry], y[qry], n_neighbors)
    out["knn_across_aligned_0_from_1"] = aligned_knn_accuracy(codes[0][ref], codes[1][ref], y[ref], codes[0][qry],
                                                              y[qry], n_neighbors)
    return out, codes


def _held_out(cfg: Config, n: int) -> np.ndarray:
    held_out = np.zeros(n, dtype=bool)
    held_out[np.random.default_rng(cfg.seed).choice(n, int(round(cfg.held_out_fraction * n)), replace=False)] = True
    return held_out


def one_run(cfg: Config, checkpoints: Checkpoints | None, panel: tuple) -> dict:
    """The run of one panel (label, latent_norm, coupling, coupled): its metrics.json entry (with ``error`` if
    training failed, e.g. msv/fc on a singular batch: recorded, not hidden)."""
    from cae_core.data import digits_same_image

    label, latent_norm, coupling, coupled = panel
    lam = cfg.lam if coupled else 0.0
    data = digits_same_image()
    model = build_model(_make_arm(cfg), 2, latent_norm=latent_norm, coupling=coupling, lam=lam, seed=cfg.seed)
    try:
        hist = train(model, data, steps=cfg.steps, batch_size=cfg.batch_size, seed=cfg.seed, device=cfg.device,
                     lr=cfg.lr, dtype=cfg.dtype, **checkpoint_options(checkpoints, label))
    except (ValueError, FloatingPointError) as exc:
        return {"label": label, "lam": lam, "coupling": coupling, "latent_norm": latent_norm,
                "history": {}, "final": {}, "error": f"{type(exc).__name__}: {exc}"}
    final, codes = code_metrics(model, data, _held_out(cfg, data.n_paired), cfg.knn_neighbors)
    return record(label, model, hist, final, codes_arm0=np.round(codes[0], 3).tolist())


def run(cfg: Config = FULL, *, progress=None, checkpoints: Checkpoints | None = None,
        scheduler: str | None = None) -> dict:
    """One run per panel (on Dask distributed with a ``scheduler``)."""
    from cae_core.data import digits_same_image

    if progress is not None:
        progress.start(len(cfg.panels))
    runs = []
    for panel, run_ in zip(cfg.panels, mapped_runs(functools.partial(one_run, cfg, checkpoints), cfg.panels,
                                                    scheduler)):
        runs.append(run_)
        if progress is not None:
            progress.advance(panel[0] + (" FAILED" if run_.get("error") else ""))
    return {"experiment": NAME, "config": asdict(cfg), "runs": runs,
            "labels": np.asarray(digits_same_image().labels).tolist(), "table": [_row(r) for r in runs]}


def _row(r: dict) -> dict:
    if r.get("error"):
        return {"label": r["label"], "error": r["error"]}
    f = r["final"]
    return {"label": r["label"], "max_code_norm": max(f["max_code_norm_0"], f["max_code_norm_1"]),
            "effective_rank": min(f["effective_rank_0"], f["effective_rank_1"]),
            "max_abs_corr": max(f["max_abs_corr_0"], f["max_abs_corr_1"]), "recon": sum(f["recon"]),
            "knn_within": min(f["knn_within_0"], f["knn_within_1"]),
            "knn_across": min(f["knn_across_0_from_1"], f["knn_across_1_from_0"]),
            "knn_across_aligned": f["knn_across_aligned_0_from_1"],
            "max_code_norm_start": max(r["history"]["per_arm"]["max_code_norm"][i][0] for i in range(2))}


#: Panel titles: what each (latent_norm, coupling) is, in words.
PANEL_TITLES = {"uncoupled": "no coupling (λ = 0, control)", "mse": "mse", "bn+mse": "batch norm + mse",
                "fc": "fc (full covariance)", "msv": "msv (min. singular value)", "vicreg": "VICReg",
                "barlow_twins": "Barlow Twins", "wmse": "W-MSE", "dcca": "deep CCA"}


def figures(metrics: dict, out_dir) -> list[Path]:
    """couplings_panel.png: arm 1 codes of every run on one shared scale (small codes get a magnifying inset),
    coloured by digit, with the largest code length at the start (first training batch) and at the end (all
    images) and the effective rank (the smaller of the two arms')."""
    labels = np.asarray(metrics["labels"])
    panels = []
    for r, row in zip(metrics["runs"], metrics["table"]):
        name = PANEL_TITLES.get(r["label"], r["label"])
        if r.get("error"):
            panels.append((f"{name}: failed", np.full((1, 2), np.nan), None))
            continue
        panels.append((f"{name}\nmax ‖z‖ {row['max_code_norm_start']:.2g} → {row['max_code_norm']:.2g}, "
                       f"eff. rank {row['effective_rank']:.2f}", np.asarray(r["codes_arm0"]), labels))
    cfg = metrics["config"]
    fig = plotting.code_scatter(
        panels, ncols=5, class_names={d: str(d) for d in range(10)}, class_title="digit (not used in training)",
        title=f"Fig. 1B on scikit-learn digits: arm 1 codes after {cfg['steps']} steps (λ = {cfg['lam']:g}), one "
              "scale for all panels;\neffective rank 2 = spread over the plane, 1 = on a line")
    return [plotting.save(fig, Path(out_dir) / "couplings_panel.png")]


def summarize(metrics: dict) -> str:
    lines = [f"couplings (Fig. 1B, sklearn digits): {metrics['config']['steps']} steps, "
             f"arm {metrics['config']['arm']}, seed {metrics['config']['seed']}",
             "  coupling        max|z| (start)    eff.rank  max|corr|  recon    kNN within  across  aligned"]
    for row in metrics["table"]:
        if "error" in row:
            lines.append(f"  {row['label']:<14} FAILED: {row['error']}")
            continue
        lines.append(f"  {row['label']:<14} {row['max_code_norm']:8.3g} ({row['max_code_norm_start']:6.3g})  "
                     f"{row['effective_rank']:7.3f}  {row['max_abs_corr']:8.4f}  {row['recon']:7.4f}  "
                     f"{row['knn_within']:9.3f}  {row['knn_across']:6.3f}  {row['knn_across_aligned']:6.3f}")
    return "\n".join(lines)
