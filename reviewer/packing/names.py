"""File names as the prompt shows them.

The names of the uploaded archive and spec come from the user's machine: they may hold
newlines, backticks or invisible direction marks. In the prompt a name sits on one line
(a heading, or inside a `code span`), so everything that could end that line or span,
or hide text, is removed, and the length is capped.
"""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 120
# Control/format/unassigned (C*), line and paragraph separators (Zl, Zp).
_DROP_CATEGORIES = ("C", "Zl", "Zp")


def display_name(name: str, fallback: str, limit: int = MAX_NAME_CHARS) -> str:
    """``name`` made safe for one line of the prompt; ``fallback`` if nothing is left."""
    kept = (
        " " if ch == "`" or unicodedata.category(ch).startswith(_DROP_CATEGORIES) else ch
        for ch in name
    )
    clean = " ".join("".join(kept).split())  # also folds tabs and runs of spaces
    if len(clean) > limit:
        clean = clean[: limit - 1].rstrip() + "…"
    return clean or fallback
