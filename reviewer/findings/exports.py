"""A review's findings as JSON (API and download), SARIF 2.1.0 and a Markdown table.

Every citation carries whether it was verified; one that was not says why ("not in the
code that was sent"), so a reader of any export can tell an invented citation apart.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

from .display import label
from .models import SEVERITY_RANK
from .services import annotate, info_for, resolved_since_previous

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
RULES = {
    "conformance": "The code does not do what the specification requires.",
    "missing": "A feature the specification requires is missing or incomplete.",
    "refactor": "Code that should be restructured, simplified or made safer.",
    "risk": "A defect or risk in the code.",
}


def _absolute(path):
    return settings.SITE_URL.rstrip("/") + path


def _findings(review):
    return annotate(review.findings.all(), review)


def finding_json(review, f):
    from django.urls import reverse

    from .display import source_url, spec_url

    triage = f.triage
    return {
        "id": f.pk,
        "label": f.label,
        "fingerprint": f.fingerprint,
        "kind": f.kind,
        "severity": f.severity,
        "title": f.title,
        "explanation": f.explanation,
        "suggestion": f.suggestion,
        "verdict": f.verdict or None,
        "requirement": f.requirement or None,
        "spec": {
            "page": f.spec_page,
            "quote": f.quote or None,
            "verified": f.spec_ok,
            "note": f.spec_note or None,
            "url": _absolute(spec_url(review.pk, f.spec_page)) if f.spec_ok else None,
        },
        "locations": [
            {
                "path": loc["path"],
                "start_line": loc.get("start"),
                "end_line": loc.get("end") or loc.get("start"),
                "file": loc.get("resolved") or None,
                "verified": bool(loc.get("ok")),
                "note": loc.get("note") or None,
                "url": _absolute(source_url(review.pk, loc, f.pk)) if loc.get("ok") else None,
            }
            for loc in f.locations
        ],
        "citations": f.citations,
        "citations_verified": f.citations_verified,
        "change": f.change,
        "state": f.state,
        "open": f.is_open,
        "triage": {
            "state": triage.state,
            "reason": triage.reason or None,
            "by": triage.updated_by.get_username() if triage.updated_by else None,
            "at": triage.updated_at.isoformat(),
        }
        if triage
        else None,
        "triage_url": _absolute(reverse("api_finding_triage", args=[f.pk])),
    }


def findings_json(review):
    info = info_for(review)
    findings = _findings(review) if info else []
    return {
        "review": review.pk,
        "parsed": info is not None,
        "structured": info.structured if info else 0,
        "unstructured": info.unstructured if info else 0,
        "citations": info.citations if info else 0,
        "citations_verified": info.citations_verified if info else 0,
        "previous_review": info.previous_id if info else None,
        "findings": [finding_json(review, f) for f in findings],
        "requirements": info.requirements if info else [],
        "resolved": [
            {"fingerprint": f.fingerprint, "kind": f.kind, "severity": f.severity, "title": f.title}
            for f in (resolved_since_previous(review) if info else [])
        ],
    }


# -- SARIF -----------------------------------------------------------------------------
def _message(f):
    parts = [f.title]
    if f.explanation:
        parts.append(f.explanation)
    if f.suggestion:
        parts.append(f"Suggested change: {f.suggestion}")
    if f.requirement or f.spec_page:
        spec = f"Requirement: {f.requirement or '-'}"
        if f.spec_page:
            spec += f" (specification page {f.spec_page})"
        if f.spec_ok is False:
            spec += f" [unverified: {f.spec_note}]"
        parts.append(spec)
    flagged = [f"{label(loc)} ({loc.get('note')})" for loc in f.locations if not loc.get("ok")]
    if flagged:
        parts.append("Unverified citations: " + "; ".join(flagged))
    return "\n\n".join(parts)


def _sarif_location(loc):
    physical = {"artifactLocation": {"uri": quote(loc["resolved"], safe="/")}}
    if loc.get("start"):
        region = {"startLine": int(loc["start"])}
        if loc.get("end"):
            region["endLine"] = int(loc["end"])
        physical["region"] = region
    return {"physicalLocation": physical}


def _sarif_result(f, rule_index):
    result = {
        "ruleId": f"reviewer/{f.kind}",
        "ruleIndex": rule_index[f.kind],
        "level": LEVELS[f.severity],
        "message": {"text": _message(f)},
        # Only citations that were checked against the code sent: an invented path would
        # point a code-scanning alert at a file that does not exist.
        "locations": [_sarif_location(loc) for loc in f.locations if loc.get("ok")],
        "partialFingerprints": {"reviewerFinding/v1": f.fingerprint},
        "properties": {
            "severity": f.severity,
            "kind": f.kind,
            "verdict": f.verdict or None,
            "requirement": f.requirement or None,
            "specPage": f.spec_page,
            "specVerified": f.spec_ok,
            "citations": f.citations,
            "citationsVerified": f.citations_verified,
            "unverifiedLocations": [
                {"location": label(loc), "reason": loc.get("note", "")}
                for loc in f.locations
                if not loc.get("ok")
            ],
            "change": f.change,
            "triage": f.state,
        },
    }
    if f.state in ("dismissed", "fixed"):
        reason = f.triage.reason if f.triage and f.triage.reason else f"marked {f.state}"
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": reason}
        ]
    return result


def sarif(review):
    kinds = list(RULES)
    rule_index = {kind: i for i, kind in enumerate(kinds)}
    findings = _findings(review) if info_for(review) else []
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.position))
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "reviewer",
                        "informationUri": settings.SITE_URL,
                        "rules": [
                            {
                                "id": f"reviewer/{kind}",
                                "name": kind.capitalize(),
                                "shortDescription": {"text": RULES[kind]},
                            }
                            for kind in kinds
                        ],
                    }
                },
                "automationDetails": {"id": f"reviewer/project-{review.project_id}/"},
                "properties": {"review": review.pk, "model": review.model},
                "results": [_sarif_result(f, rule_index) for f in findings],
            }
        ],
    }


# -- Markdown --------------------------------------------------------------------------
def _cell(value):
    text = " ".join(str(value or "").split())
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text or "—"


def findings_markdown(review):
    """The findings and requirements tables, for the Markdown export."""
    info = info_for(review)
    if info is None:
        return ""
    lines = [
        "## Findings",
        "",
        f"{info.structured} structured, {info.unstructured} could not be structured; "
        f"{info.citations_verified} of {info.citations} citations verified.",
        "",
    ]
    findings = sorted(_findings(review), key=lambda f: (-SEVERITY_RANK[f.severity], f.position))
    if findings:
        lines += [
            "| # | Severity | Kind | Title | Requirement | Citations | State |",
            "|---|---|---|---|---|---|---|",
        ]
    for f in findings:
        cites = [
            _cell(label(loc)) + ("" if loc.get("ok") else f" ({_cell(loc.get('note'))})")
            for loc in f.locations
        ]
        if f.spec_page:
            spec = f"spec p. {f.spec_page}"
            cites.append(spec if f.spec_ok else f"{spec} ({_cell(f.spec_note)})")
        requirement = _cell(f.requirement) + (f" ({_cell(f.verdict)})" if f.verdict else "")
        lines.append(
            f"| {f.label} | {f.severity} | {f.kind} | {_cell(f.title)} | {requirement} | "
            f"{', '.join(cites) or '—'} | {f.state}, {f.change} |"
        )
    if info.requirements:
        lines += ["", "### Requirements", "", "| Requirement | Page | Verdict | Evidence |"]
        lines.append("|---|---|---|---|")
        for row in info.requirements:
            page = f"{row['page']}" if row.get("page") else "—"
            if row.get("page") and row.get("page_ok") is False:
                page += f" ({_cell(row.get('page_note'))})"
            lines.append(
                f"| {_cell(row['requirement'])} | {page} | {row['verdict']} | "
                f"{_cell(row.get('evidence'))} |"
            )
    return "\n".join(lines) + "\n"
