"""Case families for Prop. 2: k-CBNAE codes ``Z: (N, k, S, p)`` with a scale ``beta`` in (0, 1) and ``eps`` > 0,
built constructively (raw codes of a family, then standardised per arm and coordinate), in batches.

Each family aims at an edge of the hypotheses or of a step of the proof:

- ``gaussian``: independent codes, the generic case;
- ``collinear``: within an arm, coordinates nearly (or exactly) equal or opposite: V_i(n, m) near or at +-1;
- ``coupled``: arms nearly equal: W small, some W(m, m) near 0;
- ``collapsed_arms``: some arms exactly on the line (all coordinates equal), others not;
- ``anisotropic``: arms differ by a different amount in each coordinate: diag(W) very uneven;
- ``many_arms``: k up to 24, much larger than p;
- ``signed_lines``: k >> p arms near lines with opposite signs in two halves: |D_i - D_j| near its maximum;
- ``outliers``: |S| from 20 to 400, a bulk with correlations near +-1 and a few outlying samples: one code far
  from the line while the correlations stay near +-1 (what small |S| cannot produce);
- ``large_S``: |S| from 50 to 400, generic and collinear codes;
- ``ties``: W(0, 0) = W(1, 1) exactly at the minimum (coordinate 1 = -coordinate 0 in every arm): a tie in the
  argmin that picks n.

The hypotheses (Prop. 2): C_c = tr(W) > 0, diag(W) not constant, a gap >= eps. They are decided on the float
codes with a rigorous margin: the entries W(m, m) are sums of squares, so each carries a relative rounding error
below gamma_{|S| P + 2} (P pairs); the diagonal counts as non-constant only when its spread exceeds that. eps is
a fraction u in (1e-6, 1] of the largest gap, so the gap hypothesis holds by construction.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cae_theory.ledger.search import Cases, Family
from cae_theory.prop2.notation import max_coordinate_gap, standardize
from cae_theory.rounding import gamma


def _loguniform(rng, lo: float, hi: float, size) -> np.ndarray:
    return 10.0 ** rng.uniform(lo, hi, size)


def draw_beta(rng: np.random.Generator, n: int) -> np.ndarray:
    """beta near 0, near 1, or anywhere in (0, 1), one third each."""
    kind = rng.integers(0, 3, n)
    near0 = _loguniform(rng, -8, -2, n)
    near1 = 1.0 - _loguniform(rng, -8, -1, n)
    anywhere = rng.uniform(1e-3, 0.999, n)
    return np.where(kind == 0, near0, np.where(kind == 1, near1, anywhere))


#: Arms that differ by less than this, relative to the codes (which are O(1) after standardising), are at the
#: level of float64 rounding: every quantity of the proof is then below the resolution of the computation.
RESOLUTION = 1e-10


def hypotheses_hold(Z: np.ndarray) -> np.ndarray:
    """Per case of float codes ``(N, k, S, p)``: tr(W) > 0 and diag(W) not constant, both beyond rounding: the
    entries W(m, m) are sums of squares with a relative rounding error below gamma_{|S| P + 2}, and the arms must
    differ by more than RESOLUTION (cases at rounding level are not cases: counted as dropped)."""
    N, k, S, p = Z.shape
    I, J = np.triu_indices(k, 1)
    d = Z[:, I] - Z[:, J]                                    # (N, P, S, p)
    diag = (d * d).sum(axis=(1, 2))                           # (N, p): W(m, m)
    g = gamma(S * len(I) + 2)
    spread = diag.max(axis=1) - diag.min(axis=1)
    floor = RESOLUTION ** 2 * len(I) * S
    return (diag.sum(axis=1) > floor) & (spread > floor) & (spread > g * (diag.max(axis=1) + diag.min(axis=1)) * 4)


def _finish(raw: np.ndarray, rng: np.random.Generator, family: str, beta: np.ndarray | None = None,
            u: np.ndarray | None = None, at_edge: float = 0.1) -> Cases:
    """Standardise, keep the cases inside the hypotheses, draw beta and eps = u * (largest gap) unless given."""
    C = raw - raw.mean(axis=2, keepdims=True)
    sd = np.sqrt((C ** 2).sum(axis=2, keepdims=True) / (raw.shape[2] - 1))
    ok_sd = np.all(sd > 1e-12 * (1.0 + np.abs(raw).max(axis=2, keepdims=True)), axis=(1, 2, 3))
    Z = C / np.where(sd > 0, sd, 1.0)
    keep = ok_sd & hypotheses_hold(Z)
    Z = Z[keep]
    n = len(Z)
    beta = draw_beta(rng, n) if beta is None else beta[keep]
    u = np.where(rng.random(n) < at_edge, 1.0, _loguniform(rng, -6, 0, n)) if u is None else u[keep]
    eps = u * max_coordinate_gap(Z)
    return Cases({"Z": Z, "beta": beta, "eps": eps}, family)


def _sizes(k=(2, 6), S=(2, 12), p=(2, 5)):
    def sample(rng):
        pp = int(rng.integers(p[0], p[1] + 1))
        return {"k": int(rng.integers(max(k[0], 2), k[1] + 1)), "S": int(rng.integers(S[0], S[1] + 1)), "p": pp}
    strategy = st.fixed_dictionaries({"k": st.integers(*k), "S": st.integers(*S), "p": st.integers(*p)})
    return sample, strategy


def _gaussian(rng, n, k, S, p):
    return _finish(rng.normal(size=(n, k, S, p)), rng, "gaussian")


def _collinear(rng, n, k, S, p, family="collinear"):
    base = rng.normal(size=(n, k, S, 1))
    signs = rng.choice([-1.0, 1.0], size=(n, k, 1, p))
    spread = _loguniform(rng, -6, 0, (n, k, 1, p)) * (rng.random((n, k, 1, p)) < 0.8)   # some exactly on +-base
    spread[..., 0] = np.maximum(spread[..., 0], 1e-3)       # coordinate 0 never constant across the batch
    return _finish(signs * base + spread * rng.normal(size=(n, k, S, p)), rng, family)


def _coupled(rng, n, k, S, p):
    shared = rng.normal(size=(n, 1, S, p))
    return _finish(shared + _loguniform(rng, -6, 0, (n, 1, 1, 1)) * rng.normal(size=(n, k, S, p)), rng, "coupled")


def _collapsed_arms(rng, n, k, S, p):
    X = rng.normal(size=(n, k, S, p))
    collapsed = rng.random((n, k)) < 0.5
    collapsed[:, 0] = True                                    # at least one arm on the line ...
    collapsed[:, 1] = False                                   # ... and at least one off it
    X = np.where(collapsed[:, :, None, None], X[:, :, :, :1], X)
    return _finish(X, rng, "collapsed_arms")


def _anisotropic(rng, n, k, S, p):
    shared = rng.normal(size=(n, 1, S, p))
    return _finish(shared + _loguniform(rng, -4, 1, (n, 1, 1, p)) * rng.normal(size=(n, k, S, p)), rng,
                   "anisotropic")


def _signed_lines(rng, n, k, S, p):
    base = rng.normal(size=(n, 1, S, 1))
    signs = np.ones((1, k, 1, p))
    signs[:, : k // 2, :, 1:] = -1.0
    noise = _loguniform(rng, -6, 0, (n, 1, 1, 1))
    return _finish(signs * base + noise * rng.normal(size=(n, k, S, p)), rng, "signed_lines")


def _outliers(rng, n, k, S, p):
    """A bulk near lines with mixed signs (coordinate m = s_m z(0), so V(0, m) near s_m), plus 1 to 3 outlying
    samples in arm 0 with z(0) = -a and z(m) = s_m a (mostly; random signs otherwise), a in [1, 4]: a code far from
    the line while the correlations stay near +-1 when |S| is large. The arms differ in coordinates m >= 1 only
    (so n = 0 mostly)."""
    base = np.clip(rng.normal(size=(n, k, S, 1)), -1.5, 1.5)
    signs = rng.choice([-1.0, 1.0], size=(n, 1, 1, p))
    signs[..., 0] = 1.0
    X = signs * base + _loguniform(rng, -6, -2, (n, k, 1, p)) * rng.normal(size=(n, k, S, p))
    X[:, 1:, :, 1:] += _loguniform(rng, -2, 0, (n, 1, 1, 1)) * rng.normal(size=(n, k - 1, S, p - 1))
    m = int(rng.integers(1, 4))
    a = rng.uniform(1.0, 4.0, (n, 1, m, 1))
    pattern = np.where(rng.random((n, 1, 1, p)) < 0.8, signs, rng.choice([-1.0, 1.0], size=(n, 1, 1, p)))
    pattern[..., 0] = -1.0
    X[:, :1, :m, :] = a * pattern
    return _finish(X, rng, "outliers", at_edge=0.3)    # eps = the largest gap: the edge of the gap hypothesis


def _large_S(rng, n, k, S, p):
    return _gaussian(rng, n, k, S, p) if rng.random() < 0.5 else _collinear(rng, n, k, S, p, "large_S")


def _ties(rng, n, k, S, p):
    """Coordinate 1 = -coordinate 0 in every arm, so W(1, 1) = W(0, 0) exactly; the arms differ more in the other
    coordinates, so the minimum is that tie."""
    shared = rng.normal(size=(n, 1, S, p))
    X = shared + 0.1 * rng.normal(size=(n, k, S, p))
    X[..., 2:] += rng.normal(size=(n, k, S, max(p - 2, 0)))
    X[..., 1] = -X[..., 0]
    cases = _finish(X, rng, "ties")
    Z = cases["Z"]
    Z[..., 1] = -Z[..., 0]                                     # exact after standardising too
    return cases


def prop2_families() -> tuple[Family, ...]:
    small = _sizes()
    return (
        Family("gaussian", *small, draw=_gaussian, share=1.0),
        Family("collinear", *small, draw=_collinear, share=1.5),
        Family("coupled", *small, draw=_coupled, share=1.0),
        Family("collapsed_arms", *small, draw=_collapsed_arms, share=1.0),
        Family("anisotropic", *small, draw=_anisotropic, share=1.0),
        Family("many_arms", *_sizes(k=(6, 24), S=(2, 8), p=(2, 4)), draw=_gaussian, share=0.5),
        Family("signed_lines", *_sizes(k=(4, 20), S=(3, 8), p=(2, 4)), draw=_signed_lines, share=1.0),
        Family("outliers", *_sizes(k=(2, 3), S=(20, 400), p=(2, 4)), draw=_outliers, share=1.0),
        Family("large_S", *_sizes(k=(2, 4), S=(50, 400), p=(2, 4)), draw=_large_S, share=0.3),
        Family("ties", *_sizes(k=(2, 5), S=(3, 12), p=(2, 4)), draw=_ties, share=0.5),
    )


def perturb(cases: Cases, rng: np.random.Generator, step: float, copies: int = 32) -> Cases:
    """Local moves around one case: Gaussian steps of size ``step`` on the codes (re-standardised), on
    logit(beta) and on log(eps / max gap) (kept <= 0)."""
    Z = np.repeat(cases["Z"], copies, axis=0)
    Z = Z + step * rng.normal(size=Z.shape) * (rng.random((len(Z), 1, 1, 1)) < 0.8)
    beta = np.repeat(cases["beta"], copies)
    logit = np.log(beta) - np.log1p(-beta) + step * 4 * rng.normal(size=len(beta))
    beta = 1.0 / (1.0 + np.exp(-logit))
    gap0 = max_coordinate_gap(cases["Z"])
    u = np.minimum(np.repeat(cases["eps"] / gap0, copies) * np.exp(step * rng.normal(size=len(beta))), 1.0)
    beta = np.clip(beta, np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0))
    return _finish(Z, rng, cases.family, beta=beta, u=u)


def witness(cases: Cases) -> dict:
    """Plain JSON of a single case, with how far its float codes are from the k-CBNAE constraint."""
    Z = cases["Z"][0]
    k, S, p = Z.shape
    return {"family": cases.family, "k": k, "S": S, "p": p, "Z": Z.tolist(), "beta": float(cases["beta"][0]),
            "eps": float(cases["eps"][0]),
            "max_abs_mean": float(np.abs(Z.mean(axis=1)).max()),
            "max_abs_variance_minus_1": float(np.abs((Z ** 2).sum(axis=1) / (S - 1) - 1).max())}


def cells(sizes: dict) -> int:
    return sizes["k"] * sizes["S"] * sizes["p"]


__all__ = ["cells", "draw_beta", "hypotheses_hold", "perturb", "prop2_families", "standardize", "witness"]
