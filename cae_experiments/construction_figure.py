"""A picture of the construction in the proof of Prop. 2 (Eqs. 9-10 of the supplement), for teaching.

Given batch-standardised codes ``Z: (k, S, p)`` (a k-CBNAE) and 0 < beta < 1, the proof replaces every code z of
arm i by M_i z with M_i = D_i (1 b^T + beta I): each coordinate becomes mostly a copy of coordinate n (the one on
which the arms agree best), rescaled by D_i so that the codes stay standardised. The reconstruction is unchanged
(the decoders absorb M_i^-1, the Remark) and the coupling falls, so the loss C_recon + lam * C_coupling falls by
lam * (C - C_hat) for every lam > 0. Applied again and again, the construction moves the codes onto a line.

The construction itself is cae_theory's (:func:`cae_theory.batchnorm_construction.batchnorm_construction`); this
module only draws it. Used by the ``00_demo`` notebook's sliders.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from cae_experiments import plotting


def apply_construction(Z, beta: float, times: int = 1) -> list[np.ndarray]:
    """``[Z, Z_1, ..., Z_times]``: the codes after applying the construction of Eqs. 9-10 with ``beta`` once, twice,
    ... (each time from the codes of the step before; the result is again a k-CBNAE, Eqs. 13-15). ``Z: (k, S, p)``.
    ValueError (from cae_theory) if ``Z`` is not a k-CBNAE or beta is outside (0, 1)."""
    from cae_theory.batchnorm_construction import batchnorm_construction

    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be an int >= 1, got {times!r}")
    out = [np.asarray(Z, dtype=np.float64)]
    for _ in range(times):
        out.append(batchnorm_construction(out[-1], beta).Z_hat)
    return out


def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def construction_figure(Z, beta: float, lam: float = 1.0, times: int = 1, labels=None) -> Figure:
    """Codes of arm 1 before (grey) and after ``times`` applications of the construction with ``beta`` (colour:
    ``labels`` (S,) ints, or one colour), coordinates 1 and 2, with the line z(1) = z(2); beside them the
    coupling part of the loss, lam * C_coupling, before and after (the reconstruction part is unchanged), and the
    largest gap between two coordinates of a code (Prop. 2's "all coordinates equal" is a gap of 0)."""
    from cae_theory.prop2_cases import max_coordinate_gap
    from cae_theory.statistics import squared_euclidean_coupling

    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    steps = apply_construction(Z, beta, times)
    before, after = steps[0], steps[-1]
    coupling = [squared_euclidean_coupling(x) for x in (before, after)]
    gap = [max_coordinate_gap(x) for x in (before, after)]
    with plotting.talk_style():
        fig, axes = plotting.new_figure(1, 2, panel=(4.8, 4.4))
        ax, bars = axes[0]
        half = 1.08 * float(np.abs(np.concatenate([before[0], after[0]])[:, :2]).max())
        ax.plot([-half, half], [-half, half], color="0.5", ls="--", lw=1.2, label="the line z(1) = z(2)")
        ax.scatter(before[0][:, 0], before[0][:, 1], s=12, color="0.7", linewidths=0, label="before")
        colour = "C0" if labels is None else [plotting.class_colour(t) for t in np.asarray(labels)]
        ax.scatter(after[0][:, 0], after[0][:, 1], s=12, c=colour, linewidths=0,
                   label=f"after {times}× M₁ (β = {beta:.2g})")
        ax.set_xlim(-half, half)
        ax.set_ylim(-half, half)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel("code coordinate 1")
        ax.set_ylabel("code coordinate 2")
        ax.set_title(f"arm 1: largest coordinate gap\n{gap[0]:.3g} → {gap[1]:.3g}")
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.18), ncols=1)
        values = [lam * c for c in coupling]
        b = bars.bar([0, 1], values, color=["0.6", "C0"], width=0.6)
        bars.bar_label(b, [_number(v) for v in values], padding=3)
        bars.set_xticks([0, 1], ["before", "after"])
        bars.set_ylabel("coupling part of the loss, λ · C\n(sum over samples of ‖z₁ − z₂‖²)")
        bars.set_ylim(0, 1.2 * max(max(values), 1e-12))
        bars.grid(False, axis="x")
        change = "falls" if values[1] <= values[0] else "rises"
        share = f" ({abs(1 - coupling[1] / coupling[0]):.0%} of it)" if lam > 0 else ""
        bars.set_title(f"λ = {lam:g}: the loss {change} by {_number(abs(values[0] - values[1]))}{share}\n"
                       "(the reconstruction does not change)")
        fig.suptitle("the proof of Prop. 2 (Eqs. 9-10): mix every coordinate towards the one the arms agree on best")
    return fig
