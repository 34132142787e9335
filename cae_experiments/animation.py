"""Pictures of the demo (:mod:`cae_experiments.demo`): the codes of the four runs side by side, as a still
(start and end) and as an animation over training (GIF with Pillow; MP4 where ffmpeg is installed).

All panels of a frame, and all frames, share one fixed scale: a code that shrinks is seen shrinking, and a
code that collapses onto a line is seen on the same axes as the control. Drawn on Figure objects (no pyplot).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from cae_experiments import plotting

#: Frames per second of the animation, and its resolution (the demo's GIF of 30 frames at 100 dpi: ~1 MB).
FPS = 8
ANIMATION_DPI = 100


def _type_names(labels: np.ndarray) -> dict[int, str]:
    return {int(t): f"type {int(t) + 1}" for t in np.unique(labels)}


def _measures(diag: dict) -> str:
    return (f"max ‖z‖ {diag['max_code_norm']:.2g}\neffective rank {diag['effective_rank']:.2f}\n"
            f"|corr| {diag['max_abs_corr']:.2f}")


def _heading(result, t: int) -> str:
    return (f"step {int(result.steps[t])} of {int(result.steps[-1])} (λ = {result.config.lam:g}): the same two "
            "linear arms trained four ways")


def start_end_figure(result) -> Figure:
    """The codes of arm 1 at the first snapshot and at the last, one shared scale, coloured by type, with the
    largest code length, effective rank and |correlation| of each panel. The runs start from the same weights, so
    when their first codes are equal (always, unless a latent normalisation changes codes before training) one
    start panel stands for all, beside the end of every run; otherwise a row of starts above a row of ends."""
    R = len(result.titles)
    starts = [result.codes[r, 0, 0] for r in range(R)]
    ends = [(f"{title}\nstep {int(result.steps[-1])}", result.codes[r, -1, 0], result.diagnostics[r][-1])
            for r, title in enumerate(result.titles)]
    if all(np.array_equal(starts[0], z) for z in starts):
        shown = [("start (step 0):\nthe same for all four runs", starts[0], result.diagnostics[0][0])] + ends
        ncols = R + 1
    else:
        shown = [(f"{title}\nstep 0", starts[r], result.diagnostics[r][0])
                 for r, title in enumerate(result.titles)] + ends
        ncols = R
    fig = plotting.code_scatter([(name, z, result.labels) for name, z, _ in shown], ncols=ncols,
                                class_names=_type_names(result.labels),
                                class_title="type of the sample (not used in training)",
                                title=f"codes of arm 1: the same two linear arms trained four ways "
                                      f"(λ = {result.config.lam:g})")
    with plotting.talk_style():
        for ax, (_, _, diag) in zip(fig.axes, shown):
            ax.text(0.98, 0.02, _measures(diag), transform=ax.transAxes, ha="right", va="bottom", fontsize=10)
    return fig


def write_animation(result, path, *, fps: int = FPS, dpi: int = ANIMATION_DPI) -> Path:
    """Write the snapshots of ``result`` (a cae_experiments.demo.DemoResult) as an animation to ``path``
    (.gif, or .mp4 where ffmpeg exists; :func:`check_animation_path`): one frame per snapshot, the four runs side
    by side on one fixed scale, each panel with its step and collapse measures. Returns the path."""
    from matplotlib import animation

    path = check_animation_path(path)
    if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
        raise ValueError(f"fps must be an int >= 1, got {fps!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi < 20:
        raise ValueError(f"dpi must be an int >= 20, got {dpi!r}")
    R, T = result.codes.shape[:2]
    first = [(title, result.codes[r, 0, 0], result.labels) for r, title in enumerate(result.titles)]
    fig = plotting.code_scatter(first, ncols=R, class_names=_type_names(result.labels), zoom_below=0.0,
                                class_title="type of the sample (not used in training)", title="step 0")
    arm1 = result.codes[:, :, 0]
    half = 1.08 * float(np.abs(arm1[np.isfinite(arm1)]).max())
    with plotting.talk_style():
        axes = fig.axes[:R]
        dots = [ax.collections[0] for ax in axes]
        for d in dots:             # opaque, aliased points: a GIF palette holds them exactly (half the file size)
            d.set_alpha(1.0)
            d.set_antialiased(False)
        texts = [ax.text(0.98, 0.02, "", transform=ax.transAxes, ha="right", va="bottom", fontsize=10)
                 for ax in axes]
        for ax in axes:
            ax.set_xlim(-half, half)
            ax.set_ylim(-half, half)
    heading = fig.suptitle(_heading(result, T - 1))
    fig.set_dpi(dpi)
    fig.draw_without_rendering()       # lay out once and keep it: the frames differ only in points and text
    fig.set_layout_engine("none")
    writer = animation.FFMpegWriter(fps=fps) if path.suffix.lower() == ".mp4" else animation.PillowWriter(fps=fps)
    path.parent.mkdir(parents=True, exist_ok=True)
    with writer.saving(fig, str(path), dpi):
        for t in range(T):
            for r in range(R):
                dots[r].set_offsets(arm1[r, t])
                texts[r].set_text(_measures(result.diagnostics[r][t]))
            heading.set_text(_heading(result, t))
            writer.grab_frame()
    return path


def check_animation_path(path) -> Path:
    """``path`` as a Path if an animation can be written there: suffix .gif (Pillow, always available) or .mp4
    (needs ffmpeg on the PATH). ValueError naming the rule otherwise."""
    from matplotlib import animation

    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"animation path must end in .gif or .mp4, got {str(path)!r}")
    if suffix == ".mp4" and not animation.writers.is_available("ffmpeg"):
        raise ValueError(f"animation path {str(path)!r}: writing .mp4 needs ffmpeg, which was not found; "
                         "use a .gif path")
    return path
