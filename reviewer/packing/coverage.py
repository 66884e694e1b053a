"""How much of the repository a request covers, in figures a person can read.

"1,258 of 1,892 files, 13% of the repository's tokens": files are the text
files that passed the ignore rules (the ones that could have been sent), tokens
are theirs. The files left out for the budget are listed most important first,
and grouped by folder for display.
"""

from __future__ import annotations

from collections.abc import Iterable

from .importance import Ranking
from .kinds import KIND_NAMES

MAX_GROUP_DEPTH = 2  # "mypy/typeshed/", "test-data/unit/": deep enough to tell them apart


def percent(part: int, whole: int) -> str:
    """Rounded down, so "100%" is only said when nothing is missing ("<1%" for a sliver)."""
    if whole <= 0 or part >= whole:
        return "100%"
    value = part * 100 // whole
    return f"{value}%" if value or not part else "<1%"


def coverage_summary(candidates: Iterable, kept_paths: set[str], ranking: Ranking | None) -> dict:
    """JSON-ready coverage figures; ``ranking`` is None when everything fitted."""
    files = list(candidates)
    tokens_total = sum(c.tokens for c in files)
    kept = [c for c in files if c.path in kept_paths]
    tokens_kept = sum(c.tokens for c in kept)
    out = {
        "files_kept": len(kept),
        "files_total": len(files),
        "tokens_kept": tokens_kept,
        "tokens_total": tokens_total,
        "token_percent": percent(tokens_kept, tokens_total),
        "headline": (
            f"{len(kept):,} of {len(files):,} files, "
            f"{percent(tokens_kept, tokens_total)} of the repository's tokens"
        ),
        "by_kind": {},
        "dropped": [],
        "core_dropped": 0,
    }
    if ranking is None:
        return out
    by_kind = {name: [0, 0] for name in KIND_NAMES}
    for c in files:
        entry = by_kind[ranking.kind_name(c.path)]
        entry[1] += 1
        entry[0] += c.path in kept_paths
    out["by_kind"] = {name: v for name, v in reversed(by_kind.items()) if v[1]}
    dropped = sorted(
        (c for c in files if c.path not in kept_paths), key=ranking.key, reverse=True
    )  # most important first
    out["dropped"] = [
        {
            "path": c.path,
            "tokens": c.tokens,
            "kind": ranking.kind_name(c.path),
            "refs": ranking.refs[c.path],
            "core": ranking.is_core(c.path),
        }
        for c in dropped
    ]
    out["core_dropped"] = sum(d["core"] for d in out["dropped"])
    return out


def folder_of(path: str) -> str:
    parts = path.split("/")[:-1][:MAX_GROUP_DEPTH]
    return "/".join(parts) + "/" if parts else "(top folder)"


def group_by_folder(dropped: list[dict]) -> list[dict]:
    """Dropped files by folder; folders in the order of their most important file."""
    groups: dict[str, dict] = {}
    for d in dropped:
        folder = folder_of(d["path"])
        g = groups.get(folder)
        if g is None:
            g = groups[folder] = {"folder": folder, "files": [], "tokens": 0, "core": 0}
            g["kinds"] = []
        g["files"].append(d)
        g["tokens"] += d["tokens"]
        g["core"] += bool(d.get("core"))
        if d.get("kind") and d["kind"] not in g["kinds"]:
            g["kinds"].append(d["kind"])
    return list(groups.values())
