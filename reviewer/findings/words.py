"""The vocabulary of the findings form: the values each key takes, the synonyms models
use for them, and the small helpers that read one value. Plain Python, no Django."""

from __future__ import annotations

import re

KINDS = ("conformance", "missing", "refactor", "risk")
SEVERITIES = ("critical", "high", "medium", "low")
VERDICTS = ("met", "partly met", "contradicted", "not reviewed")
REQUIREMENT_VERDICTS = ("met", "partly met", "contradicted", "missing", "not reviewed")

MAX_FINDINGS = 500
MAX_REQUIREMENTS = 1000
MAX_LOCATIONS = 20
LIMITS = {"title": 300, "requirement": 300, "quote": 500, "explanation": 10_000}
LIMITS["suggestion"] = 10_000

KIND_WORDS = {
    "conformance": "conformance", "compliance": "conformance", "conformity": "conformance",
    "missing": "missing", "incomplete": "missing", "missing feature": "missing",
    "missing or incomplete": "missing", "gap": "missing",
    "refactor": "refactor", "refactoring": "refactor", "design": "refactor",
    "maintainability": "refactor",
    "risk": "risk", "bug": "risk", "security": "risk", "defect": "risk",
}  # fmt: skip
SEVERITY_WORDS = {
    "critical": "critical", "blocker": "critical",
    "high": "high", "major": "high", "severe": "high",
    "medium": "medium", "moderate": "medium", "med": "medium",
    "low": "low", "minor": "low", "info": "low", "trivial": "low",
}  # fmt: skip
VERDICT_WORDS = {
    "met": "met", "satisfied": "met", "conforms": "met", "ok": "met", "yes": "met",
    "partly met": "partly met", "partially met": "partly met", "partly": "partly met",
    "partial": "partly met", "partially": "partly met",
    "contradicted": "contradicted", "violated": "contradicted", "not met": "contradicted",
    "no": "contradicted",
    "missing": "missing", "absent": "missing", "not implemented": "missing",
    "not reviewed": "not reviewed", "unknown": "not reviewed", "not checked": "not reviewed",
    "n/a": "not reviewed",
}  # fmt: skip
KEYS = {
    "kind": "kind", "type": "kind", "category": "kind",
    "severity": "severity", "priority": "severity", "impact": "severity",
    "verdict": "verdict", "status": "verdict",
    "requirement": "requirement", "section": "requirement", "spec": "requirement",
    "spec_section": "requirement", "specification": "requirement",
    "page": "page", "spec_page": "page", "pages": "page", "pdf_page": "page",
    "quote": "quote", "spec_quote": "quote", "quotation": "quote",
    "locations": "locations", "location": "locations", "code": "locations",
    "files": "locations", "where": "locations", "evidence": "locations",
    "title": "title", "name": "title",
    "explanation": "explanation", "description": "explanation", "details": "explanation",
    "why": "explanation",
    "suggestion": "suggestion", "suggested_change": "suggestion", "fix": "suggestion",
    "recommendation": "suggestion", "change": "suggestion",
}  # fmt: skip

PAGE_IN_TEXT = re.compile(r"\b(?:p\.|pp\.|page|pages)\s*(\d{1,5})\b", re.I)


def word(value: str, table: dict[str, str]) -> str:
    # "✅ Met", "**HIGH**", "partly_met": letters decide.
    value = re.sub(r"[^a-z/]+", " ", clean(value).lower()).strip()
    if value in table:
        return table[value]
    # "High (security)", "partly met - see below": the first words decide.
    for n in (2, 1):
        head = " ".join(re.split(r"[\s(,;/]+", value)[:n])
        if head in table:
            return table[head]
    return ""


def clean(value: str) -> str:
    value = " ".join(str(value).split())
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        value = value[1:-1].strip()
    return value


def cap(value: str, name: str) -> str:
    limit = LIMITS[name]
    return value if len(value) <= limit else value[: limit - 1] + "…"


def page_number(value: str) -> int | None:
    value = str(value).strip()
    match = re.fullmatch(r"(?:p\.?\s*|page\s*)?(\d{1,5})(?:\s*[-–].*)?", value, re.I)
    if match is None:
        match = PAGE_IN_TEXT.search(value)
    if match is None:
        return None
    page = int(match.group(1))
    return page if page > 0 else None


def page_in_text(value: str) -> int | None:
    match = PAGE_IN_TEXT.search(value or "")
    return int(match.group(1)) or None if match else None
