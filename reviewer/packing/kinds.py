"""What kind of file a path is, for the drop order when the repository does not fit.

Kinds, dropped first to last (the number is the order):

  0. vendored: third-party code kept in the repository - folders named vendor,
     vendored, _vendor, third_party, thirdparty, 3rdparty, node_modules,
     bower_components, typeshed, site-packages, dist-packages - and bundled copies
     recognised by their first lines: a ``/*!`` banner or ``@license`` tag, or a
     licence grant whose copyright holder is not the repository's own (the holder
     named in the root LICENSE/COPYING, else the one most files name);
  1. generated: protobuf/gRPC outputs, ``*generated*`` names, migrations,
     generated/gen folders, files whose first lines say ``@generated``, "DO NOT
     EDIT" or "auto-generated", and minified files (long lines);
  2. test data: fixtures, testdata, test-data, test_data, data, snapshots, golden
     folders; data formats (JSON, CSV, YAML, XML, SQL dumps, notebooks, snapshots,
     gettext catalogues);
  3. lock files: package-lock.json, yarn.lock, poetry.lock, go.sum, ``*.lock``...;
  4. tests: tests/, test/, __tests__/, spec/ folders, test_*.py, *_test.go,
     *.test.js, *.spec.ts and the like;
  5. docs: docs/, doc/, examples/, *.md, *.rst, *.txt, LICENSE, CHANGELOG...;
  6. source: everything else. The root README and build manifests (package.json,
     pyproject.toml, go.mod, Cargo.toml...) count as source: they say what the code
     is and how it is built (requirements.txt and CMakeLists.txt too).

The first kind that applies wins, so ``vendor/x/tests/test_a.py`` is vendored.
"""

from __future__ import annotations

import posixpath
import re

VENDORED, GENERATED, DATA, LOCK, TEST, DOCS, SOURCE = range(7)
KIND_NAMES = ("vendored", "generated", "test data", "lock file", "test", "docs", "source")

_VENDOR_DIRS = {"vendor", "vendors", "vendored", "_vendor", "third_party", "third-party",
                "thirdparty", "3rdparty", "node_modules", "bower_components", "typeshed",
                "site-packages", "dist-packages"}  # fmt: skip
_GENERATED_NAME = re.compile(
    r"(?:_pb2(?:_grpc)?\.pyi?|\.pb\.go|\.pb\.(?:cc|h)|_grpc\.pb\.go|\.pb\.swift|"
    r"[._-]generated\.\w+|\.g\.dart|\.designer\.cs|\.min\.(?:js|css)|[.-]bundle\.js|\.chunk\.js)$",
    re.I,
)
_GENERATED_DIRS = {"migrations", "generated", "__generated__", "gen"}
_GENERATED_HEAD = re.compile(
    r"@generated|do not edit|auto-?generated|automatically generated|"
    r"^\d+\| \W*(?:this file (?:is|was) )?generated (?:by|from)\b",
    re.I | re.M,
)
_DATA_EXT = (
    ".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".svg", ".xml", ".yaml", ".yml",
    ".snap", ".ipynb", ".geojson", ".parquet", ".sql", ".dump", ".log", ".golden",
    ".po", ".pot",
)  # fmt: skip
_DATA_DIRS = {"fixtures", "fixture", "__fixtures__", "testdata", "test_data", "test-data",
              "data", "snapshots", "__snapshots__", "golden", "goldens"}  # fmt: skip
_LOCK_NAMES = {"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
               "poetry.lock", "pipfile.lock", "uv.lock", "cargo.lock", "composer.lock",
               "gemfile.lock", "go.sum", "flake.lock", "mix.lock", "pubspec.lock",
               "podfile.lock", "packages.lock.json", "bun.lockb"}  # fmt: skip
_TEST_DIRS = {"tests", "test", "__tests__", "spec", "specs", "testing", "e2e", "cypress"}
_TEST_NAME = re.compile(
    r"(?:^test_.*\.py$|_test\.py$|^conftest\.py$|_test\.go$|\.(?:test|spec)\.[cm]?[jt]sx?$|"
    r"Test\.java$|Tests?\.cs$|_spec\.rb$|_test\.exs?$|Test\.kt$|Tests\.swift$)"
)
_DOC_EXT = (".md", ".markdown", ".rst", ".txt", ".adoc", ".org", ".tex")
_DOC_DIRS = {"docs", "doc", "documentation", "examples", "example"}
_DOC_NAMES = {"license", "licence", "copying", "notice", "authors", "contributors",
              "changelog", "changes", "history", "news", "contributing"}  # fmt: skip
MANIFESTS = {"package.json", "pyproject.toml", "setup.py", "setup.cfg", "go.mod",
             "cargo.toml", "pom.xml", "build.gradle", "build.gradle.kts", "makefile",
             "dockerfile", "composer.json", "gemfile", "tsconfig.json", "cmakelists.txt",
             "requirements.txt"}  # fmt: skip

# Licence headers: a grant of rights, and who holds the copyright.
_GRANT = re.compile(
    r"permission is hereby granted|redistribution and use in source and binary|"
    r"licensed under the apache license|gnu (?:lesser |library )?general public license|"
    r"mozilla public license|spdx-license-identifier",
    re.I,
)
_GRANT_WORDS = ("permission is", "redistribution", "license", "licence")
_BANNER = re.compile(r"^\d+\| /\*!.*?\bv?\d+\.\d+|@license\b", re.M)
# "Copyright (c) 2010-2012 Name", "Copyright 2020 Name", "Copyright © Name" - but not
# "copyright notice" in a licence's text.
_HOLDER = re.compile(
    r"copyright\s*(?:(?:\(c\)|©)\s*(?:[\d,\s-]+)?|\d{4}[\d,\s-]*)\s*(?:by\s+)?([^\n]{3,80})",
    re.I,
)
_COMMON_WORDS = {"and", "the", "its", "all", "rights", "reserved", "contributors", "authors",
                 "inc", "llc", "ltd", "corporation", "corp", "foundation", "software",
                 "project", "copyright", "other", "others", "individual", "holders"}  # fmt: skip
HEAD_CHARS = 1500  # only the top of a file is read for banners and markers


def path_kind(path: str) -> int | None:
    """The kind decided by the path alone; None when only the content can tell."""
    lower = path.lower()
    parts = lower.split("/")
    name = parts[-1]
    dirs = set(parts[:-1])
    if dirs & _VENDOR_DIRS:
        return VENDORED
    if _GENERATED_NAME.search(name) or dirs & _GENERATED_DIRS:
        return GENERATED
    if name in _LOCK_NAMES or name.endswith((".lock", "-lock.json", "-lock.yaml")):
        return LOCK
    if name in MANIFESTS:
        return SOURCE
    if lower.endswith(_DATA_EXT) or dirs & _DATA_DIRS:
        return DATA
    if dirs & _TEST_DIRS or _TEST_NAME.search(posixpath.basename(path)):
        return TEST
    if len(parts) == 1 and name.startswith("readme"):
        return SOURCE
    stem = name.split(".", 1)[0]
    if dirs & _DOC_DIRS or lower.endswith(_DOC_EXT) or stem in _DOC_NAMES:
        return DOCS
    return None


def holder_words(text: str) -> set[str]:
    """Distinctive words of the copyright holders named in ``text``."""
    words: set[str] = set()
    if "copyright" not in text.lower():
        return words
    for m in _HOLDER.finditer(text):
        holder = m.group(1).lower()
        if "[" in holder or "<" in holder or "{" in holder:
            continue  # a licence template's placeholder: "[name of copyright owner]"
        words.update(w for w in re.findall(r"[a-z]{3,}", holder))
    return words - _COMMON_WORDS


class Classifier:
    """Kinds of the files of one repository (content rules need the whole picture)."""

    def __init__(self, blocks: dict[str, str]) -> None:
        self.own = self._own_holders(blocks)
        granted = 0
        self.foreign: set[str] = set()
        for path, block in blocks.items():
            head = block[:HEAD_CHARS]
            low = head.lower()
            if any(w in low for w in _GRANT_WORDS) and _GRANT.search(head):
                granted += 1
                holders = holder_words(head)
                if self.own and holders and not holders & self.own:
                    self.foreign.add(path)
        if len(self.foreign) > max(3, granted // 5):
            # Many files name holders of their own: per-author headers are this
            # repository's custom, not a sign of bundled copies.
            self.foreign = set()

    @staticmethod
    def _own_holders(blocks: dict[str, str]) -> set[str]:
        """The root licence's holders and the holder most file headers name: both are
        the repository's own (a GPL or Apache licence text names the FSF or only a
        placeholder, while the files name the authors)."""
        roots = [p for p in blocks if "/" not in p and p.lower().split(".")[0] in _DOC_NAMES]
        own: set[str] = set()
        for p in roots:
            own |= holder_words(blocks[p][:4000])
        counts: dict[str, int] = {}
        for block in blocks.values():
            for w in holder_words(block[:HEAD_CHARS]):
                counts[w] = counts.get(w, 0) + 1
        best = max(counts.values(), default=0)
        return own | {w for w, n in counts.items() if n == best and n >= 2}

    def kind(self, path: str, block: str) -> int:
        by_path = path_kind(path)
        if by_path is not None and by_path != SOURCE:
            return by_path
        if by_path is None:
            head = block[:HEAD_CHARS]
            if path in self.foreign or _banner(head):
                return VENDORED
            top = head[:600].lower()  # literal checks first: the regex runs on few files
            if ("generat" in top or "do not edit" in top) and _GENERATED_HEAD.search(top):
                return GENERATED
            if _minified(block):
                return GENERATED
        return SOURCE


def _banner(head: str) -> bool:
    """A bundled library's banner: ``/*! name v1.2.3`` or an ``@license`` tag."""
    return ("/*!" in head or "@license" in head) and bool(_BANNER.search(head))


def _minified(block: str) -> bool:
    """Long lines on average: minified or machine-written, not meant for reading."""
    if len(block) < 4000:
        return False
    return len(block) / (block.count("\n") + 1) > 300
