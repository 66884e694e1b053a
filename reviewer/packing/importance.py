"""The order files are dropped in when the repository does not fit the model.

First by kind (kinds.py): vendored, generated, test data, lock files, tests,
docs, and only then source code. Within a kind, least important first; between
files of equal importance the larger goes first (the same room loses fewer
files), then by path - so the order is the same for the same archive and spec.

Importance of a file, an integer (higher = kept longer):

  refs         how many other files import it or name it (references.py);
               only source, tests and docs are read for references, so vendored
               stubs and test data cannot make a file look central;
  + unit       an entry point: main.*, __main__.py, manage.py, app.*, index.*,
               server.*, cli.*, wsgi.py, asgi.py, lib.rs, files under cmd/, the
               root README and build manifests (package.json, pyproject.toml...);
  + 2 x unit   named in the specification's text: its path, file name, dotted
               module name (``mypy.checker``) or a snake_case stem;
  + unit / 2   recently changed: among the newest tenth of the archive's file
               times, when the times differ (a .git folder is not read: it is
               skipped before reading, and parsing history would cost seconds);

where unit = max(4, the 90th percentile of refs over source files). A source
file whose importance reaches one unit is *core*: leaving it out is warned about.

Nothing here runs when the repository fits: fit() asks for the order only once
the whole repository is over the budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from .kinds import DOCS, KIND_NAMES, MANIFESTS, SOURCE, TEST, Classifier
from .references import Graph

_ENTRY = re.compile(
    r"^(?:main|__main__|manage|app|index|server|cli|wsgi|asgi|lib)\.[a-z]+$|^readme", re.I
)
_SPEC_TOKEN = re.compile(r"[\w][\w./-]*\w")
MIN_UNIT = 4


class File(Protocol):
    path: str
    block: str
    tokens: int
    mtime: float


@dataclass
class Ranking:
    kinds: dict[str, int]
    scores: dict[str, int]
    refs: dict[str, int]
    unit: int
    named_in_spec: set[str] = field(default_factory=set)

    def key(self, f: File) -> tuple:
        return (self.kinds[f.path], self.scores[f.path], -f.tokens, f.path)

    def is_core(self, path: str) -> bool:
        return self.kinds[path] == SOURCE and self.scores[path] >= self.unit

    def kind_name(self, path: str) -> str:
        return KIND_NAMES[self.kinds[path]]


def rank(files: list[File], spec_text: str = "") -> Ranking:
    """Kinds and importance of every file (see the module docstring)."""
    blocks = {f.path: f.block for f in files}
    classifier = Classifier(blocks)
    kinds = {f.path: classifier.kind(f.path, f.block) for f in files}
    graph = Graph(blocks)
    for f in files:
        if kinds[f.path] in (SOURCE, TEST, DOCS):
            graph.add_file(f.path, f.block)
    graph.share_headers()
    refs = {f.path: len(graph.refs.get(f.path, ())) for f in files}
    source_refs = sorted(refs[p] for p, k in kinds.items() if k == SOURCE)
    unit = MIN_UNIT
    if source_refs:
        unit = max(MIN_UNIT, source_refs[int(0.9 * (len(source_refs) - 1))])
    named = _named_in_spec([f.path for f in files], spec_text)
    recent = _recent(files)
    scores = {}
    for f in files:
        score = refs[f.path]
        if _is_entry(f.path):
            score += unit
        if f.path in named:
            score += 2 * unit
        if f.path in recent:
            score += unit // 2
        scores[f.path] = score
    return Ranking(kinds, scores, refs, unit, named)


def drop_order(files: list[File], spec_text: str = "") -> tuple[list[File], Ranking]:
    """The files in the order they are dropped (first = dropped first), and the ranking."""
    ranking = rank(files, spec_text)
    return sorted(files, key=ranking.key), ranking


def _is_entry(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    if "cmd" in parts[:-1]:
        return True
    if len(parts) == 1 and name.lower() in MANIFESTS:
        return True
    return bool(_ENTRY.match(name)) and (len(parts) == 1 or not name.lower().startswith("readme"))


def _named_in_spec(paths: list[str], spec_text: str) -> set[str]:
    if not spec_text:
        return set()
    tokens = {t.rstrip(".") for t in _SPEC_TOKEN.findall(spec_text.lower())}
    named = set()
    for path in paths:
        parts = path.lower().split("/")
        suffixes = ["/".join(parts[i:]) for i in range(len(parts))]
        stem = parts[-1].rsplit(".", 1)[0]
        dotted = [".".join([*parts[i:-1], stem]) for i in range(len(parts) - 1)]
        snake = "_" in stem.strip("_") and len(stem) >= 5
        if any(s in tokens for s in suffixes + dotted) or (snake and stem in tokens):
            named.add(path)
    return named


def _recent(files: list[File]) -> set[str]:
    """Files among the newest tenth by modification time (none when all times are equal)."""
    times = sorted((f.mtime for f in files), reverse=True)
    if len(times) < 10 or times[0] == times[-1]:
        return set()
    cutoff = times[len(times) // 10]
    return {f.path for f in files if f.mtime > cutoff}
