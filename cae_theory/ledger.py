"""The ledger: one entry per claim of the supplement, each with a check that decides its status.

A claim is a definition, construction, numbered equation (``eq<N>``, sub-claims ``eq<N>.<part>``), the Remark,
a proposition or Algorithm 1. Its check returns an :class:`Outcome`:

- ``certified``: an identity proved symbolically (sympy), and also confirmed on numbers;
- ``holds``: an inequality or construction that survived an adversarial search (Hypothesis + local optimiser);
- ``fails``: a concrete witness violates the claim as printed. The outcome then carries the witness (plain
  JSON that an independent program can recompute) and, where one was found, the weakest correction with its
  own status.

Margins. For a relation ``lhs REL rhs`` the margin is the signed slack divided by ``max(1, |lhs|, |rhs|)``
(:func:`relation_margin`): positive means the relation holds with room, negative means it is violated. The
worst margin of a check is the minimum over all cases tried. Floating-point sums of the sizes used here carry
relative errors below 1e-12, so a non-strict relation counts as violated only when its margin is below
``-REL_TOL = -1e-9``; a strict relation whose margin is within ``REL_TOL`` of zero cannot be decided in floats and
is decided by exact (rational) arithmetic instead. Where a computation can provably err by more (e.g. an identity
whose terms cancel, or that involves entries as large as 1/(1 - beta)^2), the check divides its margin by
:func:`rounding_condition` of an a priori error bound for that computation, never by a tuned constant.

Each check module (``checks_prop1``, ``checks_prop2``, ``checks_alg1``) exports ``CLAIMS: list[Claim]``;
:func:`all_claims` collects them in the supplement's order.
"""
from __future__ import annotations

import importlib
import math
import time
import traceback
from dataclasses import asdict, dataclass
from numbers import Real
from typing import Any, Callable, Literal

Method = Literal["sympy", "search", "construction"]
Status = Literal["certified", "holds", "fails"]
Relation = Literal["<", "<=", ">", ">=", "="]

#: Relative tolerance for non-strict relations in float64 (see module docstring).
REL_TOL = 1e-9

#: Modules whose ``CLAIMS`` make up the ledger, in the supplement's order.
CHECK_MODULES = ("cae_theory.checks_prop1", "cae_theory.checks_prop2", "cae_theory.checks_alg1")


@dataclass(frozen=True)
class CheckConfig:
    """How hard a check works. ``examples``: Hypothesis examples per inequality; ``seed``: makes it deterministic."""
    seed: int = 0
    examples: int = 500


@dataclass
class Correction:
    """The weakest corrected statement we could establish for a failing claim, with its own verdict."""
    text: str
    status: Status
    worst_margin: float
    n_cases: int


@dataclass
class Outcome:
    """What a check found. ``witness`` (plain JSON: nested lists and numbers) is required when ``status == 'fails'``."""
    status: Status
    worst_margin: float
    n_cases: int
    witness: dict[str, Any] | None = None
    correction: Correction | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.status == "fails" and not self.witness:
            raise ValueError("witness must be given when status is 'fails'")


@dataclass(frozen=True)
class Claim:
    """One ledger entry. ``text`` is the claim as printed; ``expected`` the status this suite has established,
    so that ``cae verify`` is loud when a run disagrees (a regression, or a new finding)."""
    id: str
    text: str
    method: Method
    expected: Status
    check: Callable[[CheckConfig], Outcome]
    expected_correction: Status | None = None


@dataclass
class Result:
    """A claim together with the outcome of running its check once."""
    id: str
    text: str
    method: Method
    expected: Status
    status: Status | Literal["error"]
    worst_margin: float | None
    n_cases: int
    seconds: float
    witness: dict[str, Any] | None = None
    correction: dict[str, Any] | None = None
    expected_correction: Status | None = None
    note: str = ""
    error: str | None = None

    @property
    def as_expected(self) -> bool:
        if self.status != self.expected:
            return False
        got = self.correction["status"] if self.correction else None
        return got == self.expected_correction


def relation_margin(lhs: float, rhs: float, relation: Relation) -> float:
    """Signed, scaled slack of ``lhs REL rhs``: > 0 holds with room, < 0 violated. Scale: max(1, |lhs|, |rhs|)."""
    lhs, rhs = float(lhs), float(rhs)
    if not (math.isfinite(lhs) and math.isfinite(rhs)):
        raise ValueError(f"lhs and rhs must be finite, got lhs={lhs}, rhs={rhs}")
    scale = max(1.0, abs(lhs), abs(rhs))
    if relation in ("<", "<="):
        return (rhs - lhs) / scale
    if relation in (">", ">="):
        return (lhs - rhs) / scale
    if relation == "=":
        return -abs(lhs - rhs) / scale
    raise ValueError(f"relation must be one of <, <=, >, >=, =; got {relation!r}")


def margin_holds(margin: float, tol: float = REL_TOL) -> bool:
    """Whether a float margin counts as holding (non-strict reading, see module docstring)."""
    return margin >= -tol


def rounding_condition(error_bound: float, scale: float, tol: float = REL_TOL) -> float:
    """Condition factor for a relation whose two sides are computed in floats with a known a priori bound on
    their rounding error: dividing the relation's margin (|lhs - rhs| / ``scale`` for an identity) by it makes
    :func:`margin_holds` accept a discrepancy exactly up to ``max(tol * scale, error_bound)``. It is 1 (the plain
    ``tol``) wherever the bound is below ``tol * scale``, so a bound only widens the tolerance where rounding
    provably can exceed it. ``scale``: the divisor of the margin (max(1, |lhs|, |rhs|) in :func:`relation_margin`)."""
    for name, value in (("error_bound", error_bound), ("scale", scale), ("tol", tol)):
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    error_bound, scale, tol = float(error_bound), float(scale), float(tol)
    if not (math.isfinite(error_bound) and error_bound >= 0.0):
        raise ValueError(f"error_bound must be a finite number >= 0, got {error_bound}")
    if not (math.isfinite(scale) and scale > 0.0):
        raise ValueError(f"scale must be a finite number > 0, got {scale}")
    if not (math.isfinite(tol) and tol > 0.0):
        raise ValueError(f"tol must be a finite number > 0, got {tol}")
    return max(1.0, error_bound / (tol * scale))


def all_claims() -> list[Claim]:
    """Every claim of the ledger, in the supplement's order. Ids are unique."""
    claims: list[Claim] = []
    for name in CHECK_MODULES:
        claims.extend(importlib.import_module(name).CLAIMS)
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise RuntimeError(f"duplicate claim ids in the ledger: {dupes}")
    return claims


def run_claim(claim: Claim, config: CheckConfig) -> Result:
    """Run one claim's check; an exception becomes status 'error' with its traceback, never a crash."""
    t0 = time.perf_counter()
    try:
        out = claim.check(config)
    except Exception:  # noqa: BLE001 - a broken check must be reported, not abort the whole ledger
        return Result(claim.id, claim.text, claim.method, claim.expected, "error", None, 0,
                      time.perf_counter() - t0, expected_correction=claim.expected_correction,
                      error=traceback.format_exc())
    return Result(claim.id, claim.text, claim.method, claim.expected, out.status, out.worst_margin,
                  out.n_cases, time.perf_counter() - t0, out.witness,
                  asdict(out.correction) if out.correction else None, claim.expected_correction, out.note)


def run_ledger(config: CheckConfig = CheckConfig(), ids: list[str] | None = None,
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Run every claim (or those whose id is in ``ids``) and return the results in ledger order."""
    claims = all_claims()
    if ids is not None:
        known = {c.id for c in claims}
        unknown = sorted(set(ids) - known)
        if unknown:
            raise ValueError(f"ids must name ledger claims; unknown: {unknown}")
        claims = [c for c in claims if c.id in set(ids)]
    results = []
    for claim in claims:
        r = run_claim(claim, config)
        results.append(r)
        if on_result is not None:
            on_result(r)
    return results


def ledger_json(results: list[Result], config: CheckConfig) -> dict[str, Any]:
    """The JSON document written by ``cae verify --json``."""
    return {
        "config": asdict(config),
        "all_as_expected": all(r.as_expected for r in results),
        "claims": [{**asdict(r), "as_expected": r.as_expected} for r in results],
    }


__all__ = ["CHECK_MODULES", "CheckConfig", "Claim", "Correction", "Outcome", "REL_TOL", "Result", "all_claims",
           "ledger_json", "margin_holds", "relation_margin", "rounding_condition", "run_claim", "run_ledger"]
