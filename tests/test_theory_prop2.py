"""Prop. 2's sections of the blueprint (cae_theory.prop2.*) and the machinery that decides them.

Oracles:
- ``independent.Ref``: a transcription of the printed definitions in mpmath (60 digits), importing nothing from
  cae_theory; the construction is compared with it within rigorous rounding bounds (cae_theory.rounding) of the
  float computation, never a fraction of the result;
- exact witnesses: their printed relations re-decided in rational arithmetic (fractions) from the JSON alone;
- z3: every lemma's SMT-LIB query re-run; negative controls (a false lemma is refuted, a false relation is found
  failing by the search, a rounding-level violation is not counted);
- sympy: the certificates, with negative controls.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import independent
from cae_theory.blueprint import all_claims
from cae_theory.cases import codes
from cae_theory.ledger import search as srch
from cae_theory.ledger import solver
from cae_theory.ledger.claims import CheckConfig
from cae_theory.ledger.run import run_claim
from cae_theory.prop2 import construction, eqs5_8, gamma1, gamma2, gap, new_coupling, notation, statement
from cae_theory.prop2.construction import batchnorm_construction, construct
from cae_theory.rounding import INFLATE, Bounded

SMALL = CheckConfig(cases=3000, examples=20, refine=2)
PROP2_SECTIONS = (notation, statement, eqs5_8, construction, gamma1, gamma2, new_coupling, gap)


def prop2_claims():
    return [c for s in PROP2_SECTIONS for c in s.CLAIMS]


@st.composite
def cases(draw):
    """One case of a Prop. 2 family (the search's own families, constructive)."""
    fam = draw(st.sampled_from(codes.prop2_families()))
    sizes = draw(fam.sizes)
    sizes["S"] = min(sizes["S"], 40)                      # keep the mpmath transcription fast
    batch = fam.draw(np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1))), 1, **sizes)
    return batch if len(batch) else None


def _agree(bounded: Bounded, exact_values) -> bool:
    """The float value within its rigorous bound of the mpmath value (itself exact to 1e-50 relative)."""
    want = np.asarray([float(v) for v in np.ravel(exact_values)])
    got, err = bounded.value.ravel(), bounded.error.ravel()
    return bool(np.all(np.abs(got - want) <= err * INFLATE + 1e-40 * (1 + np.abs(want))))


@given(cases())
@example(None)
def test_construction_against_the_independent_transcription(batch):
    """V, W, n, gamma, D_i (Eq. 10), M_i (Eq. 9), z_hat, Gamma_1 (Eq. 16), Gamma_2 (Eq. 23) and the new coupling
    (Eq. 32) of cae_theory, computed in Bounded arithmetic from the exact inputs, against mpmath."""
    if batch is None:
        return
    Z, beta = batch["Z"][0], float(batch["beta"][0])
    ref = independent.Ref(Z.tolist(), beta)
    c = construct(Bounded.exact(Z), Bounded.exact(beta), n=ref.n)
    assert int(c.n) == ref.n
    assert _agree(c.V, ref.V) and _agree(c.W, ref.W) and _agree(c.C, [ref.C]) and _agree(c.gamma, [ref.gamma])
    assert _agree(c.d, ref.D) and _agree(c.M, ref.M) and _agree(c.Zh, ref.Zh)
    assert _agree(gamma1.gamma1(c), [ref.gamma1()]) and _agree(gamma2.gamma2(c), [ref.gamma2()])
    assert _agree(new_coupling.coupling_hat(c), [ref.coupling_hat()])
    assert _agree(gamma1.eq18_terms(c)[1], [ref.eq18_terms()[1]])


def test_exact_witnesses_recomputed_in_fractions():
    """The integer witnesses of the strict claims that fail by equality: Eq. 20 (whole and terms 1, 3) and
    Eq. 21 (terms 1, 3) on EQUALITY_CODES, Eq. 29 on EQ29_CODES, recomputed with Fraction arithmetic (every
    quantity involved is rational: D_i enters squared)."""
    def frac_ref(Z, beta):
        Z = [[[Fraction(v) for v in row] for row in arm] for arm in Z]
        k, S, p = len(Z), len(Z[0]), len(Z[0][0])
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
        V = [[[sum(Z[i][s][a] * Z[i][s][c] for s in range(S)) / (S - 1) for c in range(p)] for a in range(p)]
             for i in range(k)]
        Wp = {(i, j): [[sum((Z[i][s][a] - Z[j][s][a]) * (Z[i][s][c] - Z[j][s][c]) for s in range(S))
                        for c in range(p)] for a in range(p)] for i, j in pairs}
        W = [[sum(Wp[q][a][c] for q in pairs) for c in range(p)] for a in range(p)]
        n = min(range(p), key=lambda m: W[m][m])
        D2 = [[1 / (1 + beta ** 2 + 2 * beta * V[i][n][m]) for m in range(p)] for i in range(k)]
        return Z, k, S, p, pairs, V, Wp, W, n, D2

    beta = Fraction(1, 2)
    Z, k, S, p, pairs, V, Wp, W, n, D2 = frac_ref(gamma1.EQUALITY_CODES, beta)
    C = sum(W[m][m] for m in range(p))
    s = 1 / (1 - beta) ** 2
    t = [sum(sum(D2[i]) * Wp[(i, j)][n][n] for i, j in pairs),
         2 * beta * sum(sum(D2[i][m] * Wp[(i, j)][n][m] for m in range(p)) for i, j in pairs),
         beta ** 2 * sum(sum(D2[i][m] * Wp[(i, j)][m][m] for m in range(p)) for i, j in pairs)]
    e20 = [p * W[n][n] * s, 2 * beta * s * sum(W[n]), beta ** 2 * s * C]
    e21 = [p * W[n][n] / C * C * s, 2 * beta * C * s, beta ** 2 * C * s]
    assert W[n][n] == 0 and len({W[m][m] for m in range(p)}) > 1     # inside the hypotheses, W(n, n) = 0
    assert sum(t) == sum(e20) and t[0] == e20[0] and t[2] == e20[2]  # '<' fails by equality
    assert e20[0] == e21[0] and e20[2] == e21[2]
    beta = Fraction(1, 4)
    Z, k, S, p, pairs, V, Wp, W, n, D2 = frac_ref(gamma2.EQ29_CODES, beta)
    fac = 4 * beta ** 2 * (S - 1) / (1 - beta ** 2) ** 2
    e28 = fac * sum(V[j][n][n] * p + 2 * beta * sum(V[j][n]) + beta ** 2 * sum(V[j][m][m] for m in range(p))
                    for _, j in pairs)
    e29 = fac * p * sum(V[j][n][n] + 2 * beta + beta ** 2 for _, j in pairs)
    assert e28 == e29 == Fraction(16, 9)


@pytest.mark.parametrize("claim", [c for c in prop2_claims() if c.id in {
    "eq6.gamma", "eq8", "eq19", "eq20", "eq20.term1", "eq20.term2", "eq20.term3", "eq21.term1", "eq21.term3",
    "eq22.uses", "eq29", "eq31.uses"}], ids=lambda c: c.id)
def test_exact_witness_from_its_json_alone(claim):
    """Each exact witness: the printed relation is false when recomputed by the independent transcription
    (mpmath) from the witness's Z and beta, and the stored exact values are the same numbers."""
    import sympy
    r = run_claim(claim, SMALL)
    assert r.status == "fails" and r.verdict.witness["exact"]
    w = r.verdict.witness
    lhs, rhs = independent.sides(claim.id, w)
    rel = w["relation"]
    for a, b, ea, eb in zip(lhs, rhs, w["lhs_exact"], w["rhs_exact"]):
        assert independent.small(a - sympy.N(sympy.sympify(ea), 50), a)
        assert independent.small(b - sympy.N(sympy.sympify(eb), 50), b)
    holds = [(a < b and not independent.small(a - b, a)) if rel == "<" else
             (a <= b or independent.small(a - b, a)) if rel == "<=" else independent.small(a - b, a)
             for a, b in zip(lhs, rhs)]
    assert not all(holds)


@pytest.mark.parametrize("claim", [c for c in prop2_claims()
                                   if any(getattr(d, "lemma", None) for d in (c.decide, getattr(
                                       c.correction, "decide", None)))], ids=lambda c: c.id)
def test_every_z3_query_rechecks(claim):
    """The stored SMT-LIB query of every z3 proof, re-run by z3 from its text: unsat (the claim's negation has no
    real solution)."""
    r = run_claim(claim, CheckConfig(cases=200, examples=1, refine=0))
    proofs = [e for v in (r.verdict, r.correction) if v is not None for e in v.evidence
              if e.kind == "proof" and "smtlib2" in e.details]
    assert proofs
    for e in proofs:
        assert e.details["outcome"] == "proved"
        assert solver.recheck(e.details["smtlib2"]) == "unsat"


def test_solver_refutes_a_false_lemma_and_times_out_honestly():
    """Negative control: D <= 1/(1 - beta) fails for beta > 1 (z3 gives a model); a timeout is 'unknown'."""
    def false_lemma(z3):
        beta, rho, D = z3.Reals("beta rho D")
        hyp = [beta > 1, rho >= -1, rho <= 1, D > 0, D * D * (1 + beta * beta + 2 * beta * rho) == 1]
        return hyp, D * (1 - beta) <= 1 - 2
    res = solver.prove(false_lemma, 10.0)
    assert res.outcome == "refuted" and res.model


def test_search_finds_a_false_relation_and_certifies_it():
    """Negative control: 'C_c < C_c / 2' is false on every case; the search must report a certified violation
    with a witness, and a rounding-level violation of a true identity ('C = tr W' read as '<') is not counted."""
    false = srch.Relation("control.false", construction.DOMAIN, "<", lambda a, c: srch.Sides(c.C, c.C / 2))
    srch.register(false)
    tie = srch.Relation("control.tie", construction.DOMAIN, "<", lambda a, c: srch.Sides(
        notation.coupling(c.Z), srch_trace(c.W)))
    srch.register(tie)
    try:
        cfg = CheckConfig(cases=500, examples=5, refine=1, seed=11)
        bad = srch.confirm(false, cfg)
        assert bad.witness_case is not None and bad.lhs.value > bad.rhs.value
        equal = srch.confirm(tie, cfg)
        assert equal.witness_case is None       # C = tr W exactly: a '<' that fails only by rounding-level ties
    finally:
        srch._RELATIONS[construction.DOMAIN.name] = [r for r in srch._RELATIONS[construction.DOMAIN.name]
                                                     if not r.id.startswith("control.")]
        srch.explore.cache_clear()


def srch_trace(W):
    from cae_theory import arith
    return arith.trace(W)


def test_search_is_deterministic_and_independent_of_the_workers():
    cfg1 = CheckConfig(cases=2000, examples=5, refine=1, seed=3, workers=1)
    cfg2 = CheckConfig(cases=2000, examples=5, refine=1, seed=3, workers=2)
    a = srch.explore(construction.DOMAIN, cfg1)
    srch.explore.cache_clear()
    b = srch.explore(construction.DOMAIN, cfg2)
    assert a.families == b.families
    assert {k: (t.worst_margin, t.cases) for k, t in a.tracks.items()} == \
           {k: (t.worst_margin, t.cases) for k, t in b.tracks.items()}


def test_sympy_certificates_and_a_negative_control():
    for cert in (gamma1.certify_quadratic_forms, gamma2.certify_eq30_cubic, gamma2.certify_eq31_step,
                 new_coupling.certify_eq35_step, new_coupling.certify_eq36_step, new_coupling.certify_eq37_step,
                 new_coupling.certify_eq38, gap.certify_eq42, statement.certify_collapse_makes_diag_constant):
        assert cert()["ok"], cert.__name__
    wrong = srch.Relation("control.wrong_identity", construction.DOMAIN, "=",
                          lambda a, c: srch.Sides(notation.coupling(c.Z), 2 * srch_trace(c.W)))
    assert construction.certify(wrong)["ok"] is False


def test_witness_of_a_searched_failure_rechecks_independently():
    """eq30.pairs (k > p arms): found by the search; recomputed from its JSON by the mpmath transcription."""
    claim = next(c for c in prop2_claims() if c.id == "eq30.pairs")
    r = run_claim(claim, CheckConfig(cases=20000, examples=20, refine=2))
    assert r.status == "fails"
    w = r.verdict.witness
    (lhs,), (rhs,) = independent.sides("eq30.pairs", w)
    assert lhs >= rhs and not independent.small(lhs - rhs, lhs)
    assert abs(float(lhs) - w["lhs"]) <= w["rounding_bound"] + 1e-12 * abs(float(lhs))


@pytest.mark.parametrize("bad, error, words", [
    (dict(Z=np.ones((1, 3, 2)), beta=0.5), ValueError, "k >= 2"),
    (dict(Z=np.ones((2, 1, 2)), beta=0.5), ValueError, "|S| >= 2"),
    (dict(Z=np.full((2, 3, 2), np.nan), beta=0.5), ValueError, "finite"),
    (dict(Z=np.ones((2, 3, 2)), beta=0.5), ValueError, "k-CBNAE"),
    (dict(Z=notation.standardize(np.random.default_rng(0).normal(size=(2, 4, 2))), beta=1.0), ValueError, "beta"),
    (dict(Z=notation.standardize(np.random.default_rng(0).normal(size=(2, 4, 2))), beta="x"), TypeError, "beta"),
    (dict(Z=np.repeat(notation.standardize(np.random.default_rng(0).normal(size=(2, 4, 2)))[:1], 2, 0), beta=0.5),
     ValueError, "tr(W) > 0"),
])
def test_public_construction_rejects_bad_input_naming_the_argument(bad, error, words):
    with pytest.raises(error, match=None) as info:
        batchnorm_construction(**bad)
    assert words in str(info.value)


def test_every_prop2_claim_is_registered_once_with_a_known_status_and_its_uses_exist():
    ids = {c.id for c in all_claims()}
    for c in prop2_claims():
        assert c.expected in ("proved", "certified", "searched", "fails")
        assert c.origin in ("printed", "sentence", "probe")
        assert c.defined_at.startswith("cae_theory/prop2/")
        assert c.printed
    missing = {u for c in all_claims() for u in c.uses} - ids
    assert not missing, missing


def test_a_nan_margin_is_an_error_of_its_relation_alone():
    """A relation whose sides give NaN is a bug in that relation: its claim reports it, the other relations of the
    domain are still decided (found with seed 5: Gamma_1 Gamma_2 rounded below 0 under a square root on a case
    with arms on the line, which arith.sqrt now reads as 0, as Bounded does)."""
    from cae_theory import arith
    assert arith.sqrt(np.array([-1e-30, 4.0])).tolist() == [0.0, 2.0]
    broken = srch.register(srch.Relation("control.nan", construction.DOMAIN, "<",
                                         lambda a, c: srch.Sides(c.C * np.nan, c.C)))
    try:
        cfg = CheckConfig(cases=300, examples=2, refine=1, seed=13)
        with pytest.raises(RuntimeError, match="control.nan gave a NaN margin"):
            srch.confirm(broken, cfg)
        ok = srch.confirm(next(r for r in srch.relations_of(construction.DOMAIN) if r.id == "eq6"), cfg)
        assert ok.track.cases > 0 and not ok.track.error
    finally:
        srch._RELATIONS[construction.DOMAIN.name] = [r for r in srch._RELATIONS[construction.DOMAIN.name]
                                                     if not r.id.startswith("control.")]
        srch.explore.cache_clear()
