"""Checks shared by the experiment tests: what every `cae experiment` output folder must contain."""
from __future__ import annotations

import json
import struct
from pathlib import Path

from cae_experiments.io import HISTORY_KEYS

#: The smallest resolution of a figure file (issue 13: figures a teacher can project).
MIN_DPI = 150
#: PNG stores the resolution as whole pixels per metre (the pHYs chunk), so a file written at D dots per inch
#: reads back within 0.5 px/m * 0.0254 m/inch of D.
DPI_ROUNDING = 0.5 * 0.0254


def png_dpi(path: Path) -> tuple[float, float]:
    """(x, y) dots per inch from the pHYs chunk of the PNG file ``path``, read with the PNG specification's
    layout (8-byte signature; chunks of length, type, data, CRC; pHYs = two big-endian uint32 pixels per unit and
    a unit byte, 1 = metre). AssertionError if the file has no pHYs chunk in metres."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"pHYs":
            x, y, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            assert unit == 1, f"{path}: pHYs unit is {unit}, not metres"
            return x * 0.0254, y * 0.0254
        if kind == b"IDAT":
            break                     # pHYs must come before the image data
        pos += 12 + length
    raise AssertionError(f"{path} records no resolution (no pHYs chunk before the image data)")


def check_figure_file(path: Path) -> None:
    """A real, non-trivial PNG of at least :data:`MIN_DPI` dots per inch."""
    assert path.stat().st_size > 2000, f"{path.name} is (nearly) empty"
    assert min(png_dpi(path)) >= MIN_DPI - DPI_ROUNDING, f"{path.name}: {png_dpi(path)} dpi < {MIN_DPI}"


def experiment_outputs(out: Path) -> dict:
    """metrics.json of an experiment run at --quick size in ``out``, after checking the folder: a non-empty
    summary.txt, every listed PNG a real, non-trivial PNG of at least :data:`MIN_DPI` dpi (at least one), the
    config's quick/seed/steps, and each run's standard keys and history (cae_experiments.io.HISTORY_KEYS)."""
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "summary.txt").read_text().strip()
    pngs = [out / f for f in metrics["files"] if f.endswith(".png")]
    assert pngs, "an experiment must write at least one figure"
    for f in pngs:
        check_figure_file(f)
    assert metrics["config"]["quick"] is True and "seed" in metrics["config"] and "steps" in metrics["config"]
    for run in metrics["runs"]:
        assert {"label", "lam", "coupling", "latent_norm", "history", "final"} <= set(run)
        if not run.get("error"):
            assert set(HISTORY_KEYS) <= set(run["history"])
            assert len(run["history"]["step"]) == len(run["history"]["coupling"]) > 1
    return metrics
