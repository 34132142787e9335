"""Experiment ``line-collapse`` (Prop. 2): with batch-standardised codes (the k-CBNAE) and the mse coupling,
the codes of each arm collapse onto a line, and with linear arms the coupling falls to its canonical-
correlation floor from above.

Setup: two linear arms (32 -> p = 3 -> 32), latent_norm "batchnorm" (cae_core's BatchStandardize: no affine
parameters, unbiased 1/(B-1) variance, eps 1e-10), coupling "mse", lam = 10 and a lam = 0 control, Adam
lr 1e-3, float64, batches of 100 fully paired rows of ``synthetic_multimodal`` data (2-D shared latent, 32
features per modality, noise 0.5).

The floor (cae_experiments.cca: canonical correlation analysis). For rows S standardised with the unbiased variance,
sum_s ||z_s1 - z_s2||^2 >= (|S| - 1) p (2 - 2 rho_1(S)). cae_core's mse is the MEAN over the paired rows of
||z_s1 - z_s2||^2 (``cae_core.couplings.mse``), so in its units the floor is (|S| - 1)/|S| * p * (2 - 2 rho_1).
rho_1 is that of the rows the codes are standardised over, so we compare like with like:

- whole data: raw codes E_i(x) of all N rows, standardised over the N rows (cae_theory.prop2.notation.standardize,
  1/(N-1)), coupling = mean over rows, floor with rho_1 of the N rows -- the curve "coupling vs floor";
- fresh batches: 20 random batches of B rows at every snapshot, each standardised over its own rows, against
  the floor with that batch's own rho_1 (which is larger than the whole-data rho_1: sample canonical
  correlations are biased upward, so a training-batch coupling may lie below the whole-data floor).

Snapshots during training come from stopping and resuming ``fit`` from its checkpoint (bit-identical on CPU):
each run trains in chunks ``fit(..., steps=t, resume=True)`` to the snapshot steps t. The chunk checkpoint lives
in a temporary folder, or with ``cae experiment line-collapse --checkpoint DIR`` in the run's folder under DIR
(cae_experiments.common.Checkpoints, passed to :func:`run`); there, after each snapshot, the snapshots so far, the shown codes and
the state of the batch rng are saved atomically too (:data:`SNAPSHOT_STATE`), so ``--resume`` after a kill at
any moment ends with the metrics of an uninterrupted run (tests/test_line_collapse_resume.py).
"""
from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from cae_core.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from cae_experiments import plotting
from cae_experiments.cca import coupling_floor, top_canonical_correlation
from cae_experiments.common import Checkpoints, SyntheticConfig, build_model, log_every_for, raw_codes, record
from cae_theory.prop2.notation import coupling as coupling_of_codes
from cae_theory.prop2.notation import latent_covariance, standardize

NAME = "line-collapse"


@dataclass(frozen=True)
class Config(SyntheticConfig):
    """Every setting of a line-collapse run (``metrics["config"]`` is ``asdict`` of it)."""
    steps: int = 6000
    dtype: str = "float64"
    n_samples: int = 2000
    in_dim: int = 32
    data_noise: float = 0.5
    lams: tuple[float, ...] = (10.0, 0.0)       # the coupled run, then the lam = 0 control
    snapshots: int = 30
    latent_dim: int = 3
    latent_norm: str = "batchnorm"              # cae_core's BatchStandardize: unbiased, eps 1e-10, no affine
    coupling: str = "mse"
    batch_size: int = 100
    check_batches_per_snapshot: int = 20
    n_scatter: int = 400                        # rows whose codes are stored for the start/end scatter plots


FULL = Config()
#: ``--quick`` (the tests): FULL with 1600 steps instead of 6000, 1000 samples instead of 2000 and 8 snapshots instead
#: of 30; the same arms, coupling, lams and batches. 1600 steps is what it takes to see the line: the whole-data
#: effective rank of the lam = 10 codes (RankMe, the larger of the two arms') is 1.23 / 1.46 / 1.35 at seeds 0 / 1 / 2
#: (lam = 0 control: 2.46 / 2.61 / 2.53); at 800 steps it was 1.54 at seed 0 and at 1200 steps 1.62 at seed 1.
QUICK = replace(FULL, steps=1600, n_samples=1000, snapshots=8, quick=True)


def whole_data_state(raw: list[np.ndarray], rho1: float) -> dict:
    """Collapse measures of raw codes ``raw[i]: (N, p)`` standardised over all N rows (1/(N-1)), in numpy,
    independently of cae_core.diagnostics: mean-over-rows mse coupling and its floor, eigenvalues of each
    arm's code covariance (= correlation matrix; ``lambda_min``: the larger of the two arms' smallest), max and
    min |corr| over coordinate pairs and arms (a line needs the MIN -> 1), the literal gap of Prop. 2
    max |z(m) - z(m')|, and the sign-adjusted gap max |z(m) - sign(corr_mm') z(m')| (-> 0 on any line
    through a +-1 pattern; the coupling is blind to the sign of a coordinate, so the optimizer's line need
    not be the diagonal of Prop. 2)."""
    Z = standardize(np.stack(raw))                        # (2, N, p), k-CBNAE codes over the whole data
    N, p = Z.shape[1], Z.shape[2]
    V = latent_covariance(Z)                              # (2, p, p)
    eig = np.sort(np.linalg.eigvalsh(V), axis=1)[:, ::-1]
    iu = np.triu_indices(p, 1)
    corr = V[:, iu[0], iu[1]]                             # (2, p(p-1)/2): V is a correlation matrix here
    signed = Z[:, :, iu[0]] - np.sign(corr)[:, None, :] * Z[:, :, iu[1]]
    return {"coupling": coupling_of_codes(Z) / N, "floor": coupling_floor(rho1, N, p) / N,
            "spectrum": eig.tolist(), "lambda_min": float(eig[:, -1].max()),
            "max_abs_corr": float(np.abs(corr).max()), "min_abs_corr": float(np.abs(corr).min()),
            "max_coordinate_gap": float((Z.max(axis=2) - Z.min(axis=2)).max()),
            "max_signed_gap": float(np.abs(signed).max())}


def batch_floor_margins(X: list[np.ndarray], raw: list[np.ndarray], batch_size: int, rng: np.random.Generator,
                        n: int) -> list[float]:
    """(coupling - floor) / floor on ``n`` fresh random batches of the inputs ``X[i]: (N, d_i)`` and their raw
    codes ``raw[i]: (N, p)``: each batch standardised over its own rows, its floor from its own rho_1."""
    out = []
    N, p = raw[0].shape
    for _ in range(n):
        rows = rng.choice(N, batch_size, replace=False)
        coupling = coupling_of_codes(standardize(np.stack([r[rows] for r in raw])))
        floor = coupling_floor(top_canonical_correlation(X[0][rows], X[1][rows]), batch_size, p)
        out.append((coupling - floor) / floor)
    return out


#: File next to fit's checkpoint.pt in a run's checkpoint folder: what is computed between the chunks.
SNAPSHOT_STATE = "snapshots.pt"


def _load_snapshot_state(path: Path, fingerprint: str) -> dict | None:
    """The saved snapshot state of a run (None if there is none); ValueError if it was taken with other
    settings."""
    if not path.is_file():
        return None
    state = load_checkpoint(path)
    if state["fingerprint"] != fingerprint:
        saved, now = json.loads(state["fingerprint"]), json.loads(fingerprint)
        diff = sorted(key for key in now if saved.get(key) != now[key])
        raise ValueError(f"resume: the snapshots in {str(path)!r} were taken with different settings "
                         f"({', '.join(diff)}); use a fresh checkpoint folder or the same settings")
    return state


def snapshotted_run(model, data, X: list[np.ndarray], rho: float, cfg: Config, checkpoints: np.ndarray,
                    shown: np.ndarray, folder, resume: bool, progress=None) -> tuple[list, list, dict]:
    """Train ``model`` (built from seed cfg.seed) to each step of ``checkpoints`` in turn, by ``fit`` resuming
    from its checkpoint in ``folder``, and take a snapshot at each (:func:`whole_data_state` and
    :func:`batch_floor_margins`, drawing the batches from one rng seeded cfg.seed + 1). Returns the
    snapshots, the standardised arm-1 codes of the rows ``shown`` at the first and last step, and the history.

    After each snapshot, the snapshots so far, the shown codes and the rng state are saved atomically to
    ``folder``/:data:`SNAPSHOT_STATE`. A chunk checkpoint is therefore always at the last saved snapshot's step or
    at the next one (killed before that snapshot was saved). With ``resume``, the saved snapshots are kept and
    the next ones taken after ``fit`` has continued from its checkpoint; if every snapshot was saved, one more
    ``fit`` call trains nothing and returns the history. Without ``resume`` (or with nothing saved), what an
    earlier run left in ``folder`` is deleted first."""
    from cae_core.train import fit

    folder = Path(folder)
    path = folder / SNAPSHOT_STATE
    fingerprint = json.dumps({**asdict(cfg), "lam": model.lam, "snapshot_steps": checkpoints.tolist()},
                             sort_keys=True)
    saved = _load_snapshot_state(path, fingerprint) if resume else None
    rng = np.random.default_rng(cfg.seed + 1)
    snaps, shown_codes = [], []
    if saved is None:      # a fresh run: fit must not continue from a checkpoint of an earlier one
        for stale in (path, Path(checkpoint_path(folder))):
            stale.unlink(missing_ok=True)
    else:
        done = json.loads(saved["done"])
        snaps, shown_codes = done["snapshots"], done["shown_codes"]
        rng.bit_generator.state = saved["rng"]

    def train_to(t: int) -> dict:
        return fit(model, data, steps=t, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                   device=cfg.device, dtype=cfg.dtype, log_every=log_every_for(cfg.steps),
                   progress=False, checkpoint_dir=folder, checkpoint_every=cfg.steps, resume=True)

    hist = None
    for i, t in enumerate(checkpoints):
        if t > 0:
            if i >= len(snaps):
                hist = train_to(int(t))
            if progress is not None:
                progress.advance(f"lam={model.lam:g} step {t}")
        if i < len(snaps):  # saved before an interruption
            continue
        raw = raw_codes(model, X)
        state = {"step": int(t), **whole_data_state(raw, rho),
                 "batch_floor_margins": batch_floor_margins(X, raw, cfg.batch_size, rng,
                                                            cfg.check_batches_per_snapshot)}
        snaps.append(state)
        if t in (checkpoints[0], checkpoints[-1]):
            shown_codes.append(np.round(standardize(np.stack(raw))[0][shown], 4).tolist())
        save_checkpoint(path, {"fingerprint": fingerprint, "rng": rng.bit_generator.state,
                               "done": json.dumps({"snapshots": snaps, "shown_codes": shown_codes})})
    if hist is None:        # every snapshot was saved before an interruption: fit's last checkpoint has the rest
        hist = train_to(int(checkpoints[-1]))
    return snaps, shown_codes, hist


def run(cfg: Config = FULL, *, progress=None, checkpoints: Checkpoints | None = None) -> dict:
    """The experiment. ``checkpoints``: each run trains in chunks through its folder there (and, with
    ``checkpoints.resume``, continues from it); without, through a temporary folder."""
    from cae_core import linear_arm

    data = cfg.synthetic_data()
    X = data.modalities
    rho = top_canonical_correlation(*X)
    steps = np.unique(np.linspace(0, cfg.steps, cfg.snapshots + 1).round().astype(int))
    shown = np.random.default_rng(cfg.seed).choice(len(X[0]), min(cfg.n_scatter, len(X[0])), replace=False)
    if progress is not None:
        progress.start(len(cfg.lams) * (len(steps) - 1))
    runs = []
    for lam in cfg.lams:
        label = f"bn+mse lam={lam:g}"
        model = build_model(lambda: linear_arm(cfg.in_dim, cfg.latent_dim), 2, latent_norm=cfg.latent_norm,
                            coupling=cfg.coupling, lam=lam, seed=cfg.seed)
        model.to(getattr(torch, cfg.dtype))
        with (contextlib.nullcontext(checkpoints.folder(label)) if checkpoints is not None
              else tempfile.TemporaryDirectory()) as folder:
            snaps, shown_codes, hist = snapshotted_run(model, data, X, rho, cfg, steps, shown, folder,
                                                       resume=checkpoints is not None and checkpoints.resume,
                                                       progress=progress)
        runs.append(record(label, model, hist,
                           {"whole_data_coupling": snaps[-1]["coupling"], "whole_data_floor": snaps[-1]["floor"],
                            "whole_data_lambda_min": snaps[-1]["lambda_min"],
                            "whole_data_max_abs_corr": snaps[-1]["max_abs_corr"],
                            "whole_data_min_abs_corr": snaps[-1]["min_abs_corr"]},
                           snapshots=snaps, codes_arm0={"start": shown_codes[0], "end": shown_codes[-1]}))
    main = runs[0]["snapshots"]
    gaps = [s["coupling"] - s["floor"] for s in main]
    n, p = cfg.n_samples, cfg.latent_dim
    return {"experiment": NAME, "config": asdict(cfg), "runs": runs, "scatter_labels": data.labels[shown].tolist(),
            "cca_floor": {"rho_1": rho, "n_rows": n, "p": p,
                          "floor_mean_over_rows": coupling_floor(rho, n, p) / n,
                          "formula": "(N-1)/N * p * (2 - 2 rho_1), in units of cae_core's mse "
                                     "(mean over rows of ||z_s1 - z_s2||^2), codes standardised with 1/(N-1)",
                          "gap_start": gaps[0], "gap_end": gaps[-1], "min_whole_data_gap": min(gaps),
                          "min_relative_batch_margin": min(min(s["batch_floor_margins"])
                                                           for r in runs for s in r["snapshots"])}}


def _lam_label(run: dict) -> str:
    return f"λ = {run['lam']:g}"


def figures(metrics: dict, out_dir) -> list[Path]:
    """codes_start_end.png (the codes at the start and at the end of the lam = 10 run beside its lam = 0 control),
    spectrum.png (eigenvalues of each arm's code covariance, both runs), collapse_history.png (training-batch
    diagnostics, both runs) and coupling_vs_floor.png (whole-data coupling against the canonical-correlation
    floor)."""
    out_dir = Path(out_dir)
    runs = metrics["runs"]
    treated = next(r for r in runs if r["lam"] > 0)
    control = next(r for r in runs if r["lam"] == 0)
    labels = np.asarray(metrics["scatter_labels"])
    # both runs start from the same weights (same seed), so one start column serves both
    columns = (("start (step 0, both runs)", np.asarray(treated["codes_arm0"]["start"])),
               (f"end, {_lam_label(control)} (control)", np.asarray(control["codes_arm0"]["end"])),
               (f"end, {_lam_label(treated)}", np.asarray(treated["codes_arm0"]["end"])))
    panels, axis_names = [], []
    for a, b in ((0, 1), (0, 2), (1, 2)):
        for name, Z in columns:
            panels.append((name if (a, b) == (0, 1) else "", Z[:, [a, b]], labels))
            axis_names.append((f"code coordinate {a + 1}", f"code coordinate {b + 1}"))
    fig = plotting.code_scatter(
        panels, ncols=3, axis_names=axis_names, class_names={int(t): f"type {int(t) + 1}" for t in np.unique(labels)},
        class_title="type of the sample in the synthetic data (not used in training)",
        title="Prop. 2: arm 1 codes (whole data, standardised), batch norm + mse coupling;\n"
              f"with {_lam_label(treated)} the three coordinates end on one line, without coupling they do not")
    files = [plotting.save(fig, out_dir / "codes_start_end.png")]
    steps = [s["step"] for s in treated["snapshots"]]
    spectra = {f"{_lam_label(r)}" + (" (control)" if r is control else ""):
               {f"arm {i + 1}": np.array([s["spectrum"][i] for s in r["snapshots"]]) for i in range(2)}
               for r in (control, treated)}
    fig = plotting.spectrum_lines(steps, spectra, title="eigenvalues of each arm's code covariance (whole data):\n"
                                                        "with coupling, all but the largest fall far below where "
                                                        "they started")
    files.append(plotting.save(fig, out_dir / "spectrum.png"))
    files.append(plotting.save(plotting.history_lines(
        runs, ["max_abs_corr", "effective_rank", "lambda_min", "max_coordinate_gap"], ncols=2,
        logy={"max_coordinate_gap", "lambda_min"}, label=_lam_label, control=_lam_label(control),
        title="training-batch diagnostics (least collapsed arm). The literal gap of Prop. 2 stays large:\n"
              "the line found has coordinates of opposite signs (codes_start_end.png)"),
        out_dir / "collapse_history.png"))
    files.append(_coupling_vs_floor(metrics, out_dir / "coupling_vs_floor.png"))
    return files


def _coupling_vs_floor(metrics: dict, path: Path) -> Path:
    floor = metrics["cca_floor"]
    with plotting.talk_style():
        fig, axes = plotting.new_figure(1, 1, panel=(6.4, 4.4))
        ax = axes[0][0]
        for r in sorted(metrics["runs"], key=lambda r: r["lam"]):
            snaps = r["snapshots"]
            style = {"color": "k", "ls": "--"} if r["lam"] == 0 else {"color": "C0"}
            ax.plot([s["step"] for s in snaps], [s["coupling"] for s in snaps], marker="o",
                    label=_lam_label(r) + (" (control)" if r["lam"] == 0 else ""), **style)
        ax.axhline(floor["floor_mean_over_rows"], color="C3", ls=":", lw=2,
                   label=f"floor (N−1)/N · p · (2 − 2ρ₁), top canonical correlation "
                         f"ρ₁ = {floor['rho_1']:.4f}")
        ax.set_yscale("log")
        plotting.readable_log(ax.yaxis)
        ax.set_xlabel(plotting.LABELS["step"])
        ax.set_ylabel("coupling on the whole data,\nmean over rows of ‖z₁ − z₂‖²")
        ax.set_title("linear arms: the coupling falls to its\ncanonical-correlation floor, never below it")
        plotting.outside_legend(fig, where="bottom")
    return plotting.save(fig, path)


def summarize(metrics: dict) -> str:
    c = metrics["cca_floor"]
    lines = [f"line-collapse (Prop. 2): {metrics['config']['steps']} steps, seed {metrics['config']['seed']}",
             f"  top canonical correlation of the inputs (scipy): rho_1 = {c['rho_1']:.6f}",
             f"  floor (N-1)/N p (2 - 2 rho_1) = {c['floor_mean_over_rows']:.6f} (mean-over-rows mse units)",
             f"  whole-data coupling - floor (lam={metrics['runs'][0]['lam']:g}): start {c['gap_start']:.5g}, "
             f"end {c['gap_end']:.5g}, min over snapshots {c['min_whole_data_gap']:.3g} (>= 0: never below)",
             f"  fresh batches vs their own floor: min relative margin {c['min_relative_batch_margin']:.3g}"]
    for r in metrics["runs"]:
        s0, s1 = r["snapshots"][0], r["snapshots"][-1]
        lines.append(f"  {r['label']} (whole data): lambda_min(V) {s0['lambda_min']:.4f} -> {s1['lambda_min']:.3g}; "
                     f"min|corr| {s0['min_abs_corr']:.3f} -> {s1['min_abs_corr']:.5f}; "
                     f"max|corr| {s0['max_abs_corr']:.3f} -> {s1['max_abs_corr']:.5f}\n"
                     f"      coordinate gap max|z(m)-z(m')| {s0['max_coordinate_gap']:.3f} -> "
                     f"{s1['max_coordinate_gap']:.3g} (literal Prop. 2); sign-adjusted gap "
                     f"{s0['max_signed_gap']:.3f} -> {s1['max_signed_gap']:.3g}; training-batch effective rank "
                     f"{r['history']['effective_rank'][0]:.3f} -> {r['final']['effective_rank']:.3f}")
    return "\n".join(lines)
