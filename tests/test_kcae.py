"""The k-CAE loss (Eq. 1), the Remark, and the cost family, against direct per-sample transcriptions.

Expected values come from Eq. 1 of the supplement written out as explicit loops over s, i, j here (not via
the vectorised code). Tolerance: rtol 1e-12 (float64 sums of at most a few hundred terms).
"""
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given
from hypothesis import strategies as st

from cae_theory.convex_costs import KINDS, ConvexCost
from cae_theory.kcae import (coupling_loss, coupling_of_codes, encode, kcae_loss, latent_transform,
                             recon_loss, squared_norm)


def direct_loss(X, E, D, lam, r, c):
    """Eq. 1 by loops over s, i < j, with r and c applied to one vector at a time."""
    k, S = len(X), len(X[0])
    recon = sum(r(X[i][s] - D[i] @ (E[i] @ X[i][s])) for s in range(S) for i in range(k))
    coup = sum(c(E[i] @ X[i][s] - E[j] @ X[j][s]) for s in range(S) for i in range(k) for j in range(i + 1, k))
    return recon + lam * coup


@st.composite
def kcaes(draw):
    k, S, p = draw(st.integers(2, 4)), draw(st.integers(2, 5)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    dims = [p + int(rng.integers(1, 4)) for _ in range(k)]
    X = [rng.standard_normal((S, d)) * 10.0 ** draw(st.floats(-3, 3)) for d in dims]
    E = [rng.standard_normal((p, d)) for d in dims]
    D = [rng.standard_normal((d, p)) for d in dims]
    return X, E, D, draw(st.floats(0.0, 10.0))


@given(kcaes(), st.sampled_from(KINDS), st.floats(0.0, 3.0))
def test_kcae_loss_matches_loops_of_eq1(case, kind, offset):
    X, E, D, lam = case
    c = ConvexCost(kind, 1.5, offset)
    r = ConvexCost(kind, 0.5)
    got = kcae_loss(X, E, D, lam, r=r, c=c)
    want = direct_loss(X, E, D, lam, lambda v: r(v[None])[0], lambda v: c(v[None])[0])
    assert got == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_default_r_and_c_are_squared_euclidean_on_a_hand_example():
    # k = 2, |S| = 2, p' = 2, p = 1: E_i = [1, 0], D_i = [[1], [0]] keeps the first coordinate.
    X = np.array([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, -1.0]]])
    E = [np.array([[1.0, 0.0]])] * 2
    D = [np.array([[1.0], [0.0]])] * 2
    # recon: second coordinates squared: 4 + 16 + 1 + 1 = 22; coupling: (1-0)^2 + (3-1)^2 = 5
    assert recon_loss(X, E, D) == 22.0
    assert coupling_loss(X, E) == 5.0
    assert kcae_loss(X, E, D, 0.5) == 22.0 + 2.5


def test_array_input_equals_list_input_and_callables_equal_matrices():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 4, 5))
    E = [rng.standard_normal((2, 5)) for _ in range(3)]
    D = [rng.standard_normal((5, 2)) for _ in range(3)]
    as_list = kcae_loss(list(X), E, D, 1.0)
    as_callables = kcae_loss(X, [lambda x, M=M: x @ M.T for M in E], [lambda z, M=M: z @ M.T for M in D], 1.0)
    assert kcae_loss(X, E, D, 1.0) == pytest.approx(as_list, rel=1e-14)
    assert as_callables == pytest.approx(as_list, rel=1e-14)


def test_per_arm_r():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2, 3, 3))
    E = [rng.standard_normal((1, 3)) for _ in range(2)]
    D = [rng.standard_normal((3, 1)) for _ in range(2)]
    r0, r1 = ConvexCost("l1"), ConvexCost("sq", 2.0)
    want = sum(r0((X[0][s] - D[0] @ E[0] @ X[0][s])[None])[0] + r1((X[1][s] - D[1] @ E[1] @ X[1][s])[None])[0]
               for s in range(3))
    assert recon_loss(X, E, D, r=[r0, r1]) == pytest.approx(want, rel=1e-13)


def _invertible(rng, p, log_cond):
    Q1, _ = np.linalg.qr(rng.standard_normal((p, p)))
    Q2, _ = np.linalg.qr(rng.standard_normal((p, p)))
    return (Q1 * 10.0 ** rng.uniform(0, log_cond, p)) @ Q2.T


@given(kcaes(), st.integers(0, 2 ** 32 - 1), st.sampled_from(KINDS))
def test_remark_recon_invariant_under_invertible_T(case, seed, kind):
    """Remark: (E, D) -> (T E, D T^-1) leaves every reconstruction unchanged. T = Q1 diag(s) Q2^T,
    cond(T) <= 1e3, so rounding stays below 1e3 * 1e-16 relative: tolerance 1e-9."""
    X, E, D, _ = case
    T = _invertible(np.random.default_rng(seed), E[0].shape[0], 3.0)
    E2, D2 = latent_transform(E, D, T)
    r = ConvexCost(kind)
    assert recon_loss(X, E2, D2, r) == pytest.approx(recon_loss(X, E, D, r), rel=1e-9, abs=1e-12)
    # codes are transformed: z_hat = T z
    np.testing.assert_allclose(encode(X, E2), np.einsum("pq,ksq->ksp", T, encode(X, E)), rtol=1e-9, atol=1e-9)


def test_remark_sympy_with_callables():
    """sympy: D T^-1 T E = D E symbolically, and latent_transform on callables composes the same maps."""
    T = sp.Matrix(2, 2, sp.symbols("t0:4"))
    E = sp.Matrix(2, 3, sp.symbols("e0:6"))
    D = sp.Matrix(3, 2, sp.symbols("d0:6"))
    assert sp.simplify(D * T.inv() * T * E - D * E) == sp.zeros(3, 3)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2, 4, 3))
    Em = [rng.standard_normal((2, 3)) for _ in range(2)]
    Dm = [rng.standard_normal((3, 2)) for _ in range(2)]
    T = _invertible(rng, 2, 1.0)
    E2, D2 = latent_transform([lambda x, M=M: x @ M.T for M in Em], [lambda z, M=M: z @ M.T for M in Dm], T)
    assert recon_loss(X, E2, D2) == pytest.approx(recon_loss(X, Em, Dm), rel=1e-10)


def test_coupling_of_codes_matches_statistics_module():
    from cae_theory.prop2.notation import coupling as squared_euclidean_coupling
    Z = np.random.default_rng(3).standard_normal((4, 5, 2))
    assert coupling_of_codes(Z) == pytest.approx(squared_euclidean_coupling(Z), rel=1e-13)


def test_convex_cost_describes_itself_and_c0():
    c = ConvexCost("sq", 2.0, 1.0, (1.0, -1.0))
    assert c.at_zero(2) == 1.0 + 2.0 * 2.0
    assert "||y||_2^2" in c.describe() and "a = [1.0, -1.0]" in c.describe()
    assert ConvexCost("huber", delta=0.5)(np.array([[2.0]]))[0] == 0.5 * (2.0 - 0.25)


@example(x=np.array([0.0, 0.0]), y=np.array([1.0, 1.0]), t=0.5, kind="huber")
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2).map(np.array),
       st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2).map(np.array), st.floats(0.0, 1.0),
       st.sampled_from(KINDS))
def test_convex_costs_are_convex_and_nonnegative(x, y, t, kind):
    c = ConvexCost(kind, 1.0, 0.5, (0.3, -0.2), 0.7)
    mid = c((t * x + (1 - t) * y)[None])[0]
    assert c(x[None])[0] >= 0
    assert mid <= t * c(x[None])[0] + (1 - t) * c(y[None])[0] + 1e-9 * (1 + abs(mid))


# ------------------------------------------------------------------------------------------- bad input


GOOD_X = np.ones((2, 3, 3))
GOOD_E = [np.ones((1, 3))] * 2
GOOD_D = [np.ones((3, 1))] * 2


@pytest.mark.parametrize("call, words", [
    (lambda: kcae_loss(np.ones((2, 1, 3)), GOOD_E, GOOD_D, 1.0), "|S| >= 2"),
    (lambda: kcae_loss(np.ones((1, 3, 3)), GOOD_E[:1], GOOD_D[:1], 1.0), "k >= 2"),
    (lambda: kcae_loss(np.ones((2, 3, 2)), [np.eye(2)] * 2, [np.eye(2)] * 2, 1.0), "p < p'"),
    (lambda: kcae_loss(GOOD_X, GOOD_E, GOOD_D, -0.1), "lam must be >= 0"),
    (lambda: kcae_loss(GOOD_X, GOOD_E, GOOD_D, 1.0, c=lambda x: squared_norm(x) - 1), "c must be non-negative"),
    (lambda: kcae_loss(GOOD_X, GOOD_E, GOOD_D, 1.0, r=lambda x: -np.ones(len(x))), "r[0] must be non-negative"),
    (lambda: kcae_loss(GOOD_X, GOOD_E[:1], GOOD_D, 1.0), "encoders must have one entry per arm"),
    (lambda: kcae_loss(GOOD_X, [np.ones((1, 2))] * 2, GOOD_D, 1.0), "encoders[0] must have 3 columns"),
    (lambda: kcae_loss(GOOD_X, [np.ones((1, 3)), np.ones((2, 3))], GOOD_D, 1.0), "share one code dimension"),
    (lambda: kcae_loss(GOOD_X, GOOD_E, [np.ones((2, 1))] * 2, 1.0), "decoders[0] must map codes back"),
    (lambda: kcae_loss([np.ones((3, 3)), np.ones((4, 3))], GOOD_E, GOOD_D, 1.0), "same number of samples"),
    (lambda: kcae_loss(np.full((2, 3, 3), np.nan), GOOD_E, GOOD_D, 1.0), "finite"),
    (lambda: kcae_loss(GOOD_X, GOOD_E, GOOD_D, 1.0, c=lambda x: np.ones(1)), "one value per row"),
    (lambda: kcae_loss(GOOD_X, GOOD_E, GOOD_D, float("nan")), "lam must be finite"),
    (lambda: latent_transform(GOOD_E, GOOD_D, np.zeros((1, 1))), "T must be invertible"),
    (lambda: latent_transform(GOOD_E, GOOD_D, np.eye(2)), "T must be (p, p)"),
    (lambda: latent_transform(GOOD_E, GOOD_D, np.ones((1, 2))), "T must be square"),
    (lambda: ConvexCost("cube"), "kind must be one of"),
    (lambda: ConvexCost("sq", offset=-1.0), "offset must be >= 0"),
    (lambda: ConvexCost("sq", weight=0.0), "weight must be > 0"),
])
def test_bad_input_raises_value_error_naming_the_rule(call, words):
    with pytest.raises(ValueError) as err:
        call()
    assert words in str(err.value)


@pytest.mark.parametrize("call", [
    lambda: kcae_loss(GOOD_X, GOOD_E, GOOD_D, "1"),
    lambda: kcae_loss(GOOD_X, np.ones((2, 1, 3)), GOOD_D, 1.0),
    lambda: kcae_loss(GOOD_X, GOOD_E, GOOD_D, 1.0, r=[squared_norm, 3]),
    lambda: coupling_of_codes(np.ones((2, 2, 1)), c=3),
    lambda: kcae_loss([["a", "b"], ["c", "d"]], GOOD_E, GOOD_D, 1.0),
])
def test_wrong_types_raise_type_error(call):
    with pytest.raises(TypeError):
        call()
