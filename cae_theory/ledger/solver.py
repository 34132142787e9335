"""Exact decisions of nonlinear real arithmetic by z3 (QF_NRA, the nlsat procedure), with the query kept.

A lemma is a formula over real variables: hypotheses and a conclusion. :func:`prove` asks z3 whether the
hypotheses together with the NEGATED conclusion are satisfiable:

- ``unsat``: no real numbers satisfy them, so the lemma is proved (an exact decision, not a sampled one);
- ``sat``: z3's model is a counterexample (returned as exact rationals, or algebraic numbers to 20 digits);
- ``unknown`` or a timeout: undecided, reported as ``unknown``, never as a verdict.

The query is returned as SMT-LIB 2 text, so anyone can re-run it with z3 (``z3 query.smt2``) or another SMT
solver (cvc5 decides QF_NRA too); the tests re-run every stored query.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable, Literal

Outcome = Literal["proved", "refuted", "unknown"]


@dataclass
class SolverResult:
    outcome: Outcome
    procedure: str
    query: str
    model: dict[str, str] | None
    seconds: float

    def details(self) -> dict:
        out = {"solver": self.procedure, "outcome": self.outcome, "seconds": round(self.seconds, 4),
               "smtlib2": self.query}
        if self.model is not None:
            out["model"] = self.model
        return out


def canonical(smtlib: str) -> str:
    """z3 names the let-bound terms of its SMT-LIB output after internal ids ($x106 for formulas, ?x94 for terms),
    which depend on what the process built before; renumber them in order of appearance, so the same lemma gives
    the same text."""
    names: dict[str, str] = {}

    def rename(m: re.Match) -> str:
        return names.setdefault(m.group(0), f"{m.group(1)}{m.group(2)}{len(names)}")
    return re.sub(r"([$?])([a-z]+)\d+", rename, smtlib)


def z3_version() -> str:
    import z3
    return z3.get_version_string()


def prove(lemma: Callable, timeout_s: float) -> SolverResult:
    """Decide ``lemma(z3) -> (hypotheses: list, conclusion)`` exactly (see module docstring).

    ``ctrl_c=False``: by default z3 catches Ctrl-C during a check, stops, answers ``unknown`` and swallows the
    signal, so an interrupted ``cae verify`` went on with a wrong ``unknown`` and exited 1; without it the signal
    reaches Python's handler when the check returns (exit 130, cae_cli.main)."""
    import z3
    hypotheses, conclusion = lemma(z3)
    solver = z3.SolverFor("QF_NRA")
    solver.set(timeout=max(1, int(timeout_s * 1000)), ctrl_c=False)
    for h in hypotheses:
        solver.add(h)
    solver.add(z3.Not(conclusion))
    query = canonical(solver.to_smt2())
    t0 = time.perf_counter()
    answer = solver.check()
    seconds = time.perf_counter() - t0
    procedure = f"z3 {z3.get_version_string()} (QF_NRA, nlsat)"
    if answer == z3.unsat:
        return SolverResult("proved", procedure, query, None, seconds)
    if answer == z3.sat:
        m = solver.model()
        model = {}
        for d in m.decls():
            v = m[d]
            model[d.name()] = (v.as_fraction().__str__() if z3.is_rational_value(v)
                               else v.as_decimal(20) if z3.is_algebraic_value(v) else str(v))
        return SolverResult("refuted", procedure, query, model, seconds)
    return SolverResult("unknown", procedure, query, None, seconds)


def recheck(query: str, timeout_s: float = 30.0) -> str:
    """Re-run a stored SMT-LIB 2 query with z3: 'unsat' confirms a proof."""
    import z3
    solver = z3.SolverFor("QF_NRA")
    solver.set(timeout=int(timeout_s * 1000), ctrl_c=False)
    solver.from_string(query)
    return str(solver.check())


__all__ = ["SolverResult", "prove", "recheck", "z3_version"]
