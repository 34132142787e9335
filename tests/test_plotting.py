"""The figure style of cae_experiments.plotting (issue 13): library code leaves matplotlib's global state alone,
figure files are at least 150 dpi, shared scales, legends outside the axes, the control drawn apart."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cae_experiments import plotting
from experiment_outputs import DPI_ROUNDING, MIN_DPI, check_figure_file, png_dpi

REPO = Path(__file__).resolve().parent.parent


def test_importing_and_drawing_leaves_the_backend_alone():
    """In a fresh interpreter whose backend is "svg" (MPLBACKEND), importing every cae_experiments module and
    drawing and saving a figure keeps "svg" and never imports pyplot (which would register figures with a
    backend): a notebook's plt.show() keeps working after `import cae_experiments...` (issue 13, item 1)."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import cae_experiments, matplotlib\n"
        "for m in pkgutil.iter_modules(cae_experiments.__path__):\n"
        "    importlib.import_module('cae_experiments.' + m.name)\n"
        "from cae_experiments import plotting\n"
        "import numpy as np, tempfile, os\n"
        "fig = plotting.code_scatter([('a', np.eye(2), None)])\n"
        "plotting.save(fig, os.path.join(tempfile.mkdtemp(), 'a.png'))\n"
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)\n")
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "False"]


def test_no_library_module_switches_the_backend_or_uses_pyplot():
    """The source of the library packages never calls matplotlib.use nor imports pyplot (the rule of the
    developers' guide; the subprocess test above checks the behaviour, this one every module's text)."""
    offenders = []
    for package in ("cae_core", "cae_experiments", "cae_theory", "cae_cli"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            if any(s in text for s in ("matplotlib.use(", "import matplotlib.pyplot", "from matplotlib import pyplot",
                                       "pylab")):
                offenders.append(str(path.relative_to(REPO)))
    assert not offenders


def _figures() -> dict:
    """One figure from every drawing function of plotting, on small made-up data."""
    rng = np.random.default_rng(0)
    steps = list(range(0, 100, 10))
    runs = [{"label": f"lam={lam}", "history": {"step": steps, "coupling": list(rng.uniform(0.1, 1, 10)),
                                                 "max_code_norm": [[1.0, 2.0]] * 10}} for lam in (0, 1)]
    return {
        "history": plotting.history_lines(runs, ["coupling", "max_code_norm"], control="lam=0"),
        "scatter": plotting.code_scatter([("big", rng.normal(size=(50, 2)), rng.integers(0, 3, 50)),
                                          ("small", 0.01 * rng.normal(size=(50, 2)), rng.integers(0, 3, 50))],
                                         class_names={0: "zero", 1: "one", 2: "two"}),
        "spectrum": plotting.spectrum_lines(steps, {"run": {"arm 1": rng.uniform(0.1, 1, (10, 3))}}),
        "errorbar": plotting.errorbar_lines([1, 2, 3], {"a": ([1, 2, 3], [0.1, 0.1, 0.1])}, xlabel="x", ylabel="y"),
    }


@pytest.mark.parametrize("name", ["history", "scatter", "spectrum", "errorbar"])
def test_figure_files_are_at_least_150_dpi(name, tmp_path):
    """Every drawing function's figure, saved by plotting.save, is a PNG whose pHYs chunk says >= 150 dpi (our
    reader of the PNG layout, and Pillow's as a second reader) and whose pixel size is its size in inches times
    that resolution (matplotlib rounds the pixel count to an integer: at most 1 pixel off)."""
    fig = _figures()[name]
    path = plotting.save(fig, tmp_path / f"{name}.png")
    check_figure_file(path)
    x_dpi, y_dpi = png_dpi(path)
    pil_dpi = Image.open(path).info["dpi"]
    assert abs(pil_dpi[0] - x_dpi) <= DPI_ROUNDING and abs(pil_dpi[1] - y_dpi) <= DPI_ROUNDING
    assert plotting.DPI >= MIN_DPI
    width, height = Image.open(path).size
    w_in, h_in = fig.get_size_inches()
    assert abs(width - w_in * plotting.DPI) <= 1 and abs(height - h_in * plotting.DPI) <= 1


def test_png_dpi_reads_what_pillow_writes(tmp_path):
    """The PNG resolution reader against an independent writer: Pillow's pHYs for 72 and 300 dpi."""
    for dpi in (72, 300):
        Image.new("RGB", (4, 4)).save(tmp_path / "x.png", dpi=(dpi, dpi))
        x, y = png_dpi(tmp_path / "x.png")
        assert abs(x - dpi) <= DPI_ROUNDING and abs(y - dpi) <= DPI_ROUNDING


def test_scatter_panels_share_one_scale_and_small_codes_get_a_zoom():
    """code_scatter: every panel has the same limits (the size of the codes is visible), the panel whose points
    fill 1% of it gets one magnifying inset, the big one none; the class colours have a figure legend."""
    fig = _figures()["scatter"]
    big, small = fig.axes[0], fig.axes[1]
    assert big.get_xlim() == small.get_xlim() and big.get_ylim() == small.get_ylim()
    assert len(big.child_axes) == 0 and len(small.child_axes) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["zero", "one", "two"]


def test_history_legend_is_outside_the_axes_and_the_control_is_black_and_dashed():
    """history_lines: no legend inside any axes (one figure legend instead), the control run listed first as
    "(control)", drawn black and dashed."""
    fig = _figures()["history"]
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["lam=0 (control)", "lam=1"]
    line = fig.axes[0].get_lines()[0]
    assert line.get_label() == "lam=0 (control)" and line.get_color() == "k" and line.get_linestyle() == "--"
