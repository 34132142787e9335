"""AnnData / MuData, the containers of single-cell work, in and out of a k-CAE (issue 12 item 6).

Optional extra: ``pip install "cae-verify[mudata]"`` (anndata, mudata). Nothing here is imported by ``cae_core``
itself; the functions import anndata/mudata when called and say how to install them when they are missing.

- :func:`from_mudata` / :func:`from_anndata`: a :class:`~cae_core.data.PairedDataset` whose modalities are the
  chosen modalities (``mdata.mod[name]``), paired by ``obs_names``: cells present in every modality are the paired
  rows (in the order of the first modality), the others the unpaired rows of their modality. Features are
  ``.X`` or a chosen ``.layers[layer]`` (sparse matrices are made dense); labels come from an ``obs`` column;
  ``ids``/``unpaired_ids`` are the obs names, ``feature_names`` the var names, ``modality_names`` the names.
- :func:`write_codes`: the codes of every cell of each modality (eval mode) into ``.obsm[key]`` of that modality.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from cae_core.data import PairedDataset

INSTALL_HINT = 'pip install "cae-verify[mudata]"  (anndata >= 0.10, mudata >= 0.3)'


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as exc:
        raise ImportError(f"{module} is needed for AnnData/MuData support: {INSTALL_HINT}") from exc


def _dense(matrix, where: str) -> np.ndarray:
    if hasattr(matrix, "toarray"):            # scipy.sparse
        matrix = matrix.toarray()
    arr = np.asarray(matrix)
    if arr.ndim != 2:
        raise ValueError(f"{where} must be a 2-D matrix, got shape {arr.shape}")
    return arr


def _features(adata, layer: str | None, name: str) -> np.ndarray:
    if layer is None:
        if adata.X is None:
            raise ValueError(f"modality {name!r} has no .X; pass layer= to use one of its layers "
                             f"{list(adata.layers.keys())}")
        return _dense(adata.X, f"modality {name!r} .X")
    if layer not in adata.layers:
        raise ValueError(f"layer {layer!r} is not a layer of modality {name!r} (has {list(adata.layers.keys())})")
    return _dense(adata.layers[layer], f"modality {name!r} layer {layer!r}")


def _layer_of(layer: str | Mapping | None, name: str) -> str | None:
    if isinstance(layer, Mapping):
        return layer.get(name)
    return layer


def _label_lookup(label_key: str, adatas: Mapping, shared_obs) -> dict:
    """obs name -> label, from the modalities' ``obs`` and the shared ``obs`` (MuData's global one)."""
    lookup: dict = {}
    sources = [(f"modality {name!r}", a.obs) for name, a in adatas.items()]
    if shared_obs is not None:
        sources.append(("the MuData's obs", shared_obs))
    found = False
    for where, obs in sources:
        if label_key not in obs.columns:
            continue
        found = True
        for cell, value in zip(obs.index.astype(str), obs[label_key].to_numpy()):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if cell in lookup and lookup[cell] != value:
                raise ValueError(f"label_key {label_key!r} gives cell {cell!r} two labels ({lookup[cell]!r} and "
                                 f"{value!r}, the second from {where})")
            lookup[cell] = value
    if not found:
        raise ValueError(f"label_key {label_key!r} is not an obs column of any modality "
                         f"{'or of the MuData ' if shared_obs is not None else ''}(modality obs columns: "
                         f"{sorted({c for a in adatas.values() for c in a.obs.columns})})")
    return lookup


def from_anndata(adatas: Mapping, *, layer: str | Mapping | None = None, label_key: str | None = None,
                 shared_obs=None) -> PairedDataset:
    """A :class:`PairedDataset` from k >= 2 AnnData objects ``{name: adata}`` (see the module docstring).
    ``layer``: None for ``.X``, a layer name for every modality, or ``{name: layer}``. ``label_key``: an obs column
    (in a modality's ``obs`` or in ``shared_obs``); every paired and unpaired cell needs a label."""
    if not isinstance(adatas, Mapping) or len(adatas) < 2:
        raise ValueError(f"adatas must map k >= 2 modality names to AnnData objects, got "
                         f"{len(adatas) if isinstance(adatas, Mapping) else type(adatas).__name__}")
    names = list(adatas)
    X, cells = {}, {}
    for name in names:
        a = adatas[name]
        X[name] = _features(a, _layer_of(layer, name), name)
        cells[name] = np.asarray(a.obs_names).astype(str)
        if len(set(cells[name].tolist())) != len(cells[name]):
            raise ValueError(f"modality {name!r} has duplicate obs_names; pairing by obs_names needs unique names "
                             f"(adata.obs_names_make_unique())")
    common = set(cells[names[0]].tolist())
    for name in names[1:]:
        common &= set(cells[name].tolist())
    order = [c for c in cells[names[0]].tolist() if c in common]
    if not order:
        raise ValueError(f"no obs name occurs in every modality {names}: nothing is paired")
    paired_rows, unpaired_rows = {}, {}
    for name in names:
        where = {c: r for r, c in enumerate(cells[name].tolist())}
        paired_rows[name] = np.array([where[c] for c in order], dtype=np.int64)
        unpaired_rows[name] = np.array([r for r, c in enumerate(cells[name].tolist()) if c not in common],
                                       dtype=np.int64)
    labels = unpaired_labels = None
    if label_key is not None:
        lookup = _label_lookup(label_key, adatas, shared_obs)
        everyone = order + [c for name in names for c in cells[name][unpaired_rows[name]].tolist()]
        missing = [c for c in everyone if c not in lookup]
        if missing:
            raise ValueError(f"label_key {label_key!r} has no label for {len(missing)} cells (e.g. {missing[:3]})")
        labels = np.array([lookup[c] for c in order])
        unpaired_labels = [np.array([lookup[c] for c in cells[name][unpaired_rows[name]]]) for name in names]
    return PairedDataset([X[n][paired_rows[n]] for n in names], unpaired=[X[n][unpaired_rows[n]] for n in names],
                         labels=labels, unpaired_labels=unpaired_labels, ids=np.array(order),
                         unpaired_ids=[cells[n][unpaired_rows[n]] for n in names],
                         feature_names=[np.asarray(adatas[n].var_names).astype(str).tolist() for n in names],
                         modality_names=names, info={"layer": layer})


def _modalities(mdata, modalities: Sequence[str] | None) -> list[str]:
    available = list(mdata.mod.keys())
    if modalities is None:
        return available
    if isinstance(modalities, str) or not isinstance(modalities, Sequence):
        raise TypeError(f"modalities must be a list of modality names, got {modalities!r}")
    for name in modalities:
        if name not in mdata.mod:
            raise ValueError(f"modalities: {name!r} is not a modality of the MuData (has {available})")
    return list(modalities)


def from_mudata(mdata, *, modalities: Sequence[str] | None = None, layer: str | Mapping | None = None,
                label_key: str | None = None) -> PairedDataset:
    """A :class:`PairedDataset` from a MuData: ``modalities`` (default: all, in ``mdata.mod`` order), paired by
    ``obs_names``; ``layer`` as in :func:`from_anndata`; ``label_key``: an obs column of a modality or of the
    MuData itself (e.g. ``"cell_type"``)."""
    _require("mudata")
    names = _modalities(mdata, modalities)
    return from_anndata({n: mdata.mod[n] for n in names}, layer=layer, label_key=label_key, shared_obs=mdata.obs)


def write_codes(mdata, model, *, modalities: Sequence[str] | None = None, layer: str | Mapping | None = None,
                key: str = "X_cae", chunk: int = 4096) -> None:
    """Encode every cell of each modality (paired or not) with arm i of ``model`` (eval mode, the model's stored
    standardisation) and store the ``(n_obs, p)`` codes in ``mdata.mod[name].obsm[key]``. ``modalities`` and
    ``layer`` must be those the model was trained on (arm i = i-th modality)."""
    _require("mudata")
    names = _modalities(mdata, modalities)
    if len(names) != model.k:
        raise ValueError(f"modalities must name one modality per arm (k = {model.k}), got {names}")
    for i, name in enumerate(names):
        a = mdata.mod[name]
        a.obsm[key] = model.encode(_features(a, _layer_of(layer, name), name), modality=i, chunk=chunk)
