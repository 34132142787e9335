"""A claim of the supplement, its verdict, and the evidence behind the verdict.

One way to register a claim: :func:`claim`, called in the section module that checks it, right after the
quantities it compares. A claim records

- ``id``: ``eq<N>`` for a numbered equation, ``eq<N>.<part>`` where one printed line holds several assertions,
  ``prop1``, ``remark``, ``alg1``, ... ;
- ``printed``: the assertion as the supplement prints it (or, for a probe, the statement the suite adds);
- ``origin``: ``printed`` (an equation or statement), ``sentence`` (asserted in prose, outside the numbered
  equations) or ``probe`` (added by this suite: a hypothesis dropped or pushed to its edge, or a remark);
- ``uses``: the claims the proof relies on at this step (its cross-references), by id;
- ``expected``: the status this suite has established, so that ``cae verify`` is loud when a run disagrees;
- ``decide``: the procedure that decides it (:mod:`cae_theory.ledger.decide`);
- ``correction``: for a claim that fails as printed, the weakest corrected statement established, with its own
  procedure and expected status, and whether it only adds an unstated assumption or restates the claim;
- ``reading``: how an ambiguous printed text is read; ``assumes``: an unstated assumption under which a claim
  that holds is checked (it counts as "true only with an unstated assumption").

Statuses, strongest evidence first (a verdict states its evidence and scope):

- ``proved``: an exact decision procedure (z3's nonlinear real arithmetic) or a symbolic proof, for the sizes
  named in its scope;
- ``certified``: an identity, by sympy (expanded difference 0, for the sizes named) AND by numbers (running-error
  bounds, :mod:`cae_theory.rounding`);
- ``searched``: survived a search whose depth and breadth are in the evidence (cases, families, size ranges);
- ``fails``: a witness violates the claim as printed, re-checkable from the JSON alone;
- ``unknown``: undecided (a solver timed out, or only rounding-level cases were found); never read as "holds";
- ``error``: the check itself crashed (a bug in this suite, reported with its traceback).
"""
from __future__ import annotations

import inspect
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol

Status = Literal["proved", "certified", "searched", "fails", "unknown", "error"]
Origin = Literal["printed", "sentence", "probe"]
CorrectionKind = Literal["assumption", "restatement"]

STATUSES: tuple[str, ...] = ("proved", "certified", "searched", "fails", "unknown", "error")
ORIGINS: tuple[str, ...] = ("printed", "sentence", "probe")

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def where(obj: Any) -> str:
    """``path:line`` (relative to the repository) of a function, class or a frame's location."""
    try:
        path = inspect.getsourcefile(obj) or "?"
        line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        return "?"
    return f"{os.path.relpath(path, _ROOT)}:{line}"


@dataclass(frozen=True)
class CheckConfig:
    """How hard the checks work; a run is a function of the code and this config.

    ``seed``: every random draw; ``cases``: cases per search domain (every searched claim of the domain sees them
    all); ``examples``: Hypothesis examples of the targeted phase per domain; ``refine``: rounds of the local
    refinement from the worst cases; ``solver_timeout_s``: per solver query (a timeout is ``unknown``);
    ``workers``: processes for the bulk phase of a search (the result does not depend on it)."""
    seed: int = 0
    cases: int = 100_000
    examples: int = 100
    refine: int = 8
    solver_timeout_s: float = 10.0
    workers: int = 1


@dataclass
class Evidence:
    """One piece of evidence. ``kind``: proof | identity | search | witness; ``procedure``: what decided it
    (e.g. "z3 5.4.1, QF_NRA"); ``scope``: the sizes or cases it covers; ``details``: plain JSON (queries,
    certificates, case counts, families, ranges)."""
    kind: Literal["proof", "identity", "search", "witness"]
    procedure: str
    scope: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Verdict:
    """What a decision procedure found. ``witness`` (plain JSON) is required when ``status == 'fails'``;
    ``margin``: the worst scale-free margin of a searched relation (> 0 holds with room, < 0 violated)."""
    status: Status
    evidence: list[Evidence]
    witness: dict[str, Any] | None = None
    margin: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.status == "fails" and not self.witness:
            raise ValueError("a 'fails' verdict needs a witness")


class Decider(Protocol):
    """A decision procedure: ``decider(config) -> Verdict``; ``locations()`` names where its parts live."""

    def __call__(self, config: CheckConfig) -> Verdict: ...

    def locations(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Correction:
    """The weakest corrected statement established for a claim that fails as printed. ``kind``: ``assumption``
    when the printed statement holds once an unstated assumption is added, ``restatement`` otherwise."""
    text: str
    decide: Decider
    expected: Status
    kind: CorrectionKind = "restatement"


@dataclass(frozen=True)
class Claim:
    id: str
    printed: str
    origin: Origin
    expected: Status
    decide: Decider
    uses: tuple[str, ...] = ()
    correction: Correction | None = None
    reading: str = ""       # how an ambiguous printed text is read (stated, never silent)
    assumes: str = ""       # an unstated assumption the printed claim needs (it holds only with it)
    defined_at: str = ""    # path:line of the claim() call

    @property
    def section(self) -> str:
        """The section module that registers the claim (from ``defined_at``)."""
        return self.defined_at.split(":")[0]


def claim(id: str, printed: str, *, origin: Origin = "printed", expected: Status, decide: Decider,
          uses: tuple[str, ...] | list[str] = (), correction: Correction | None = None, reading: str = "",
          assumes: str = "", registry: list[Claim] | None = None) -> Claim:
    """Register one claim at the place it is checked (the caller's file and line are recorded), append it to
    ``registry`` (the section's ``CLAIMS`` list) and return it."""
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}, got {origin!r}")
    if expected not in STATUSES:
        raise ValueError(f"expected must be one of {STATUSES}, got {expected!r}")
    if expected == "fails" and correction is None:
        raise ValueError(f"claim {id!r} is expected to fail: give its correction")
    # the caller's frame only: inspect.stack() would read the source of every frame (seconds for the ledger)
    caller = inspect.getframeinfo(sys._getframe(1), context=0)
    c = Claim(id=id, printed=printed, origin=origin, expected=expected, decide=decide, uses=tuple(uses),
              correction=correction, reading=reading, assumes=assumes,
              defined_at=f"{os.path.relpath(caller.filename, _ROOT)}:{caller.lineno}")
    if registry is not None:
        registry.append(c)
    return c


__all__ = ["CheckConfig", "Claim", "Correction", "CorrectionKind", "Decider", "Evidence", "ORIGINS", "Origin",
           "STATUSES", "Status", "Verdict", "claim", "where"]
