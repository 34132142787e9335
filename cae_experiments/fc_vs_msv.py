"""Experiment ``fc-vs-msv`` (the paper's Fig. 1C/D): validation reconstruction error of C_FC vs C_MSV across
latent dims {2, 10, 50} (batch 400) and batch sizes {25, 50, 100, 200, 800} (latent dim 10), 3 seeds,
mean +- standard error. The paper finds C_MSV better where covariance estimates are poor (large d, small batch).

``QUICK`` (``--quick``, the tests) is ``FULL`` reduced to the one cell where covariance estimates are poorest, d = 10
at batch 25 (10-D codes from 25 rows), with FULL's 3 seeds and 1500 steps: no latent-dim sweep, no other batch
size. The steps cannot be cut: msv converges more slowly than fc and overtakes it late (measured at that cell,
seeds 0-2, validation error fc vs msv: 0.230 vs 0.261 at 300 steps, 0.2147 vs 0.2151 at 1000 (a tie), 0.2162 vs
0.2087 at 1500: msv wins by more than 2 standard errors).

Setup: ``synthetic_multimodal`` data (10-D shared latent, 100 features per modality, noise 0.3, 2,000 samples,
80 % train / 20 % validation), two MLP arms 100 -> 64 -> 64 -> d (and back), latent_norm "batchnorm" (the
paper's Dense(d) -> BatchNormalization), coupling "fc" (the poster's per-arm whitening, cae_core) or "msv"
(NeurIPS code: no floor), lam = 1 (the paper's), all rows paired, Adam lr 1e-3. A run that fails (e.g. a
numerically singular batch covariance) is recorded with its error, not dropped silently.
Validation C_recon: sum over the two arms of the mean squared error per entry (eval mode).
Standard error: sample standard deviation over seeds (ddof 1) / sqrt(n).
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from cae_experiments import plotting
from cae_experiments.common import Checkpoints, SyntheticConfig, build_model, checkpoint_options, mapped_runs, record, train
from cae_experiments.lambda_tradeoff import split

NAME = "fc-vs-msv"


@dataclass(frozen=True)
class Config(SyntheticConfig):
    """Every setting of an fc-vs-msv run (``metrics["config"]`` is ``asdict`` of it). The runs use the seeds
    ``seed, seed + 1, ..., seed + n_seeds - 1`` (:func:`seeds`)."""
    steps: int = 1500
    n_samples: int = 2000
    in_dim: int = 100
    data_latent_dim: int = 10
    data_noise: float = 0.3
    couplings: tuple[str, ...] = ("fc", "msv")
    latent_dims: tuple[int, ...] = (2, 10, 50)         # the d sweep, at batch dim_sweep_batch
    dim_sweep_batch: int = 400
    batch_sizes: tuple[int, ...] = (25, 50, 100, 200, 800)   # the batch sweep, at d = batch_sweep_dim
    batch_sweep_dim: int = 10
    n_seeds: int = 3
    lam: float = 1.0
    latent_norm: str = "batchnorm"
    validation_fraction: float = 0.2
    widths: tuple[int, ...] = (64, 64)


FULL = Config()
QUICK = replace(FULL, latent_dims=(), batch_sizes=(25,), quick=True)


def seeds(cfg: Config) -> list[int]:
    """The seeds of the runs of every cell."""
    return [cfg.seed + s for s in range(cfg.n_seeds)]


def metrics_seeds(metrics: dict) -> list[int]:
    """The seeds of a metrics.json: ``metrics["seeds"]``; runs made before the Config refactor (issue 14) kept
    them in ``metrics["config"]["seeds"]``."""
    return metrics["seeds"] if "seeds" in metrics else metrics["config"]["seeds"]


def grid(cfg: Config) -> list[tuple[str, int, int]]:
    """(sweep, latent_dim, batch_size) cells: the d sweep at batch 400, then the batch sweep at d = 10."""
    cells = [("latent_dim", d, cfg.dim_sweep_batch) for d in cfg.latent_dims]
    return cells + [("batch_size", cfg.batch_sweep_dim, b) for b in cfg.batch_sizes]


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (ddof 1; nan for a single value) of finite ``values``."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")


def _datasets(cfg: Config):
    return split(cfg.synthetic_data(), cfg.validation_fraction, cfg.seed)


def one_run(cfg: Config, checkpoints: Checkpoints | None, item: tuple) -> tuple[dict, float | None, str | None]:
    """The run ``(sweep, d, B, coupling, seed)``: (metrics.json entry, validation C_recon or None, error or None);
    a run that fails (e.g. a numerically singular batch covariance) is recorded with its error, not dropped."""
    from cae_core import mlp_arm

    sweep, d, b, coupling, s = item
    train_data, val_data = _datasets(cfg)
    label = f"{coupling} d={d} B={b} seed={s}"
    model = build_model(lambda: mlp_arm(cfg.in_dim, d, cfg.widths), 2, latent_norm=cfg.latent_norm,
                        coupling=coupling, lam=cfg.lam, seed=s)
    try:
        hist = train(model, train_data, steps=cfg.steps, batch_size=b, seed=s, device=cfg.device, lr=cfg.lr,
                     dtype=cfg.dtype, **checkpoint_options(checkpoints, f"{sweep} {label}"))
        recon = model.reconstruct(val_data)
        val = float(sum(np.mean((x - r) ** 2) for x, r in zip(val_data.modalities, recon)))
        return (record(label, model, hist, {"val_recon": val}, per_arm=False, sweep=sweep, latent_dim=d,
                       batch_size=b, seed=s), val, None)
    except (ValueError, FloatingPointError) as exc:
        error = f"seed {s}: {type(exc).__name__}: {exc}"
        return ({"label": label, "lam": cfg.lam, "coupling": coupling, "latent_norm": cfg.latent_norm,
                 "history": {}, "final": {}, "error": error, "sweep": sweep, "latent_dim": d, "batch_size": b,
                 "seed": s}, None, error)


def run(cfg: Config = FULL, *, progress=None, checkpoints: Checkpoints | None = None,
        scheduler: str | None = None) -> dict:
    """The grid: every (cell, coupling, seed) run, one ``fit`` each (on Dask distributed with a ``scheduler``)."""
    items = [(sweep, d, b, coupling, s) for sweep, d, b in grid(cfg) for coupling in cfg.couplings
             for s in seeds(cfg)]
    if progress is not None:
        progress.start(len(items))
    runs, cells = [], {}
    for item, (run_, val, error) in zip(items, mapped_runs(functools.partial(one_run, cfg, checkpoints), items,
                                                            scheduler)):
        runs.append(run_)
        values, errors = cells.setdefault(item[:4], ([], []))
        (values if error is None else errors).append(val if error is None else error)
        if progress is not None:
            progress.advance(run_["label"])
    results = []
    for (sweep, d, b, coupling), (values, errors) in cells.items():
        mean, se = mean_se(values)
        results.append({"sweep": sweep, "latent_dim": d, "batch_size": b, "coupling": coupling,
                        "val_recon": values, "mean": mean, "se": se, "errors": errors})
    return {"experiment": NAME, "config": asdict(cfg), "seeds": seeds(cfg), "runs": runs, "results": results,
            "winners": _winners(results), "trivial_val_error": _trivial(_datasets(cfg)[1])}


def _trivial(val_data) -> float:
    """Validation error of predicting each feature by its mean: the bar any trained autoencoder must beat."""
    return float(sum(np.mean((x - x.mean(axis=0)) ** 2) for x in val_data.modalities))


def _winners(results: list[dict]) -> list[dict]:
    out = []
    cells = sorted({(r["sweep"], r["latent_dim"], r["batch_size"]) for r in results}, key=lambda c: (c[0], c[1], c[2]))
    for cell in cells:
        by = {r["coupling"]: r for r in results if (r["sweep"], r["latent_dim"], r["batch_size"]) == cell}
        fc, msv = by["fc"], by["msv"]
        num = lambda v: float("nan") if v is None else v        # metrics.json stores NaN as null
        diff = num(fc["mean"]) - num(msv["mean"])
        se = float(np.hypot(num(fc["se"]), num(msv["se"])))
        failed = [c for c in ("fc", "msv") if by[c]["errors"]]
        if failed:
            winner = f"undecided ({', '.join(failed)} failed in {sum(len(by[c]['errors']) for c in failed)} runs)"
        else:
            winner = "msv" if diff > 2 * se else "fc" if diff < -2 * se else "tie (within 2 SE)"
        out.append({"sweep": cell[0], "latent_dim": cell[1], "batch_size": cell[2], "fc_minus_msv": diff,
                    "se_of_difference": se, "winner": winner})
    return out


#: x-axis labels of the two sweeps, in words.
XLABELS = {"latent_dim": "code dimension d", "batch_size": "batch size (rows per step)"}


def figures(metrics: dict, out_dir) -> list[Path]:
    """fc_vs_msv_latent_dim.png and fc_vs_msv_batch_size.png: validation reconstruction error of fc and msv
    (mean +- standard error over seeds) along each sweep that has cells."""
    files = []
    cfg = metrics["config"]
    for sweep, xkey, fixed in (("latent_dim", "latent_dim", f"batch size {cfg['dim_sweep_batch']}"),
                               ("batch_size", "batch_size", f"code dimension d = {cfg['batch_sweep_dim']}")):
        rows = [r for r in metrics["results"] if r["sweep"] == sweep]
        if not rows:                               # QUICK has no latent-dim sweep
            continue
        xs = sorted({r[xkey] for r in rows})
        series = {}
        for c in metrics["config"]["couplings"]:
            rc = {r[xkey]: r for r in rows if r["coupling"] == c}
            nan = float("nan")
            series[c] = ([nan if rc[x]["mean"] is None else rc[x]["mean"] for x in xs],
                         [0 if rc[x]["se"] is None or rc[x]["se"] != rc[x]["se"] else rc[x]["se"] for x in xs])
        fig = plotting.errorbar_lines(xs, series, xlabel=XLABELS[xkey], logx=True,
                                      ylabel="validation reconstruction error\n(mean squared error, sum over arms)",
                                      title=f"fc vs msv at {fixed}:\nmean ± standard error over "
                                            f"{metrics['config']['n_seeds']} seeds")
        files.append(plotting.save(fig, Path(out_dir) / f"fc_vs_msv_{sweep}.png"))
    return files


def summarize(metrics: dict) -> str:
    lines = [f"fc-vs-msv (Fig. 1C/D): {metrics['config']['steps']} steps, seeds {metrics_seeds(metrics)}, "
             f"validation C_recon (mean +- SE); predicting the mean gives {metrics['trivial_val_error']:.4f}",
             "  sweep        d    B     fc                 msv                winner"]
    for w in metrics["winners"]:
        by = {r["coupling"]: r for r in metrics["results"]
              if (r["sweep"], r["latent_dim"], r["batch_size"]) == (w["sweep"], w["latent_dim"], w["batch_size"])}
        fmt = lambda v: "  nan " if v is None or v != v else f"{v:.4f}"
        cell = "  ".join(f"{fmt(by[c]['mean'])} +- {fmt(by[c]['se'])}" + (" (!)" if by[c]["errors"] else "")
                         for c in ("fc", "msv"))
        lines.append(f"  {w['sweep']:<11} {w['latent_dim']:3d} {w['batch_size']:4d}   {cell}   {w['winner']}")
    failed = [r for r in metrics["results"] if r["errors"]]
    for r in failed:
        lines.append(f"  (!) {r['coupling']} d={r['latent_dim']} B={r['batch_size']}: {'; '.join(r['errors'])}")
    return "\n".join(lines)
