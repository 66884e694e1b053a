"""Code locations as models write them: `path:line`, `path:start-end`, `path:L5-L7`,
`path#L5`, `./path`, `path lines 3-4` or a bare file. Plain Python, no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .words import MAX_LOCATIONS

LOCATION_RE = re.compile(
    r"(?P<path>[\w.@+~-]+(?:/[\w.@+~-]+)*)"
    r"(?:(?::|#L?|\s+lines?\s+)L?(?P<start>\d{1,7})(?:\s*[-–—]\s*L?(?P<end>\d{1,7}))?)?"
)


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


def parse_locations(value: str) -> list[Location]:
    locations: list[Location] = []
    seen = set()
    for piece in re.split(r"[,;\n]|\s+and\s+", value or ""):
        piece = piece.strip().strip("`'\"*()[]<>").strip()
        piece = re.sub(r"\s*\(.*$", "", piece).rstrip(".:")
        if not piece:
            continue
        match = LOCATION_RE.match(piece)
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
