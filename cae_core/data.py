"""Paired multi-modal data for a k-CAE: X = {(x_s1, ..., x_sk), s in S} (supplement, Eq. 1), plus optional
unpaired rows per modality (the supplement's Patch-seq batches: 75 paired + 25 unpaired cells).

- :class:`PairedDataset` -- validated container: ``modalities[i]: (N, d_i)``, row s of every modality is sample s.
- :func:`synthetic_multimodal` -- a shared latent pushed through modality-specific random nonlinear maps.
- :func:`digits_same_image` / :func:`digits_two_view` -- scikit-learn's bundled 8x8 digits (the paper's MNIST
  pairing: both arms see the same image; or left/right halves).
- :func:`load_paired` -- user matrices from .npz / .csv files, paired by an id column or by row order, with
  feature names, sample ids and labels kept (AnnData / MuData: :mod:`cae_core.anndata_io`).
"""
from __future__ import annotations

import csv
import os
import zipfile
from typing import Mapping, Sequence

import numpy as np


def _matrix(x, name: str) -> np.ndarray:
    """``x`` as a finite float64 (n, d) array; ValueError/TypeError naming ``name`` otherwise."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 2-D array of real numbers, got {type(x).__name__}") from exc
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows = samples, columns = features), got shape {arr.shape}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least one feature column, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    if not arr.flags.writeable:           # e.g. a read-only memmap: torch cannot share non-writable memory
        arr = arr.copy()
    return arr


def _labels(y, n: int, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array with one label per row ({n}), got shape {arr.shape}")
    return arr


def _id_array(ids, n: int, name: str) -> np.ndarray:
    """``ids`` as a 1-D array of ``n`` unique strings; ValueError naming ``name`` otherwise."""
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array with one sample id per row ({n}), got shape {arr.shape}")
    arr = arr.astype(str)
    if len(set(arr.tolist())) != n:
        raise ValueError(f"{name} must hold unique sample ids (found duplicates)")
    return arr


def _per_modality(values, k: int, name: str) -> list:
    if isinstance(values, (str, bytes, np.ndarray)) or not isinstance(values, Sequence) or len(values) != k:
        raise ValueError(f"{name} must be a list of k = {k} entries, one per modality")
    return list(values)


class PairedDataset:
    """k >= 2 modalities. ``modalities[i]: (N, d_i)`` with row s of each the same sample (N >= 1 paired rows);
    ``unpaired[i]: (U_i, d_i)`` or None: rows of modality i with no partner; ``labels: (N,)`` and
    ``unpaired_labels[i]: (U_i,)`` optional (e.g. cell types); ``info``: free-form metadata (e.g. the true latent).

    Tracing codes back to samples (all optional): ``ids: (N,)`` sample ids of the paired rows,
    ``unpaired_ids[i]: (U_i,)`` those of modality i's unpaired rows (unique strings within each modality);
    ``feature_names[i]``: the d_i column names of modality i (or None); ``modality_names``: k unique names
    (e.g. "rna", "atac"). Arrays are stored as float64 numpy; the training loop casts them to the model's dtype."""

    def __init__(self, modalities: Sequence, unpaired: Sequence | None = None, labels=None,
                 unpaired_labels: Sequence | None = None, info: Mapping | None = None, *, ids=None,
                 unpaired_ids: Sequence | None = None, feature_names: Sequence | None = None,
                 modality_names: Sequence[str] | None = None):
        if isinstance(modalities, np.ndarray) or not isinstance(modalities, Sequence):
            raise TypeError("modalities must be a list of 2-D arrays, one (N, d_i) array per modality, "
                            f"got {type(modalities).__name__}")
        if len(modalities) < 2:
            raise ValueError(f"modalities must hold k >= 2 arrays (a coupling needs two arms), got {len(modalities)}"
                             f"; to encode a single modality with a trained model use model.encode(X, modality=i)")
        mods = [_matrix(x, f"modalities[{i}]") for i, x in enumerate(modalities)]
        n = mods[0].shape[0]
        for i, x in enumerate(mods):
            if x.shape[0] != n:
                raise ValueError(f"modalities must all have the same number of rows (row s = sample s in every "
                                 f"modality): modalities[0] has {n}, modalities[{i}] has {x.shape[0]}")
        if n < 1:
            raise ValueError("modalities must have at least one paired row")
        k = len(mods)
        if unpaired is None:
            unp = [np.zeros((0, x.shape[1])) for x in mods]
        else:
            if isinstance(unpaired, np.ndarray) or not isinstance(unpaired, Sequence) or len(unpaired) != k:
                raise ValueError(f"unpaired must be a list of k = {k} entries (an array (U_i, d_i) or None each)")
            unp = []
            for i, u in enumerate(unpaired):
                if u is None or (hasattr(u, "__len__") and len(u) == 0):
                    unp.append(np.zeros((0, mods[i].shape[1])))
                    continue
                u = _matrix(u, f"unpaired[{i}]")
                if u.shape[1] != mods[i].shape[1]:
                    raise ValueError(f"unpaired[{i}] must have the feature dimension of modalities[{i}] "
                                     f"({mods[i].shape[1]}), got {u.shape[1]}")
                unp.append(u)
        self.modalities: list[np.ndarray] = mods
        self.unpaired: list[np.ndarray] = unp
        self.labels = None if labels is None else _labels(labels, n, "labels")
        if unpaired_labels is None:
            self.unpaired_labels = None
        else:
            if not isinstance(unpaired_labels, Sequence) or len(unpaired_labels) != k:
                raise ValueError(f"unpaired_labels must be a list of k = {k} label arrays")
            self.unpaired_labels = [_labels(y, u.shape[0], f"unpaired_labels[{i}]")
                                    for i, (y, u) in enumerate(zip(unpaired_labels, unp))]
        self.ids = None if ids is None else _id_array(ids, n, "ids")
        if unpaired_ids is None:
            self.unpaired_ids = None
        else:
            self.unpaired_ids = [_id_array([] if u_ids is None else u_ids, u.shape[0], f"unpaired_ids[{i}]")
                                 for i, (u_ids, u) in enumerate(zip(_per_modality(unpaired_ids, k, "unpaired_ids"),
                                                                    unp))]
        if feature_names is None:
            self.feature_names = None
        else:
            names = []
            for i, (f, x) in enumerate(zip(_per_modality(feature_names, k, "feature_names"), mods)):
                if f is not None:
                    f = [str(v) for v in f]
                    if len(f) != x.shape[1]:
                        raise ValueError(f"feature_names[{i}] must name the {x.shape[1]} columns of modalities[{i}], "
                                         f"got {len(f)} names")
                names.append(f)
            self.feature_names = names
        if modality_names is None:
            self.modality_names = None
        else:
            mnames = [str(m) for m in _per_modality(modality_names, k, "modality_names")]
            if len(set(mnames)) != k:
                raise ValueError(f"modality_names must be k = {k} distinct names, got {mnames}")
            self.modality_names = mnames
        self.info = dict(info or {})

    @property
    def k(self) -> int:
        """Number of modalities (arms)."""
        return len(self.modalities)

    @property
    def n_paired(self) -> int:
        """Number of paired samples N."""
        return self.modalities[0].shape[0]

    @property
    def dims(self) -> tuple[int, ...]:
        """Feature dimension d_i of each modality."""
        return tuple(x.shape[1] for x in self.modalities)

    @property
    def n_unpaired(self) -> tuple[int, ...]:
        """Number of unpaired rows U_i of each modality."""
        return tuple(u.shape[0] for u in self.unpaired)

    def rows(self, i: int) -> np.ndarray:
        """All rows of modality i: the paired rows, then its unpaired rows -> ``(N + U_i, d_i)`` (the order of
        ``model.encode(..., include_unpaired=True)`` and of :meth:`sample_ids`)."""
        return np.concatenate([self.modalities[i], self.unpaired[i]], axis=0)

    def sample_ids(self, i: int) -> np.ndarray | None:
        """Ids of :meth:`rows` of modality i -> ``(N + U_i,)`` strings, or None when the data set has no ids."""
        if self.ids is None:
            return None
        extra = self.unpaired_ids[i] if self.unpaired_ids is not None else np.array([], dtype=str)
        return np.concatenate([self.ids, extra])

    def __len__(self) -> int:
        return self.n_paired

    def __repr__(self) -> str:
        return (f"PairedDataset(k={self.k}, n_paired={self.n_paired}, dims={self.dims}, "
                f"n_unpaired={self.n_unpaired}, labels={'yes' if self.labels is not None else 'no'}, "
                f"ids={'yes' if self.ids is not None else 'no'})")


def as_dataset(data, name: str = "data") -> PairedDataset:
    """``data`` if it is a :class:`PairedDataset`, else ``PairedDataset(data)`` for a list of arrays."""
    if isinstance(data, PairedDataset):
        return data
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return PairedDataset(list(data))
    raise TypeError(f"{name} must be a PairedDataset or a list of (N, d_i) arrays, got {type(data).__name__}")


# --------------------------------------------------------------------------------------------------- synthetic

def _random_map(rng: np.random.Generator, latent_dim: int, out_dim: int, hidden: int) -> tuple:
    W1 = rng.normal(size=(latent_dim, hidden)) / np.sqrt(latent_dim)
    b1 = rng.normal(scale=0.5, size=hidden)
    W2 = rng.normal(size=(hidden, out_dim)) / np.sqrt(hidden)
    return W1, b1, W2


def synthetic_multimodal(n: int = 1000, k: int = 2, latent_dim: int = 2, dims: Sequence[int] = (20, 20),
                         noise: float = 0.1, n_types: int = 5, types_only_in: Mapping[int, int] | None = None,
                         type_spread: float = 0.3, hidden: int = 32, seed: int = 0) -> PairedDataset:
    """A shared latent h_s in R^latent_dim (a Gaussian mixture of ``n_types`` types, centres ~ N(0, I), spread
    ``type_spread``) pushed through modality-specific random maps x_si = W2_i tanh(W1_i h_s + b1_i) + noise_i,
    noise_i ~ N(0, noise^2 I). ``n`` samples in all, types assigned round-robin (label = type index).

    ``types_only_in``: {type: modality}: samples of that type exist only in that modality and are stored as its
    unpaired rows (the FACS experiment's subset-specific types). All other samples are paired.
    ``info["latent"]``: (N, latent_dim) shared latent of the paired rows; ``info["unpaired_latent"]`` likewise.
    """
    for name, v, low in (("n", n, 2), ("k", k, 2), ("latent_dim", latent_dim, 1), ("n_types", n_types, 1),
                         ("hidden", hidden, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if v < low:
            raise ValueError(f"{name} must be >= {low}, got {v}")
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence) or len(dims) != k:
        raise ValueError(f"dims must be a sequence of k = {k} feature dimensions, got {dims!r}")
    for i, d in enumerate(dims):
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"dims[{i}] must be an int >= 1, got {d!r}")
    for name, v in (("noise", noise), ("type_spread", type_spread)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    only = dict(types_only_in or {})
    for t, m in only.items():
        if not (isinstance(t, (int, np.integer)) and 0 <= t < n_types):
            raise ValueError(f"types_only_in keys must be type indices in [0, n_types={n_types}), got {t!r}")
        if not (isinstance(m, (int, np.integer)) and 0 <= m < k):
            raise ValueError(f"types_only_in values must be modality indices in [0, k={k}), got {m!r}")
    if len(only) >= n_types:
        raise ValueError(f"types_only_in must leave at least one type shared by all modalities "
                         f"(n_types={n_types}, {len(only)} restricted)")
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_types, latent_dim))
    types = np.arange(n) % n_types
    latent = centres[types] + type_spread * rng.normal(size=(n, latent_dim))
    maps = [_random_map(rng, latent_dim, d, hidden) for d in dims]
    X = []
    for (W1, b1, W2), d in zip(maps, dims):
        X.append(np.tanh(latent @ W1 + b1) @ W2 + noise * rng.normal(size=(n, d)))
    paired = np.array([t not in only for t in types])
    modalities = [x[paired] for x in X]
    unpaired, unpaired_labels, unpaired_latent = [], [], []
    for m in range(k):
        rows = np.array([only.get(t) == m for t in types])
        unpaired.append(X[m][rows])
        unpaired_labels.append(types[rows])
        unpaired_latent.append(latent[rows])
    return PairedDataset(modalities, unpaired=unpaired, labels=types[paired], unpaired_labels=unpaired_labels,
                         info={"latent": latent[paired], "unpaired_latent": unpaired_latent, "seed": seed})


# ----------------------------------------------------------------------------------------------------- digits

def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    bunch = load_digits()
    return bunch.data.astype(np.float64) / 16.0, bunch.target


def digits_same_image() -> PairedDataset:
    """scikit-learn's 1,797 bundled 8x8 digits scaled to [0, 1]; both arms receive the SAME image (the paper's
    MNIST pairing, Fig. 1B); labels = digit. ``modalities[i]: (1797, 64)``."""
    X, y = _digits()
    return PairedDataset([X, X.copy()], labels=y, info={"image_size": 8})


def digits_two_view() -> PairedDataset:
    """The digits split into left and right halves (columns 0-3 and 4-7 of each 8x8 image): two different views
    of one sample. ``modalities[i]: (1797, 32)``; labels = digit."""
    X, y = _digits()
    img = X.reshape(-1, 8, 8)
    return PairedDataset([img[:, :, :4].reshape(-1, 32), img[:, :, 4:].reshape(-1, 32)], labels=y,
                         info={"image_shape": (8, 4)})


# ------------------------------------------------------------------------------------------------------ files

def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _decide_header(path: str, rows: list[list[str]]) -> bool:
    """Whether the first csv row is a header, told from the data alone; ValueError when it cannot be told.

    A header is certain when a cell of the first row is not a number while every other row holds a number in
    that column (a name on top of a numeric column). An all-numeric first row could be numeric column names
    (e.g. ``0,1,...,75``) or a sample, and a first row whose text cells sit in text columns (ids, labels) could
    be names or a sample: both are refused rather than guessed."""
    first, rest = rows[0], rows[1:]
    text_cols = [c for c, cell in enumerate(first) if not _is_number(cell)]
    if not text_cols:
        reason = "its first row is all numbers (numeric column names, or a sample?)"
    elif not rest:
        reason = "it has a single row"
    else:
        for c in text_cols:
            if all(c < len(r) and _is_number(r[c]) for r in rest):
                return True
        reason = "the text cells of its first row lie in columns that hold text in other rows too"
    raise ValueError(f"{path}: cannot tell whether the first row is a header: {reason}; pass header=True (the "
                     f"first row names the columns) or header=False (every row is a sample)")


def _column_index(ref, names: list[str] | None, width: int, path: str, arg: str) -> int:
    """Position of column ``ref`` (a header name, or a 0-based position; negative counts from the end)."""
    if isinstance(ref, str):
        if names is None:
            raise ValueError(f"{arg} {ref!r} names a column, but {path} is read without a header "
                             f"(header=False); give the column's 0-based position instead")
        if ref not in names:
            raise ValueError(f"{arg} {ref!r} is not a column of {path} (columns: {names[:8]}"
                             f"{' ...' if len(names) > 8 else ''})")
        return names.index(ref)
    if isinstance(ref, bool) or not isinstance(ref, (int, np.integer)):
        raise TypeError(f"{arg} must be a column name (str) or a 0-based position (int), got {type(ref).__name__}")
    if not -width <= ref < width:
        raise ValueError(f"{arg} {ref} is not a column position of {path}, which has {width} columns")
    return int(ref) % width


def _parse_labels(values: Sequence[str]) -> np.ndarray:
    """Label strings as int64 when all are integers, float64 when all are numbers, else str."""
    try:
        as_float = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)
    if np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)):
        return as_float.astype(np.int64)
    return as_float


class _Table:
    """What one file contributes: ``X: (n, d)`` features, ``feature_names`` (or None), ``ids: (n,)`` of the
    pair column (or None), ``labels: (n,)`` of the label column (or None: the file has no such column),
    ``columns``: every column name of the file (empty without names)."""

    def __init__(self, path, X, feature_names, ids, labels):
        self.path, self.X, self.feature_names, self.ids, self.labels = path, X, feature_names, ids, labels
        self.columns: list[str] = []


def _read_csv(path: str, header: bool | None, pair_column, label_column, drop_columns: Sequence) -> _Table:
    try:
        with open(path, newline="") as fh:
            rows = [[c.strip() for c in r] for r in csv.reader(fh) if r]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a text csv file ({exc.reason} at byte {exc.start})") from None
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    named = [ref for ref in (pair_column, label_column, *drop_columns) if isinstance(ref, str)]
    if header is None:
        header = True if named else _decide_header(path, rows)
    names = rows[0] if header else None
    body = rows[1:] if header else rows
    if not body:
        raise ValueError(f"{path}: the file has a header row but no samples")
    width = len(rows[0])
    id_col = None if pair_column is None else _column_index(pair_column, names, width, path, "pair_column")
    label_col = None
    if label_column is not None and not (isinstance(label_column, str) and names is not None
                                         and label_column not in names):
        label_col = _column_index(label_column, names, width, path, "label_column")
    dropped = {_column_index(ref, names, width, path, "drop_columns") for ref in drop_columns
               if not (isinstance(ref, str) and names is not None and ref not in names)}
    skip = dropped | {c for c in (id_col, label_col) if c is not None}
    keep = [c for c in range(width) if c not in skip]
    if not keep:
        raise ValueError(f"{path}: no feature column is left after removing pair_column, label_column and "
                         f"drop_columns")
    first_line = 2 if header else 1
    values = []
    for line, r in enumerate(body, start=first_line):
        if len(r) != width:
            raise ValueError(f"{path}: line {line} has {len(r)} fields, expected {width}")
        try:
            values.append([float(r[c]) for c in keep])
        except ValueError:
            bad = next(c for c in keep if not _is_number(r[c]))
            column = repr(names[bad]) if names is not None else f"at position {bad}"
            raise ValueError(f"{path}: line {line} has a non-numeric feature value {r[bad]!r} in column {column} "
                             f"(a label column? pass label_column=; other text columns: drop_columns=)") from None
    ids = None if id_col is None else np.array([r[id_col] for r in body])
    labels = None if label_col is None else _parse_labels([r[label_col] for r in body])
    feature_names = None if names is None else [names[c] for c in keep]
    table = _Table(path, np.array(values, dtype=np.float64).reshape(len(body), -1), feature_names, ids, labels)
    table.columns = names or []
    return table


def _read_npz(path: str, matrix_key: str, pair_column, label_column, drop_columns: Sequence) -> _Table:
    for arg, ref in (("pair_column", pair_column), ("label_column", label_column)):
        if ref is not None and not isinstance(ref, str):
            raise TypeError(f"{arg} must name an array of the .npz archive {path} (a str), got {type(ref).__name__}")
    try:
        archive = np.load(path, allow_pickle=False)
        if not hasattr(archive, "files"):     # a bare .npy array saved under a .npz name
            raise ValueError(f"{path} must be an .npz archive (np.savez), got a single array")
        with archive as z:
            if matrix_key not in z.files:
                raise ValueError(f"{path} must hold the feature matrix under the key {matrix_key!r}, has {z.files}")
            X = z[matrix_key]
            names = np.asarray(z["feature_names"]).astype(str).tolist() if "feature_names" in z.files else None
            ids = labels = None
            if pair_column is not None:
                if pair_column not in z.files:
                    raise ValueError(f"pair_column {pair_column!r} is not an array of {path} (has {z.files})")
                ids = np.asarray(z[pair_column]).astype(str)
            if label_column is not None and label_column in z.files:
                labels = np.asarray(z[label_column])
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a readable .npz archive ({exc})") from None
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        # numpy's own message (e.g. "contains pickled (object) data") names neither the file nor the cause
        raise ValueError(f"{path} is not a readable .npz archive of numeric arrays ({exc})") from None
    X = _matrix(X, f"the matrix {matrix_key!r} of {path}")
    if names is not None and len(names) != X.shape[1]:
        raise ValueError(f"{path}: feature_names must name the {X.shape[1]} columns of {matrix_key!r}, "
                         f"has {len(names)}")
    for arg, arr in (("pair_column", ids), ("label_column", labels)):
        if arr is not None and arr.shape != (X.shape[0],):
            raise ValueError(f"{path}: {arg} array must hold one entry per row ({X.shape[0]}), got shape {arr.shape}")
    dropped = {_column_index(ref, names, X.shape[1], path, "drop_columns") for ref in drop_columns
               if not (isinstance(ref, str) and names is not None and ref not in names)}
    keep = [c for c in range(X.shape[1]) if c not in dropped]
    if not keep:
        raise ValueError(f"{path}: no feature column is left after drop_columns")
    table = _Table(path, X[:, keep], None if names is None else [names[c] for c in keep], ids, labels)
    table.columns = names or []
    return table


def _paired_labels(tables: list[_Table], rows: list[np.ndarray], label_column) -> np.ndarray | None:
    """Labels of the paired samples from every file that has the label column; they must agree."""
    found = [(t, t.labels[r]) for t, r in zip(tables, rows) if t.labels is not None]
    if not found:
        return None
    first_table, labels = found[0]
    for t, other in found[1:]:
        if labels.astype(str).tolist() != other.astype(str).tolist():
            s = next(s for s, (a, b) in enumerate(zip(labels.astype(str), other.astype(str))) if a != b)
            raise ValueError(f"label_column {label_column!r} disagrees between {first_table.path} and {t.path} "
                             f"on paired sample {s} ({labels[s]!r} vs {other[s]!r})")
    return labels


def load_paired(*paths: str | os.PathLike, pair_column: str | int | None = None, header: bool | None = None,
                label_column: str | int | None = None, drop_columns: Sequence[str | int] = (),
                matrix_key: str = "X") -> PairedDataset:
    """One feature matrix per modality from ``.csv`` or ``.npz`` files -> :class:`PairedDataset` with the feature
    names, sample ids (paired and unpaired) and labels of the files.

    ``header`` (csv): True, the first row names the columns; False, every row is a sample; None (default), told
    from the data -- a first row with a text cell above a numeric column is a header, and anything else (an
    all-numeric first row such as ``0,1,...,75,0``, or text only in text columns) is a ValueError asking for
    ``header=``. Naming a column (a str below) implies ``header=True``.

    ``pair_column`` (a column name or 0-based position; for .npz the name of an id array): sample ids; ids present
    in every file are the paired samples (in the order of the first file), the others become the unpaired rows of
    their modality (``ids`` / ``unpaired_ids``). None: row s of every file is sample s (equal row counts).

    ``label_column`` (name or position; .npz: an array name): a label per row, taken out of the features; files
    without that column contribute no labels, files that have it must agree on the paired samples. Labels that
    are all integers become int64. ``drop_columns``: further columns (names or positions) that are not features.
    ``matrix_key``: the array of an .npz holding the ``(n, d)`` features (its optional ``feature_names`` array
    names the columns). Every error names the file and the argument.
    """
    if len(paths) < 2:
        raise ValueError(f"paths must name k >= 2 files (one per modality), got {len(paths)}")
    if header is not None and not isinstance(header, bool):
        raise TypeError(f"header must be True, False or None (told from the data), got {header!r}")
    if isinstance(drop_columns, (str, int)) or not isinstance(drop_columns, Sequence):
        raise TypeError(f"drop_columns must be a list of column names or positions, got {drop_columns!r}")
    paths = [os.fspath(p) for p in paths]
    for i, p in enumerate(paths):
        if os.path.splitext(p)[1].lower() not in (".csv", ".npz"):
            raise ValueError(f"paths[{i}] = {p!r} must end in .csv or .npz")
        if not os.path.isfile(p):
            raise ValueError(f"paths[{i}] = {p!r} is not an existing file")
    tables = []
    for p in paths:
        if p.lower().endswith(".csv"):
            t = _read_csv(p, header, pair_column, label_column, drop_columns)
        else:
            t = _read_npz(p, matrix_key, pair_column, label_column, drop_columns)
        t.X = _matrix(t.X, f"the matrix of {p}")
        if t.ids is not None and len(set(t.ids.tolist())) != len(t.ids):
            raise ValueError(f"{p}: pair_column {pair_column!r} must hold unique ids (found duplicates)")
        tables.append(t)
    if label_column is not None and all(t.labels is None for t in tables):
        raise ValueError(f"label_column {label_column!r} is not a column of any of {paths}")
    for ref in drop_columns:
        if isinstance(ref, str) and not any(ref in t.columns for t in tables):
            raise ValueError(f"drop_columns {ref!r} is not a column of any of {paths}")
    names = [t.feature_names for t in tables]
    feature_names = None if all(f is None for f in names) else names
    if pair_column is None:
        n0 = tables[0].X.shape[0]
        for i, t in enumerate(tables):
            if t.X.shape[0] != n0:
                raise ValueError(f"paths[{i}] ({t.path}) has {t.X.shape[0]} samples but paths[0] ({tables[0].path}) "
                                 f"has {n0}: without pair_column, row s of every file must be sample s. If the files "
                                 f"hold a sample-id column, pass pair_column='<its name>' to pair rows by id (rows "
                                 f"without a partner become unpaired rows)")
        every = [np.arange(n0)] * len(tables)
        return PairedDataset([t.X for t in tables], labels=_paired_labels(tables, every, label_column),
                             feature_names=feature_names)
    common = set(tables[0].ids.tolist())
    for t in tables[1:]:
        common &= set(t.ids.tolist())
    order = [s for s in tables[0].ids.tolist() if s in common]
    if not order:
        raise ValueError(f"no sample id of pair_column {pair_column!r} occurs in every file: nothing is paired")
    paired_rows, unpaired_rows = [], []
    for t in tables:
        where = {s: r for r, s in enumerate(t.ids.tolist())}
        paired_rows.append(np.array([where[s] for s in order], dtype=np.int64))
        unpaired_rows.append(np.array([r for r, s in enumerate(t.ids.tolist()) if s not in common], dtype=np.int64))
    unpaired_labels = None
    if label_column is not None:
        missing = [t.path for t, r in zip(tables, unpaired_rows) if t.labels is None and len(r) > 0]
        if missing:
            raise ValueError(f"label_column {label_column!r} is not a column of {missing}, which hold unpaired rows "
                             f"whose labels would be unknown; add the column there or leave label_column=None")
        unpaired_labels = [t.labels[r] if t.labels is not None else np.array([]) for t, r in zip(tables, unpaired_rows)]
    return PairedDataset([t.X[r] for t, r in zip(tables, paired_rows)],
                         unpaired=[t.X[r] for t, r in zip(tables, unpaired_rows)],
                         labels=_paired_labels(tables, paired_rows, label_column), unpaired_labels=unpaired_labels,
                         ids=np.array(order), unpaired_ids=[t.ids[r] for t, r in zip(tables, unpaired_rows)],
                         feature_names=feature_names)
