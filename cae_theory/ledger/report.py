"""The findings as Markdown, generated from a run of the ledger (``cae verify --report PATH``), in the
supplement's order; and ``--explain ID``.

Nothing here is typed by hand except the glossary and the plain-language summary's sentences, whose every
number and status is filled in from the run (a sentence whose claim changes status is replaced by one that says
so: see :func:`summary`).
"""
from __future__ import annotations

import importlib
from typing import Any, Sequence

from cae_theory.ledger.run import Result

BEGIN = "<!-- BEGIN cae verify --report (generated: do not edit; `cae verify --report findings.md` rewrites it) -->"
END = "<!-- END cae verify --report -->"

GLOSSARY = [
    ("k-CAE, k-CBNAE", "k autoencoders whose codes z_si = E_i(x_si) are coupled; -CBNAE: codes batch-normalised "
                       "(mean 0, variance 1 per coordinate)"),
    ("W", "the scatter of code differences between arms, sum over s and i < j of (z_si - z_sj)(z_si - z_sj)^T; "
          "tr(W) is the coupling C_c"),
    ("n, b", "the coordinate where the arms agree best (smallest W(m,m)); b = e_n"),
    ("gamma", "p W(n,n)/tr(W), below 1 when diag(W) is not constant"),
    ("D_i, M_i", "the proof's new encoders M_i = D_i (1 b^T + beta I): they pull every coordinate towards z(n), "
                 "D_i rescales to unit variance"),
    ("beta", "how far the construction moves: 0 < beta < 1, small beta = close to the line"),
    ("Q, r_1", "the quadratic whose smaller root r_1 bounds the beta for which the coupling drops (Eq. 39)"),
    ("f", "the constant 8 p^3 (|S|-1) of Eq. 31 (too small for many arms: f' = 2pk(k-1)(|S|-1))"),
]


def _evidence_cell(c: dict) -> str:
    if c["status"] == "error":
        return "error"
    parts = []
    for e in c["evidence"]:
        if e["kind"] == "search":
            parts.append(f"search, {e['details'].get('cases', 0):,} cases ({e['scope']})")
        elif e["kind"] == "proof":
            parts.append(f"{e['procedure'].split(' (')[0]}: {e['scope']}")
        elif e["kind"] == "identity":
            parts.append(f"{'sympy' if 'sympy' in e['procedure'] else 'numbers'}: {e['scope']}")
        else:
            parts.append(f"witness: {e['scope']}")
    return "; ".join(parts)


def witness_size(w: dict[str, Any] | None) -> str:
    """'k x |S| x p' of a Prop. 2 witness ('exact' when decided in rationals), or the shape of its data."""
    if not w:
        return ""
    Z = w.get("Z")
    if isinstance(Z, list) and Z and isinstance(Z[0], list) and Z[0] and isinstance(Z[0][0], list):
        size = f"{len(Z)}x{len(Z[0])}x{len(Z[0][0])}"
        return size + (" (exact)" if w.get("exact") else "")
    for key in ("B", "A", "X"):
        if isinstance(w.get(key), list):
            return f"{key}: {len(w[key])} rows" + (" (exact)" if w.get("exact") else "")
    return "scalars" + (" (exact)" if w.get("exact") else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def section_title(module_name: str) -> str:
    doc = importlib.import_module(module_name).__doc__ or module_name
    return doc.strip().splitlines()[0].rstrip(".:")


def findings_table(claims: Sequence[dict]) -> list[str]:
    """One table per section module, in the supplement's order. ``claims``: the JSON claims of a run."""
    lines: list[str] = []
    current = None
    for c in claims:
        module = c["defined_at"].split(":")[0].replace("/", ".").removesuffix(".py")
        if module != current:
            current = module
            lines += ["", f"#### {section_title(module)}", "",
                      "| id | as printed | status | evidence (scope) | witness | correction (status) |",
                      "| --- | --- | --- | --- | --- | --- |"]
        corr = ""
        if c.get("correction"):
            k = c["correction"]
            kind = "adds an assumption" if k["kind"] == "assumption" else "restated"
            corr = f"{k['text']} ({k['status']}; {kind})"
        origin = "" if c["origin"] == "printed" else f" *({c['origin']})*"
        size = witness_size(c.get("witness")) if c["status"] == "fails" else ""
        lines.append(f"| `{c['id']}` | {_cell(c['printed'])}{origin} | **{c['status']}** | "
                     f"{_cell(_evidence_cell(c))} | {size} | {_cell(corr)} |")
    return lines


def summary(doc: dict) -> list[str]:
    """The plain-language summary: every count and status is read from the run's JSON document."""
    claims = doc["claims"]
    by_id = {c["id"]: c for c in claims}
    counts = doc["counts"]
    cat = counts["by_category"]
    ids = {k: [c["id"] for c in claims if c["category"] == k] for k in cat}
    lines = [
        f"**{counts['claims']} claims** ({counts['printed']} numbered or stated claims, {counts['sentences']} "
        f"assertions made in sentences, {counts['probes']} probes added by this suite), seed "
        f"{doc['config']['seed']}: **{cat.get('false as printed', 0)} printed claims are false**, "
        f"**{cat.get('true only with an unstated assumption', 0)} are true only with an unstated assumption**, "
        f"{cat.get('true as printed', 0)} hold as printed, {cat.get('undecided', 0)} are undecided; of the "
        f"{counts['probes']} probes, {sum(1 for c in claims if c['origin'] == 'probe' and c['status'] == 'fails')} "
        "show a hypothesis that cannot be dropped. Statuses: "
        + ", ".join(f"{n} {s}" for s, n in counts["by_status"].items() if n) + ".",
        "",
        "What fails, for a reader who has not read the proof:",
    ]
    facts = [
        ("prop1", "Prop. 1 (with a plain coupling the codes shrink to zero) is false as stated: a convex coupling "
                  "with c(0) > 0 (or lambda = 0) has minimisers with long codes. With c(0) = 0 and lambda > 0 the "
                  "shrinking argument is right: no minimiser with a positive coupling exists, and the loss is "
                  "lowered by shrinking the codes (complete collapse)."),
        ("prop2", "Prop. 2 (with batch-normalised codes they collapse onto a line) is true only vacuously: its "
                  "conclusion contradicts its own hypothesis. What the proof shows (its correction, "
                  f"{(by_id.get('prop2') or {}).get('correction', {}).get('status', 'not run')}) is that every "
                  "batch-normalised configuration whose arms disagree unevenly across coordinates is strictly "
                  "improved by pulling the coordinates together: dimensional collapse."),
        ("definition.kcbnae", "The k-CBNAE definition asks for zero mean and unit variance 'for any input set X', "
                              "which no encoder can meet (an input set of equal samples has zero variance): read "
                              "it as batch normalisation on the given X."),
        ("eq31.gamma2", "The bound on Gamma_2 (Eq. 31) counts p(p-1)/2 arm pairs instead of k(k-1)/2: false for "
                        "many arms; with the corrected constant f' the argument goes through."),
        ("eq42.eps_sentence", "The sentence after Eq. 42 (the gap is below eps for beta <= eps/(4 max||z||)) fails "
                              "on codes with one outlying sample among hundreds (|S| >= 100), where correlations "
                              "near +-1 coexist with a code far from the line; Eq. 43's extra factor 1/2 repairs "
                              "it."),
        ("eq20.term2", "Several steps use Eq. 2 where its hypothesis fails (Eq. 20's second term) or claim strict "
                       "inequalities that are equalities on admissible codes (Eqs. 20, 21, 29); the end results "
                       "they feed still hold."),
        ("alg1", "Algorithm 1 as printed returns a vector, not the minimum singular value, and can loop on "
                 "overflow; a repaired inverse iteration agrees with an SVD."),
    ]
    for i, text in facts:
        if i in by_id:
            c = by_id[i]
            lines.append(f"- `{i}` (**{c['status']}**): {text}" if c["as_expected"]
                         else f"- `{i}`: this run found **{c['status']}**, not {c['expected']}: see the table.")
    lines += [
        "",
        "What it means in practice: the degenerations are real (complete collapse for a plain coupling, "
        "dimensional collapse for batch-normalised codes: see `cae experiment shrinkage` and `line-collapse`), "
        "but the printed proofs need the corrections listed below; quote the corrected statements, with their "
        "status.",
        "",
        f"Printed claims false as printed: {', '.join(f'`{i}`' for i in ids.get('false as printed', [])) or 'none'}. "
        f"True only with an unstated assumption: "
        f"{', '.join(f'`{i}`' for i in ids.get('true only with an unstated assumption', [])) or 'none'}.",
        "",
        "Glossary:",
        "",
    ]
    lines += [f"- **{term}**: {text}" for term, text in GLOSSARY]
    return lines


def findings_markdown(doc: dict) -> str:
    """The whole findings block of a run's JSON document (summary, then one table per section, in order)."""
    lines = [BEGIN, "", *summary(doc), "", "Every claim, in the supplement's order (status, the "
             "strongest evidence and its scope, the size of a failing witness, the correction and its own status):"]
    lines += findings_table(doc["claims"])
    lines += ["", END]
    return "\n".join(lines) + "\n"


def replace_block(text: str, block: str) -> str:
    """``text`` with its generated block (between BEGIN and END) replaced by ``block``."""
    if BEGIN not in text or END not in text:
        raise ValueError("the text has no generated findings block (BEGIN/END markers)")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + block.rstrip("\n") + tail


def extract_block(text: str) -> str:
    if BEGIN not in text or END not in text:
        raise ValueError("the text has no generated findings block (BEGIN/END markers)")
    return BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END + "\n"


def explain(result: Result, locations: dict[str, str]) -> str:
    """The text of ``cae verify --explain ID``."""
    c, v = result.claim, result.verdict
    out = [f"{c.id}  ({c.origin}; defined at {c.defined_at})", "", "as printed:", f"  {c.printed}"]
    if c.reading:
        out += ["reading:", f"  {c.reading}"]
    if c.assumes:
        out += ["holds only with an unstated assumption:", f"  {c.assumes}"]
    out += ["", f"verdict: {result.status} (expected {c.expected}){'' if result.as_expected else '  CHANGED'}"]
    if v is not None:
        for e in v.evidence:
            out.append(f"  - {e.kind}: {e.procedure}")
            out.append(f"    scope: {e.scope}")
            keys = [k for k in ("cases", "families", "ranges", "worst_margin", "undecided_within_rounding",
                                "worst_agreement", "sizes", "outcome", "seconds", "form") if k in e.details]
            for k in keys:
                out.append(f"    {k}: {e.details[k]}")
        if v.witness:
            w = {k: v.witness[k] for k in ("family", "k", "S", "p", "beta", "eps", "lhs", "rhs", "relation",
                                             "lhs_exact", "rhs_exact") if k in v.witness}
            out.append(f"  witness ({witness_size(v.witness)}): {w}")
        if v.note:
            out.append(f"  note: {v.note}")
    if result.error:
        out += ["error:", result.error]
    if c.correction is not None:
        out += ["", f"correction ({c.correction.kind}; {result.correction_status}, expected {c.correction.expected}):",
                f"  {c.correction.text}"]
    out += ["", "where it lives:"] + [f"  {k}: {loc}" for k, loc in locations.items()]
    out += ["", f"uses: {', '.join(c.uses) or '-'}", f"used by: {', '.join(result.used_by) or '-'}"]
    return "\n".join(out)


__all__ = ["BEGIN", "END", "explain", "extract_block", "findings_markdown", "findings_table", "replace_block",
           "summary", "witness_size"]
