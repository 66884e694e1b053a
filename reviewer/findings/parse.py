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

KINDS = ("conformance", "missing", "refactor", "risk")
SEVERITIES = ("critical", "high", "medium", "low")
VERDICTS = ("met", "partly met", "contradicted", "not reviewed")
REQUIREMENT_VERDICTS = ("met", "partly met", "contradicted", "missing", "not reviewed")

MAX_FINDINGS = 500
MAX_REQUIREMENTS = 1000
MAX_LOCATIONS = 20
LIMITS = {"title": 300, "requirement": 300, "quote": 500, "explanation": 10_000}
LIMITS["suggestion"] = 10_000

_KIND_WORDS = {
    "conformance": "conformance", "compliance": "conformance", "conformity": "conformance",
    "missing": "missing", "incomplete": "missing", "missing feature": "missing",
    "missing or incomplete": "missing", "gap": "missing",
    "refactor": "refactor", "refactoring": "refactor", "design": "refactor",
    "maintainability": "refactor",
    "risk": "risk", "bug": "risk", "security": "risk", "defect": "risk",
}  # fmt: skip
_SEVERITY_WORDS = {
    "critical": "critical", "blocker": "critical",
    "high": "high", "major": "high", "severe": "high",
    "medium": "medium", "moderate": "medium", "med": "medium",
    "low": "low", "minor": "low", "info": "low", "trivial": "low",
}  # fmt: skip
_VERDICT_WORDS = {
    "met": "met", "satisfied": "met", "conforms": "met", "ok": "met", "yes": "met",
    "partly met": "partly met", "partially met": "partly met", "partly": "partly met",
    "partial": "partly met", "partially": "partly met",
    "contradicted": "contradicted", "violated": "contradicted", "not met": "contradicted",
    "no": "contradicted",
    "missing": "missing", "absent": "missing", "not implemented": "missing",
    "not reviewed": "not reviewed", "unknown": "not reviewed", "not checked": "not reviewed",
    "n/a": "not reviewed",
}  # fmt: skip
_KEYS = {
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
_LOCATION = re.compile(
    r"(?P<path>[\w.@+~-]+(?:/[\w.@+~-]+)*)"
    r"(?:(?::|#L?|\s+lines?\s+)L?(?P<start>\d{1,7})(?:\s*[-–—]\s*L?(?P<end>\d{1,7}))?)?"
)
_PAGE_IN_TEXT = re.compile(r"\b(?:p\.|pp\.|page|pages)\s*(\d{1,5})\b", re.I)


@dataclass
class Location:
    path: str
    start: int | None = None
    end: int | None = None

    def label(self) -> str:
        if self.start is None:
            return self.path
        if self.end is None or self.end == self.start:
            return f"{self.path}:{self.start}"
        return f"{self.path}:{self.start}-{self.end}"


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
class RequirementRow:
    requirement: str
    verdict: str
    page: int | None = None
    evidence: str = ""
    locations: list[Location] = field(default_factory=list)


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
    kind = _word(fields.get("kind", ""), _KIND_WORDS)
    severity = _word(fields.get("severity", ""), _SEVERITY_WORDS)
    title = _clean(fields.get("title", "")) or _title_before(before)
    explanation, suggestion = _prose_after(after)
    if not kind:
        return None, "no recognisable kind"
    if not severity:
        return None, "no recognisable severity"
    if not title:
        return None, "no title"
    requirement = _clean(fields.get("requirement", ""))
    page = _page(fields.get("page", "")) or _page_in_text(requirement)
    verdict = _word(fields.get("verdict", ""), _VERDICT_WORDS)
    if verdict == "missing":
        verdict = "contradicted" if kind == "conformance" else ""
    return (
        ParsedFinding(
            kind=kind,
            severity=severity,
            title=_cap(title, "title"),
            explanation=_cap(fields.get("explanation", "").strip() or explanation, "explanation"),
            suggestion=_cap(fields.get("suggestion", "").strip() or suggestion, "suggestion"),
            verdict=verdict if kind == "conformance" else "",
            requirement=_cap(requirement, "requirement"),
            page=page,
            quote=_cap(_clean(fields.get("quote", "")), "quote"),
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
                name = _KEYS.get(_key(str(key)))
                if name:
                    out[name] = (
                        ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                    )
            return out
    out: dict[str, str] = {}
    current = None
    for line in body.split("\n"):
        match = _KEY_LINE.match(line)
        name = _KEYS.get(_key(match.group(1))) if match else None
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


def _word(value: str, table: dict[str, str]) -> str:
    # "✅ Met", "**HIGH**", "partly_met": letters decide.
    value = re.sub(r"[^a-z/]+", " ", _clean(value).lower()).strip()
    if value in table:
        return table[value]
    # "High (security)", "partly met - see below": the first words decide.
    for n in (2, 1):
        head = " ".join(re.split(r"[\s(,;/]+", value)[:n])
        if head in table:
            return table[head]
    return ""


def _clean(value: str) -> str:
    value = " ".join(str(value).split())
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        value = value[1:-1].strip()
    return value


def _cap(value: str, name: str) -> str:
    limit = LIMITS[name]
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _page(value: str) -> int | None:
    value = str(value).strip()
    match = re.fullmatch(r"(?:p\.?\s*|page\s*)?(\d{1,5})(?:\s*[-–].*)?", value, re.I)
    if match is None:
        match = _PAGE_IN_TEXT.search(value)
    if match is None:
        return None
    page = int(match.group(1))
    return page if page > 0 else None


def _page_in_text(value: str) -> int | None:
    match = _PAGE_IN_TEXT.search(value or "")
    return int(match.group(1)) or None if match else None


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
        text = _TITLE_NUMBER.sub("", _clean(text.replace("**", "").replace("`", "")))
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


def parse_locations(value: str) -> list[Location]:
    locations: list[Location] = []
    seen = set()
    for piece in re.split(r"[,;\n]|\s+and\s+", value or ""):
        piece = piece.strip().strip("`'\"*()[]<>").strip()
        piece = re.sub(r"\s*\(.*$", "", piece).rstrip(".:")
        if not piece:
            continue
        match = _LOCATION.match(piece)
        if match is None:
            continue
        path = match.group("path").removeprefix("./")
        if not _looks_like_path(path):
            continue
        start = int(match.group("start")) if match.group("start") else None
        end = int(match.group("end")) if match.group("end") else None
        if start is not None and end is not None and end < start:
            start, end = end, start
        loc = Location(path, start, end if end != start else None)
        if loc.label() not in seen:
            seen.add(loc.label())
            locations.append(loc)
        if len(locations) >= MAX_LOCATIONS:
            break
    return locations


def _looks_like_path(path: str) -> bool:
    return "/" in path or bool(re.search(r"\.[A-Za-z0-9]{1,8}$", path))


def locations_in_text(text: str) -> list[Location]:
    """Every `path:line` or `path:start-end` in free text (a table's evidence cell)."""
    found = re.findall(
        r"(?<![\w/.-])((?:[\w.@+~-]+/)*[\w.@+~-]+\.\w+:\d{1,7}(?:\s*[-–]\s*\d{1,7})?)", text or ""
    )
    return parse_locations(", ".join(found))


# -- the requirements table -------------------------------------------------------------
_ROW = re.compile(r"^ {0,3}\|?(.*?)\|?[ \t]*$")
_RULE = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$")


def _cells(line: str) -> list[str]:
    inner = _ROW.match(line).group(1)
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _columns(header: list[str]) -> dict[str, int] | None:
    names: dict[str, int] = {}
    for i, cell in enumerate(header):
        word = cell.lower().strip("*_ ")
        if "verdict" in word or word == "status":
            names.setdefault("verdict", i)
        elif "requirement" in word or word in ("title", "description"):
            names.setdefault("requirement", i)
        elif word in ("§", "section", "ref", "reference", "spec section"):
            names.setdefault("section", i)
        elif "page" in word or word == "p.":
            names.setdefault("page", i)
        elif any(w in word for w in ("evidence", "code", "location", "where", "note")):
            names.setdefault("evidence", i)
    if "verdict" in names and "requirement" in names:
        return names
    return None


def parse_requirements(text: str) -> list[RequirementRow]:
    rows: list[RequirementRow] = []
    lines = text.split("\n")
    i = 0
    while i + 1 < len(lines) and len(rows) < MAX_REQUIREMENTS:
        if "|" not in lines[i] or not _RULE.match(lines[i + 1]):
            i += 1
            continue
        columns = _columns(_cells(lines[i]))
        i += 2
        while columns and i < len(lines) and "|" in lines[i] and len(rows) < MAX_REQUIREMENTS:
            row = _requirement_row(_cells(lines[i]), columns)
            if row is not None:
                rows.append(row)
            i += 1
    return rows


def _requirement_row(cells: list[str], columns: dict[str, int]) -> RequirementRow | None:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else ""

    title = _clean(cell("requirement").replace("**", ""))
    section = _clean(cell("section").replace("**", ""))
    if section and not title.startswith(section):
        title = f"{section} {title}".strip()
    verdict = _word(cell("verdict"), _VERDICT_WORDS)
    if not title or not verdict:
        return None
    evidence = _clean(cell("evidence"))
    return RequirementRow(
        requirement=_cap(title, "requirement"),
        verdict=verdict,
        page=_page(cell("page")) or _page_in_text(title),
        evidence=_cap(evidence, "quote"),
        locations=locations_in_text(evidence),
    )
