"""Case families for Eq. 2 (a diagonal A and a square B) and for Algorithm 1 (a full-rank B with known singular
values), built constructively in batches (batch axis first).

Eq. 2: ``a: (N, p)`` the diagonal of A, ``B: (N, p, p)``. Families aim at the edges of its hypotheses:
``generic`` (a >= 0, diag(B) >= 0, off-diagonal entries of any sign), ``zeros`` (some a_m and some B(m,m) exactly
0), ``ties`` (every a_m equal: the bound holds with equality), ``spread`` (the largest a_m where B(m,m) is small),
``scales`` (a and B each scaled by 10^-120..10^120); each in three variants (one search domain each): inside the
hypotheses, with some B(m,m) < 0 (the printed hypothesis dropped), with some a_m < 0.

Algorithm 1: ``U: (N, n, r)`` and ``V: (N, m, r)`` with orthonormal columns (Householder QR of Gaussian matrices,
orthonormal to rounding), ``s: (N, r)`` positive, r = min(n, m); the case's matrix is B = U diag(s) V^T computed in
floats (:func:`cae_theory.algorithm1.constructed`), whose singular values are s up to bounds derived from
||U^T U - I||, ||V^T V - I|| and the rounding of the product. Families: ``generic`` (s log-uniform over
10^-3..10^3, tall or square), ``wide`` (n < m), ``clustered`` (sigma_2 = sigma_min (1 + 10^-t), t in [1, 14]),
``repeated`` (sigma_min repeated exactly), ``ill_conditioned`` (condition numbers up to 10^11), ``scaled`` (B
scaled by 10^-60..10^60), ``signed_permutation`` (U, V signed permutations: exactly orthogonal), ``large`` (m up
to 12).
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cae_theory.ledger.search import Cases, Family


def _loguniform(rng, lo: float, hi: float, size) -> np.ndarray:
    return 10.0 ** rng.uniform(lo, hi, size)


# --- Eq. 2 ------------------------------------------------------------------------------------------------------

def _eq2(rng, n: int, p: int, family: str, variant: str) -> Cases:
    """Pairs (a, B) of a base ``family`` with a >= 0 and diag(B) >= 0; ``variant`` 'negative_diagonal' then makes
    some B(m,m) < 0 (at least one), 'negative_a' some a_m < 0 (at least one)."""
    a = np.abs(rng.normal(size=(n, p))) * _loguniform(rng, -3, 3, (n, 1))
    B = rng.normal(size=(n, p, p)) * _loguniform(rng, -3, 3, (n, 1, 1))
    idx = np.arange(p)
    B[:, idx, idx] = np.abs(B[:, idx, idx])
    if family == "zeros":
        a = a * (rng.random((n, p)) < 0.6)
        B[:, idx, idx] *= rng.random((n, p)) < 0.6
    elif family == "ties":
        a = np.repeat(a[:, :1], p, axis=1)
    elif family == "spread":
        top = rng.integers(0, p, n)
        a[np.arange(n), top] *= 1e3
        B[np.arange(n), top, top] *= 1e-6
    elif family == "scales":
        a = a * _loguniform(rng, -120, 120, (n, 1))
        B = B * _loguniform(rng, -120, 120, (n, 1, 1))
    if variant != "hypotheses":
        flip = rng.random((n, p)) < 0.5
        flip[np.arange(n), rng.integers(0, p, n)] = True
        if variant == "negative_diagonal":
            size = np.maximum(B[:, idx, idx], 1e-3 * np.abs(B).max(axis=(1, 2))[:, None])
            B[:, idx, idx] = np.where(flip, -np.where(size > 0, size, 1.0), B[:, idx, idx])
        else:
            size = np.maximum(a, 1e-3 * a.max(axis=1, keepdims=True))
            a = np.where(flip, -np.where(size > 0, size, 1.0), a)
    return Cases({"a": a, "B": B}, family)


def _eq2_sizes(p=(1, 8)):
    def sample(rng):
        return {"p": int(rng.integers(p[0], p[1] + 1))}
    return sample, st.fixed_dictionaries({"p": st.integers(*p)})


EQ2_VARIANTS = ("hypotheses", "negative_diagonal", "negative_a")


def eq2_families(variant: str = "hypotheses") -> tuple[Family, ...]:
    """The five base families, inside Eq. 2's hypotheses or with one of them dropped (:data:`EQ2_VARIANTS`)."""
    if variant not in EQ2_VARIANTS:
        raise ValueError(f"variant must be one of {EQ2_VARIANTS}, got {variant!r}")

    def fam(name, share=1.0):
        return Family(name, *_eq2_sizes(), draw=lambda rng, n, p: _eq2(rng, n, p, name, variant), share=share)
    return (fam("generic", 1.5), fam("zeros"), fam("ties", 0.7), fam("spread", 0.7), fam("scales", 0.7))


def eq2_perturb(cases: Cases, rng: np.random.Generator, step: float, copies: int = 32) -> Cases:
    """Relative Gaussian steps on a and B that keep every sign (and every zero) of a and of diag(B)."""
    a = np.repeat(cases["a"], copies, axis=0)
    B = np.repeat(cases["B"], copies, axis=0)
    a = a * np.exp(step * rng.normal(size=a.shape))
    p = B.shape[-1]
    idx = np.arange(p)
    diag = B[:, idx, idx] * np.exp(step * rng.normal(size=(len(B), p)))
    B = B + step * np.abs(B).max(axis=(1, 2), keepdims=True) * rng.normal(size=B.shape)
    B[:, idx, idx] = diag
    return Cases({"a": a, "B": B}, cases.family)


def eq2_witness(cases: Cases) -> dict:
    a, B = cases["a"][0], cases["B"][0]
    return {"family": cases.family, "p": int(len(a)), "A": np.diag(a).tolist(), "B": B.tolist()}


def eq2_cells(sizes: dict) -> int:
    return sizes["p"] * (sizes["p"] + 1) * 4


# --- Algorithm 1 ----------------------------------------------------------------------------------------------

def _orthonormal(rng, n: int, rows: int, cols: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.normal(size=(n, rows, cols)))
    return Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]


def _signed_permutation(rng, n: int, rows: int, cols: int) -> np.ndarray:
    perm = np.argsort(rng.random((n, rows)), axis=1)[:, :cols]
    Q = (np.arange(rows)[None, :, None] == perm[:, None, :]).astype(np.float64)
    return Q * rng.choice([-1.0, 1.0], size=(n, 1, cols))


def _alg1(rng, n: int, m: int, extra: int, family: str) -> Cases:
    rows = max(m - extra, 1) if family == "wide" else m + extra    # B: (rows, m); wide: rows < m
    r = min(rows, m)
    s = _loguniform(rng, -3, 3, (n, r))
    if family == "clustered" and r > 1:
        s = np.sort(s, axis=1)
        s[:, 1] = s[:, 0] * (1 + _loguniform(rng, -14, -1, n))
    elif family == "repeated" and r > 1:
        s = np.sort(s, axis=1)
        s[:, 1] = s[:, 0]
    elif family == "ill_conditioned":
        s = s / s.max(axis=1, keepdims=True)
        s[np.arange(n), rng.integers(0, r, n)] = _loguniform(rng, -11, -6, n)
    elif family == "scaled":
        s = s * _loguniform(rng, -60, 60, (n, 1))
    if family == "signed_permutation":
        U, V = _signed_permutation(rng, n, rows, r), _signed_permutation(rng, n, m, r)
    else:
        U, V = _orthonormal(rng, n, rows, r), _orthonormal(rng, n, m, r)
    return Cases({"U": U, "s": s, "V": V}, family)


def _alg1_sizes(m=(1, 6), extra=(0, 3)):
    def sample(rng):
        return {"m": int(rng.integers(m[0], m[1] + 1)), "extra": int(rng.integers(extra[0], extra[1] + 1))}
    return sample, st.fixed_dictionaries({"m": st.integers(*m), "extra": st.integers(*extra)})


def alg1_families() -> tuple[Family, ...]:
    def fam(name, share=1.0, sizes=None):
        return Family(name, *(sizes or _alg1_sizes()), draw=lambda rng, n, m, extra: _alg1(rng, n, m, extra, name),
                      share=share)
    return (fam("generic", 1.5), fam("wide", 1.0, _alg1_sizes(m=(2, 6), extra=(1, 4))),
            fam("clustered", 1.0, _alg1_sizes(m=(2, 6))), fam("repeated", 0.5, _alg1_sizes(m=(2, 6))),
            fam("ill_conditioned", 1.0), fam("scaled", 0.7), fam("signed_permutation", 0.3),
            fam("large", 0.3, _alg1_sizes(m=(7, 12), extra=(0, 4))))


def alg1_perturb(cases: Cases, rng: np.random.Generator, step: float, copies: int = 32) -> Cases:
    """Steps on log(s) (sizes kept; U, V re-orthonormalised after a Gaussian step)."""
    U = np.repeat(cases["U"], copies, axis=0)
    V = np.repeat(cases["V"], copies, axis=0)
    s = np.repeat(cases["s"], copies, axis=0)
    s = s * np.exp(step * rng.normal(size=s.shape))
    U = np.linalg.qr(U + step * rng.normal(size=U.shape))[0]
    V = np.linalg.qr(V + step * rng.normal(size=V.shape))[0]
    return Cases({"U": U, "s": s, "V": V}, cases.family)


def alg1_witness(cases: Cases) -> dict:
    U, s, V = cases["U"][0], cases["s"][0], cases["V"][0]
    B = (U * s) @ V.T
    return {"family": cases.family, "n": int(U.shape[0]), "m": int(V.shape[0]), "U": U.tolist(), "s": s.tolist(),
            "V": V.tolist(), "B": B.tolist(), "B_is": "(U * s) @ V.T in float64 (numpy)"}


def alg1_cells(sizes: dict) -> int:
    """Floats of one case (U, s, V and B)."""
    m, extra = sizes["m"], sizes["extra"]
    return 3 * (m + extra) * m


__all__ = ["EQ2_VARIANTS", "alg1_cells", "alg1_families", "alg1_perturb", "alg1_witness", "eq2_cells", "eq2_families",
           "eq2_perturb", "eq2_witness"]
