"""Checking every citation against what the model was actually given.

Plain Python, no Django. A code location is verified when its path is a file that was
sent (allowing for the archive's top folder, a leading "./" or a path the model
shortened to a unique tail) and its lines lie within that file. A specification
reference is verified when its page exists in the PDF and, where the page has a text
layer, the quoted words are on that page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from .parse import Location

NOT_SENT = "not in the code that was sent"
EXCERPT_CHARS = 1500


@dataclass
class CheckedLocation:
    path: str  # as the model wrote it
    start: int | None
    end: int | None
    resolved: str  # the sent file it names, "" when none
    ok: bool
    note: str = ""

    def label(self) -> str:
        return Location(self.path, self.start, self.end).label()

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "start": self.start,
            "end": self.end,
            "resolved": self.resolved,
            "ok": self.ok,
            "note": self.note,
        }


@dataclass
class CheckedSpec:
    ok: bool | None  # None: nothing to check (no page cited)
    note: str = ""
    excerpt: str = ""  # the cited page's text, for readers without a PDF viewer


class CodeChecker:
    """Resolves cited paths among the sent ones and counts their lines, reading each
    sent file at most once through ``read`` (path -> text, or None)."""

    def __init__(self, sent_paths: list[str], read: Callable[[str], str | None]):
        self.paths = set(sent_paths)
        self.read = read
        self._lines: dict[str, int | None] = {}
        self._by_tail: dict[str, list[str]] = {}
        for path in sent_paths:
            parts = path.split("/")
            for i in range(1, len(parts)):
                self._by_tail.setdefault("/".join(parts[i:]), []).append(path)

    def resolve(self, path: str) -> str:
        path = path.strip().removeprefix("./").lstrip("/")
        if path in self.paths:
            return path
        top_stripped = path.partition("/")[2]
        if top_stripped in self.paths:
            return top_stripped
        tails = self._by_tail.get(path, [])
        return tails[0] if len(tails) == 1 else ""

    def line_count(self, path: str) -> int | None:
        if path not in self._lines:
            text = self.read(path)
            if text is None:
                self._lines[path] = None
            else:
                lines = text.split("\n")
                if lines and lines[-1] == "":
                    lines.pop()
                self._lines[path] = len(lines)
        return self._lines[path]

    def check(self, loc: Location) -> CheckedLocation:
        resolved = self.resolve(loc.path)
        if not resolved:
            return CheckedLocation(loc.path, loc.start, loc.end, "", False, NOT_SENT)
        count = self.line_count(resolved)
        if count is None:
            return CheckedLocation(loc.path, loc.start, loc.end, resolved, False, NOT_SENT)
        last = loc.end or loc.start
        if loc.start is not None and (loc.start < 1 or last > count):
            note = f"line {last} is past the end of the file ({count} lines)"
            if loc.start < 1:
                note = "line numbers start at 1"
            return CheckedLocation(loc.path, loc.start, loc.end, resolved, False, note)
        return CheckedLocation(loc.path, loc.start, loc.end, resolved, True)


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)  # words hyphenated across lines
    return re.findall(r"\w+", text)


def _joined(text: str) -> str:
    return " " + " ".join(_words(text)) + " "


def quote_on_page(quote: str, page_text: str) -> bool:
    """The quote's words appear in order, next to each other, on the page."""
    wanted = _words(quote)
    return not wanted or (" " + " ".join(wanted) + " ") in _joined(page_text)


class SpecChecker:
    """Checks page references against the PDF; ``page_text`` (1-based page -> text) is
    called lazily and at most once per page."""

    def __init__(self, page_count: int | None, page_text: Callable[[int], str] | None):
        self.page_count = page_count
        self._page_text = page_text
        self._texts: dict[int, str] = {}
        self._joined: dict[int, str] = {}
        # Looking for a misquote on every other page is bounded: an answer full of
        # misquotes must not read a long PDF hundreds of times over.
        self._searches_left = 20

    def text(self, page: int) -> str:
        if page not in self._texts:
            try:
                self._texts[page] = (self._page_text(page) if self._page_text else "") or ""
            except Exception:  # noqa: BLE001 - one unreadable page is "no text layer"
                self._texts[page] = ""
        return self._texts[page]

    def check(self, page: int | None, quote: str) -> CheckedSpec:
        if page is None:
            return CheckedSpec(None)
        if not self.page_count:
            return CheckedSpec(False, "no specification was sent")
        if page > self.page_count:
            return CheckedSpec(
                False, f"page {page} is beyond the specification's {self.page_count} pages"
            )
        text = self.text(page)
        excerpt = text.strip()[:EXCERPT_CHARS]
        if not quote or not text.strip():
            note = "" if not quote else "page exists; it has no text to check the quote against"
            return CheckedSpec(True, note, excerpt)
        if quote_on_page(quote, text):
            return CheckedSpec(True, "", excerpt)
        elsewhere = self._find_elsewhere(quote, page)
        note = f"the quoted words are not on page {page}"
        if elsewhere:
            note += f" (they are on page {elsewhere})"
        return CheckedSpec(False, note, excerpt)

    def _find_elsewhere(self, quote: str, skip: int) -> int | None:
        if self._searches_left <= 0:
            return None
        self._searches_left -= 1
        wanted = " " + " ".join(_words(quote)) + " "
        for page in range(1, min(self.page_count or 0, 2000) + 1):
            if page not in self._joined:
                self._joined[page] = _joined(self.text(page))
            if page != skip and wanted in self._joined[page]:
                return page
        return None
