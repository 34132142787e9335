"""The decision procedures: one way to decide an identity, an inequality or a construction.

- :class:`Identity`: ``certified`` when sympy expands the difference of the two forms to 0 for every size its
  certificate tries AND the two forms agree on numbers within their rigorous rounding bounds (running error
  arithmetic from the exact float inputs; no tolerance relative to the result). A certified disagreement on
  numbers is ``fails`` with the case as witness.
- :class:`Searched`: an inequality over a search domain (:mod:`cae_theory.ledger.search`): ``fails`` with a
  witness when a violation is certified beyond rounding, else ``searched`` with the depth and breadth searched.
- :class:`Proved`: an exact proof: z3 (:mod:`cae_theory.ledger.solver`) or a symbolic identity whose sign is
  evident (a positive form); optionally cross-checked by a search (a certified violation of a proved claim is a
  bug and raises). A solver ``unknown`` or timeout gives ``unknown``; a solver counterexample gives ``fails``.
- :class:`Witnessed`: a constructed witness decided exactly (rational arithmetic), for claims that fail by a
  specific construction or by equality, which floats cannot decide.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from cae_theory.ledger import search as srch
from cae_theory.ledger import solver
from cae_theory.ledger.claims import CheckConfig, Evidence, Verdict, where
from cae_theory.rounding import INFLATE, Bounded, agreement


def _scope_of_ranges(ranges: dict[str, list[int]]) -> str:
    return ", ".join(f"{k} in [{lo}, {hi}]" for k, (lo, hi) in ranges.items())


def _tolist(x) -> Any:
    return np.asarray(x).tolist() if isinstance(x, np.ndarray) else x


@functools.lru_cache(maxsize=None)
def run_certificate(certificate: Callable[[], Any]) -> Any:
    """A sympy certificate's result, computed once per process (several claims can share one)."""
    return certificate()


# --- identities --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """``relation``: the two forms as a Relation with '=' over a search domain; ``certificate() -> dict`` with
    keys ``ok`` (bool) and ``sizes`` (what sympy covered); ``numeric_cases``: cases evaluated in Bounded arithmetic
    (a fraction of the search budget, at least 200)."""
    relation: srch.Relation
    certificate: Callable[[], dict]
    note: str = ""

    def locations(self) -> dict[str, str]:
        return {"quantity": where(self.relation.sides), "certificate": where(self.certificate)}

    def __call__(self, config: CheckConfig) -> Verdict:
        cert = run_certificate(self.certificate)
        worst, n, witness = numeric_identity(self.relation, config)
        evidence = [Evidence("identity", "sympy: expanded difference of the two forms is 0",
                             cert.get("scope", ""), {k: v for k, v in cert.items() if k != "ok"}),
                    Evidence("identity", "numbers: both forms in running-error arithmetic (cae_theory.rounding)",
                             f"{n} cases of domain {self.relation.domain.name}",
                             {"cases": n, "worst_agreement": worst,
                              "rule": "|lhs - rhs| <= rounding bound(lhs) + bound(rhs); agreement = ratio (<= 1)"})]
        if witness is not None:
            return Verdict("fails", evidence, witness=witness, note=self.note)
        if not cert["ok"]:
            raise RuntimeError(f"the sympy certificate {self.certificate.__name__} failed while the numbers agree: "
                               "a bug in the certificate or the quantity")
        return Verdict("certified", evidence, note=self.note)


def numeric_identity(relation: srch.Relation, config: CheckConfig) -> tuple[float, int, dict | None]:
    """Evaluate both forms in Bounded arithmetic on cases of every family; (worst agreement ratio, cases,
    witness of a certified disagreement or None)."""
    domain = relation.domain
    rng = np.random.default_rng([config.seed, 7919])
    budget = max(100, config.cases // 500)
    per_family = max(1, budget // len(domain.families))
    worst, n = 0.0, 0
    for fam in domain.families:
        done = 0
        while done < per_family:
            sizes = fam.sample_sizes(rng)
            want = int(min(per_family - done, max(4, 50_000 // max(1, domain.cells(sizes)))))
            batch = fam.draw(rng, want, **sizes)
            done += want
            if not len(batch):
                continue
            arrays = batch.lifted(Bounded.exact)
            with np.errstate(all="ignore"):
                sides = relation.sides(arrays, domain.derive(arrays, Bounded.exact))
            lhs, rhs = srch._flat_parts(sides, len(batch))
            ratio = np.asarray(agreement(lhs, rhs))                          # (N, E)
            if sides.applies is not None:
                ratio = np.where(np.asarray(sides.applies, bool).reshape(-1, 1), ratio, 0.0)
            per_case = ratio.max(axis=1)
            n += len(batch)
            i = int(np.argmax(per_case))
            worst = max(worst, float(per_case[i]))
            if per_case[i] > 1.0:
                e = int(np.argmax(ratio[i]))
                return worst, n, {**domain.witness(batch.take([i])), "lhs": float(lhs.value[i, e]),
                                  "rhs": float(rhs.value[i, e]), "relation": "=",
                                  "rounding_bound": float(lhs.error[i, e] + rhs.error[i, e]),
                                  "agreement": float(per_case[i])}
    return worst, n, None


# --- searched inequalities ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Searched:
    """An inequality (or any relation) decided by search over its domain."""
    relation: srch.Relation
    note: str = ""
    extra: Callable[[srch.Cases], dict] | None = None   # more witness fields computed from the case

    def locations(self) -> dict[str, str]:
        return {"quantity": where(self.relation.sides)}

    def __call__(self, config: CheckConfig) -> Verdict:
        c = srch.confirm(self.relation, config)
        details = srch.search_details(c)
        ev = Evidence("search", "vectorised families + Hypothesis (target) + local refinement; violations "
                      "confirmed beyond rigorous rounding bounds", _scope_of_ranges(c.exploration.ranges), details)
        if c.witness_case is not None:
            return Verdict("fails", [ev], witness=searched_witness(self.relation, c, self.extra), margin=c.worst_margin,
                           note=self.note)
        note = self.note
        if c.undecided:
            note = (note + " " if note else "") + (f"{c.undecided} case(s) had a negative float margin within "
                                                   "rounding (undecided in floats; not counted as violations).")
        return Verdict("searched", [ev], margin=c.worst_margin, note=note)


def searched_witness(relation: srch.Relation, c: srch.Confirmed, extra=None) -> dict:
    w = relation.domain.witness(c.witness_case)
    w.update({"lhs": float(c.lhs.value), "rhs": float(c.rhs.value), "relation": relation.relation,
              "rounding_bound": float((c.lhs.error + c.rhs.error) * INFLATE), "margin": c.worst_margin})
    if extra is not None:
        w.update(extra(c.witness_case))
    return w


# --- proofs -------------------------------------------------------------------------------------------------

def cross_check(relation: srch.Relation | None, config: CheckConfig, status: str, witness: dict | None,
                evidence: list[Evidence]) -> tuple[str, dict | None, float | None]:
    """Search ``relation`` as a cross-check of a proof: its evidence is appended; a certified violation of a
    proved claim raises (the proof does not model the claim: a bug), of an unproved one makes it 'fails'."""
    if relation is None:
        return status, witness, None
    c = srch.confirm(relation, config)
    evidence.append(Evidence("search", "cross-check by search (vectorised + Hypothesis + local)",
                             _scope_of_ranges(c.exploration.ranges), srch.search_details(c)))
    if c.witness_case is not None:
        if status == "proved":
            raise RuntimeError(f"{relation.id}: proved, yet a certified violation was found: the proof does not "
                               "model the claim")
        status, witness = "fails", searched_witness(relation, c)
    return status, witness, c.worst_margin

@dataclass(frozen=True)
class Proved:
    """An exact proof. ``lemma(z3) -> (hypotheses, conclusion)`` for z3, or ``symbolic() -> dict`` (keys ``ok``,
    ``form``: the positive form of the difference) for a sympy proof; ``scope``: the sizes the proof covers and,
    where the lemma is a reduction, why it implies the printed claim; ``cross_check``: a relation searched as
    well (its evidence is attached; a certified violation of a proved claim raises: a modelling bug)."""
    scope: str
    lemma: Callable | None = None
    symbolic: Callable[[], dict] | None = None
    cross_check: srch.Relation | None = None
    note: str = ""

    def locations(self) -> dict[str, str]:
        out = {"proof": where(self.lemma or self.symbolic)}
        if self.cross_check is not None:
            out["quantity"] = where(self.cross_check.sides)
        return out

    def __call__(self, config: CheckConfig) -> Verdict:
        evidence: list[Evidence] = []
        witness = None
        if self.lemma is not None:
            res = solver.prove(self.lemma, config.solver_timeout_s)
            evidence.append(Evidence("proof", res.procedure, self.scope, res.details()))
            status = {"proved": "proved", "refuted": "fails", "unknown": "unknown"}[res.outcome]
            if status == "fails":
                witness = {"solver_model": res.model, "relation": "solver counterexample to the lemma"}
        else:
            t0 = time.perf_counter()
            out = run_certificate(self.symbolic)
            evidence.append(Evidence("proof", "sympy: difference = a form positive on the stated ranges",
                                     self.scope, {**{k: v for k, v in out.items() if k != "ok"},
                                                  "seconds": round(time.perf_counter() - t0, 4)}))
            status = "proved" if out["ok"] else "unknown"
        status, witness, margin = cross_check(self.cross_check, config, status, witness, evidence)
        return Verdict(status, evidence, witness=witness, margin=margin, note=self.note)


# --- chains of decided steps ---------------------------------------------------------------------------------

ORDER = ("proved", "certified", "searched", "unknown")


@dataclass(frozen=True)
class Chain:
    """A step that is the composition of other steps (``a <= b < c < d`` gives ``a < d``): as strong as its
    weakest link (proved only if every link is proved or certified), with a search of the composed relation as a
    cross-check. ``links``: (claim id, decider) in order."""
    links: tuple[tuple[str, Any], ...]
    rule: str
    cross_check: srch.Relation | None = None
    note: str = ""

    def locations(self) -> dict[str, str]:
        out = {f"link {cid}": ",".join(d.locations().values()) for cid, d in self.links}
        if self.cross_check is not None:
            out["quantity"] = where(self.cross_check.sides)
        return out

    def __call__(self, config: CheckConfig) -> Verdict:
        statuses = {cid: d(config).status for cid, d in self.links}
        weakest = max((ORDER.index(s) if s in ORDER else len(ORDER) for s in statuses.values()), default=0)
        status = "proved" if weakest <= 1 else (ORDER[weakest] if weakest < len(ORDER) else "unknown")
        evidence = [Evidence("proof", f"composition: {self.rule}", "as its links'", {"links": statuses})]
        status, witness, margin = cross_check(self.cross_check, config, status, None, evidence)
        return Verdict(status, evidence, witness=witness, margin=margin, note=self.note)


# --- constructed witnesses ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Witnessed:
    """``build() -> (holds: bool, witness: dict)``: a construction decided exactly. ``fails`` when the printed
    relation is false on it; when it holds, the construction is evidence of existence (``proved`` for the
    instance; ``scope`` says what it shows)."""
    build: Callable[[], tuple[bool, dict]]
    scope: str
    also: Searched | None = None   # a search of the same relation, attached as evidence
    note: str = ""

    def locations(self) -> dict[str, str]:
        out = {"witness": where(self.build)}
        if self.also is not None:
            out.update(self.also.locations())
        return out

    def __call__(self, config: CheckConfig) -> Verdict:
        holds, witness = self.build()
        evidence = [Evidence("witness", "exact arithmetic (rationals / algebraic numbers)", self.scope,
                             {"holds_on_witness": holds, **({"instance": witness} if holds else {})})]
        margin = None
        if self.also is not None:
            v = self.also(config)
            evidence.extend(v.evidence)
            margin = v.margin
        if holds:
            return Verdict("proved", evidence, margin=margin, note=self.note)
        return Verdict("fails", evidence, witness=witness, margin=margin, note=self.note)


__all__ = ["Chain", "Identity", "Proved", "Searched", "Witnessed", "numeric_identity", "run_certificate"]
