"""Evaluation of learned codes with reference packages: k-NN accuracy (scikit-learn), Hungarian pairing
(scipy.optimize.linear_sum_assignment) and pruning of pairs by correlation, nearest-neighbour distances
(scipy.spatial.cKDTree) and the two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp)."""
from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.spatial
import scipy.stats

from cae_theory.validation import as_array


def _same_width(a, name_a: str, b, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    """Two 2-D float arrays of codes ``(N_a, p)``, ``(N_b, p)`` with the same width p (ValueError otherwise)."""
    A = as_array(a, name_a, ndim=2)
    B = as_array(b, name_b, ndim=2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"{name_a} and {name_b} must have the same width, got {A.shape[1]} and {B.shape[1]}")
    return A, B


def _labels(y, name: str, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array with one label per row ({n}), got shape {y.shape}")
    return y


def knn_accuracy(reference, reference_labels, query, query_labels, n_neighbors: int = 5) -> float:
    """Fraction of ``query: (M, p)`` rows whose majority label among their ``n_neighbors`` nearest rows of
    ``reference: (N, p)`` (Euclidean; scikit-learn's KNeighborsClassifier, default k = 5) is their own label.
    Across arms: reference = codes of arm j, query = codes of arm i."""
    from sklearn.neighbors import KNeighborsClassifier

    R, Q = _same_width(reference, "reference", query, "query")
    yr = _labels(reference_labels, "reference_labels", R.shape[0])
    yq = _labels(query_labels, "query_labels", Q.shape[0])
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, (int, np.integer)):
        raise TypeError(f"n_neighbors must be an int, got {type(n_neighbors).__name__}")
    if not 1 <= n_neighbors <= R.shape[0]:
        raise ValueError(f"n_neighbors must be in [1, {R.shape[0]}] (rows of reference), got {n_neighbors}")
    clf = KNeighborsClassifier(n_neighbors=int(n_neighbors)).fit(R, yr)
    return float(np.mean(clf.predict(Q) == yq))


def hungarian_pairs(codes_a, labels_a, codes_b, labels_b) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (rows of A, rows of B) found per shared label by the Hungarian algorithm on Euclidean distances.

    For every label present in both sets, ``linear_sum_assignment`` pairs min(n_a, n_b) rows so that the total
    distance is minimal. (The supplement writes "-D_AB as the assignment cost"; minimising -D would pair the
    FARTHEST cells, which contradicts the purpose, so we minimise D.) ``codes_*: (N_*, p)``.
    Returns index arrays ``(ia, ib)`` of equal length."""
    A, B = _same_width(codes_a, "codes_a", codes_b, "codes_b")
    la = _labels(labels_a, "labels_a", A.shape[0])
    lb = _labels(labels_b, "labels_b", B.shape[0])
    ia_all, ib_all = [], []
    for label in np.intersect1d(la, lb):
        ra = np.flatnonzero(la == label)
        rb = np.flatnonzero(lb == label)
        cost = scipy.spatial.distance.cdist(A[ra], B[rb])
        r, c = scipy.optimize.linear_sum_assignment(cost)
        ia_all.append(ra[r])
        ib_all.append(rb[c])
    if not ia_all:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    return np.concatenate(ia_all), np.concatenate(ib_all)


def correlation_pruned(x_a, x_b, labels, quantile: float = 0.5) -> np.ndarray:
    """Which pairs to keep after pruning by a label-specific correlation threshold: pair r (``x_a[r]`` with
    ``x_b[r]``, rows ``(P, d)``) is kept iff the Pearson correlation of its two feature vectors is at least the
    ``quantile`` (numpy.quantile, linear) of the correlations of the pairs with its label (``labels: (P,)``).
    The supplement prunes the FACS pairs "using a cell type specific threshold imposed on the cross correlation
    coefficient of peptidergic gene expression values"; the median (0.5) keeps about half of every type.
    Returns a boolean mask ``(P,)``."""
    A = as_array(x_a, "x_a", ndim=2)
    B = as_array(x_b, "x_b", ndim=2)
    if A.shape != B.shape:
        raise ValueError(f"x_a and x_b must be paired rows of the same shape, got {A.shape} and {B.shape}")
    if A.shape[1] < 2:
        raise ValueError(f"x_a and x_b need >= 2 features for a correlation, got {A.shape[1]}")
    y = _labels(labels, "labels", A.shape[0])
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float)) or not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must be a number in [0, 1], got {quantile!r}")
    Ac = A - A.mean(axis=1, keepdims=True)
    Bc = B - B.mean(axis=1, keepdims=True)
    scale = np.linalg.norm(Ac, axis=1) * np.linalg.norm(Bc, axis=1)
    if np.any(scale == 0.0):
        raise ValueError("x_a and x_b rows must not be constant (the correlation of a constant row is undefined)")
    corr = np.sum(Ac * Bc, axis=1) / scale
    keep = np.zeros(A.shape[0], dtype=bool)
    for label in np.unique(y):
        rows = y == label
        keep[rows] = corr[rows] >= np.quantile(corr[rows], quantile)
    return keep


def nearest_neighbor(query, reference) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance of every row of ``query: (M, p)`` to its nearest row of ``reference: (N, p)``, and
    that row's index: ``(distances (M,), indices (M,))`` (scipy.spatial.cKDTree)."""
    Q, R = _same_width(query, "query", reference, "reference")
    dist, index = scipy.spatial.cKDTree(R).query(Q, k=1)
    return np.asarray(dist, dtype=np.float64), np.asarray(index, dtype=np.int64)


def nearest_neighbor_distance(query, reference) -> np.ndarray:
    """Euclidean distance of every row of ``query: (M, p)`` to its nearest row of ``reference: (N, p)``: (M,)."""
    return nearest_neighbor(query, reference)[0]


def ks_two_sample(a, b) -> dict:
    """Two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp, two-sided): ``{"statistic", "pvalue"}``."""
    a = as_array(a, "a", ndim=1)
    b = as_array(b, "b", ndim=1)
    res = scipy.stats.ks_2samp(a, b)
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue)}


def whiten(Z, reference=None) -> np.ndarray:
    """ZCA-whiten ``Z: (N, p)`` with the mean and covariance (1/(n-1)) of ``reference: (n, p)`` (default Z):
    (Z - mu) V^{-1/2}. Directions with eigenvalue <= 1e-12 * the largest are dropped (pseudo-inverse), so a
    collapsed code stays finite."""
    Z = as_array(Z, "Z", ndim=2)
    R = Z if reference is None else as_array(reference, "reference", ndim=2)
    if R.shape[1] != Z.shape[1]:
        raise ValueError(f"reference must have the width of Z ({Z.shape[1]}), got {R.shape[1]}")
    if R.shape[0] < 2:
        raise ValueError(f"reference must have >= 2 rows for a covariance, got {R.shape[0]}")
    mu = R.mean(axis=0)
    C = R - mu
    w, U = np.linalg.eigh(C.T @ C / (R.shape[0] - 1))
    keep = w > 1e-12 * max(w.max(), np.finfo(float).tiny)
    inv_sqrt = (U[:, keep] / np.sqrt(w[keep])) @ U[:, keep].T
    return (Z - mu) @ inv_sqrt


def aligned_knn_accuracy(ref_i, ref_j, ref_labels, query_i, query_labels, n_neighbors: int = 5) -> float:
    """k-NN accuracy across arms after a generic alignment: each arm ZCA-whitened by its own reference codes,
    then arm i rotated onto arm j by the orthogonal Procrustes fit (scipy.linalg.orthogonal_procrustes) on the
    paired reference rows; ``query_i`` (arm i codes of held-out rows) classified among arm j's reference codes.
    Asks whether the two arms' codes carry the same information up to an affine map, whatever the coupling.
    ``ref_i, ref_j: (N, p)`` paired rows; ``query_i: (M, p)``."""
    import scipy.linalg

    Ri = as_array(ref_i, "ref_i", ndim=2)
    Rj = as_array(ref_j, "ref_j", ndim=2)
    if Ri.shape != Rj.shape:
        raise ValueError(f"ref_i and ref_j must be paired codes of the same shape, got {Ri.shape} and {Rj.shape}")
    Wi, Wj = whiten(Ri), whiten(Rj)
    rot, _ = scipy.linalg.orthogonal_procrustes(Wi, Wj)
    Qi = whiten(query_i, Ri) @ rot
    return knn_accuracy(Wj, ref_labels, Qi, query_labels, n_neighbors)
