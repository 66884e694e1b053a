"""Reading findings and the requirements table out of a model's Markdown report.

Plain Python, no Django. The form is documented in docs/FINDINGS.md: each finding is a
heading, a fenced block labelled ``finding`` with ``key: value`` lines, the explanation,
and a "Suggested change:" paragraph; the requirements are a Markdown table with
Requirement / Page / Verdict / Evidence columns. The reader is lenient about what models
do in practice (other fence lengths, key synonyms, YAML lists, a JSON object in the
block, bold titles instead of headings) and strict about what it records: a block
without a recognisable kind, severity and title is counted as unstructured, never
guessed. The report text itself is never changed, so nothing the parser cannot read is
lost.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .locations import Location, parse_locations
from .table import RequirementRow, parse_requirements
from .words import (
    KEYS,
    KIND_WORDS,
    KINDS,
    LIMITS,
    MAX_FINDINGS,
    SEVERITIES,
    SEVERITY_WORDS,
    VERDICT_WORDS,
    VERDICTS,
    cap,
    clean,
    page_in_text,
    page_number,
    word,
)

__all__ = [
    "KINDS", "SEVERITIES", "VERDICTS", "LIMITS", "Location", "ParsedFinding", "ParsedReport",
    "RequirementRow", "parse_locations", "parse_report", "parse_requirements",
]  # fmt: skip

_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*finding\b[^\n`]*$", re.M | re.I)
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_BOLD_LINE = re.compile(r"^ {0,3}(?:[-*][ \t]+)?(?:\*\*|__)(.+?)(?:\*\*|__)[ \t]*:?[ \t]*$")
_KEY_LINE = re.compile(r"^[ \t]*[-*]?[ \t]*([A-Za-z][A-Za-z _-]{0,30}?)[ \t]*:[ \t]*(.*)$")
_LIST_ITEM = re.compile(r"^[ \t]*[-*][ \t]+(.*)$")
_SUGGESTION = re.compile(
    r"^[ \t]*(?:[-*>][ \t]*)?(?:\*\*|__)?(?:suggested change|suggestion|fix|recommendation)s?"
    r"[ \t]*(?:\*\*|__)?[ \t]*:[ \t]*(?:\*\*|__)?[ \t]*",
    re.I | re.M,
)
_SECTION_TITLES = re.compile(
    r"^(?:\d+\.\s*)?(?:review report|summary|conformance|missing|refactoring|requirements|"
    r"files not reviewed)\b",
    re.I,
)
# "F3.", "C1:", "1.2", "3)", "Finding 2:" before a title; not "S3 bucket", "404 errors".
_TITLE_NUMBER = re.compile(
    r"^(?:\d+(?:\.\d+)+(?:[.):]|\s)\s*(?:[-–—:]\s+)?"
    r"|(?:(?i:finding)\s*\d+|[A-Z]{1,2}\d+(?:\.\d+)*|\d+)(?:[.):]|\s+[-–—:])\s*(?:[-–—]\s*)?)"
)
# `path:line`, `path:start-end`, `path:L10-L20`, `path#L10-L20` or a bare path with a
# folder or an extension. Paths are runs of characters that never include spaces.


@dataclass
class ParsedFinding:
    kind: str
    severity: str
    title: str
    explanation: str = ""
    suggestion: str = ""
    verdict: str = ""
    requirement: str = ""
    page: int | None = None
    quote: str = ""
    locations: list[Location] = field(default_factory=list)
    offset: int = 0  # where its block starts in the report


@dataclass
class ParsedReport:
    findings: list[ParsedFinding] = field(default_factory=list)
    requirements: list[RequirementRow] = field(default_factory=list)
    unparsed: int = 0  # finding blocks that could not be structured
    problems: list[str] = field(default_factory=list)  # one short reason per unparsed block


def parse_report(text: str) -> ParsedReport:
    # NUL never reaches a row (PostgreSQL refuses it in text); line endings are one kind.
    text = (text or "").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    report = ParsedReport()
    blocks = list(_blocks(text))
    for index, (start, body_start, body_end, end, closed) in enumerate(blocks):
        if len(report.findings) >= MAX_FINDINGS:
            report.unparsed += len(blocks) - index
            report.problems.append(f"more than {MAX_FINDINGS} findings")
            break
        prev_end = blocks[index - 1][3] if index else 0
        next_start = blocks[index + 1][0] if index + 1 < len(blocks) else len(text)
        if not closed:
            report.unparsed += 1
            report.problems.append("the answer ends inside a finding block")
            continue
        finding, problem = _finding(
            text[body_start:body_end], text[prev_end:start], text[end:next_start]
        )
        if finding is None:
            report.unparsed += 1
            report.problems.append(problem)
            continue
        finding.offset = start
        report.findings.append(finding)
    report.requirements = parse_requirements(text)
    return report


def _blocks(text: str):
    """(start, body start, body end, end, closed) of every ``finding`` fenced block."""
    pos = 0
    while True:
        match = _OPEN.search(text, pos)
        if match is None:
            return
        fence = match.group(1)
        body_start = match.end() + 1
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.M)
        closing = close.search(text, body_start) if body_start <= len(text) else None
        if closing is None:
            yield match.start(), min(body_start, len(text)), len(text), len(text), False
            return
        yield match.start(), body_start, closing.start(), closing.end(), True
        pos = closing.end()


def _finding(body: str, before: str, after: str):
    fields = _fields(body)
    kind = word(fields.get("kind", ""), KIND_WORDS)
    severity = word(fields.get("severity", ""), SEVERITY_WORDS)
    title = clean(fields.get("title", "")) or _title_before(before)
    explanation, suggestion = _prose_after(after)
    if not kind:
        return None, "no recognisable kind"
    if not severity:
        return None, "no recognisable severity"
    if not title:
        return None, "no title"
    requirement = clean(fields.get("requirement", ""))
    page = page_number(fields.get("page", "")) or page_in_text(requirement)
    verdict = word(fields.get("verdict", ""), VERDICT_WORDS)
    if verdict == "missing":
        verdict = "contradicted" if kind == "conformance" else ""
    return (
        ParsedFinding(
            kind=kind,
            severity=severity,
            title=cap(title, "title"),
            explanation=cap(fields.get("explanation", "").strip() or explanation, "explanation"),
            suggestion=cap(fields.get("suggestion", "").strip() or suggestion, "suggestion"),
            verdict=verdict if kind == "conformance" else "",
            requirement=cap(requirement, "requirement"),
            page=page,
            quote=cap(clean(fields.get("quote", "")), "quote"),
            locations=parse_locations(fields.get("locations", "")),
        ),
        "",
    )


def _fields(body: str) -> dict[str, str]:
    stripped = body.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            out = {}
            for key, value in doc.items():
                name = KEYS.get(_key(str(key)))
                if name:
                    out[name] = (
                        ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                    )
            return out
    out: dict[str, str] = {}
    current = None
    for line in body.split("\n"):
        match = _KEY_LINE.match(line)
        name = KEYS.get(_key(match.group(1))) if match else None
        if name:
            current = name
            out[name] = match.group(2).strip()
        elif current and line.strip():
            item = _LIST_ITEM.match(line)
            piece = item.group(1) if item else line.strip()
            joiner = ", " if current == "locations" else ("\n" if item else " ")
            out[current] = (out[current] + joiner + piece).strip(", ")
    return out


def _key(raw: str) -> str:
    return re.sub(r"[\s-]+", "_", raw.strip().lower())


def _title_before(before: str) -> str:
    for line in reversed(before.rstrip().split("\n")[-3:]):
        if not line.strip():
            continue
        heading = _HEADING.match(line)
        bold = _BOLD_LINE.match(line)
        if heading and len(heading.group(1)) >= 2:
            text = heading.group(2)
        elif bold:
            text = bold.group(1)
        else:
            return ""
        text = _TITLE_NUMBER.sub("", clean(text.replace("**", "").replace("`", "")))
        if not text or (heading and len(heading.group(1)) <= 2 and _SECTION_TITLES.match(text)):
            return ""
        return text
    return ""


def _prose_after(after: str) -> tuple[str, str]:
    lines = []
    for line in after.split("\n"):
        if _HEADING.match(line) or re.match(r"^ {0,3}(?:---+|\*\*\*+|___+)[ \t]*$", line):
            break
        lines.append(line)
    prose = "\n".join(lines).strip()
    match = _SUGGESTION.search(prose)
    if match is None:
        return prose, ""
    return prose[: match.start()].strip(), prose[match.end() :].strip()
