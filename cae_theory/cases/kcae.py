"""Case families for the Definition, Eq. 1, the Remark and Prop. 1: k-CAEs with inputs, encoders, decoders, a
cost c, a norm, eps and lambda, built constructively in batches (batch axis first).

One case is the arrays (shapes for a batch of N cases; P = p' the input dimension, p the code dimension):

- ``X: (N, k, S, P)`` inputs x_si;
- ``E, Eq: (N, k, p, P)`` and ``D, Dq: (N, k, P, p)``: arm i encodes E_i(x) = E_i x + Eq_i (x o x) and decodes
  D_i(z) = D_i z + Dq_i (z o z) (o: entrywise product). Linear arms have Eq = Dq = 0 exactly; the quadratic arms
  are continuous non-linear operators that can still express every linear map (the Definition);
- ``T, Tinv: (N, p, p)``: an invertible T and its EXACT inverse (for the Remark): T = Pi 2^a L U with Pi a
  permutation, 2^a a diagonal of powers of two and L, U unit triangular integer matrices, whose inverses are
  integer matrices computed exactly in int64; every entry of T and Tinv is exactly a float;
- ``c_kind: (N, 5)`` one-hot (one kind per batch, so that only that kind is evaluated) over :data:`cae_theory.definition.COST_KINDS`, ``c_weight, c_offset, c_delta: (N,)``,
  ``c_shift: (N, p)``: c(x) = offset + weight g(x - shift) (:func:`cae_theory.definition.convex_cost`);
- ``norm_kind: (N, 5)`` one-hot (one norm per batch) over :data:`cae_theory.prop1.statement.NORM_KINDS`, ``norm_M: (N, p, p)`` the
  positive definite matrix of the weighted norm sqrt(z^T M z) (the identity for the other norms);
- ``u: (N,)``: eps relative to the largest code: eps = u max_{s,i} ||z_si|| (an exact real; u <= 1 is the proof's
  hypothesis max ||z|| >= eps, u > 1 the rest of "any eps > 0");
- ``lam: (N,)``: lambda >= 0.

Each family aims at an edge of the hypotheses (Prop. 1 and the assumptions below Eq. 1):

- ``gaussian``: generic linear k-CAEs, every cost and norm, lambda and eps over many decades;
- ``edge_sizes``: |S| = 2 and p' = p + 1 (the edges of |S| > 1 and p < p');
- ``quadratic_arms``: non-linear continuous encoders and decoders;
- ``lambda_edges``: lambda = 0 (allowed by the Definition), 1e-12..1e-6 and 1e6..1e12;
- ``c_zero_at_origin`` / ``c_positive_at_origin``: c(0) = 0 exactly (offset 0, shift 0) / c(0) > 0;
- ``tied_arms``: arm 1 equal to arm 0 (inputs and encoders), arm 2 not: some differences exactly 0;
- ``line_inputs``: inputs of rank one (all x_si on one line per arm);
- ``scales``: inputs, encoders and decoders each scaled by 10^-6..10^6;
- ``eps_above``: u in [1, 1e3] (eps above every code: beta = 1/2);
- ``large_dims``: p up to 6, p' up to 9; ``many_arms``: k up to 12; ``large_S``: |S| up to 300.

:func:`corrected_families` keep to the hypotheses of the corrected Prop. 1 (lambda > 0, c(0) = 0), also outside the
assumptions below Eq. 1 (|S| = 1, p' <= p), which the proof does not use.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cae_theory.ledger.search import Cases, Family

COST_KINDS = ("sq", "l1", "linf", "huber", "quartic")
NORM_KINDS = ("l1", "l2", "l3", "linf", "weighted")


def _loguniform(rng, lo: float, hi: float, size) -> np.ndarray:
    return 10.0 ** rng.uniform(lo, hi, size)


def _one_hot(index: np.ndarray, width: int) -> np.ndarray:
    return (np.arange(width) == np.asarray(index)[..., None]).astype(np.float64)


def _unit_triangular_inverse(L: np.ndarray) -> np.ndarray:
    """Exact inverse of unit lower triangular integer matrices ``(N, p, p)`` (int64): again integer."""
    N, p, _ = L.shape
    inv = np.zeros_like(L)
    eye = np.eye(p, dtype=L.dtype)
    for i in range(p):
        row = eye[i][None, :].repeat(N, axis=0)
        for j in range(i):
            row = row - L[:, i, j, None] * inv[:, j, :]
        inv[:, i, :] = row
    return inv


def exact_invertible(rng: np.random.Generator, n: int, p: int, entries: int = 2,
                     exponents: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(T, T^-1), each ``(n, p, p)`` float64 and exactly inverse to each other: T = Pi 2^a L U (see module
    docstring), unit triangular entries in [-entries, entries], exponents a in [-exponents, exponents]."""
    L = np.tril(rng.integers(-entries, entries + 1, (n, p, p)), -1) + np.eye(p, dtype=np.int64)
    U = np.triu(rng.integers(-entries, entries + 1, (n, p, p)), 1) + np.eye(p, dtype=np.int64)
    Linv = _unit_triangular_inverse(L)
    Uinv = np.swapaxes(_unit_triangular_inverse(np.swapaxes(U, 1, 2)), 1, 2)
    LU, UL = (L @ U), (Uinv @ Linv)
    if max(np.abs(LU).max(initial=0), np.abs(UL).max(initial=0)) >= 2 ** 52:  # pragma: no cover - tiny sizes
        raise ValueError("entries too large to be exact in float64")
    scale = 2.0 ** rng.integers(-exponents, exponents + 1, (n, p))
    perm = np.argsort(rng.random((n, p)), axis=1)
    T = np.take_along_axis(scale[:, :, None] * LU.astype(np.float64), perm[:, :, None], axis=1)   # Pi 2^a L U
    Tinv = np.take_along_axis(UL.astype(np.float64) / scale[:, None, :], perm[:, None, :], axis=2)
    return T, Tinv


def _spd(rng, n: int, p: int) -> np.ndarray:
    """Exactly symmetric positive definite ``(n, p, p)``: Q diag(l) Q^T, l in [1e-3, 1e3], upper triangle
    mirrored."""
    Q, _ = np.linalg.qr(rng.normal(size=(n, p, p)))
    M = (Q * _loguniform(rng, -3, 3, (n, 1, p))) @ np.swapaxes(Q, 1, 2)
    upper = np.triu(M)
    return upper + np.swapaxes(np.triu(M, 1), 1, 2)


def _costs(rng, n: int, p: int, at_origin: str) -> dict[str, np.ndarray]:
    """Cost parameters; ``at_origin``: 'zero' (c(0) = 0: offset 0 and shift 0), 'positive' (offset > 0 or a
    shift != 0, so c(0) > 0), or 'any' (half each)."""
    kind = _one_hot(np.full(n, rng.integers(0, len(COST_KINDS))), len(COST_KINDS))   # one kind per batch
    weight = _loguniform(rng, -3, 3, n)
    delta = _loguniform(rng, -2, 2, n)
    positive = {"zero": np.zeros(n, bool), "positive": np.ones(n, bool), "any": rng.random(n) < 0.5}[at_origin]
    use_offset = positive & (rng.random(n) < 0.6)
    use_shift = positive & (~use_offset | (rng.random(n) < 0.5))
    offset = np.where(use_offset, _loguniform(rng, -3, 3, n), 0.0)
    shift = np.where(use_shift[:, None], rng.normal(size=(n, p)) * _loguniform(rng, -3, 3, (n, 1)), 0.0)
    shift[use_shift & np.all(shift == 0, axis=1), 0] = 1.0
    return {"c_kind": kind, "c_weight": weight, "c_offset": offset, "c_shift": shift, "c_delta": delta}


def _lams(rng, n: int, kind: str) -> np.ndarray:
    """'edges': 0, 1e-12..1e-6 or 1e6..1e12 (a third each); 'positive': 1e-12..1e12; else 1e-3..1e3."""
    if kind == "positive":
        return _loguniform(rng, -12, 12, n)
    if kind == "edges":
        which = rng.integers(0, 3, n)
        return np.where(which == 0, 0.0, np.where(which == 1, _loguniform(rng, -12, -6, n),
                                                  _loguniform(rng, 6, 12, n)))
    return _loguniform(rng, -3, 3, n)


def _us(rng, n: int, kind: str) -> np.ndarray:
    if kind == "above":
        return _loguniform(rng, 0, 3, n)
    return np.where(rng.random(n) < 0.1, 1.0, _loguniform(rng, -12, 0, n))


def draw_kcaes(rng: np.random.Generator, n: int, k: int, S: int, p: int, dp: int, *, family: str,
               arms: str = "linear", costs: str = "any", lam: str = "any", u: str = "below", tied: bool = False,
               line: bool = False, scales: tuple[float, float] = (-1.0, 1.0)) -> Cases:
    """n k-CAEs with k arms, |S| samples, code dimension p and input dimension P = p + dp (dp may be <= 0 for the
    probes outside the assumptions), with the options of the families (module docstring). Linear families carry
    no ``Eq``/``Dq`` arrays (they are 0)."""
    P = p + dp
    sx, se, sd = (_loguniform(rng, scales[0], scales[1], (n, 1, 1, 1)) for _ in range(3))
    if line:
        X = rng.standard_normal((n, k, S, 1)) * rng.standard_normal((n, k, 1, P))
    else:
        X = rng.standard_normal((n, k, S, P))
    X = X * sx
    E = rng.standard_normal((n, k, p, P)) * se
    D = rng.standard_normal((n, k, P, p)) * sd
    arrays = {"X": X, "E": E, "D": D}
    if arms == "quadratic":
        arrays["Eq"] = rng.standard_normal((n, k, p, P)) * se / sx * _loguniform(rng, -3, 1, (n, 1, 1, 1))
        arrays["Dq"] = rng.standard_normal((n, k, P, p)) * sd / (se * sx) * _loguniform(rng, -3, 1, (n, 1, 1, 1))
    if tied:                                                    # arm 1 equals arm 0, arm 2 differs (k >= 3)
        same = rng.random((n, k)) < 0.5
        same[:, 0] = False
        same[:, 1] = True
        same[:, 2:3] = False
        for key in ("X", "E", "Eq"):
            if key in arrays:
                arrays[key] = np.where(same[:, :, None, None], arrays[key][:, :1], arrays[key])
    T, Tinv = exact_invertible(rng, n, p)
    norm_kind = _one_hot(np.full(n, rng.integers(0, len(NORM_KINDS))), len(NORM_KINDS))   # one norm per batch
    arrays.update({"T": T, "Tinv": Tinv, **_costs(rng, n, p, costs), "norm_kind": norm_kind,
                   "norm_M": _spd(rng, n, p), "u": _us(rng, n, u), "lam": _lams(rng, n, lam)})
    return Cases(arrays, family)


def _sizes(k=(2, 4), S=(2, 6), p=(1, 3), dp=(1, 2)):
    def sample(rng):
        return {"k": int(rng.integers(k[0], k[1] + 1)), "S": int(rng.integers(S[0], S[1] + 1)),
                "p": int(rng.integers(p[0], p[1] + 1)), "dp": int(rng.integers(dp[0], dp[1] + 1))}
    strategy = st.fixed_dictionaries({"k": st.integers(*k), "S": st.integers(*S), "p": st.integers(*p),
                                      "dp": st.integers(*dp)})
    return sample, strategy


def _family(name: str, share: float = 1.0, sizes=None, **options) -> Family:
    def draw(rng, n, k, S, p, dp):
        return draw_kcaes(rng, n, k, S, p, dp, family=name, **options)
    return Family(name, *(sizes or _sizes()), draw=draw, share=share)


def kcae_families() -> tuple[Family, ...]:
    return (
        _family("gaussian", 1.5),
        _family("edge_sizes", 1.0, _sizes(S=(2, 2), dp=(1, 1))),
        _family("quadratic_arms", 1.0, arms="quadratic"),
        _family("lambda_edges", 0.8, lam="edges"),
        _family("c_zero_at_origin", 1.5, costs="zero"),
        _family("c_positive_at_origin", 0.8, costs="positive"),
        _family("tied_arms", 0.8, _sizes(k=(3, 5)), tied=True),
        _family("line_inputs", 0.6, line=True),
        _family("scales", 0.8, scales=(-6.0, 6.0)),
        _family("eps_above", 0.5, u="above"),
        _family("large_dims", 0.4, _sizes(k=(2, 3), S=(2, 4), p=(3, 6), dp=(1, 3))),
        _family("many_arms", 0.3, _sizes(k=(6, 12), S=(2, 4), p=(1, 2))),
        _family("large_S", 0.15, _sizes(k=(2, 3), S=(50, 300), p=(1, 2))),
    )


CORRECTED_NOTE = ("k-CAEs with lambda > 0 and c(0) = 0 (the corrected Prop. 1), with and without the assumptions "
                  "below Eq. 1 (|S| = 1, p' <= p)")


def corrected_families() -> tuple[Family, ...]:
    """k-CAEs inside the corrected Prop. 1 (lambda > 0 from 1e-12 to 1e12, c(0) = 0), at the same edges as
    :func:`kcae_families`, and outside the assumptions below Eq. 1: one sample (|S| = 1), no compression
    (p' <= p), both."""
    def fam(name, share=1.0, sizes=None, **options):
        return _family(name, share, sizes, costs="zero", lam="positive", **options)
    return (
        fam("gaussian", 1.5),
        fam("edge_sizes", 1.0, _sizes(S=(2, 2), dp=(1, 1))),
        fam("quadratic_arms", 1.0, arms="quadratic"),
        fam("line_inputs", 0.5, line=True),
        fam("scales", 0.8, scales=(-6.0, 6.0)),
        fam("eps_above", 0.5, u="above"),
        fam("large_dims", 0.4, _sizes(k=(2, 3), S=(2, 4), p=(3, 6), dp=(1, 3))),
        fam("many_arms", 0.3, _sizes(k=(6, 12), S=(2, 4), p=(1, 2))),
        fam("large_S", 0.15, _sizes(k=(2, 3), S=(50, 300), p=(1, 2))),
        fam("single_sample", 0.8, _sizes(S=(1, 1))),
        fam("no_compression", 0.8, _sizes(dp=(-1, 0), p=(2, 4))),
        fam("single_sample_no_compression", 0.6, _sizes(S=(1, 1), dp=(-1, 0), p=(2, 4)), arms="quadratic"),
    )


_CONTINUOUS = ("X", "E", "Eq", "D", "Dq")   # Eq, Dq: quadratic families only


def perturb(cases: Cases, rng: np.random.Generator, step: float, copies: int = 32) -> Cases:
    """Local moves around each case (``copies`` each): relative Gaussian steps of size ``step`` on X, E, Eq, D, Dq (zero arrays stay
    zero, tied arms stay tied), on log(u), log(lambda) (0 stays 0), log(weight), log(delta), and on the offset and
    shift where they are non-zero. T, Tinv and the norm are kept (exact pairs)."""
    a = {key: np.repeat(v, copies, axis=0) for key, v in cases.arrays.items()}
    n = len(a["u"])
    for key in [key for key in _CONTINUOUS if key in a]:
        v = a[key]
        size = np.abs(v).max(axis=tuple(range(1, v.ndim)), keepdims=True)
        moved = v + step * size * rng.normal(size=v.shape)
        a[key] = np.where(v == 0, 0.0, moved)
    X, E = cases["X"], cases["E"]
    tied = np.all(X == X[:, :1], axis=(2, 3)) & np.all(E == E[:, :1], axis=(2, 3))   # (cases, k): arm i = arm 0
    tied[:, 0] = False
    tied = np.repeat(tied, copies, axis=0)
    for key in [key for key in ("X", "E", "Eq") if key in a]:
        a[key] = np.where(tied[:, :, None, None], a[key][:, :1], a[key])
    for key in ("u", "lam", "c_weight", "c_delta", "c_offset"):
        a[key] = a[key] * np.exp(step * rng.normal(size=n))
    a["c_shift"] = a["c_shift"] * (1 + step * rng.normal(size=a["c_shift"].shape))
    return Cases(a, cases.family)


def witness(cases: Cases) -> dict:
    """Plain JSON of a single case: every array as nested lists, with the names of the cost and the norm."""
    a = {key: v[0] for key, v in cases.arrays.items()}
    out = {"family": cases.family, "k": int(a["X"].shape[0]), "S": int(a["X"].shape[1]),
           "p_in": int(a["X"].shape[2]), "p": int(a["E"].shape[1])}
    out.update({key: v.tolist() for key, v in a.items() if key not in ("c_kind", "norm_kind")})
    out["c_kind"] = COST_KINDS[int(np.argmax(a["c_kind"]))]
    out["norm_kind"] = NORM_KINDS[int(np.argmax(a["norm_kind"]))]
    out["c"] = (f"c(x) = c_offset + c_weight * g(x - c_shift), g = {out['c_kind']} (huber with c_delta; see "
                "cae_theory.definition.convex_cost)")
    out["E_i(x)"], out["D_i(z)"] = "E_i x + Eq_i (x o x)", "D_i z + Dq_i (z o z)  (Eq = Dq = 0 when absent)"
    out["eps"] = "u * max_{s,i} ||z_si|| in the norm norm_kind (weighted: sqrt(z^T norm_M z))"
    return out


def cells(sizes: dict) -> int:
    """Floats of one case's arrays (inputs, arms, T, norm) plus its largest intermediate (pair differences)."""
    k, S, p = sizes["k"], sizes["S"], sizes["p"]
    P = max(p + sizes["dp"], 1)
    return k * S * P + 2 * k * p * P + k * (k - 1) // 2 * S * p + 3 * p * p


__all__ = ["CORRECTED_NOTE", "COST_KINDS", "NORM_KINDS", "cells", "corrected_families", "draw_kcaes",
           "exact_invertible", "kcae_families", "perturb", "witness"]
