"""Who refers to whom: a cheap reference graph over the repository's text.

No parsing: each language's import lines are found by a literal search or one
regex over the files of that language, and resolved against the repository's own
paths; names that resolve to nothing (the standard library, packages from a
registry) are ignored. Read: Python imports (absolute and relative), JS/TS
import/require/export-from, Go import paths, Java/Kotlin imports, Rust ``mod`` and
``use``, C/C++ ``#include "..."``, and file names written out anywhere
(``templates/page.html``, ``schema.sql``).
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

_PY_LINE = re.compile(
    r"^\d+\| [ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([\w, \t]*)"
    r"|import[ \t]+([\w., \t]+))"
)
_JS = re.compile(r"(?:\bfrom|\brequire\(|\bimport\(?)[ \t]*['\"]([^'\"\n]+)['\"]")
_GO_IMPORT = re.compile(r"\bimport[ \t]*(?:\(([^)]*)\)|(?:\w+[ \t]+)?\"([^\"\n]+)\")")
_GO_PATH = re.compile(r"\"([^\"\n]+)\"")
_JAVA_LINE = re.compile(r"^\d+\| import[ \t]+(?:static[ \t]+)?([\w.]+?)(\.\*)?[ \t]*;?[ \t]*$")
_RUST_MOD = re.compile(r"^\d+\| [ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?mod[ \t]+(\w+)[ \t]*;", re.M)
_RUST_USE = re.compile(r"\buse[ \t]+(?:crate|super|self)?(?:::)?([\w:]+)")
_C_INCLUDE = re.compile(r"#[ \t]*include[ \t]*\"([^\"\n]+)\"")
_MENTION_EXT = re.compile(
    r"\.(?:py|pyi|js|mjs|cjs|jsx|ts|tsx|go|rs|java|kt|rb|php|c|h|cc|cpp|hpp|cs|swift|sh|sql|"
    r"html|css|scss|vue|svelte|yaml|yml|toml|json|proto|graphql|md|rst|txt|cfg|ini)\b"
)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")

_PY_EXT = (".py", ".pyi")
_JS_EXT = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".vue", ".svelte")
_C_EXT = (".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".m", ".mm")
_INDEX_STEMS = {"__init__", "mod", "index"}
_MAX_AMBIGUOUS = 3  # a bare name shared by more files than this says nothing


def _key(path: str) -> tuple[str, ...]:
    """Module key: the path without extension; a package's index file names its folder."""
    parts = path.split("/")
    stem = parts[-1].split(".", 1)[0]
    if stem in _INDEX_STEMS and len(parts) > 1:
        return tuple(parts[:-1])
    return (*parts[:-1], stem)


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if x != y:
            break
        n += 1
    return n


class Graph:
    """refs[path] = the other files that import or name ``path``."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = sorted(paths)
        self.refs: dict[str, set[str]] = defaultdict(set)
        self.modules: dict[tuple[str, ...], list[str]] = defaultdict(list)  # exact keys
        self.module_suffixes: dict[tuple[str, ...], list[str]] = defaultdict(list)
        self.file_suffixes: dict[tuple[str, ...], list[str]] = defaultdict(list)
        self.dir_files: dict[tuple[str, ...], list[str]] = defaultdict(list)
        self.packages = set()  # Python package folders (they hold an __init__.py)
        self.keys: dict[str, tuple[str, ...]] = {}
        for p in self.paths:
            key = self.keys[p] = _key(p)
            self.modules[key].append(p)
            for i in range(len(key)):
                self.module_suffixes[key[i:]].append(p)
            parts = tuple(p.split("/"))
            for i in range(len(parts)):
                self.file_suffixes[parts[i:]].append(p)
            self.dir_files[parts[:-1]].append(p)
            if parts[-1] in ("__init__.py", "__init__.pyi"):
                self.packages.add(parts[:-1])
        # Python absolute imports start at a root: a folder that is not itself a package.
        self.py_imports: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for p, key in self.keys.items():
            if p.endswith(_PY_EXT):
                for i in range(len(key)):
                    if not i or key[:i] not in self.packages:
                        self.py_imports[key[i:]].append(p)

    # -- crediting ------------------------------------------------------------
    def _credit(self, importer: str, targets: list[str]) -> bool:
        if not targets:
            return False
        if len(targets) > 1:
            # The nearest wins: same folder beats a far one of the same name.
            best = max(_common(importer, t) for t in targets)
            targets = [t for t in targets if _common(importer, t) == best]
        for t in targets:
            if t != importer:
                self.refs[t].add(importer)
        return True

    def _suffix(self, importer: str, index: dict, key: tuple[str, ...]) -> bool:
        found = index.get(key, [])
        if len(key) == 1 and len(found) > _MAX_AMBIGUOUS:
            return False
        return self._credit(importer, found)

    # -- languages --------------------------------------------------------------
    def add_file(self, path: str, block: str) -> None:
        body = block[block.find("\n") + 1 :]  # the heading names the file itself
        lower = path.lower()
        if lower.endswith((".py", ".pyi")):
            self._python(path, body)
        elif lower.endswith(_JS_EXT):
            self._js(path, body)
        elif lower.endswith(".go"):
            self._go(path, body)
        elif lower.endswith((".java", ".kt", ".scala")):
            self._java(path, body)
        elif lower.endswith(".rs"):
            self._rust(path, body)
        elif lower.endswith(_C_EXT):
            for m in _C_INCLUDE.finditer(body):
                self._file_mention(path, m.group(1))
        self._mentions(path, body)

    def _python(self, path: str, body: str) -> None:
        here = tuple(path.split("/")[:-1])
        for line in _lines_with(body, "import"):
            m = _PY_LINE.match(line)
            if m is None:
                continue
            dots, module, names, plain = m.groups()
            if plain is not None:
                for item in plain.split(","):
                    name = item.strip().split(" ")[0]
                    if name:
                        self._py_absolute(path, tuple(name.split(".")))
                continue
            mod = tuple(module.split(".")) if module else ()
            subs = [n.strip().split(" ")[0] for n in names.split(",") if n.strip()]
            if dots:
                base = here[: len(here) - (len(dots) - 1)] if len(dots) - 1 <= len(here) else ()
                self._py_relative(path, base + mod, subs)
            else:
                hit = any(self._py_absolute(path, mod + (s,)) for s in subs if s != "*")
                if not hit:
                    self._py_absolute(path, mod)

    def _py_relative(self, path: str, mod: tuple[str, ...], subs: list[str]) -> None:
        hit = False
        for s in subs:
            hit = self._credit(path, self._python_files(mod + (s,))) or hit
        if not hit:
            self._credit(path, self._python_files(mod))

    def _python_files(self, key: tuple[str, ...]) -> list[str]:
        return [p for p in self.modules.get(key, []) if p.endswith(_PY_EXT)]

    def _py_absolute(self, path: str, mod: tuple[str, ...]) -> bool:
        if not mod or not mod[0]:
            return False
        return self._credit(path, self.py_imports.get(mod, []))

    def _js(self, path: str, body: str) -> None:
        here = posixpath.dirname(path)
        for m in _JS.finditer(body):
            spec = m.group(1).split("?")[0]
            if spec.startswith("."):
                target = posixpath.normpath(posixpath.join(here, spec))
                if target.startswith(".."):
                    continue
                if not self._credit(path, self.modules.get(_key(target), [])):
                    self._credit(path, self.modules.get(tuple(target.split("/")), []))
            elif spec.startswith(("@/", "~/")):
                self._suffix(path, self.module_suffixes, _key(spec[2:]))

    def _go(self, path: str, body: str) -> None:
        for m in _GO_IMPORT.finditer(body):
            specs = _GO_PATH.findall(m.group(1)) if m.group(1) is not None else [m.group(2)]
            for spec in specs:
                parts = tuple(spec.split("/"))
                if "." not in parts[0]:
                    continue  # the standard library
                for i in range(1, len(parts)):
                    files = [f for f in self.dir_files.get(parts[i:], []) if f.endswith(".go")]
                    if files:
                        self._credit(path, [f for f in files if not f.endswith("_test.go")])
                        break

    def _java(self, path: str, body: str) -> None:
        for line in _lines_with(body, "import"):
            m = _JAVA_LINE.match(line)
            if m is None:
                continue
            parts = tuple(m.group(1).split("."))
            if m.group(2):
                self._credit(path, self.dir_files.get(parts, []))
            else:
                self._suffix(path, self.module_suffixes, parts)

    def _rust(self, path: str, body: str) -> None:
        here = tuple(path.split("/")[:-1])
        for m in _RUST_MOD.finditer(body):
            self._credit(path, self.modules.get(here + (m.group(1),), []))
        for m in _RUST_USE.finditer(body):
            parts = tuple(p for p in m.group(1).split("::") if p)
            while parts and not self._suffix(path, self.module_suffixes, parts):
                parts = parts[:-1]

    def _file_mention(self, path: str, name: str) -> bool:
        parts = tuple(p for p in name.split("/") if p not in ("", ".", ".."))
        return bool(parts) and self._suffix(path, self.file_suffixes, parts)

    def _mentions(self, path: str, body: str) -> None:
        for m in _MENTION_EXT.finditer(body):
            end = i = m.start()
            low = max(0, end - 200)
            while i > low and body[i - 1] in _NAME_CHARS:  # walk back over the name
                i -= 1
            if i < end:
                self._file_mention(path, body[i:end] + m.group(0))

    def share_headers(self) -> None:
        """A C/C++ source file is referred to through its header: foo.c gets foo.h's refs."""
        for p in self.paths:
            if p.lower().endswith(_C_EXT) and not p.lower().endswith((".h", ".hh", ".hpp")):
                stem = p.rsplit(".", 1)[0]
                for ext in (".h", ".hh", ".hpp", ".hxx"):
                    self.refs[p] |= self.refs.get(stem + ext, set()) - {p}


def _lines_with(body: str, needle: str) -> Iterator[str]:
    """The lines containing ``needle``: a literal search is much faster than a regex."""
    pos = body.find(needle)
    while pos >= 0:
        start = body.rfind("\n", 0, pos) + 1
        end = body.find("\n", pos)
        if end < 0:
            end = len(body)
        yield body[start:end]
        pos = body.find(needle, end)
