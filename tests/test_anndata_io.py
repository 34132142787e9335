"""AnnData / MuData in and out (issue 12 item 6), on a small MuData built here. Skipped when the optional extra
``cae-verify[mudata]`` is not installed."""
import numpy as np
import pytest
import torch

mudata = pytest.importorskip("mudata")
anndata = pytest.importorskip("anndata")
pd = pytest.importorskip("pandas")
sparse = pytest.importorskip("scipy.sparse")

from cae_core import CoupledAutoencoder, fit, linear_arm  # noqa: E402
from cae_core.anndata_io import from_anndata, from_mudata, write_codes  # noqa: E402


def small_mudata():
    """rna: cells c0..c29 (12 genes, .X sparse, a "counts" layer = 10 * X); atac: cells c10..c39 in another order
    (8 peaks). Cells c10..c29 are in both. Cell types in rna.obs and atac.obs."""
    rng = np.random.default_rng(0)
    rna_cells = [f"c{s}" for s in range(30)]
    atac_cells = [f"c{s}" for s in rng.permutation(np.arange(10, 40))]
    kind = {f"c{s}": "AB"[s % 2] for s in range(40)}
    Xr = rng.random((30, 12))
    rna = anndata.AnnData(X=sparse.csr_matrix(Xr), obs=pd.DataFrame({"cell_type": [kind[c] for c in rna_cells]},
                                                                     index=rna_cells),
                          var=pd.DataFrame(index=[f"g{j}" for j in range(12)]))
    rna.layers["counts"] = Xr * 10
    atac = anndata.AnnData(X=rng.random((30, 8)), obs=pd.DataFrame({"cell_type": [kind[c] for c in atac_cells]},
                                                                    index=atac_cells),
                           var=pd.DataFrame(index=[f"p{j}" for j in range(8)]))
    with mudata.set_options(pull_on_update=False):       # mudata >= 0.3.x: silence its FutureWarning
        return mudata.MuData({"rna": rna, "atac": atac})


def test_from_mudata_pairs_by_obs_names():
    """Oracle: pandas' own indexing of the modalities by the shared obs names (Index.intersection, .loc-style
    row selection with get_indexer), independent of cae_core's dictionaries."""
    md = small_mudata()
    d = from_mudata(md, layer={"rna": "counts"}, label_key="cell_type")
    rna, atac = md.mod["rna"], md.mod["atac"]
    shared = rna.obs_names[rna.obs_names.isin(atac.obs_names)]          # rna order
    assert list(d.ids) == list(shared) and d.n_paired == 20
    np.testing.assert_array_equal(d.modalities[0], rna.layers["counts"][rna.obs_names.get_indexer(shared)])
    np.testing.assert_array_equal(d.modalities[1], atac.X[atac.obs_names.get_indexer(shared)])
    only_rna = rna.obs_names.difference(atac.obs_names, sort=False)
    only_atac = atac.obs_names.difference(rna.obs_names, sort=False)
    assert list(d.unpaired_ids[0]) == list(only_rna) and list(d.unpaired_ids[1]) == list(only_atac)
    np.testing.assert_array_equal(d.unpaired[1], atac.X[atac.obs_names.get_indexer(only_atac)])
    assert list(d.labels) == list(rna.obs.loc[shared, "cell_type"])
    assert list(d.unpaired_labels[1]) == list(atac.obs.loc[only_atac, "cell_type"])
    assert d.feature_names[0] == [f"g{j}" for j in range(12)] and d.modality_names == ["rna", "atac"]
    # .X (sparse) by default
    np.testing.assert_array_equal(from_mudata(md).modalities[0], rna.X.toarray()[rna.obs_names.get_indexer(shared)])


def test_from_mudata_errors():
    md = small_mudata()
    with pytest.raises(ValueError, match="layer 'nope' is not a layer of modality 'rna'"):
        from_mudata(md, layer="nope")
    with pytest.raises(ValueError, match="label_key 'tissue' is not an obs column"):
        from_mudata(md, label_key="tissue")
    with pytest.raises(ValueError, match="modalities: 'adt' is not a modality"):
        from_mudata(md, modalities=["rna", "adt"])
    with pytest.raises(ValueError, match="k >= 2"):
        from_anndata({"rna": md.mod["rna"]})


def test_write_codes_to_obsm():
    """Codes of every cell of each modality, paired or not, land in .obsm["X_cae"]: equal to model.encode of
    that modality's matrix (the same eval-mode computation, so bitwise)."""
    md = small_mudata()
    d = from_mudata(md, label_key="cell_type")
    torch.manual_seed(0)
    model = CoupledAutoencoder([linear_arm(12, 2), linear_arm(8, 2)], latent_norm="batchnorm", coupling="mse")
    fit(model, d, steps=3, batch_size=16, n_paired=12, standardize=True, progress=False)
    write_codes(md, model)
    rna, atac = md.mod["rna"], md.mod["atac"]
    assert rna.obsm["X_cae"].shape == (30, 2) and atac.obsm["X_cae"].shape == (30, 2)
    np.testing.assert_array_equal(rna.obsm["X_cae"], model.encode(rna.X.toarray(), modality=0))
    paired = rna.obs_names.get_indexer(d.ids)
    np.testing.assert_array_equal(rna.obsm["X_cae"][paired], model.encode(d)[0])
    with pytest.raises(ValueError, match="one modality per arm"):
        write_codes(md, model, modalities=["rna"])
