"""The requirements table: a Markdown table with Requirement, Page, Verdict and Evidence
columns (and the variants models write). Plain Python, no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .locations import Location, locations_in_text
from .words import MAX_REQUIREMENTS, VERDICT_WORDS, cap, clean, page_in_text, page_number, word


@dataclass
class RequirementRow:
    requirement: str
    verdict: str
    page: int | None = None
    evidence: str = ""
    locations: list[Location] = field(default_factory=list)


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

    title = clean(cell("requirement").replace("**", ""))
    section = clean(cell("section").replace("**", ""))
    if section and not title.startswith(section):
        title = f"{section} {title}".strip()
    verdict = word(cell("verdict"), VERDICT_WORDS)
    if not title or not verdict:
        return None
    evidence = clean(cell("evidence"))
    return RequirementRow(
        requirement=cap(title, "requirement"),
        verdict=verdict,
        page=page_number(cell("page")) or page_in_text(title),
        evidence=cap(evidence, "quote"),
        locations=locations_in_text(evidence),
    )
