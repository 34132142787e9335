"""The README's "Your own paired data" section runs as printed: its fenced Python blocks are extracted from
README.md and executed, in a temporary folder holding small files of the names the section uses (rna.csv,
atac.csv; cells.h5mu when the optional mudata extra is installed)."""
import os
import re

import numpy as np
import pytest

from cae_core.data import synthetic_multimodal

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def section_blocks(title: str) -> list[str]:
    text = open(README, encoding="utf-8").read()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end if end > 0 else None], flags=re.S)


def cells():
    """240 synthetic cells of 4 types; rna has all of them, atac 200 (in another order) on a 100x larger scale."""
    d = synthetic_multimodal(240, dims=(20, 12), n_types=4, seed=0)
    ids = np.array([f"cell{s}" for s in range(240)])
    types = np.array([f"T{t}" for t in d.labels])
    atac_rows = np.random.default_rng(1).permutation(240)[:200]
    return d.modalities[0], 100 * d.modalities[1], ids, types, atac_rows


def write_csv(path, ids, X, prefix, types):
    with open(path, "w") as fh:
        fh.write(",".join(["cell", *[f"{prefix}{j}" for j in range(X.shape[1])], "type"]) + "\n")
        for s, row, t in zip(ids, X, types):
            fh.write(",".join([s, *[repr(float(v)) for v in row], t]) + "\n")


def test_readme_csv_example_runs(tmp_path, monkeypatch):
    blocks = section_blocks("Your own paired data")
    assert len(blocks) == 2
    rna, atac, ids, types, rows = cells()
    write_csv(tmp_path / "rna.csv", ids, rna, "g", types)
    write_csv(tmp_path / "atac.csv", ids[rows], atac[rows], "p", types[rows])
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    data = namespace["data"]
    assert data.n_paired == 200 and data.n_unpaired == (40, 0) and data.dims == (20, 12)
    assert namespace["rna_codes"].shape == (240, 2) and namespace["atac_from_rna"].shape == (200, 12)
    assert (tmp_path / "codes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path / "my-cae")) == ["model.json", "weights.npz"]


@pytest.mark.filterwarnings("ignore::FutureWarning")   # mudata 0.3's read_h5mu announces a 0.4 change
def test_readme_mudata_example_runs(tmp_path, monkeypatch):
    mudata = pytest.importorskip("mudata")
    anndata = pytest.importorskip("anndata")
    pd = pytest.importorskip("pandas")
    rna, atac, ids, types, rows = cells()
    with mudata.set_options(pull_on_update=False):
        md = mudata.MuData({
            "rna": anndata.AnnData(X=rna, obs=pd.DataFrame({"cell_type": types}, index=ids),
                                   var=pd.DataFrame(index=[f"g{j}" for j in range(rna.shape[1])])),
            "atac": anndata.AnnData(X=atac[rows], obs=pd.DataFrame({"cell_type": types[rows]}, index=ids[rows]),
                                    var=pd.DataFrame(index=[f"p{j}" for j in range(atac.shape[1])]))})
    md.write_h5mu(tmp_path / "cells.h5mu")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(section_blocks("Your own paired data")[1], "README.md", "exec"), namespace)
    mdata = namespace["mdata"]
    assert mdata.mod["rna"].obsm["X_cae"].shape == (240, 2) and mdata.mod["atac"].obsm["X_cae"].shape == (200, 2)
