"""Experiment ``lambda-tradeoff`` (the paper's Fig. 4C): within- and cross-modal reconstruction and the
coupling vs lam in {0, 1, 10, 100} (full size: also 0.01 and 0.1).

Cross-modal reconstruction decodes arm j from arm i's code, x_j ~ D_j(z_i); both errors are normalised by
the lam = 0 within-modality error of the target modality j, as in the paper. All errors are measured on a
held-out 20 % of the samples (eval mode), the coupling on those too: mean_s ||z_s1 - z_s2||^2 of the eval-mode
codes (plus the last training-batch value of the trained coupling in the run record).

Setup (:class:`Config`; ``FULL`` and ``QUICK``): two MLP arms 20 -> 32 -> 32 -> p = 3 on ``synthetic_multimodal``
data (2-D shared latent, noise 0.1), latent_norm "batchnorm" with coupling "msv" and the Patch-seq code's
denominator floor 1e-2 (AllenInstitute/coupledAE-patchseq; under batch norm tr V = p, so lambda_min(V) <= 1, and
it -> 0 as the codes collapse, so msv resists the line collapse of Prop. 2),
Adam lr 1e-3, batches of 100 rows of which 75 are paired (the Patch-seq batches), alpha_i = 1. Every lam run
starts from the same initial weights and sees the same batches. ``sweep=True`` trains all lam runs as one
vectorised model (cae_core.sweep.fit_sweep; equal to rounding, except the loss-invariant code biases under
batch norm, hence eval-mode code offsets -- see that module's docstring).
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from cae_experiments import plotting
from cae_experiments.common import (Checkpoints, SyntheticConfig, build_model, checkpoint_options, mapped_runs, record,
                                     swept_runs, train)

NAME = "lambda-tradeoff"


@dataclass(frozen=True)
class Config(SyntheticConfig):
    """Every setting of a lambda-tradeoff run (``metrics["config"]`` is ``asdict`` of it)."""
    steps: int = 3000
    n_samples: int = 2000
    #: the paper's grid {0, 1, 10, 100}; the full-size run adds 0.01 and 0.1, because on this data (recon ~0.02
    #: per entry, msv ~0.1) lam = 1 already lets the coupling dominate and the transition happens below it
    lams: tuple[float, ...] = (0.0, 0.01, 0.1, 1.0, 10.0, 100.0)
    validation_fraction: float = 0.2
    latent_dim: int = 3
    widths: tuple[int, ...] = (32, 32)
    latent_norm: str = "batchnorm"
    coupling: str = "msv"
    coupling_floor: float = 1e-2               # the Patch-seq code's msv denominator floor
    batch_size: int = 100
    n_paired: int = 75
    alphas: tuple[float, ...] = (1.0, 1.0)
    sweep: bool = False                        # train the lam runs as one fit_sweep


FULL = Config()
QUICK = replace(FULL, steps=400, n_samples=800, lams=(0.0, 1.0, 10.0, 100.0), quick=True)


def split(data, fraction: float, seed: int):
    """(train, validation) PairedDatasets from a random split of the paired rows (labels kept)."""
    from cae_core import PairedDataset

    n = data.n_paired
    val = np.zeros(n, dtype=bool)
    val[np.random.default_rng(seed).choice(n, int(round(fraction * n)), replace=False)] = True
    make = lambda rows: PairedDataset([x[rows] for x in data.modalities], labels=np.asarray(data.labels)[rows])
    return make(~val), make(val)


def reconstruction_matrix(model, data) -> np.ndarray:
    """E[i, j] = mean squared error of x_j ~ D_j(z_i) (eval mode). ``(k, k)``; the diagonal is within-modal."""
    codes = model.encode(data)
    k = model.k
    E = np.zeros((k, k))
    for i in range(k):
        decoded = model.decode([codes[i]] * k)
        for j in range(k):
            E[i, j] = float(np.mean((data.modalities[j] - decoded[j]) ** 2))
    return E


def _datasets(cfg: Config):
    """(train, validation) split of the experiment's data."""
    return split(cfg.synthetic_data(), cfg.validation_fraction, cfg.seed)


def _make_model(cfg: Config, lam: float):
    from cae_core import mlp_arm

    return build_model(lambda: mlp_arm(cfg.in_dim, cfg.latent_dim, cfg.widths), 2, latent_norm=cfg.latent_norm,
                       coupling=cfg.coupling, lam=lam, seed=cfg.seed, coupling_options={"floor": cfg.coupling_floor},
                       alphas=cfg.alphas)


def _record(lam: float, model, hist, val_data) -> dict:
    E = reconstruction_matrix(model, val_data)
    z = model.encode(val_data)
    final = {"recon_matrix": E.tolist(), "val_code_distance": float(np.mean(((z[0] - z[1]) ** 2).sum(axis=1)))}
    return record(f"lam={lam:g}", model, hist, final)


def one_run(cfg: Config, checkpoints: Checkpoints | None, lam: float) -> dict:
    """The run ``lam``: trained with ``fit``, its metrics.json entry."""
    train_data, val_data = _datasets(cfg)
    model = _make_model(cfg, lam)
    hist = train(model, train_data, steps=cfg.steps, batch_size=cfg.batch_size, n_paired=cfg.n_paired,
                 seed=cfg.seed, device=cfg.device, lr=cfg.lr, dtype=cfg.dtype,
                 **checkpoint_options(checkpoints, f"lam={lam:g}"))
    return _record(lam, model, hist, val_data)


def run(cfg: Config = FULL, *, progress=None, checkpoints: Checkpoints | None = None,
        scheduler: str | None = None) -> dict:
    """The experiment: one ``fit`` per lam (on Dask distributed with a ``scheduler``), or with ``cfg.sweep`` all
    lam runs as one fit_sweep."""
    if progress is not None:
        progress.start(len(cfg.lams))
    if cfg.sweep:
        train_data, val_data = _datasets(cfg)
        records = [_record(lam, model, hist, val_data) for lam, model, hist in swept_runs(
            functools.partial(_make_model, cfg), train_data, cfg.lams, steps=cfg.steps, batch_size=cfg.batch_size,
            n_paired=cfg.n_paired, seed=cfg.seed, device=cfg.device, lr=cfg.lr, dtype=cfg.dtype)]
    else:
        records = mapped_runs(functools.partial(one_run, cfg, checkpoints), cfg.lams, scheduler)
    runs = []
    for lam, run_ in zip(cfg.lams, records):
        runs.append(run_)
        if progress is not None:
            progress.advance(f"lam={lam:g}")
    base = np.diag(np.asarray(runs[0]["final"]["recon_matrix"]))        # lam = 0 within-modality errors
    table = []
    for r in runs:
        E = np.asarray(r["final"]["recon_matrix"]) / base[None, :]      # column j normalised by modality j
        table.append({"lam": r["lam"], "within": np.diag(E).tolist(), "cross": [E[0, 1], E[1, 0]],
                      "val_code_distance": r["final"]["val_code_distance"]})
    return {"experiment": NAME, "config": asdict(cfg), "runs": runs, "normalised": table,
            "normalisation": "error of modality j divided by the lam = 0 within-modality error of modality j "
                             "(validation split)"}


def figures(metrics: dict, out_dir) -> list[Path]:
    """lambda_tradeoff.png: validation reconstruction errors within and across modalities (relative to the lam = 0
    within-modality error) and the validation code distance, vs lam (the lam = 0 control first)."""
    t = metrics["normalised"]
    x = np.arange(len(t))
    with plotting.talk_style():
        fig, axes = plotting.new_figure(1, 2, panel=(5.6, 4.2))
        ax, ax2 = axes[0]
        for m in range(2):
            ax.plot(x, [r["within"][m] for r in t], marker="o", color=f"C{m}",
                    label=f"within: x{m + 1} decoded from z{m + 1}")
        ax.plot(x, [r["cross"][0] for r in t], marker="s", ls="--", color="C2", label="across: x2 decoded from z1")
        ax.plot(x, [r["cross"][1] for r in t], marker="s", ls="--", color="C3", label="across: x1 decoded from z2")
        ax.set_yscale("log")
        plotting.readable_log(ax.yaxis)
        ax.set_ylabel("validation reconstruction error\nrelative to λ = 0, within the modality")
        ax.set_title("reconstruction")
        ax2.plot(x, [r["val_code_distance"] for r in t], marker="o", color="k")
        ax2.set_yscale("log")
        plotting.readable_log(ax2.yaxis)
        ax2.set_ylabel("validation code distance\nmean ‖z₁ − z₂‖² (code units²)")
        ax2.set_title("coupling")
        for a in axes[0]:
            a.set_xticks(x, ["0\n(control)" if r["lam"] == 0 else f"{r['lam']:g}" for r in t])
            a.set_xlabel("coupling weight λ")
        plotting.outside_legend(fig, where="bottom", ncols=2)
        cfg = metrics["config"]
        norm = "batch norm" if cfg["latent_norm"] == "batchnorm" else cfg["latent_norm"]
        fig.suptitle(f"Fig. 4C analogue ({norm} + {cfg['coupling']} coupling): reconstruction within and across "
                     "modalities,\nand the distance between the two codes, vs the coupling weight λ")
    return [plotting.save(fig, Path(out_dir) / "lambda_tradeoff.png")]


def summarize(metrics: dict) -> str:
    lines = [f"lambda-tradeoff (Fig. 4C): {metrics['config']['steps']} steps, seed {metrics['config']['seed']}, "
             "validation errors / lam=0 within-modal error",
             "  lam    within x1  within x2  cross x2<-z1  cross x1<-z2  mean||z1-z2||^2"]
    for r in metrics["normalised"]:
        lines.append(f"  {r['lam']:5g}  {r['within'][0]:9.3f}  {r['within'][1]:9.3f}  {r['cross'][0]:12.3f}  "
                     f"{r['cross'][1]:12.3f}  {r['val_code_distance']:14.4g}")
    return "\n".join(lines)
