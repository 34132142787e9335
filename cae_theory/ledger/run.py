"""Running the ledger: decide every claim (and its correction), compare with the expected statuses, and the JSON
document that ``cae verify --json`` writes."""
from __future__ import annotations

import fnmatch
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from cae_theory.ledger.claims import STATUSES, CheckConfig, Claim, Verdict


@dataclass
class Result:
    """A claim with the verdict of one run (and of its correction)."""
    claim: Claim
    verdict: Verdict | None
    correction: Verdict | None
    seconds: float
    error: str | None = None
    used_by: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "error" if self.error else self.verdict.status

    @property
    def correction_status(self) -> str | None:
        if self.claim.correction is None:
            return None
        return "error" if self.error else self.correction.status

    @property
    def as_expected(self) -> bool:
        if self.status != self.claim.expected:
            return False
        if self.claim.correction is not None and self.correction_status != self.claim.correction.expected:
            return False
        return True

    @property
    def category(self) -> str:
        """How the claim counts in the findings: a probe, or a printed claim that is true, false, true only with
        an unstated assumption, or undecided."""
        if self.claim.origin == "probe":
            return "probe"
        if self.status == "fails":
            kind = self.claim.correction.kind if self.claim.correction else "restatement"
            return "true only with an unstated assumption" if kind == "assumption" else "false as printed"
        if self.status in ("unknown", "error"):
            return "undecided"
        return "true only with an unstated assumption" if self.claim.assumes else "true as printed"


def select(claims: Sequence[Claim], patterns: Sequence[str] | None) -> list[Claim]:
    """The claims whose id matches one of the shell-style ``patterns`` (``eq20*``); ValueError naming any pattern
    that matches nothing."""
    if not patterns:
        return list(claims)
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(c.id, p) for c in claims)]
    if unmatched:
        raise ValueError(f"no claim id matches {', '.join(unmatched)}")
    return [c for c in claims if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]


def run_claim(claim: Claim, config: CheckConfig) -> Result:
    """Decide a claim and its correction; a crash becomes status 'error' with its traceback, never an abort."""
    t0 = time.perf_counter()
    try:
        verdict = claim.decide(config)
        correction = claim.correction.decide(config) if claim.correction is not None else None
    except Exception:  # noqa: BLE001 - a broken check is reported, it does not stop the ledger
        return Result(claim, None, None, time.perf_counter() - t0, error=traceback.format_exc())
    return Result(claim, verdict, correction, time.perf_counter() - t0)


def used_by(claims: Sequence[Claim]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {c.id: [] for c in claims}
    for c in claims:
        for u in c.uses:
            out.setdefault(u, []).append(c.id)
    return out


def run_ledger(claims: Sequence[Claim], config: CheckConfig,
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    users = used_by(claims)
    results = []
    for c in claims:
        r = run_claim(c, config)
        r.used_by = users.get(c.id, [])
        results.append(r)
        if on_result is not None:
            on_result(r)
    return results


def _verdict_json(v: Verdict | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {"status": v.status, "evidence": [asdict(e) for e in v.evidence], "witness": v.witness,
            "margin": v.margin, "note": v.note}


def result_json(r: Result) -> dict[str, Any]:
    c = r.claim
    out = {"id": c.id, "printed": c.printed, "origin": c.origin, "reading": c.reading, "assumes": c.assumes,
           "uses": list(c.uses),
           "used_by": r.used_by, "defined_at": c.defined_at, "expected": c.expected, "status": r.status,
           "category": r.category, "as_expected": r.as_expected, "seconds": round(r.seconds, 3)}
    if r.verdict is not None:
        v = _verdict_json(r.verdict)
        out.update({"evidence": v["evidence"], "witness": v["witness"], "margin": v["margin"], "note": v["note"]})
        out["scope"] = "; ".join(e["scope"] for e in v["evidence"] if e["scope"])
    if c.correction is not None:
        out["correction"] = {"text": c.correction.text, "kind": c.correction.kind,
                             "expected": c.correction.expected, "status": r.correction_status,
                             **({k: v for k, v in _verdict_json(r.correction).items() if k != "status"}
                                if r.correction is not None else {})}
    if r.error:
        out["error"] = r.error
    return out


def counts(results: Sequence[Result]) -> dict[str, Any]:
    """The findings counted separately: statuses, and the categories of printed claims vs probes."""
    by_status = {s: sum(r.status == s for r in results) for s in STATUSES}
    by_category: dict[str, int] = {}
    for r in results:
        by_category[r.category] = by_category.get(r.category, 0) + 1
    return {"claims": len(results), "printed": sum(r.claim.origin == "printed" for r in results),
            "sentences": sum(r.claim.origin == "sentence" for r in results),
            "probes": sum(r.claim.origin == "probe" for r in results), "by_status": by_status,
            "by_category": dict(sorted(by_category.items()))}


def ledger_json(results: Sequence[Result], config: CheckConfig) -> dict[str, Any]:
    """The JSON document of ``cae verify --json``."""
    # the number of worker processes is not part of the result (the search merges its families in order)
    config_json = {k: v for k, v in asdict(config).items() if k != "workers"}
    return {"config": config_json, "all_as_expected": all(r.as_expected for r in results),
            "counts": counts(results), "claims": [result_json(r) for r in results]}


__all__ = ["Result", "counts", "ledger_json", "result_json", "run_claim", "run_ledger", "select", "used_by"]
