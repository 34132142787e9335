"""Figures of the experiments, in one style for talks: large type, labels in words with units, a legend for every
colour, legends outside the axes, shared axes where the size of something is the message, the control run
beside (or drawn with) the treatment, and files at :data:`DPI` dots per inch.

Library code never touches matplotlib's global state: no ``matplotlib.use``, no ``pyplot``. Every function here
draws on its own :class:`matplotlib.figure.Figure` (inside :func:`talk_style`) and returns it; :func:`save`
writes a PNG. A notebook shows a returned figure with ``display(fig)``; ``fig.savefig`` works on any backend.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

#: Dots per inch of every figure file: a 4-inch panel is 600 pixels wide, tick labels about 23 pixels tall.
DPI = 150

#: matplotlib settings of :func:`talk_style` (point sizes: 12 pt at 150 dpi is 25 pixels).
STYLE = {
    "font.size": 12, "axes.titlesize": 12.5, "axes.labelsize": 12, "xtick.labelsize": 11, "ytick.labelsize": 11,
    "legend.fontsize": 11, "figure.titlesize": 14, "lines.linewidth": 2.0, "lines.markersize": 5,
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "legend.frameon": False, "image.cmap": "viridis",
}

#: Axis labels, in words with units, of the history keys of cae_experiments.io.HISTORY_KEYS (per-arm keys are
#: reduced to the least collapsed arm, see cae_experiments.io.ARM_REDUCTION).
LABELS = {
    "step": "training step (Adam updates)",
    "total": "loss of Eq. 1 (per batch)",
    "coupling": "coupling term\n(mean squared code distance)",
    "recon": "reconstruction error\n(mean squared error, sum over arms)",
    "max_code_norm": "largest code length max ‖z‖\n(code units)",
    "max_coordinate_gap": "largest gap between two coordinates\nof one code, max |z(m) − z(m′)|",
    "lambda_min": "smallest eigenvalue of the\ncode covariance (code units²)",
    "effective_rank": "effective rank of the codes\n(p = spread out, 1 = on a line)",
    "max_abs_corr": "largest |correlation| between two\ncode coordinates (1 = on a line)",
}

#: Colours of integer class labels 0..9 (digits, cell types): the same colour for a label in every panel.
CLASS_CMAP = "tab10"
#: Colour of the labels a palette leaves out (e.g. the types both subsets share in ``discovery``).
OTHER_COLOUR = "#c7c7c7"


@contextlib.contextmanager
def talk_style() -> Iterator[None]:
    """Draw inside this block to get :data:`STYLE` (matplotlib reads its settings when an artist is made)."""
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(nrows: int = 1, ncols: int = 1, *, panel: tuple[float, float] = (4.6, 3.6), sharex=False,
               sharey=False, extra_height: float = 0.0, square: bool = False,
               **subplot_kw) -> tuple[Figure, np.ndarray]:
    """A Figure with a grid of ``nrows x ncols`` panels of ``panel`` inches each, plus ``extra_height`` inches for
    a title or a legend below (constrained layout, so titles, labels and outside legends never overlap; with
    ``square``, matplotlib's "compressed" variant of it, made for panels of a fixed aspect) ->
    ``(fig, axes: (nrows, ncols) array)``. Call it inside :func:`talk_style`."""
    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows + extra_height),
                 layout="compressed" if square else "constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey, subplot_kw=subplot_kw)
    return fig, axes


def save(fig: Figure, path) -> Path:
    """Write ``fig`` as a PNG of :data:`DPI` dots per inch to ``path`` (parent folders created). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def outside_legend(fig: Figure, handles: Sequence | None = None, labels: Sequence[str] | None = None, *,
                   where: str = "right", title: str | None = None, ncols: int = 1) -> None:
    """One legend for the whole figure, outside every axes (``where``: "right" or "bottom"), so it covers no
    curve and no point. Without ``handles``, those of the first axes that has labelled artists."""
    if handles is None:
        for ax in fig.axes:
            handles, labels = ax.get_legend_handles_labels()
            if handles:
                break
    if not handles:
        return
    loc = "outside right upper" if where == "right" else "outside lower center"
    fig.legend(handles, labels, loc=loc, title=title, ncols=ncols)


def class_colour(label: int, palette: Mapping[int, str] | None = None):
    """The colour of integer class ``label``: ``palette[label]`` (:data:`OTHER_COLOUR` for a label not in it), or
    without a palette the label's colour in :data:`CLASS_CMAP` (the same in every panel and figure)."""
    if palette is not None:
        return palette.get(int(label), OTHER_COLOUR)
    cmap = matplotlib.colormaps[CLASS_CMAP]
    return cmap(int(label) % cmap.N)


def class_legend(fig: Figure, names: Mapping[int, str], title: str, *, palette: Mapping[int, str] | None = None,
                 other_name: str | None = None, where: str = "bottom") -> None:
    """A figure legend for the colours of integer class labels, ``names[label] = text`` (colours of
    :func:`class_colour`); ``other_name``: an entry for the labels outside ``palette``."""
    entries = [(class_colour(c, palette), text) for c, text in names.items()]
    if other_name is not None:
        entries.insert(0, (OTHER_COLOUR, other_name))
    handles = [Line2D([], [], ls="", marker="o", ms=8, color=colour) for colour, _ in entries]
    outside_legend(fig, handles, [text for _, text in entries], where=where, title=title or None,
                   ncols=len(entries) if where == "bottom" else 1)


def readable_log(axis) -> None:
    """Tick labels of a log-scaled ``axis`` (``ax.xaxis``/``ax.yaxis``) as plain numbers ("0.02", "1e-05")
    instead of "2 x 10^-2"; intermediate ticks (2, 5) are labelled when the axis spans less than 2 decades,
    every one below 0.7 decades."""
    plain = lambda v: f"{v:g}"
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: plain(v)))

    def minor(v, _):
        low, high = sorted(axis.get_view_interval())
        if low <= 0 or np.log10(high / low) >= 2:
            return ""
        lead = round(v / 10 ** np.floor(np.log10(v) + 1e-9))
        return plain(v) if lead in (2, 5) or np.log10(high / low) < 0.7 else ""

    axis.set_minor_formatter(ticker.FuncFormatter(minor))


# ------------------------------------------------------------------------------------------------ histories
def _reduce(values: Sequence, how: str) -> list:
    out = []
    for v in values:
        if isinstance(v, (list, tuple)):
            vals = [x for x in v if x is not None]
            out.append((max if how == "max" else min)(vals) if vals else None)
        else:
            out.append(v)
    return out


def history_lines(runs: Sequence[Mapping], keys: Sequence[str], *, logy=True, title: str = "", reduce: str = "max",
                  hlines: Mapping[str, tuple[float, str]] | None = None, label: Callable[[Mapping], str] | None = None,
                  control: str | None = None, ylabels: Mapping[str, str] | None = None,
                  ncols: int | None = None) -> Figure:
    """One panel per history key, one line per run (x = ``run["history"]["step"]``), one legend for all panels.

    ``logy``: True/False for all panels, or the set of keys drawn on a log scale. Per-arm values (a list per step)
    are reduced with ``reduce`` ("max" or "min"). ``hlines``: ``{key: (y, text)}`` dashed reference lines.
    ``label(run)``: the legend text (default ``run["label"]``). ``control``: the label of the control run (drawn
    black and dashed, listed first). ``ylabels``: axis labels for keys missing from :data:`LABELS`."""
    label = label or (lambda r: r["label"])
    names = {**LABELS, **dict(ylabels or {})}
    ncols = ncols or len(keys)
    nrows = int(np.ceil(len(keys) / ncols))
    ordered = sorted(runs, key=lambda r: label(r) != control)
    with talk_style():
        fig, axes = new_figure(nrows, ncols, panel=(4.4, 3.5), sharex=True)
        for ax in axes.flat[len(keys):]:
            ax.set_visible(False)
        colours = [f"C{i}" for i in range(10)]      # distinct on a projector; the control is black
        for ax, key in zip(axes.flat, keys):
            log = (key in logy) if isinstance(logy, (set, frozenset, list, tuple)) else bool(logy)
            i_treated = 0
            for run in ordered:
                steps = np.asarray(run["history"]["step"], dtype=float)
                y = run["history"].get(key, [])
                is_control = label(run) == control
                style = {"color": "k", "ls": "--"} if is_control else {"color": colours[i_treated % 10]}
                i_treated += not is_control
                if not len(y):
                    continue
                y = np.asarray([np.nan if v is None else v for v in _reduce(y, reduce)], dtype=float)
                if log:
                    y = np.where(y > 0, y, np.nan)
                text = f"{label(run)} (control)" if is_control else label(run)
                ax.plot(steps[:len(y)], y, label=text, **style)
            if hlines and key in hlines:
                y_ref, text = hlines[key]
                ax.axhline(y_ref, color="0.45", ls=":", lw=1.5, label=text)
            if log:
                ax.set_yscale("log")
                readable_log(ax.yaxis)
            ax.set_ylabel(names.get(key, key))
        for ax in axes[-1]:
            ax.set_xlabel(LABELS["step"])
        outside_legend(fig, where="bottom", ncols=len(runs) + bool(hlines))
        if title:
            fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------------------ codes
def _extent(Z: np.ndarray) -> float:
    """Half-width of a square around 0 that holds the points of ``Z: (N, 2)`` (nan-safe; 0 if none are finite)."""
    finite = Z[np.all(np.isfinite(Z), axis=1)]
    return float(np.abs(finite).max()) if len(finite) else 0.0


def code_scatter(panels: Sequence[tuple[str, np.ndarray, np.ndarray | None]], *, ncols: int = 3,
                 title: str = "", share: bool = True, class_names: Mapping[int, str] | None = None,
                 class_title: str = "", palette: Mapping[int, str] | None = None, other_name: str | None = None,
                 axis_names: Sequence[tuple[str, str]] | None = None, zoom_below: float = 0.25) -> Figure:
    """Scatter plots of 2-D codes ``(title, codes: (N, >= 2), labels: (N,) ints or None)``, coordinates 0 and 1.

    ``share``: one square scale for every panel, centred on 0 (the size of the codes is then visible: a code
    that shrank is a small cloud); a panel whose points fill less than ``zoom_below`` of it gets an inset that
    magnifies them, marked with its factor. Colours: :func:`class_colour` of each label (``palette``: explicit
    colours, the other labels grey and drawn underneath). ``class_names``: legend text per label,
    ``other_name``: legend text of the grey labels. ``axis_names``: (x, y) label per panel (default "code
    coordinate 1/2"); given, every panel shows its x label."""
    n = len(panels)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    points = [np.asarray(Z, dtype=float)[:, :2] for _, Z, _ in panels]
    half = 1.08 * max([_extent(Z) for Z in points] + [1e-12])
    with talk_style():
        extra = 0.9 * bool(class_names) + 0.3 * (title.count("\n") + 1 if title else 0)
        fig, axes = new_figure(nrows, ncols, panel=(4.0, 4.5), extra_height=extra, square=True)
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        for idx, (ax, (name, _, labels), Z) in enumerate(zip(axes.flat, panels, points)):
            _scatter(ax, Z, labels, palette)
            ax.set_title(name)
            ax.set_aspect("equal", adjustable="box")
            xname, yname = axis_names[idx] if axis_names else ("code coordinate 1", "code coordinate 2")
            bottom_row = idx // ncols == nrows - 1 or idx + ncols >= n
            if bottom_row or not share or axis_names:
                ax.set_xlabel(xname)
            if idx % ncols == 0 or not share:
                ax.set_ylabel(yname)
            if share:
                ax.tick_params(labelbottom=bottom_row or bool(axis_names), labelleft=idx % ncols == 0)
                ax.set_xlim(-half, half)
                ax.set_ylim(-half, half)
                if 0 < _extent(Z) < zoom_below * half:
                    _zoom_inset(ax, Z, labels, palette, half)
        if class_names:
            class_legend(fig, class_names, class_title, palette=palette, other_name=other_name)
        if title:
            fig.suptitle(title)
    return fig


def _scatter(ax, Z: np.ndarray, labels, palette: Mapping[int, str] | None = None) -> None:
    if labels is None:
        ax.scatter(Z[:, 0], Z[:, 1], s=5, alpha=0.7, linewidths=0)
        return
    labels = np.asarray(labels)
    order = np.argsort(np.isin(labels, list(palette)), kind="stable") if palette is not None else slice(None)
    ax.scatter(Z[order, 0], Z[order, 1], c=[class_colour(t, palette) for t in labels[order]], s=5, alpha=0.7,
               linewidths=0)


def _zoom_inset(ax, Z: np.ndarray, labels, palette, outer_half: float) -> None:
    """An inset in the upper-left corner of ``ax`` with the points ``Z`` magnified: a square around their
    bounding box, labelled with its magnification relative to the panel's half-width ``outer_half``."""
    finite = Z[np.all(np.isfinite(Z), axis=1)]
    centre = (finite.max(axis=0) + finite.min(axis=0)) / 2
    half = 1.1 * float((finite.max(axis=0) - finite.min(axis=0)).max()) / 2
    inset = ax.inset_axes((0.02, 0.58, 0.4, 0.4))
    _scatter(inset, Z, labels, palette)
    inset.set_xlim(centre[0] - half, centre[0] + half)
    inset.set_ylim(centre[1] - half, centre[1] + half)
    inset.set_aspect("equal", adjustable="box")
    inset.set_xticks([])
    inset.set_yticks([])
    inset.grid(False)
    for side in inset.spines.values():
        side.set_visible(True)
        side.set_color("0.4")
    inset.text(0.97, 0.03, f"zoom ×{outer_half / half:.0f}", transform=inset.transAxes, ha="right", va="bottom",
               fontsize=10, color="0.25")


# ------------------------------------------------------------------------------------------------ others
def spectrum_lines(steps: Sequence[float], spectra: Mapping[str, Mapping[str, np.ndarray]], *,
                   title: str = "") -> Figure:
    """Eigenvalues of the code covariance vs step, one panel per run (shared log y axis, so a run can be compared
    with its control): ``spectra[panel][arm]: (T, p)``, descending per row. Colour: the eigenvalue's rank;
    line style: the arm."""
    with talk_style():
        fig, axes = new_figure(1, len(spectra), panel=(4.8, 3.8), sharey=True)
        for ax, (panel, arms) in zip(axes[0], spectra.items()):
            for style, (arm, S) in zip(("-", "--", ":", "-."), arms.items()):
                S = np.asarray(S, dtype=float)
                for m in range(S.shape[1]):
                    ax.plot(steps, np.where(S[:, m] > 0, S[:, m], np.nan), ls=style, color=f"C{m}",
                            label=f"{arm}, eigenvalue {m + 1}")
            ax.set_yscale("log")
            readable_log(ax.yaxis)
            ax.set_title(panel)
            ax.set_xlabel(LABELS["step"])
        axes[0][0].set_ylabel("eigenvalue of the code covariance")
        outside_legend(fig, where="bottom", ncols=max(len(arms) for arms in spectra.values()))
        if title:
            fig.suptitle(title)
    return fig


def errorbar_lines(x: Sequence[float], series: Mapping[str, tuple[Sequence[float], Sequence[float]]], *,
                   xlabel: str, ylabel: str, title: str = "", logx: bool = False) -> Figure:
    """Mean +- error per series: ``series[name] = (means, errors)`` over ``x``; legend outside the axes."""
    with talk_style():
        fig, axes = new_figure(1, 1, panel=(6.0, 4.2))
        ax = axes[0][0]
        for name, (mean, err) in series.items():
            ax.errorbar(x, mean, yerr=err, marker="o", capsize=4, label=name)
        if logx:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(list(x), [f"{v:g}" for v in x])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        outside_legend(fig, where="bottom", ncols=len(series))
        if title:
            fig.suptitle(title)
    return fig
