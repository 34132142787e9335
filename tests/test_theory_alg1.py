"""Algorithm 1 and the section "Calculation of the minimum singular value" (cae_theory.algorithm1).

- every claim's verdict at a small search, from the JSON ``cae verify`` writes;
- every witness re-checked from that JSON by the code below (fractions and numpy only: the printed loop is
  transcribed again here, with numpy.linalg.solve for floats);
- the z3 queries re-run; the sympy certificates;
- the repaired routine against scipy.linalg.svdvals (a maintained package) and numpy.linalg.svd;
- the printed loop on hand cases; bad input.
"""
from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
import scipy.linalg
from hypothesis import example, given
from hypothesis import strategies as st

from cae_theory import algorithm1 as alg
from cae_theory.cases import matrices
from cae_theory.ledger import solver
from verdicts_json import SMALL, assert_as_expected, decide_as_json, smtlib_queries


@pytest.fixture(scope="module")
def results():
    return decide_as_json(alg.CLAIMS, SMALL)


def test_every_claim_has_its_expected_verdict(results):
    assert_as_expected(results)
    assert {"alg1.gram", "alg1", "alg1.termination", "alg1.direction", "alg1.repaired"} <= set(results)
    assert {r["origin"] for cid, r in results.items() if cid in ("alg1.direction", "alg1.repaired")} == {"probe"}


def test_the_repaired_search_saw_every_family(results):
    (ev,) = [e for e in results["alg1.repaired"]["evidence"] if e["kind"] == "search"]
    assert ev["details"]["cases"] >= SMALL.cases
    assert set(ev["details"]["families"]) == {f.name for f in matrices.alg1_families()}


def test_z3_queries_rerun_unsat(results):
    queries = [q for r in results.values() for q in smtlib_queries(r)]
    assert queries
    for q in queries:
        assert solver.recheck(q) == "unsat"


@pytest.mark.parametrize("certificate", [alg.certify_gram, alg.certify_power_iteration, alg.certify_random_start])
def test_sympy_certificates(certificate):
    assert certificate()["ok"]


# ------------------------------------------------------------------------------------------- witnesses, from JSON

def printed_loop_exact(A_diag, x0, eps, cap=10_000):
    """Algorithm 1 for a diagonal A in fractions: x_{i+1} = x_i / A(m,m), stop when |x_{i+1} - x_i|^2 <= eps^2."""
    prev = [F(v) for v in x0]
    x = [p / a for p, a in zip(prev, A_diag)]
    solves = 1
    while sum((a - b) ** 2 for a, b in zip(x, prev)) > eps * eps and solves <= cap:
        prev, x = x, [p / a for p, a in zip(x, A_diag)]
        solves += 1
    return x, solves


def printed_loop_float(A, eps, x0, max_iter):
    """The printed loop in numpy (numpy.linalg.solve every step); NaN > eps is False, as in the printed test."""
    with np.errstate(all="ignore"):
        prev, x = np.asarray(x0, float), np.linalg.solve(A, x0)
        n = 1
        while np.linalg.norm(x - prev) > eps and n <= max_iter:
            prev, x = x, np.linalg.solve(A, x)
            n += 1
    return x, n


def diag_of(w):
    A = [[F(v) for v in row] for row in w["A"]]
    assert all(A[i][j] == 0 for i in range(len(A)) for j in range(len(A)) if i != j)
    return [A[m][m] for m in range(len(A))]


def rq(A_diag, x):
    return sum(a * v * v for a, v in zip(A_diag, x)) / sum(v * v for v in x)


def test_recheck_alg1_returns_a_short_vector(results):
    w = results["alg1"]["witness"]
    d = diag_of(w)
    x, solves = printed_loop_exact(d, w["x0"], F(w["eps"]))
    assert [str(v) for v in x] == w["returned_x"] and solves == w["solves"]
    lam = min(d)
    assert lam == F(w["lambda_min"]) == 4
    assert sum(v * v for v in x) < (lam / 2) ** 2           # ||x|| is nowhere near lambda_min (not within 2x)


def test_recheck_termination(results):
    w = results["alg1.termination"]["witness"]
    d = diag_of(w)
    eps = F(w["eps"])
    assert all(1 / a >= 1 for a in d)                        # |A^-1 y| >= |y|: the steps never shrink
    x1 = [F(v) / a for v, a in zip(w["x0"], d)]
    assert sum((a - F(b)) ** 2 for a, b in zip(x1, w["x0"])) == F(w["first_step_squared"]) > eps * eps
    # in floats the loop overflows and exits on NaN
    x, n = printed_loop_float(np.diag([float(a) for a in d]), float(eps), np.array(w["x0"], float),
                              w["float_run"]["max_iter"])
    assert not np.all(np.isfinite(x)) and n == w["float_run"]["solves"]


@pytest.mark.parametrize("cid", ["alg1.precision", "alg1.direction"])
def test_recheck_rayleigh_quotient_error(results, cid):
    w = results[cid]["witness"]
    d = diag_of(w)
    x, solves = printed_loop_exact(d, w["x0"], F(w["eps"]))
    assert [str(v) for v in x] == w["returned_x"] and solves == w["solves"]
    rel = abs(rq(d, x) - min(d)) / min(d)
    assert rq(d, x) == F(w["rayleigh_quotient"]) and rel > F(w["rhs"])


def test_recheck_gram_sentence(results):
    w = results["alg1.gram"]["witness"]
    B, U, S, V = (np.array(w[k], dtype=object) for k in ("B", "U", "S", "V"))
    B = np.vectorize(F)(B)
    U, S, V = (np.vectorize(F)(M) for M in (U, S, V))
    assert np.array_equal(U @ S @ V.T, B) and np.array_equal(U.T @ U, np.eye(1, dtype=int))
    assert np.array_equal(V.T @ V, np.eye(1, dtype=int))     # so sigma(B) = {S} = {1}: min(n, m) = 1 value
    BtB = B.T @ B
    assert BtB[0, 1] == BtB[1, 0] == 0 and sorted([BtB[0, 0], BtB[1, 1]]) == [0, 1]   # eigenvalues 0 and 1
    assert min(BtB[0, 0], BtB[1, 1]) != S[0, 0] ** 2


def test_recheck_reciprocal(results):
    w = results["alg1.reciprocal"]["witness"]
    d = [F(w["A"][m][m]) for m in range(2)]
    assert max(1 / a for a in d) == F(w["lhs"]) != min(d) == F(w["rhs"])


# ------------------------------------------------------------------------------------------- the printed loop

def test_printed_algorithm_hand_cases():
    # lambda_min(A) = 4 > 1: x_i = (4^-i, 9^-i) shrinks; the test fires when |x| ~ eps
    run = alg.algorithm1_as_printed(np.diag([4.0, 9.0]), 1e-6, np.array([1.0, 1.0]))
    assert run.stopped == "tolerance"
    np.testing.assert_allclose(run.x, [4.0 ** -run.solves, 9.0 ** -run.solves], rtol=1e-15)
    # lambda_min(A) = 0.25 < 1: overflow, then NaN ends the loop
    run = alg.algorithm1_as_printed(np.diag([0.25, 1.0]), 1e-6, np.array([1.0, 1.0]))
    assert run.stopped == "non_finite" and not np.all(np.isfinite(run.x))
    # lambda_min(A) = 1: the differences vanish: the one case it "works"
    run = alg.algorithm1_as_printed(np.diag([1.0, 2.0]), 1e-9, np.array([1.0, 1.0]))
    assert run.stopped == "tolerance" and run.x[0] == 1.0
    # underflow: the norm of a difference with entries ~1e-163 squares to 0, so eps = 1e-320 fires there
    run = alg.algorithm1_as_printed(np.diag([4.0, 9.0]), 1e-320, np.array([1.0, 1.0]))
    assert run.stopped == "tolerance" and 1e-170 < run.x[0] < 1e-150
    # scale dependence: A -> 1e6 A stops after 2 solves, direction far from the eigenvector (1, 0)
    run = alg.algorithm1_as_printed(1e6 * np.diag([4.0, 9.0]), 1e-6, np.array([1.0, 1.0]))
    assert run.solves == 2 and run.x[1] / run.x[0] > 0.1
    assert alg.algorithm1_as_printed(np.diag([0.999999, 1.0]), 1e-300, np.ones(2), max_iter=5).stopped == "max_iter"


def test_float_and_exact_printed_loops_agree_on_a_dyadic_case():
    """A = diag(4, 16), x0 = (1, 1): every iterate is a power of two, exact in floats."""
    x, solves, stopped = alg.algorithm1_exact(np.diag([4, 16]), F(1, 2 ** 20), [1, 1])
    run = alg.algorithm1_as_printed(np.diag([4.0, 16.0]), 2.0 ** -20, np.ones(2))
    assert (run.solves, run.stopped) == (solves, stopped) and [float(v) for v in x] == list(run.x)


# ------------------------------------------------------------------------------------------- the repaired routine

@st.composite
def full_rank(draw):
    m = draw(st.integers(1, 6))
    n = m + draw(st.integers(0, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    s = 10.0 ** np.array([draw(st.floats(-3, 3)) for _ in range(m)])
    if m > 1 and draw(st.booleans()):
        s[1] = s[0] * (1 + 10.0 ** -draw(st.floats(1, 14)))
    U, _ = np.linalg.qr(rng.standard_normal((n, m)))
    V, _ = np.linalg.qr(rng.standard_normal((m, m)))
    B = (U * s) @ V.T
    return B.T if draw(st.booleans()) else B


@example(B=np.diag([1.0, 1.01, 5.0]))          # inverse iteration settles slowly: the multisection decides
@example(B=np.diag([1.0, 1.0, 2.0]))           # a repeated smallest singular value
@example(B=np.array([[1.0, 0.0]]))             # wide: the routine works on B^T
@given(B=full_rank())
def test_repaired_matches_svdvals(B):
    """The contract |sigma - sigma_min| <= tolerance = max(rtol sigma, floor) + floor, floor = 1024 eps ||B||_F,
    against scipy's svdvals (whose own error, a few eps ||B||_2, is far below floor)."""
    ref = float(scipy.linalg.svdvals(B).min())
    pair = alg.min_singular_pair(B)
    assert pair.converged and pair.certified_minimal
    assert abs(float(pair.sigma) - ref) <= float(pair.tolerance)
    assert float(pair.tolerance) <= 1e-12 * ref + 2 * 1024 * np.finfo(float).eps * np.linalg.norm(B) * 1.0001
    assert float(pair.lower) <= ref + 2048 * np.finfo(float).eps * np.linalg.norm(B)
    assert alg.min_singular_value(B) == float(pair.sigma)
    assert alg.min_singular_value_exact(B) == ref


def test_repaired_is_batched_and_agrees_with_numpy_svd():
    rng = np.random.default_rng(3)
    B = rng.standard_normal((7, 4, 6, 3))                      # leading axes (7, 4)
    sigma = alg.min_singular_value(B)
    ref = np.linalg.svd(B, compute_uv=False).min(axis=-1)
    pair = alg.min_singular_pair(B)
    assert sigma.shape == (7, 4) and pair.v.shape == (7, 4, 3)
    assert np.all(np.abs(sigma - ref) <= pair.tolerance)


def test_repaired_vector_is_a_singular_vector_when_separated():
    B = np.diag([1.0, 3.0, 9.0]) @ np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))[0]
    pair = alg.min_singular_pair(B)
    assert abs(np.linalg.norm(B @ pair.v) - float(pair.sigma)) <= 1e-12


def test_sturm_count_counts_singular_values():
    """count_below on a bidiagonal with known singular values (diagonal: d itself)."""
    d = np.array([[3.0, 1.0, 2.0]])
    e = np.zeros((1, 2))
    mu = np.array([[0.5, 1.5, 2.5, 3.5]])
    np.testing.assert_array_equal(alg.count_below(d, e, mu), [[0, 1, 2, 3]])


def test_constructed_bracket_contains_the_svd():
    """The rigorous bracket of the cases (s, ||U^T U - I||, rounding of the product) contains svdvals' answer."""
    fam = matrices.alg1_families()[0]
    rng = np.random.default_rng(8)
    cases = fam.draw(rng, 64, m=4, extra=2)
    c = alg.constructed(cases.arrays, np.asarray)
    low, high = c.bracket()
    ref = np.linalg.svd(c.B, compute_uv=False).min(axis=-1)
    slack = 8 * np.finfo(float).eps * np.linalg.norm(c.B, axis=(1, 2))
    assert np.all(low <= ref + slack) and np.all(ref <= high + slack)


# ------------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, words", [
    (lambda: alg.algorithm1_as_printed(np.ones((2, 3)), 1e-6, np.ones(2)), "A must be square"),
    (lambda: alg.algorithm1_as_printed(np.eye(2), 0.0, np.ones(2)), "eps must be > 0"),
    (lambda: alg.algorithm1_as_printed(np.eye(2), 1e-6, np.ones(3)), "x0 must have length 2"),
    (lambda: alg.algorithm1_as_printed(np.zeros((2, 2)), 1e-6, np.ones(2)), "A must be non-singular"),
    (lambda: alg.algorithm1_as_printed(np.eye(2), 1e-6, np.ones(2), max_iter=0), "max_iter must be >= 1"),
    (lambda: alg.algorithm1_as_printed(np.full((2, 2), np.inf), 1e-6, np.ones(2)), "finite"),
    (lambda: alg.min_singular_value(np.array([[1.0, 0.0], [0.0, 0.0]])), "B must have full rank"),
    (lambda: alg.min_singular_value(np.zeros((3, 2))), "B must have full rank"),
    (lambda: alg.min_singular_value(np.ones((3,))), "B must have at least 2 dimensions"),
    (lambda: alg.min_singular_pair(np.eye(2), x0=np.zeros(2)), "x0 must be non-zero"),
    (lambda: alg.min_singular_pair(np.eye(2), x0=np.ones(3)), "x0 must have length 2"),
    (lambda: alg.min_singular_pair(np.eye(2), rtol=0.0), "rtol must be > 0"),
    (lambda: alg.min_singular_pair(np.eye(2), rtol=1.0), "rtol must be < 1"),
    (lambda: alg.min_singular_pair(np.eye(2), seed=-1), "seed must be an integer >= 0"),
    (lambda: alg.min_singular_value_exact(np.empty((0, 2))), "must not be empty"),
])
def test_bad_input(call, words):
    with pytest.raises(ValueError) as err:
        call()
    assert words in str(err.value)


def test_wrong_types():
    with pytest.raises(TypeError):
        alg.algorithm1_as_printed(np.eye(2), 1e-6, np.ones(2), max_iter=2.5)
    with pytest.raises(TypeError):
        alg.min_singular_value("B")
