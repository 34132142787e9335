"""The five-minute demo: one pair of linear arms trained four ways, side by side, with snapshots of the codes.

- no coupling (lam = 0): the control;
- mse, no latent normalisation: the codes shrink (Prop. 1 of the supplement: E -> beta E, D -> D / beta keeps
  the reconstruction and multiplies the coupling by beta^2);
- batch norm + mse: the codes collapse onto a line (Prop. 2: standardised codes cannot shrink, but mixing every
  coordinate towards one, M_i of Eqs. 9-10, still lowers the coupling);
- msv (the paper's C_MSV, the coupling divided by the smallest singular value of the codes): the codes stay
  spread over the plane.

Data: ``synthetic_multimodal`` (a 2-D shared latent through random nonlinear maps into ``in_dim`` features per
modality, five types of samples), two arms ``linear_arm(in_dim, 2)``: 2-D codes that can be drawn as they are.
The four models start from the same weights (same seed) and see the same batches. Snapshots come from stopping
and resuming ``fit`` from its checkpoint (bit-identical on CPU, see cae_core.train.fit), so the demo trains
exactly as one uninterrupted run. :mod:`cae_experiments.animation` draws the snapshots; ``cae demo`` is the
command line and ``proofs_notebooks/00_demo`` the notebook.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: (panel title, latent_norm, coupling, lam is the config's lam (True) or 0 (False)).
RUNS = (("no coupling (λ = 0, control)", "none", "mse", False),
        ("mse, no normalisation (Prop. 1)", "none", "mse", True),
        ("batch norm + mse (Prop. 2)", "batchnorm", "mse", True),
        ("msv (the paper's fix)", "none", "msv", True))


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the demo (defaults: the collapse shows in well under a minute on one CPU core)."""
    steps: int = 400          # Adam steps per run
    snapshots: int = 30       # snapshots after step 0, denser early (where most happens): frames of the animation
    lam: float = 10.0         # lambda of the coupled runs (Eq. 1)
    n: int = 1000             # samples
    in_dim: int = 32          # features per modality
    noise: float = 0.5        # noise of synthetic_multimodal
    batch_size: int = 100     # rows per batch, all paired
    lr: float = 1e-2          # Adam learning rate
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        for name in ("steps", "snapshots", "n", "in_dim", "batch_size", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        for name, low in (("steps", 1), ("snapshots", 1), ("in_dim", 3), ("batch_size", 3), ("seed", 0)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be >= {low}, got {getattr(self, name)}")
        if self.n < self.batch_size:
            raise ValueError(f"n must be >= batch_size ({self.batch_size}), got {self.n}")
        for name in ("lam", "noise", "lr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.lr == 0:
            raise ValueError("lr must be > 0")

    def snapshot_steps(self) -> np.ndarray:
        """Steps of the snapshots: 0, then ``snapshots`` steps up to ``steps``, spaced quadratically (dense at the
        start, where the codes change fastest); repeats removed. ``(T,)`` ints, increasing."""
        grid = self.steps * (np.arange(self.snapshots + 1) / self.snapshots) ** 2
        return np.unique(np.round(grid).astype(int))


@dataclass(frozen=True)
class DemoResult:
    """Snapshots of the demo. ``codes: (R, T, k, N, 2)`` codes of arm i of every sample (eval mode) of run r at
    ``steps[t]`` (k = 2 arms); ``labels: (N,)`` the type of each sample (never used in training);
    ``diagnostics[r][t]``: the collapse measures of cae_core.diagnostics.batch_diagnostics on arm 1's codes."""
    config: DemoConfig
    titles: tuple[str, ...]
    steps: np.ndarray
    codes: np.ndarray
    labels: np.ndarray
    diagnostics: list = field(repr=False)
    wall_time_s: float = 0.0

    def summary(self) -> str:
        """A table of what happened: per run, the largest code length, the effective rank and the largest
        |correlation| between the two coordinates, at the first and the last snapshot."""
        rows = [f"demo: {self.config.steps} steps, lambda = {self.config.lam:g}, seed {self.config.seed} "
                f"({self.wall_time_s:.1f} s)",
                f"  {'run':<34} {'max |z|':>16}  {'effective rank':>16}  {'max |corr|':>16}"]
        for title, diag in zip(self.titles, self.diagnostics):
            a, b = diag[0], diag[-1]
            rows.append(f"  {title:<34} {a['max_code_norm']:7.3g} -> {b['max_code_norm']:<6.3g}  "
                        f"{a['effective_rank']:7.3f} -> {b['effective_rank']:<6.3f}  "
                        f"{a['max_abs_corr']:7.3f} -> {b['max_abs_corr']:<6.3f}")
        return "\n".join(rows)


def run_demo(config: DemoConfig = DemoConfig(), progress=None) -> DemoResult:
    """Train the four runs of :data:`RUNS` and take the snapshots of ``config.snapshot_steps()``.

    ``progress``: a cae_experiments.runner.Progress (or None), advanced once per snapshot of each run."""
    from cae_core import linear_arm
    from cae_core.data import synthetic_multimodal
    from cae_core.diagnostics import batch_diagnostics
    from cae_core.train import fit
    from cae_experiments.common import build_model

    if not isinstance(config, DemoConfig):
        raise TypeError(f"config must be a DemoConfig, got {type(config).__name__}")
    t0 = time.perf_counter()
    data = synthetic_multimodal(n=config.n, k=2, latent_dim=2, dims=(config.in_dim,) * 2, noise=config.noise,
                                seed=config.seed)
    steps = config.snapshot_steps()
    if progress is not None:
        progress.start(len(RUNS) * (len(steps) - 1))
    codes, diagnostics = [], []
    for title, latent_norm, coupling, coupled in RUNS:
        model = build_model(lambda: linear_arm(config.in_dim, 2), 2, latent_norm=latent_norm, coupling=coupling,
                            lam=config.lam if coupled else 0.0, seed=config.seed)
        model.to(config.device)
        run_codes, run_diag = [], []
        with tempfile.TemporaryDirectory() as folder:
            for t in steps:
                if t > 0:
                    fit(model, data, steps=int(t), batch_size=config.batch_size, lr=config.lr, seed=config.seed,
                        device=config.device, log_every=int(steps[-1]), progress=False, checkpoint_dir=folder,
                        checkpoint_every=int(steps[-1]), resume=True)
                    if progress is not None:
                        progress.advance(f"{title}, step {t}")
                z = model.encode(data)
                run_codes.append(z)
                run_diag.append(batch_diagnostics(z[0]))
        codes.append(run_codes)
        diagnostics.append(run_diag)
    return DemoResult(config=config, titles=tuple(r[0] for r in RUNS), steps=steps, codes=np.asarray(codes),
                      labels=np.asarray(data.labels), diagnostics=diagnostics,
                      wall_time_s=time.perf_counter() - t0)

