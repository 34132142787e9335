"""The Definition, Eq. 1, the Remark, Eq. 2 and Prop. 1 with its proof (cae_theory.definition, cae_theory.prop1).

- every claim's verdict at a small search (tests/verdicts_json.SMALL), read from the JSON that ``cae verify`` writes;
- every witness re-checked from that JSON by tests/independent_fractions.py: plain Python ``fractions`` and numpy,
  no cae_theory code (Eq. 1, Eq. 4 and the costs are transcribed from the supplement there);
- every stored z3 query (and every lemma of the sections, also those inside chains) re-run: it must be unsat;
- the sympy certificates, with a negative control;
- the quantities against direct transcriptions; the families against their stated hypotheses; bad input.
"""
from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cae_theory import definition
from cae_theory.cases import kcae as kcae_cases
from cae_theory.ledger import solver
from cae_theory.prop1 import remark, shrink, statement
from independent_fractions import COSTS, RECHECKS, linear_kcae, pair_sum, q, sq
from verdicts_json import SMALL, assert_as_expected, decide_as_json, smtlib_queries

SECTIONS = (definition, remark, statement, shrink)
CLAIMS = [c for s in SECTIONS for c in s.CLAIMS]


@pytest.fixture(scope="module")
def results():
    return decide_as_json(CLAIMS, SMALL)


def test_every_claim_has_its_expected_verdict(results):
    assert_as_expected(results)


def test_the_ids_of_the_old_ledger_are_kept():
    ids = {c.id for c in CLAIMS}
    assert {"definition.kcae", "eq1", "remark", "eq2", "eq2.bound", "eq2.negative_diagonal", "eq3", "eq4",
            "prop1.norm", "prop1.recon", "prop1.coupling.convexity", "prop1.coupling.strict", "prop1.coupling",
            "prop1", "prop1.lambda_zero"} <= ids


def test_probes_are_marked_as_probes(results):
    """Claims that drop or push a printed hypothesis are probes, not printed claims."""
    for cid in ("eq2.negative_diagonal", "eq2.bound.any_sign_a", "prop1.lambda_zero", "prop1.c0_positive",
                "prop1.assumptions_unused"):
        assert results[cid]["origin"] == "probe", cid
    assert results["prop1"]["origin"] == "printed"


def test_searches_report_their_depth_and_reach_the_edges(results):
    """Every search saw the whole budget; the k-CAE search covers lambda = 0, |S| = 2, p' = p + 1, quadratic arms
    and c(0) = 0 / > 0, the corrected statement's search |S| = 1 and p' <= p (families in cae_theory.cases.kcae)."""
    for cid, r in results.items():
        for v in (r, r.get("correction") or {}):
            for e in v.get("evidence", []):
                if e["kind"] == "search":
                    assert e["details"]["cases"] >= SMALL.cases and len(e["details"]["families"]) >= 5, cid
    (ev,) = [e for e in results["prop1.assumptions_unused"]["evidence"] if e["kind"] == "search"]
    assert ev["details"]["ranges"]["S"][0] == 1 and ev["details"]["ranges"]["dp"][0] <= 0
    (ev,) = [e for e in results["prop1.norm"]["evidence"] if e["kind"] == "search"]
    families = ev["details"]["families"]
    for name in ("edge_sizes", "quadratic_arms", "lambda_edges", "c_zero_at_origin", "c_positive_at_origin",
                 "tied_arms", "large_S"):
        assert families.get(name, 0) > 0, name


# ------------------------------------------------------------------------------------------- z3 and sympy

def test_every_stored_z3_query_is_unsat_when_rerun(results):
    queries = [q for r in results.values() for q in smtlib_queries(r)]
    assert len(queries) >= 6
    for q in queries:
        assert solver.recheck(q) == "unsat"


def test_every_lemma_of_the_sections_is_unsat_when_rerun():
    """Also the lemmas that only appear as links of a chain (their queries are not in the JSON)."""
    lemmas = [getattr(s, name) for s in SECTIONS for name in dir(s) if name.startswith("lemma_")]
    assert len(lemmas) >= 6
    for lemma in lemmas:
        res = solver.prove(lemma, 10.0)
        assert res.outcome == "proved", lemma.__name__
        assert solver.recheck(res.query) == "unsat", lemma.__name__


@pytest.mark.parametrize("certificate", [definition.certify_eq1, remark.certify_remark, remark.certify_eq2,
                                         shrink.certify_eq3, shrink.certify_recon, shrink.convexity_form])
def test_sympy_certificates(certificate):
    assert certificate()["ok"]


def test_a_certificate_fails_on_a_wrong_quantity(monkeypatch):
    """Negative control: with encoders beta^2 E_i (wrong) the codes of Phi_hat are not beta z, and sympy says so."""
    def wrong(a, beta):
        return {"E": beta * beta * a["E"], "D": a["D"] / beta}
    monkeypatch.setattr(shrink, "shrunk_arms", wrong)
    assert not shrink.certify_eq3()["ok"]


# ------------------------------------------------------------------------------------------- witnesses, from JSON

@pytest.mark.parametrize("cid", ["eq2.negative_diagonal", "prop1", "prop1.lambda_zero", "prop1.c0_positive",
                                 "prop1.coupling.convexity", "prop1.coupling", "prop1.closing"])
def test_witness_rechecks_independently(results, cid):
    """tests/independent_fractions.py (fractions, no cae_theory) recomputes the witness and finds the printed
    claim violated."""
    assert results[cid]["status"] == "fails"
    assert RECHECKS[cid](results[cid]["witness"])


def test_recheck_definition_instance(results):
    (inst,) = [e["details"]["instance"] for e in results["definition.kcae"]["evidence"] if e["kind"] == "witness"]
    Z, recon = linear_kcae(inst)
    coupling = pair_sum(Z, sq)
    assert recon == q(inst["C_recon"]) and coupling == q(inst["C_coupling"])
    assert recon + q(inst["lam"]) * coupling == q(inst["C_Phi"]) >= 0
    k, S, P, p = len(inst["X"]), len(inst["X"][0]), len(inst["X"][0][0]), len(inst["E"][0])
    assert k >= 2 and S > 1 and p < P and len(inst["D"][0][0]) == p and q(inst["lam"]) >= 0


def test_the_convexity_correction_holds_on_the_witness(results):
    """beta sum c(d) + (1 - beta) |S| k(k-1)/2 c(0) bounds the shrunk coupling (the correction's inequality)."""
    w = results["prop1.coupling.convexity"]["witness"]
    beta, lhs, c = q(w["beta"]), q(w["lhs"]), COSTS[w["c"]]
    k, S = len(w["Z"]), len(w["Z"][0])
    assert lhs <= q(w["rhs"]) + (1 - beta) * (S * k * (k - 1) // 2) * c([F(0)])


# ------------------------------------------------------------------------------------------- quantities

def direct_loss(X, E, D, lam, c):
    """Eq. 1 by loops over s, i < j (numpy per vector)."""
    k, S = X.shape[:2]
    recon = sum(float(np.sum((X[i, s] - D[i] @ (E[i] @ X[i, s])) ** 2)) for s in range(S) for i in range(k))
    coup = sum(float(c(E[i] @ X[i, s] - E[j] @ X[j, s])) for s in range(S) for i in range(k) for j in range(i + 1, k))
    return recon + lam * coup, recon, coup


def direct_cost(kind, weight, offset, shift, delta):
    """c(x) = offset + weight g(x - shift), g written out per kind."""
    def g(y):
        a = np.abs(y)
        return {"sq": float(y @ y), "l1": float(a.sum()), "linf": float(a.max()), "quartic": float(y @ y) ** 2,
                "huber": float(sum(t * t / 2 if t <= delta else delta * (t - delta / 2) for t in a))}[kind]
    return lambda x: offset + weight * g(np.asarray(x) - shift)


@given(seed=st.integers(0, 2 ** 32 - 1), kind=st.sampled_from(kcae_cases.COST_KINDS), k=st.integers(2, 4),
       S=st.integers(2, 5), p=st.integers(1, 3), lam=st.floats(0, 10))
def test_kcae_loss_matches_loops_of_eq1(seed, kind, k, S, p, lam):
    """Tolerance from the arithmetic: every sum has < 200 terms of size <= the sum of the |terms| T, so both
    evaluations are within 200 u T of the exact value; T <= the loss (non-negative terms) times (1 + 1e-12)."""
    rng = np.random.default_rng(seed)
    P = p + int(rng.integers(1, 3))
    X, E, D = rng.normal(size=(k, S, P)), rng.normal(size=(k, p, P)), rng.normal(size=(k, P, p))
    cost = definition.ConvexCost(kind, 1.5, 0.25, tuple(rng.normal(size=p)), 0.7)
    want, recon, coup = direct_loss(X, E, D, lam, direct_cost(kind, 1.5, 0.25, np.array(cost.shift), 0.7))
    got = definition.kcae_loss(X, E, D, lam, c=cost)
    assert abs(got - want) <= 2 * 400 * 2.0 ** -53 * (recon + lam * coup) * 8


def test_default_costs_on_a_hand_example():
    # k = 2, |S| = 2, p' = 2, p = 1: E_i = [1, 0], D_i = [[1], [0]] keeps the first coordinate.
    X = np.array([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, -1.0]]])
    E = np.array([[[1.0, 0.0]]] * 2)
    D = np.array([[[1.0], [0.0]]] * 2)
    # recon: second coordinates squared: 4 + 16 + 1 + 1 = 22; coupling: (1 - 0)^2 + (3 - 1)^2 = 5
    assert definition.recon_loss(X, E, D) == 22.0
    assert definition.coupling_loss(X, E) == 5.0
    assert definition.kcae_loss(X, E, D, 0.5) == 22.0 + 2.5


@given(x=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2), y=st.lists(st.floats(-1e3, 1e3), min_size=2,
                                                                                   max_size=2),
       t=st.floats(0.0, 1.0), kind=st.sampled_from(kcae_cases.COST_KINDS))
def test_convex_costs_match_their_formulas_and_are_convex(x, y, t, kind):
    """Tolerance: quartic values reach ~1e13; a few roundings of that size (1e13 * 1e-15 * 16)."""
    c = definition.ConvexCost(kind, 1.0, 0.5, (0.3, -0.2), 0.7)
    ref = direct_cost(kind, 1.0, 0.5, np.array([0.3, -0.2]), 0.7)
    x, y = np.array(x), np.array(y)
    vx, vy, mid = float(c(x)), float(c(y)), float(c(t * x + (1 - t) * y))
    scale = 1 + max(vx, vy, mid)
    assert abs(vx - ref(x)) <= 16 * 2.0 ** -52 * scale and vx >= 0
    assert mid <= t * vx + (1 - t) * vy + 16 * 2.0 ** -52 * scale


def test_norms_match_numpy():
    z = np.random.default_rng(4).normal(size=(5, 3))
    for kind, order in (("l1", 1), ("l2", 2), ("l3", 3), ("linf", np.inf)):
        np.testing.assert_allclose(shrink.Norm(kind)(z), np.linalg.norm(z, ord=order, axis=1), rtol=1e-14)
    M = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 3.0]])
    np.testing.assert_allclose(shrink.Norm("weighted", M)(z), np.sqrt(np.einsum("sp,pq,sq->s", z, M, z)),
                               rtol=1e-14)


def test_shrink_is_exact_for_a_power_of_two_beta():
    """beta = 1/4 and small integer matrices: every product is exact, so the Remark with T = beta I holds to the
    last bit: codes beta z, the same C_recon, the coupling times beta^2 (c = ||.||^2)."""
    rng = np.random.default_rng(5)
    X = rng.integers(-3, 4, (3, 4, 4)).astype(float)
    E = rng.integers(-3, 4, (3, 2, 4)).astype(float)
    D = rng.integers(-3, 4, (3, 4, 2)).astype(float)
    E2, D2 = shrink.shrink(E, D, 0.25)
    assert np.array_equal(definition.encode(X, E2), 0.25 * definition.encode(X, E))
    assert definition.recon_loss(X, E2, D2) == definition.recon_loss(X, E, D)
    assert definition.coupling_loss(X, E2) == definition.coupling_loss(X, E) / 16
    Z = definition.encode(X, E)
    assert shrink.shrink_beta(Z, 1.0) == min(0.5, 1.0 / (2 * np.linalg.norm(Z, axis=2).max()))
    assert shrink.shrink_beta(np.zeros((2, 2, 1)), 1.0) == 0.5


def test_latent_transform_keeps_reconstructions_exactly_for_a_dyadic_T():
    """T = diag(2, 1/4) permuted: T and T^-1 are exact, every product too: the Remark to the last bit."""
    rng = np.random.default_rng(6)
    X = rng.integers(-3, 4, (2, 3, 3)).astype(float)
    E = rng.integers(-3, 4, (2, 2, 3)).astype(float)
    D = rng.integers(-3, 4, (2, 3, 2)).astype(float)
    T = np.array([[0.0, 2.0], [0.25, 0.0]])
    E2, D2 = remark.latent_transform(E, D, T)
    assert definition.recon_loss(X, E2, D2) == definition.recon_loss(X, E, D)


def test_eq2_sides_hand_example():
    s = remark.eq2_sides(np.diag([1.0, 0.0]), np.diag([1.0, -1.0]), require_hypotheses=False)
    assert (s["diagonal_sum"], s["bound"], s["positive_part_bound"], s["trace_ab"]) == (1.0, 0.0, 1.0, 1.0)


# ------------------------------------------------------------------------------------------- the families

@pytest.mark.parametrize("domain, family", [("kcae", f) for f in kcae_cases.kcae_families()]
                         + [("corrected", f) for f in kcae_cases.corrected_families()],
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_families_build_what_they_promise(domain, family):
    rng = np.random.default_rng(7)
    sizes = family.sample_sizes(rng)
    c = family.draw(rng, 16, **sizes)
    a = c.arrays
    k, S, P = a["X"].shape[1:]
    p = a["E"].shape[2]
    assert (k, S, P - p) == (sizes["k"], sizes["S"], sizes["dp"])
    assert np.array_equal(a["T"] @ a["Tinv"], np.broadcast_to(np.eye(p), a["T"].shape))   # exact inverses
    assert np.all(a["u"] > 0) and np.all(a["lam"] >= 0)
    c0 = a["c_offset"] + np.abs(a["c_shift"]).sum(axis=1)                # c(0) = 0 iff offset = 0 = shift
    name = family.name
    if name == "c_zero_at_origin" or domain == "corrected":
        assert np.all(c0 == 0)
    if domain == "corrected":
        assert np.all(a["lam"] > 0) and P >= 1
    if name == "c_positive_at_origin":
        assert np.all(c0 > 0)
    if name == "edge_sizes":
        assert S == 2 and P == p + 1
    if name == "lambda_edges":
        assert np.any(a["lam"] == 0)
    if name == "quadratic_arms":
        assert np.any(a["Eq"] != 0) and np.any(a["Dq"] != 0)
    if name == "tied_arms":
        assert np.all([np.array_equal(a["X"][n, 0], a["X"][n, 1]) for n in range(16)])
        assert not np.any([np.array_equal(a["X"][n, 0], a["X"][n, 2]) for n in range(16)])
    if name == "single_sample":
        assert S == 1
    if name == "no_compression":
        assert P <= p


# ------------------------------------------------------------------------------------------- bad input

GOOD_X = np.ones((2, 3, 3))
GOOD_E = np.ones((2, 1, 3))
GOOD_D = np.ones((2, 3, 1))


@pytest.mark.parametrize("call, words", [
    (lambda: definition.kcae_loss(np.ones((2, 1, 3)), GOOD_E, GOOD_D, 1.0), "|S| >= 2"),
    (lambda: definition.kcae_loss(np.ones((1, 3, 3)), GOOD_E[:1], GOOD_D[:1], 1.0), "k >= 2"),
    (lambda: definition.kcae_loss(np.ones((2, 3, 2)), np.ones((2, 2, 2)), np.ones((2, 2, 2)), 1.0), "p < p'"),
    (lambda: definition.kcae_loss(GOOD_X, GOOD_E, GOOD_D, -0.1), "lam must be >= 0"),
    (lambda: definition.kcae_loss(GOOD_X, GOOD_E, GOOD_D, float("nan")), "lam must be finite"),
    (lambda: definition.kcae_loss(GOOD_X, GOOD_E, np.ones((2, 1, 3)), 1.0), "decoders must have shape"),
    (lambda: definition.kcae_loss(GOOD_X, np.ones((3, 1, 3)), GOOD_D, 1.0), "encoders must have shape"),
    (lambda: definition.kcae_loss(np.full((2, 3, 3), np.nan), GOOD_E, GOOD_D, 1.0), "finite"),
    (lambda: definition.coupling_loss(GOOD_X, GOOD_E, c=lambda y: -np.ones(y.shape[:-1])), "c must be non-negative"),
    (lambda: definition.coupling_loss(GOOD_X, GOOD_E, c=lambda y: np.ones(1)), "one value per vector"),
    (lambda: definition.ConvexCost("cube"), "kind must be one of"),
    (lambda: definition.ConvexCost("sq", offset=-1.0), "offset must be >= 0"),
    (lambda: definition.ConvexCost("sq", weight=0.0), "weight must be > 0"),
    (lambda: definition.ConvexCost("huber", delta=0.0), "delta must be > 0"),
    (lambda: definition.ConvexCost("sq", shift=(1.0, 2.0))(np.ones((2, 3))), "shift must have one entry"),
    (lambda: shrink.Norm("l7"), "kind must be one of"),
    (lambda: shrink.Norm("weighted"), "M must be given"),
    (lambda: shrink.Norm("weighted", np.array([[1.0, 2.0], [2.0, 1.0]])), "positive definite"),
    (lambda: shrink.Norm("weighted", np.array([[1.0, 2.0], [0.0, 1.0]])), "symmetric"),
    (lambda: shrink.shrink_beta(np.ones((2, 2, 1)), 0.0), "eps must be > 0"),
    (lambda: shrink.shrink_beta(np.ones((1, 2, 1)), 1.0), "k >= 2"),
    (lambda: shrink.shrink(GOOD_E, GOOD_D, 1.0), "beta must be < 1"),
    (lambda: shrink.shrink(GOOD_E, GOOD_D, 0.0), "beta must be > 0"),
    (lambda: shrink.shrink(GOOD_E, GOOD_D[:1], 0.5), "one decoder per encoder"),
    (lambda: shrink.shrink_codes(np.ones((2, 2, 1)), 1.5), "beta must be < 1"),
    (lambda: remark.latent_transform(GOOD_E, GOOD_D, np.zeros((1, 1))), "T must be invertible"),
    (lambda: remark.latent_transform(GOOD_E, GOOD_D, np.eye(2)), "T must be square (p, p) with p = 1"),
    (lambda: remark.eq2_sides(np.ones((2, 2)), np.eye(2)), "A must be diagonal"),
    (lambda: remark.eq2_sides(np.diag([-1.0, 1.0]), np.eye(2)), "A must have non-negative diagonal"),
    (lambda: remark.eq2_sides(np.eye(2), np.eye(3)), "B must have the shape of A"),
    (lambda: remark.eq2_sides(np.ones((2, 3)), np.ones((2, 3))), "A must be square"),
    (lambda: remark.eq2_sides(np.eye(2), np.diag([1.0, -1.0])), "B must have non-negative diagonal"),
])
def test_bad_input_names_the_argument_and_the_rule(call, words):
    with pytest.raises(ValueError) as err:
        call()
    assert words in str(err.value)


@pytest.mark.parametrize("call", [
    lambda: definition.kcae_loss(GOOD_X, GOOD_E, GOOD_D, "1"),
    lambda: definition.coupling_loss(GOOD_X, GOOD_E, c=3),
    lambda: definition.kcae_loss([["a", "b"], ["c", "d"]], GOOD_E, GOOD_D, 1.0),
    lambda: shrink.max_code_norm(np.ones((2, 2, 1)), norm="l2"),
    lambda: shrink.shrink_beta(np.ones((2, 2, 1)), "1"),
])
def test_wrong_types_raise_type_error(call):
    with pytest.raises(TypeError):
        call()
