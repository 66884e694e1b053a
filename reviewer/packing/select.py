"""Which files go to the model: gitignore semantics, built-in defaults, project rules.

Order of decisions for one path (the first that applies wins):
  1. project force-includes (``PackOptions.force_includes``) keep a file whatever the
     ignore rules say - but never a binary or too-large file (checked later);
  2. project extra ignores -> "project rule";
  3. built-in defaults -> "default rule" (dependency/VCS/build folders, lock files,
     minified bundles, media and binaries);
  4. the repository's own nested .gitignore files -> "gitignored".

``vendor/`` is special: Go, Composer and Bundler all use that name for third-party
code, but some projects keep their own code there. It is ignored only when it looks
like a dependency folder (vendor/modules.txt, vendor/autoload.php or vendor/bundle/).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import pathspec

from .models import REASON_DEFAULT, REASON_GITIGNORED, REASON_PROJECT

# Folder names ignored wherever they appear.
DEFAULT_DIRS = frozenset(
    {
        # version control
        ".git", ".hg", ".svn", ".bzr",
        # dependencies and virtual environments
        "node_modules", "bower_components", "jspm_packages", ".venv", "venv", ".virtualenv",
        "site-packages", ".bundle", ".yarn", ".pnpm-store",
        # build outputs and caches
        "dist", "build", "target", "out", "__pycache__", ".pytest_cache", ".mypy_cache",
        ".ruff_cache", ".tox", ".nox", ".next", ".nuxt", ".svelte-kit", ".parcel-cache",
        ".cache", ".gradle", ".terraform", "coverage", "htmlcov", ".nyc_output",
        ".eggs", ".idea", ".vscode", ".DS_Store",
    }
)  # fmt: skip

DEFAULT_FILE_NAMES = frozenset(
    {
        "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Cargo.lock",
        "Pipfile.lock", "uv.lock", "composer.lock", "Gemfile.lock", "go.sum", "bun.lockb",
        "npm-shrinkwrap.json", "flake.lock", "mix.lock", "pubspec.lock", "Podfile.lock",
        "packages.lock.json", ".DS_Store", "Thumbs.db", ".coverage",
    }
)  # fmt: skip

# Lower-case suffixes; matched against the end of the file name.
DEFAULT_SUFFIXES = tuple(
    {
        ".min.js", ".min.css", ".map", ".pyc", ".pyo", ".pyd", ".so", ".dylib", ".dll",
        ".exe", ".o", ".a", ".lib", ".obj", ".class", ".jar", ".war", ".ear", ".wasm",
        ".bin", ".dat", ".db", ".sqlite", ".sqlite3", ".pdf", ".egg-info",
        # images
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".icns", ".tif", ".tiff", ".webp",
        ".avif", ".heic", ".psd", ".xcf", ".sketch", ".fig",
        # fonts
        ".ttf", ".otf", ".woff", ".woff2", ".eot",
        # audio and video
        ".mp3", ".wav", ".ogg", ".flac", ".aac", ".m4a", ".mp4", ".m4v", ".mov", ".avi",
        ".mkv", ".webm", ".wmv",
        # archives and packages
        ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".whl",
        ".deb", ".rpm", ".dmg", ".iso", ".apk", ".ipa", ".nupkg", ".gem",
        # office documents and models
        ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".key",
        ".pkl", ".pickle", ".npy", ".npz", ".h5", ".onnx", ".pt", ".pth", ".safetensors",
    }
)  # fmt: skip

VENDOR_MARKERS = ("vendor/modules.txt", "vendor/autoload.php", "vendor/bundle/")


def default_dir_rule(name: str) -> bool:
    return name in DEFAULT_DIRS or name.endswith(".egg-info")


def default_file_rule(name: str) -> bool:
    lower = name.lower()
    return name in DEFAULT_FILE_NAMES or lower.endswith(DEFAULT_SUFFIXES)


def default_ignored(path: str) -> bool:
    """Built-in rule check on a path alone (no knowledge of the rest of the tree)."""
    parts = path.split("/")
    if any(default_dir_rule(p) for p in parts[:-1]):
        return True
    return default_file_rule(parts[-1])


def compile_patterns(patterns: list[str]) -> pathspec.GitIgnoreSpec | None:
    lines = [p for p in patterns if p.strip()]
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def matches(spec: pathspec.GitIgnoreSpec | None, path: str, is_dir: bool = False) -> bool:
    if spec is None:
        return False
    return bool(spec.check_file(path + "/" if is_dir else path).include)


def matches_self_or_parent(spec, path: str) -> bool:
    """True if the path or any folder above it matches (``docs/`` covers docs/a.md)."""
    if spec is None:
        return False
    parts = path.split("/")
    for i in range(1, len(parts)):
        if matches(spec, "/".join(parts[:i]), is_dir=True):
            return True
    return matches(spec, path)


@dataclass
class Decision:
    ignored: bool
    reason: str = ""
    # Folder whose rule excluded the file; summaries list that folder once.
    via_dir: str = ""
    detail: str = ""


class Selector:
    """Decides, for every file path of the tree, whether it is excluded and why."""

    def __init__(
        self,
        paths: list[str],
        gitignores: dict[str, str],
        extra_ignores: list[str],
        force_includes: list[str],
        use_defaults: bool = True,
    ):
        """``paths``: all file paths; ``gitignores``: folder ('' = root) -> .gitignore text."""
        self.use_defaults = use_defaults
        self.extra = compile_patterns(extra_ignores)
        self.force = compile_patterns(force_includes)
        self.specs = {
            d: pathspec.GitIgnoreSpec.from_lines(text.splitlines())
            for d, text in gitignores.items()
        }
        self.vendor_dirs: set[str] = set()
        for p in paths:
            for marker in VENDOR_MARKERS:
                idx = p.find(marker)
                if idx >= 0 and (idx == 0 or p[idx - 1] == "/"):
                    self.vendor_dirs.add(p[: idx + len("vendor")])
        self._dir_cache: dict[str, Decision] = {"": Decision(False)}

    def _git_match(self, path: str, is_dir: bool) -> bool | None:
        """Deepest .gitignore with a matching rule decides; within it, the last rule."""
        parent = posixpath.dirname(path)
        d = parent
        while True:
            spec = self.specs.get(d)
            if spec is not None:
                rel = path[len(d) + 1 :] if d else path
                res = spec.check_file(rel + "/" if is_dir else rel).include
                if res is not None:
                    return res
            if not d:
                return None
            d = posixpath.dirname(d)

    def _dir(self, d: str) -> Decision:
        cached = self._dir_cache.get(d)
        if cached is not None:
            return cached
        parent = self._dir(posixpath.dirname(d))
        if parent.ignored:
            dec = parent
        else:
            name = posixpath.basename(d)
            if matches(self.force, d, is_dir=True):
                dec = Decision(False)
            elif matches(self.extra, d, is_dir=True):
                dec = Decision(True, REASON_PROJECT, d)
            elif self.use_defaults and default_dir_rule(name):
                dec = Decision(True, REASON_DEFAULT, d)
            elif self.use_defaults and name == "vendor" and d in self.vendor_dirs:
                dec = Decision(True, REASON_DEFAULT, d, "third-party dependency folder")
            elif self._git_match(d, is_dir=True):
                dec = Decision(True, REASON_GITIGNORED, d)
            else:
                dec = Decision(False)
        self._dir_cache[d] = dec
        return dec

    def decide(self, path: str) -> Decision:
        forced = matches_self_or_parent(self.force, path)
        parent = self._dir(posixpath.dirname(path))
        if parent.ignored and not forced:
            return parent
        if forced:
            return Decision(False)
        name = posixpath.basename(path)
        if matches(self.extra, path):
            return Decision(True, REASON_PROJECT)
        if self.use_defaults and default_file_rule(name):
            return Decision(True, REASON_DEFAULT)
        if self._git_match(path, is_dir=False):
            return Decision(True, REASON_GITIGNORED)
        return Decision(False)

    def is_forced(self, path: str) -> bool:
        return matches_self_or_parent(self.force, path)
