"""Algorithm 1 and the section "Calculation of the minimum singular value" (cae_theory.algorithm1).

- every claim's verdict at a small search, from the JSON ``cae verify`` writes;
- every witness re-checked from that JSON by tests/independent_fractions.py (fractions and numpy only: the printed
  loop is transcribed again there, with numpy.linalg.solve for floats);
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
from independent_fractions import RECHECKS
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

@pytest.mark.parametrize("cid", ["alg1", "alg1.termination", "alg1.precision", "alg1.direction", "alg1.gram",
                                 "alg1.reciprocal"])
def test_witness_rechecks_independently(results, cid):
    """tests/independent_fractions.py (fractions and numpy.linalg.solve, no cae_theory) reruns the printed loop or
    recomputes the spectra and finds the printed claim violated."""
    assert results[cid]["status"] == "fails"
    assert RECHECKS[cid](results[cid]["witness"])


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
