"""A finding's identity across reviews: kind, requirement, normalised title, primary path.

Models reword a title from one review to the next; the title is reduced to its sorted
set of content words (no case, punctuation, numbers or small words), so that "The
refund window is not checked" and "Refund window not checked." match. Line numbers
never take part: they move with every edit.
"""

from __future__ import annotations

import hashlib
import re

_SMALL = {
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is",
    "it", "its", "not", "of", "on", "or", "the", "to", "with", "no", "does", "do", "s",
}  # fmt: skip


def normalise_title(title: str) -> str:
    words = re.findall(r"[a-z]+", (title or "").lower())
    return " ".join(sorted({w for w in words if w not in _SMALL}))


def normalise_requirement(requirement: str) -> str:
    """The section number when there is one ("4.2"), else its words."""
    match = re.match(r"\s*(?:§\s*)?(\d+(?:\.\d+)*)", requirement or "")
    if match:
        return match.group(1)
    return " ".join(re.findall(r"[a-z0-9]+", (requirement or "").lower()))


def fingerprint(kind: str, requirement: str, title: str, primary_path: str) -> str:
    key = "\x1f".join(
        [kind, normalise_requirement(requirement), normalise_title(title), primary_path or ""]
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
