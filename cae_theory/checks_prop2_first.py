"""Ledger entries of Prop. 2's proof, part 1: the choice of n, b, gamma and Eqs. 5-22 (D_i, M_i, the new
statistics, Gamma_1), one entry per printed claim.

How the checks work:
- identities (status ``certified``): a sympy certificate (:mod:`cae_theory.prop2_first_certificates`) AND a
  numeric check on every searched case;
- inequalities (``holds`` / ``fails``): an adversarial search over :func:`cae_theory.prop2_cases.prop2_cases`
  (cases inside the proof's hypotheses only: k-CBNAE, C_c > 0, non-constant diag(W), a gap >= eps);
- strict relations that fail only by EQUALITY are decided on exact rational witnesses
  (:mod:`cae_theory.prop2_first_exact`), never in floats.

Performance: evaluating a case (construction + every quantity) costs far less than drawing it, so the claims
are checked in two SEARCH GROUPS (Eqs. 5-15 and Eqs. 16-22). Each group runs one
:func:`cae_theory.search.adversarial_search` (``config.examples`` Hypothesis examples + 3 x 300 Nelder-Mead
steps), steered by the smallest margin among the group's *steering* probes (the relations we expect to hold:
the search tries to break them), while every probe -- also the printed relations already known to fail, which
would otherwise dominate the steering -- records its own worst margin and case. A group's search runs once per
(seed, examples) and is shared by its claims, so a claim's ``n_cases`` is the group's.

Float tolerances: a non-strict relation holds if its margin is >= -REL_TOL (ledger). A numeric identity
check, and the bounds on D_i printed after Eq. 10, divide the margin by a condition factor: max_i,m D_i(m, m)^2
for Eqs. 10 (bounds) and 14-15 (the bracket 1 + beta^2 + 2 beta V_i(n, m) is computed with an absolute error of
a few ulps -- V_i's own rounding included -- and is as small as (1 - beta)^2 = 1/D^2, so D_i carries a relative
error up to ~ulp * D_i^2), cond(M_i) for the determinant of Eq. 9 (LU's relative error), max_i ||M_i|| max|z| for
the new means of Eq. 13 (the error of a linear map's output), and the size of the summed terms for Eq. 18 (its
middle term can cancel the others). Eq. 17 uses a rigorous a priori bound instead
(:func:`cae_theory.gamma1_bound.eq17_rounding_bound` through :func:`cae_theory.ledger.rounding_condition`): at
beta = 1 - 1e-5 its two float values differ by 3.4e-9 relative while the exact values are equal (seed 2, 5000
examples; pinned in tests/test_prop2_first.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import sympy as sp

from cae_theory import gamma1_bound as g1
from cae_theory import prop2_first_certificates as cert
from cae_theory import prop2_first_steps as st
from cae_theory.batchnorm_construction import BatchnormConstruction, batchnorm_construction
from cae_theory.ledger import REL_TOL, CheckConfig, Claim, Correction, Outcome, relation_margin, rounding_condition
from cae_theory.prop2_cases import Prop2Case, case_witness, prop2_cases, refiner
from cae_theory.prop2_first_exact import (WITNESS_BETA, WITNESS_EQ20_EQUALITY, WITNESS_ON_LINE,
                                          exact_quantities, exact_relation_holds)
from cae_theory.search import adversarial_search
from cae_theory.statistics import latent_covariance, latent_mean, squared_euclidean_coupling

#: A margin below this is a robust violation (the ledger's "recheckable" threshold).
ROBUST = 1e-6

Sides = tuple[float, float, float]  # lhs, rhs, condition factor (1 for inequalities)


@dataclass(frozen=True)
class Probe:
    """One relation evaluated on every searched case: ``sides(case, c) -> (lhs, rhs, cond)``."""
    relation: str
    sides: Callable[[Prop2Case, BatchnormConstruction], Sides]
    steer: bool = True   # False: recorded only (a printed relation known to fail would dominate the steering)
    per_coupling: bool = False  # both sides scale with W: the margin is taken of lhs/C_c vs rhs/C_c (scale-free)


def _worst(lhs, rhs, relation: str, cond: float = 1.0) -> Sides:
    """The (lhs, rhs) pair with the smallest margin among elementwise pairs."""
    lhs, rhs = (a.ravel() for a in np.broadcast_arrays(np.asarray(lhs, float), np.asarray(rhs, float)))
    # the slack's sign convention of relation_margin, vectorised only to pick the worst pair
    slack = {"<": rhs - lhs, "<=": rhs - lhs, ">": lhs - rhs, ">=": lhs - rhs, "=": -np.abs(lhs - rhs)}[relation]
    k = int(np.argmin(slack / np.maximum(1.0, np.maximum(np.abs(lhs), np.abs(rhs)))))
    return float(lhs[k]), float(rhs[k]), cond


def _dmax2(c: BatchnormConstruction) -> float:
    return float(max(1.0, max(np.diag(D).max() for D in c.D) ** 2))


def _min_scaling(c: BatchnormConstruction) -> float:
    """min_i,m D_i(m, m) of the construction, or -1 if any entry is not a finite number (not real)."""
    d = np.stack([np.diag(D) for D in c.D])
    return float(d.min()) if np.all(np.isfinite(d)) else -1.0


def _linear_map_scale(c: BatchnormConstruction) -> float:
    """max_i ||M_i||_inf max|z|: the size of the float error of z_hat = M_i z (relative to it, not to |z_hat|,
    which can be much smaller: z(n) + beta z(m) cancels when V_i(n, m) = -1 and beta ~ 1)."""
    return float(max(1.0, max(np.abs(M).sum(axis=1).max() for M in c.M) * np.abs(c.Z).max()))


def _gap_arms(case: Prop2Case) -> np.ndarray:
    """Arms with a coordinate gap >= eps somewhere (the arms the hypothesis of Prop. 2 is about)."""
    return (case.Z.max(axis=2) - case.Z.min(axis=2)).max(axis=1) >= case.eps


def _eq9_det(case, c):
    p = c.W.shape[0]
    ratios, conds = [], []
    for i in range(c.Z.shape[0]):
        ratios.append(np.linalg.det(c.M[i]) / (np.prod(np.diag(c.D[i])) * st.transform_determinant(p, c.beta)))
        conds.append(np.linalg.cond(c.M[i]))
    return _worst(ratios, 1.0, "=", max(1.0, max(conds)))


def _eq14(case, c):
    Vhat = latent_covariance(c.Z_hat)
    printed = np.stack([st.new_covariance_printed(c.D[i], c.V[i], c.b, c.beta) for i in range(c.Z.shape[0])])
    return _worst(Vhat, printed, "=", _dmax2(c))


def _eq15(case, c):
    printed = np.stack([st.new_variance_printed(c.D[i], c.V[i], c.n, c.beta) for i in range(c.Z.shape[0])])
    observed = np.stack([np.diag(v) for v in latent_covariance(c.Z_hat)])
    return _worst(np.concatenate([printed, observed]), 1.0, "=", _dmax2(c))


def _eq10_bounds(case, c):
    lo, hi = st.scaling_bounds(c.beta)
    d = np.stack([np.diag(D) for D in c.D])
    a = _worst(d, lo, ">=", _dmax2(c))
    b = _worst(d, hi, "<=", _dmax2(c))
    return a if relation_margin(a[0], a[1], ">=") < relation_margin(b[0], b[1], "<=") else b


def _eq10_diff(case, c):
    d = np.stack([np.diag(D) for D in c.D])
    diffs = (d[:, None, :] - d[None, :, :]) ** 2
    return _worst(diffs, st.scaling_difference_bound(c.beta), "<=", _dmax2(c))


def _on_gap_arms(case, c):
    mins = st.min_correlation_with_n(c.V, c.n)[_gap_arms(case)]
    return _worst(mins, 1.0, "<")


GROUP_EQS_5_15: dict[str, Probe] = {
    "eq5": Probe("=", lambda case, c: (squared_euclidean_coupling(c.Z), st.coupling_trace(c.W), 1.0),
                 per_coupling=True),
    "eq6.gamma": Probe("<", lambda case, c: (st.smallest_admitted_gamma(c.W, c.n), 1.0, 1.0), steer=False),
    "eq6.gamma.corrected": Probe("<", lambda case, c: (c.gamma, 1.0, 1.0)),
    "eq6": Probe("<", lambda case, c: (st.quadratic_form(c.W, c.b), st.mean_diagonal(c.W), 1.0),
                 per_coupling=True),
    "eq7.trace": Probe("=", lambda case, c: (st.trace_one_b_W(c.W, c.b), st.row_sum(c.W, c.n), 1.0),
                       per_coupling=True),
    "eq7.cauchy_schwarz": Probe("<=", lambda case, c: (st.row_sum(c.W, c.n), st.geometric_mean_sum(c.W, c.n), 1.0),
                                per_coupling=True),
    "eq7.am_gm": Probe("<", lambda case, c: (st.geometric_mean_sum(c.W, c.n), st.arithmetic_mean_sum(c.W, c.n),
                                             1.0), per_coupling=True),
    "eq7.total": Probe("<", lambda case, c: (st.arithmetic_mean_sum(c.W, c.n), np.trace(c.W), 1.0),
                       per_coupling=True),
    "eq7": Probe("<", lambda case, c: (st.trace_one_b_W(c.W, c.b), np.trace(c.W), 1.0), per_coupling=True),
    "eq8.abs_bound": Probe("<=", lambda case, c: _worst(np.abs(st.correlations_with_n(c.V, c.n)), 1.0, "<=")),
    "eq8": Probe("<", lambda case, c: _worst(st.min_correlation_with_n(c.V, c.n), 1.0, "<"), steer=False),
    "eq8.corrected": Probe("<", _on_gap_arms),
    "eq9": Probe("=", _eq9_det),
    "eq10": Probe(">", lambda case, c: (_min_scaling(c), 0.0, 1.0)),
    "eq10.bounds": Probe("<=", _eq10_bounds),
    "eq10.diff_bound": Probe("<=", _eq10_diff),
    "eq11": Probe("<", lambda case, c: _worst([np.trace(D) for D in c.D],
                                              st.trace_bound_eq11(c.W.shape[0], c.beta), "<")),
    "eq12": Probe("<", lambda case, c: _worst([np.trace(D @ D) for D in c.D],
                                              st.trace_bound_eq12(c.W.shape[0], c.beta), "<")),
    "eq13": Probe("=", lambda case, c: _worst(latent_mean(c.Z_hat), 0.0, "=", _linear_map_scale(c))),
    "eq14": Probe("=", _eq14),
    "eq15": Probe("=", _eq15),
}


def _gamma1_sides(case, c):
    """Every Gamma_1 quantity of one case, computed once (the Eqs. 16-22 probes read from it)."""
    return {"g1": g1.gamma1(c), "e17": g1.gamma1_eq17(c), "e17err": g1.eq17_rounding_bound(c), "C": c.coupling,
            "e18": g1.gamma1_eq18_terms(c), "e20": g1.eq20_terms(c),
            "e21": g1.eq21_terms(c), "e22": g1.eq22_bound(c), "e19fix": g1.eq19_first_term_bound(c),
            "e20t2fix": g1.eq20_term2_bound(c),
            "e19": [g1.eq19_first_term(c, i) for i in range(c.Z.shape[0])]}


def _eq17(q):
    """Eq. 16 vs Eq. 17 in floats. The identity is exact for the float M_i, so the two values differ only by
    rounding, which is provably <= g1.eq17_rounding_bound (~ ulp max D_i(m,m)^2 C_c, large for beta near 1): the
    condition factor accepts exactly that much. The probe's margin divides by max(C_c, |lhs|, |rhs|) (per
    coupling, then relation_margin's max(1, .))."""
    return q["g1"], q["e17"], rounding_condition(q["e17err"], max(q["C"], abs(q["g1"]), abs(q["e17"])))


def _eq19_printed(q):
    """Closest of the k readings of the free arm index (the claim fails only if every reading fails)."""
    t1 = q["e18"][0]
    best = max(q["e19"], key=lambda r: relation_margin(t1, r, "="))
    return t1, best, 1.0


def _probe_g(relation, f, steer=True):
    return Probe(relation, f, steer, per_coupling=True)   # every Eqs. 16-22 quantity is linear in the W_ij


GROUP_EQS_16_22: dict[str, Probe] = {
    "eq17": _probe_g("=", _eq17),
    "eq18": _probe_g("=", lambda q: (q["g1"], sum(q["e18"]),
                                     max(1.0, sum(abs(t) for t in q["e18"]) / max(1.0, abs(q["g1"]))))),
    "eq19": _probe_g("=", _eq19_printed, steer=False),
    "eq19.corrected": _probe_g("<=", lambda q: (q["e18"][0], q["e19fix"], 1.0)),
    "eq20": _probe_g("<", lambda q: (sum(q["e18"]), sum(q["e20"]), 1.0), steer=False),
    "eq20.corrected": _probe_g("<=", lambda q: (sum(q["e18"]), sum(q["e20"]), 1.0)),
    "eq20.term1": _probe_g("<", lambda q: (q["e18"][0], q["e20"][0], 1.0), steer=False),
    "eq20.term1.corrected": _probe_g("<=", lambda q: (q["e18"][0], q["e20"][0], 1.0)),
    "eq20.term2": _probe_g("<", lambda q: (q["e18"][1], q["e20"][1], 1.0), steer=False),
    "eq20.term2.corrected": _probe_g("<=", lambda q: (q["e18"][1], q["e20t2fix"], 1.0)),
    "eq20.term3": _probe_g("<", lambda q: (q["e18"][2], q["e20"][2], 1.0), steer=False),
    "eq20.term3.corrected": _probe_g("<=", lambda q: (q["e18"][2], q["e20"][2], 1.0)),
    "eq21": _probe_g("<", lambda q: (sum(q["e20"]), sum(q["e21"]), 1.0)),
    "eq21.term1": _probe_g("<", lambda q: (q["e20"][0], q["e21"][0], 1.0), steer=False),
    "eq21.term1.corrected": _probe_g("<=", lambda q: (q["e20"][0], q["e21"][0], 1.0)),
    "eq21.term2": _probe_g("<", lambda q: (q["e20"][1], q["e21"][1], 1.0)),
    "eq21.term3": _probe_g("<", lambda q: (q["e20"][2], q["e21"][2], 1.0), steer=False),
    "eq21.term3.corrected": _probe_g("=", lambda q: (q["e20"][2], q["e21"][2], 1.0)),
    "eq22": _probe_g("<", lambda q: (sum(q["e21"]), q["e22"], 1.0)),
    "eq22.chain": _probe_g("<", lambda q: (q["g1"], q["e22"], 1.0)),
}

GROUPS = {"eqs5_15": (GROUP_EQS_5_15, lambda case, c: (case, c)),
          "eqs16_22": (GROUP_EQS_16_22, lambda case, c: (_gamma1_sides(case, c),))}


@dataclass
class Worst:
    margin: float
    case: Prop2Case
    lhs: float
    rhs: float


@dataclass
class GroupResult:
    worst: dict[str, Worst]
    n_cases: int


def probe_margin(relation: str, sides: Sides, unit: float = 1.0) -> float:
    """Margin of one probe: the ledger's relation margin of lhs/unit vs rhs/unit, divided by the condition factor.
    ``unit`` is C_c = tr(W) for relations homogeneous in W: without it, cases with tiny W (arms nearly equal)
    have margins near 0 whatever the relation, and the search would chase them instead of real violations."""
    lhs, rhs, cond = sides
    return relation_margin(lhs / unit, rhs / unit, relation) / cond


@lru_cache(maxsize=None)
def group_search(group: str, seed: int, examples: int) -> GroupResult:
    """Run the adversarial search of one group once (cached) and return every probe's worst margin and case."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {sorted(GROUPS)}, got {group!r}")
    probes, prepare = GROUPS[group]
    worst: dict[str, Worst] = {}

    def margin(case: Prop2Case) -> float:
        c = batchnorm_construction(case.Z, case.beta)
        args = prepare(case, c)
        steer = np.inf
        trace = float(np.trace(c.W))
        for pid, probe in probes.items():
            sides = probe.sides(*args)
            m = probe_margin(probe.relation, sides, trace if probe.per_coupling else 1.0)
            if pid not in worst or m < worst[pid].margin:
                worst[pid] = Worst(m, case, sides[0], sides[1])
            if probe.steer:
                steer = min(steer, m)
        return steer

    result = adversarial_search(margin, prop2_cases(), examples=examples, seed=seed, refine=refiner)
    return GroupResult(worst, result.n_cases)


def _group_of(pid: str) -> str:
    for name, (probes, _) in GROUPS.items():
        if pid in probes:
            return name
    raise KeyError(pid)


def _probe_worst(pid: str, config: CheckConfig) -> tuple[Worst, int]:
    res = group_search(_group_of(pid), config.seed, config.examples)
    return res.worst[pid], res.n_cases


def _relation(pid: str) -> str:
    return GROUPS[_group_of(pid)][0][pid].relation


def _float_witness(pid: str, w: Worst) -> dict:
    per_coupling = GROUPS[_group_of(pid)][0][pid].per_coupling
    return case_witness(w.case, w.lhs, w.rhs, _relation(pid), claim=pid, margin=w.margin,
                        margin_of="lhs/C_c vs rhs/C_c, C_c = tr(W)" if per_coupling else "lhs vs rhs")


def _correction(pid: str, text: str, config: CheckConfig) -> Correction:
    w, n = _probe_worst(pid, config)
    return Correction(text, "holds" if w.margin >= -REL_TOL else "fails", w.margin, n)


def _search_check(pid: str, strict_note: str = "", note: str = "") -> Callable[[CheckConfig], Outcome]:
    """An inequality checked by search: holds if its worst margin >= -REL_TOL, else fails with the worst case."""
    def check(config: CheckConfig) -> Outcome:
        w, n = _probe_worst(pid, config)
        text = note
        if _relation(pid) in ("<", ">") and w.margin < REL_TOL:
            text += (f" Worst margin {w.margin:.3g} is within float resolution of 0 for this strict relation; "
                     f"strictness rests on: {strict_note}")
        if w.margin >= -REL_TOL:
            return Outcome("holds", w.margin, n, note=text.strip())
        return Outcome("fails", w.margin, n, witness=_float_witness(pid, w), note=text.strip())
    return check


def _identity_check(pid: str, certificate: Callable[[], bool], note: str = "") -> Callable[[CheckConfig], Outcome]:
    """An identity: sympy certificate AND the numeric check on every searched case."""
    def check(config: CheckConfig) -> Outcome:
        w, n = _probe_worst(pid, config)
        ok_symbolic = certificate()
        text = f"sympy: {certificate.__name__}() = {ok_symbolic}. {note}".strip()
        if ok_symbolic and w.margin >= -REL_TOL:
            return Outcome("certified", w.margin, n, note=text)
        return Outcome("fails", w.margin, n, witness=_float_witness(pid, w), note=text)
    return check


def _robust_fail_check(pid: str, correction_pid: str, correction_text: str,
                       note: str = "") -> Callable[[CheckConfig], Outcome]:
    """A printed relation that the search breaks robustly (margin < -ROBUST), with its correction."""
    def check(config: CheckConfig) -> Outcome:
        w, n = _probe_worst(pid, config)
        corr = _correction(correction_pid, correction_text, config)
        if w.margin < -ROBUST:
            return Outcome("fails", w.margin, n, witness=_float_witness(pid, w), correction=corr, note=note)
        return Outcome("holds", w.margin, n, correction=corr,
                       note=f"no robust violation found (worst margin {w.margin:.3g}). {note}".strip())
    return check


def exact_witness(Z: np.ndarray, lhs_key: str | tuple[str, ...], rhs_key: str | tuple[str, ...],
                  relation: str, claim: str, **extra) -> tuple[bool, dict]:
    """Evaluate ``lhs REL rhs`` exactly (each side a key of :func:`exact_quantities`, a tuple of keys to add, or a
    number) on rational codes ``Z`` with beta = WITNESS_BETA and
    return (holds, witness JSON). The witness carries the exact values as strings next to their floats."""
    q = exact_quantities(Z, WITNESS_BETA)

    def value(spec, name):
        keys = (spec,) if isinstance(spec, str) else spec if isinstance(spec, tuple) else ()
        unknown = [k for k in keys if k not in q]
        if unknown:
            raise ValueError(f"{name} must be a key of exact_quantities (or a tuple of keys, or a number); "
                             f"unknown: {unknown}")
        return sum(q[k] for k in keys) if keys else sp.nsimplify(spec)

    lhs, rhs = value(lhs_key, "lhs_key"), value(rhs_key, "rhs_key")
    holds = exact_relation_holds(lhs, rhs, relation)
    case = Prop2Case(Z=Z, beta=WITNESS_BETA, eps=1.0, family="exact")
    witness = case_witness(case, float(lhs), float(rhs), relation, claim=claim, arithmetic="exact (sympy)",
                           lhs_exact=str(lhs), rhs_exact=str(rhs), **extra)
    return holds, witness


def _exact_fail_check(pid: str, Z: np.ndarray, lhs_key, rhs_key, correction_pid: str | None,
                      correction_text: str, note: str, correction_certificate: Callable[[], bool] | None = None,
                      correction_proof: Callable[[], bool] | None = None, **extra) -> Callable[[CheckConfig], Outcome]:
    """A strict printed relation that fails by EQUALITY: decided on an exact witness; the float search's worst
    margin (>= -REL_TOL expected) is reported alongside, and the non-strict correction is checked by search."""
    relation = _relation(pid)

    def check(config: CheckConfig) -> Outcome:
        holds, witness = exact_witness(Z, lhs_key, rhs_key, relation, pid, **extra)
        w, n = _probe_worst(pid, config)
        corr = None
        if correction_pid is not None:
            corr = _correction(correction_pid, correction_text, config)
            if correction_certificate is not None:  # an identity: certified = sympy + numbers
                corr.status = ("certified" if correction_certificate() and corr.status == "holds" else "fails")
            if correction_proof is not None:        # an inequality whose proof rests on a sympy identity
                ok = correction_proof()
                corr.text += f" [sympy: {correction_proof.__name__}() = {ok}]"
                if not ok:
                    corr.status = "fails"
        text = f"{note} Exact witness: {witness['lhs_exact']} {relation} {witness['rhs_exact']} is " \
               f"{'true' if holds else 'false'}. Float search worst margin {w.margin:.3g}."
        if holds:
            return Outcome("holds", w.margin, n, correction=corr, note=text)
        return Outcome("fails", min(w.margin, 0.0), n, witness=witness, correction=corr, note=text)
    return check


# --- the claims, in the supplement's order ------------------------------------------------------------------

_B = "b = e_n, n = argmin_m W(m,m)"

CLAIMS: list[Claim] = [
    Claim("eq6.gamma",
          "Let 1 <= n <= p be such that b^T W b is minimized (b = e_n): b^T W b <= gamma W(m,m) for any m, "
          "gamma <= 1 (the proof later needs gamma < 1: Q(0) = C_c (1 - gamma) > 0)",
          "construction", "fails",
          _exact_fail_check(
              "eq6.gamma", WITNESS_ON_LINE, "smallest_admitted_gamma", 1, "eq6.gamma.corrected",
              "Define gamma := p W(n,n) / tr(W) (= p b^T W b / C_c): then p b^T W b <= gamma C_c holds with "
              "equality (all Eq. 21 uses) and 0 <= gamma < 1 by Eq. 6; checked: gamma < 1 on every case",
              "Read literally, the sentence with m = n gives W(n,n) <= gamma W(n,n), so gamma >= 1 whenever "
              "W(n,n) > 0; with gamma <= 1 only gamma = 1 is admitted. Then Q's constant term C_c (1 - gamma) "
              "= 0, 'Q > 0 at beta = 0' fails, r1 = 0 and no beta < min(1/2, r1/2) exists. Checked relation: "
              "the smallest admitted gamma, max_m W(n,n)/W(m,m), < 1."),
          "holds"),
    Claim("eq5", "C_c = tr(W)", "sympy", "certified",
          _identity_check("eq5", cert.certify_eq5, "Numeric: squared_euclidean_coupling(Z) vs tr(W).")),
    Claim("eq6", f"b^T W b < tr(W)/p  ({_B}, diag(W) not constant)", "search", "holds",
          _search_check("eq6", "min < mean for a non-constant diagonal")),
    Claim("eq7.trace", "tr(1 b^T W) = sum_m W(n,m)", "sympy", "certified",
          _identity_check("eq7.trace", cert.certify_eq7_trace)),
    Claim("eq7.cauchy_schwarz", "sum_m W(n,m) <= sum_m sqrt(W(n,n) W(m,m))  (Cauchy-Schwarz)", "search", "holds",
          _search_check("eq7.cauchy_schwarz")),
    Claim("eq7.am_gm", "sum_m sqrt(W(n,n) W(m,m)) < sum_m (W(n,n) + W(m,m))/2  (AM-GM, diag(W) not constant)",
          "search", "holds",
          _search_check("eq7.am_gm", "AM-GM is strict for the m with W(m,m) != W(n,n), which exists by hypothesis")),
    Claim("eq7.total", "sum_m (W(n,n) + W(m,m))/2 < tr(W)", "search", "holds",
          _search_check("eq7.total", "equivalent to p W(n,n) < tr(W), i.e. Eq. 6")),
    Claim("eq7", "tr(1 b^T W) < tr(W)  (the whole chain of Eq. 7)", "search", "holds",
          _search_check("eq7", "Eq. 7's strict AM-GM step",
                        note="tr(1 b^T W) itself can be negative; the bound still holds.")),
    Claim("eq8.abs_bound", "|V_i(n,m)| <= 1 due to the Cauchy-Schwarz inequality", "search", "holds",
          _search_check("eq8.abs_bound")),
    Claim("eq8", "min_m V_i(n,m) < 1 (for every arm i), because equality implies |z_si(m) - z_si(m')| < eps "
                 "for all m, m', s, i",
          "construction", "fails",
          _exact_fail_check(
              "eq8", WITNESS_ON_LINE, "min_m V_0(n,m)", 1, "eq8.corrected",
              "min_m V_i(n,m) < 1 holds for every arm i that has a coordinate gap >= eps (the hypothesis gives a "
              "gap for SOME s, i, so for at least one arm); an arm whose codes all lie on the line has "
              "V_i(n,m) = 1 for all m",
              "Equality min_m V_i(n,m) = 1 only puts arm i itself on the line; the hypothesis gives a gap for "
              "some arm, not every arm. Witness: arm 0 lies on the line (V_0(n,m) = 1 for all m), arm 1 has a "
              "gap 1 >= eps = 1. Eq. 8 is used only for Eqs. 11-12, which hold for every arm anyway (see eq11)."),
          "holds"),
    Claim("eq9", "M_i = D_i 1 b^T + beta D_i is invertible for 0 < beta < 1 (D_i o M_i^-1 is a valid decoder, so "
                 "C_recon is unchanged): det M_i = det D_i beta^(p-1) (1 + beta) != 0",
          "sympy", "certified",
          _identity_check("eq9", cert.certify_eq9_determinant,
                          "Numeric: det(M_i) / (det(D_i) beta^(p-1) (1+beta)) = 1, margin divided by cond(M_i).")),
    Claim("eq10", "D_i(m,m) = [1 + beta^2 + 2 beta V_i(n,m)]^(-1/2) is real and positive for 0 < beta < 1",
          "search", "holds",
          _search_check("eq10", "the bracket is >= (1 - beta)^2 > 0 since V_i(n,m) >= -1",
                        note="Checked: every D_i(m,m) of the construction is finite and > 0.")),
    Claim("eq10.bounds", "1/(1+beta) <= D_i(m,m) <= 1/(1-beta)", "search", "holds", _search_check("eq10.bounds")),
    Claim("eq10.diff_bound", "(D_i(m,m) - D_j(m,m))^2 <= 4 beta^2 / (1 - beta^2)^2", "search", "holds",
          _search_check("eq10.diff_bound")),
    Claim("eq11", "By Eq. 8, tr(D_i) < p/(1-beta)", "search", "holds",
          _search_check("eq11", "D_i(n,n) = 1/(1+beta) < 1/(1-beta) because V_i(n,n) = 1",
                        note="Holds for every arm, also for arms where Eq. 8 fails (an arm on the line has "
                             "tr(D_i) = p/(1+beta)). The reason is not Eq. 8 (min_m V_i(n,m) < 1 bounds D_i from "
                             "BELOW), but V_i(n,n) = 1, which gives D_i(n,n) = 1/(1+beta) < 1/(1-beta).")),
    Claim("eq12", "By Eq. 8, tr(D_i D_i) < p/(1-beta)^2", "search", "holds",
          _search_check("eq12", "D_i(n,n)^2 = 1/(1+beta)^2 < 1/(1-beta)^2 because V_i(n,n) = 1",
                        note="As eq11: true for every arm; the reason is V_i(n,n) = 1, not Eq. 8.")),
    Claim("eq13", "m_hat_i = (D_i 1 b^T + beta D_i) 1/|S| sum_s z_si = 0", "sympy", "certified",
          _identity_check("eq13", cert.certify_eq13,
                          "Numeric: mean of z_hat = M_i z over s, relative to max_i ||M_i||_inf max|z|.")),
    Claim("eq14", "V_hat_i = M_i (1/(|S|-1) sum_s z_si z_si^T) M_i^T = D_i[1 b^T V_i b 1^T + beta(1 b^T V_i + "
                  "V_i b 1^T) + beta^2 V_i] D_i^T", "sympy", "certified",
          _identity_check("eq14", cert.certify_eq14,
                          "Numeric: covariance of z_hat vs the printed form, margin divided by max D_i(m,m)^2.")),
    Claim("eq15", "V_hat_i(m,m) = D_i(m,m)^2 [V_i(n,n) + 2 beta V_i(n,m) + beta^2 V_i(m,m)] = 1", "sympy",
          "certified",
          _identity_check("eq15", cert.certify_eq15,
                          "Numeric: the printed middle and diag of the covariance of z_hat vs 1, margin divided by "
                          "max D_i(m,m)^2. So Phi-hat is again a k-CBNAE (with Eq. 13).")),
    Claim("eq17", "Gamma_1 (Eq. 16) = sum_{i<j} tr([D_i 1 b^T + beta D_i] W_ij [b 1^T D_i^T + beta D_i^T])",
          "sympy", "certified",
          _identity_check("eq17", cert.certify_eq17,
                          "Numeric: |Eq. 16 - Eq. 17| <= max(REL_TOL max(C_c, Gamma_1), a priori rounding bound "
                          "g1.eq17_rounding_bound), which grows like ulp max D_i(m,m)^2 C_c for beta near 1.")),
    Claim("eq18", "Eq. 17 = sum_{i<j} tr(1^T D_i^T D_i 1 (b^T W_ij b)) + 2 beta sum_{i<j} tr(D_i^T D_i 1 b^T W_ij) "
                  "+ beta^2 sum_{i<j} tr(D_i^T D_i W_ij)", "sympy", "certified",
          _identity_check("eq18", cert.certify_eq18,
                          "Numeric: margin divided by (|t1|+|t2|+|t3|)/|Gamma_1| (t2 can cancel the others).")),
    Claim("eq19", "Eq. 18 = sum_m D_i(m,m)^2 tr(b^T W b) + 2 beta sum_{i<j} tr(D_i^T D_i 1 b^T W_ij) + beta^2 "
                  "sum_{i<j} tr(D_i^T D_i W_ij)", "search", "fails",
          _robust_fail_check(
              "eq19", "eq19.corrected",
              "sum_{i<j} (1^T D_i^2 1)(b^T W_ij b) <= max_i tr(D_i^2) b^T W b (since b^T W_ij b >= 0), which is "
              "all Eq. 20 needs (<= p b^T W b/(1-beta)^2 by Eq. 12)",
              "The first term drops the pair sum: sum_{i<j} tr(D_i^2) b^T W_ij b equals tr(D_i^2) b^T W b only if "
              "tr(D_i^2) is the same for all arms i that appear first in a pair (true for k = 2). The witness is "
              "the worst case for the CLOSEST of the k readings of the free index i."),
          "holds"),
    Claim("eq20", "Eq. 19 < p b^T W b/(1-beta)^2 + 2 beta/(1-beta)^2 tr(1 b^T W) + beta^2/(1-beta)^2 tr(W) "
                  "(whole line; left side = Gamma_1 as in Eq. 18)", "construction", "fails",
          _exact_fail_check(
              "eq20", WITNESS_EQ20_EQUALITY, ("eq18.term1", "eq18.term2", "eq18.term3"),
              ("eq20.term1", "eq20.term2", "eq20.term3"), "eq20.corrected",
              "Gamma_1 <= p b^T W b/(1-beta)^2 + 2 beta/(1-beta)^2 tr(1 b^T W) + beta^2/(1-beta)^2 tr(W) (non-strict). "
              "Valid proof: Gamma_1 = sum_{i<j} sum_m D_i(m,m)^2 (e_n + beta e_m)^T W_ij (e_n + beta e_m), each "
              "quadratic form >= 0 and D_i(m,m)^2 <= 1/(1-beta)^2 -- not Eq. 2 term by term",
              "Fails only by equality: when W(n,n) = 0 and V_i(n,m) = -1 wherever W_ij(m,m) > 0, both sides are "
              "equal. Eq. 21 is strict (Eq. 7), so the chain's end result survives (eq22.chain).",
              correction_proof=cert.certify_eq20_quadratic_form),
          "holds"),
    Claim("eq20.term1", "sum_m D_i(m,m)^2 b^T W b < p b^T W b/(1-beta)^2 (first term; left side read as Eq. 18's "
                        "first term)", "construction", "fails",
          _exact_fail_check(
              "eq20.term1", WITNESS_EQ20_EQUALITY, "eq18.term1", "eq20.term1", "eq20.term1.corrected",
              "<= (non-strict): sum_{i<j} tr(D_i^2) b^T W_ij b <= p b^T W b/(1-beta)^2",
              "Strictness needs b^T W b = W(n,n) > 0, but W(n,n) = 0 is allowed (all arms agree in coordinate "
              "n): then 0 < 0."),
          "holds"),
    Claim("eq20.term2", "2 beta sum_{i<j} tr(D_i^T D_i 1 b^T W_ij) < 2 beta/(1-beta)^2 tr(1 b^T W) (second term, "
                        "'using Eq. 2')", "search", "fails",
          _robust_fail_check(
              "eq20.term2", "eq20.term2.corrected",
              "2 beta sum_{i<j} tr(D_i^2 1 b^T W_ij) <= 2 beta/(1-beta)^2 sum_m sqrt(W(n,n) W(m,m)), the middle of "
              "Eq. 7, which is still < 2 beta C_c/(1-beta)^2, so Eq. 21 and the chain are unaffected",
              "Eq. 2 needs B = 1 b^T W_ij to have a non-negative diagonal, but its diagonal W_ij(n,m) can be "
              "negative (and tr(1 b^T W) can be < 0): D_i(m,m)^2 then weights the negative entries by less than "
              "1/(1-beta)^2."),
          "holds"),
    Claim("eq20.term3", "beta^2 sum_{i<j} tr(D_i^T D_i W_ij) < beta^2/(1-beta)^2 tr(W) (third term)", "construction",
          "fails",
          _exact_fail_check(
              "eq20.term3", WITNESS_EQ20_EQUALITY, "eq18.term3", "eq20.term3", "eq20.term3.corrected",
              "<= (non-strict), by Eq. 2 with B = W_ij (diagonal >= 0) and D_i(m,m)^2 <= 1/(1-beta)^2",
              "Equality when D_i(m,m) = 1/(1-beta) (V_i(n,m) = -1) for every m with W_ij(m,m) > 0."),
          "holds"),
    Claim("eq21", "Eq. 20 < gamma C_c/(1-beta)^2 + 2 beta C_c/(1-beta)^2 + beta^2 C_c/(1-beta)^2 (whole line; "
                  "gamma = p W(n,n)/tr(W))", "search", "holds",
          _search_check("eq21", "the middle term is strict by Eq. 7")),
    Claim("eq21.term1", "p b^T W b/(1-beta)^2 < gamma C_c/(1-beta)^2 (first term, gamma = p W(n,n)/tr(W))",
          "construction", "fails",
          _exact_fail_check(
              "eq21.term1", WITNESS_EQ20_EQUALITY, "eq20.term1", "eq21.term1", "eq21.term1.corrected",
              "<= (equality, by the definition of gamma); any gamma in (p W(n,n)/tr(W), 1) makes it strict and "
              "keeps gamma < 1",
              "With the gamma the proof needs (smallest with p b^T W b <= gamma C_c) the two sides are equal for "
              "every case; with the literal gamma = 1 the term is strict by Eq. 6 but Q(0) = 0 (see eq6.gamma)."),
          "holds"),
    Claim("eq21.term2", "2 beta tr(1 b^T W)/(1-beta)^2 < 2 beta C_c/(1-beta)^2 (second term, Eq. 7)", "search",
          "holds", _search_check("eq21.term2", "Eq. 7")),
    Claim("eq21.term3", "beta^2 tr(W)/(1-beta)^2 < beta^2 C_c/(1-beta)^2 (third term)", "construction", "fails",
          _exact_fail_check(
              "eq21.term3", WITNESS_EQ20_EQUALITY, "eq20.term3", "eq21.term3", "eq21.term3.corrected",
              "= (tr(W) = C_c is Eq. 5, certified)",
              "The two sides are equal for EVERY case by Eq. 5; '<' should be '='.",
              correction_certificate=cert.certify_eq5),
          "certified"),
    Claim("eq22", "gamma C_c/(1-beta)^2 + 2 beta C_c/(1-beta)^2 + beta^2 C_c/(1-beta)^2 < (gamma + 3 beta) "
                  "C_c/(1-beta)^2", "search", "holds",
          _search_check("eq22", "beta^2 < beta for 0 < beta < 1 and C_c > 0")),
    Claim("eq22.chain", "Gamma_1 (Eq. 16) < (gamma + 3 beta) C_c/(1-beta)^2 (Eq. 22), the end result used in Eq. 35",
          "search", "holds",
          _search_check("eq22.chain", "Gamma_1 <= Eq. 20 (corrected, non-strict) < Eq. 21 (strict by Eq. 7)",
                        note="The end result of Eqs. 16-22 holds although Eqs. 19, 20 (terms) and 21 (terms) "
                             "fail as printed.")),
]
