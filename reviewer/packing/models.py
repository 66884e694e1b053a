"""Plain data classes of the packing contract (no Django: the web app and worker share them)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .errors import PackingError

MB = 1024 * 1024
GB = 1024 * MB

# Reason strings shown to users; the web app groups by them, so keep them stable.
REASON_GITIGNORED = "gitignored"
REASON_DEFAULT = "default rule"
REASON_PROJECT = "project rule"
REASON_BINARY = "binary"
REASON_TOO_LARGE = "too large"
REASON_OVER_BUDGET = "over budget"
REASON_SYMLINK = "symlink"
REASON_HARDLINK = "hardlink"
REASON_SPECIAL = "special file"
REASONS = (
    REASON_GITIGNORED,
    REASON_DEFAULT,
    REASON_PROJECT,
    REASON_BINARY,
    REASON_TOO_LARGE,
    REASON_OVER_BUDGET,
    REASON_SYMLINK,
    REASON_HARDLINK,
    REASON_SPECIAL,
)


@dataclass
class PackOptions:
    """Limits and per-project rules; every limit is configurable."""

    max_upload_bytes: int = 200 * MB
    max_total_bytes: int = 1 * GB
    max_members: int = 100_000
    max_file_bytes: int = 2 * MB
    # Ratio uncompressed/compressed above which a large member is treated as a bomb.
    max_ratio: float = 200
    # Only members (or, for tar, the whole stream) past this size are ratio-checked:
    # tiny files of repeated bytes legitimately compress far better than 200:1.
    ratio_check_bytes: int = 1 * MB
    extra_ignores: list[str] = field(default_factory=list)
    force_includes: list[str] = field(default_factory=list)
    margin: float = 0.10
    # Cores the per-file work (decode, secret scan, layout, token count) may use:
    # worker processes, or counting threads where no process can start (parallel.py).
    # None = every core of this machine; 1 = all in the calling thread. A caller that
    # runs several packs at once divides its cores between them.
    workers: int | None = None
    # Switch off the built-in ignore list (tests compare pure gitignore semantics with git).
    default_ignores: bool = True
    # Folder for the persistent token-count cache (token_cache.py); None = no cache,
    # nothing is written anywhere. Counts are exact either way.
    cache_dir: str | None = None
    cache_max_entries: int = 500_000
    # The names the user gave the files, shown in the prompt instead of the storage
    # names (uploads are stored under random names); None = the stored file's name.
    archive_name: str | None = None
    spec_name: str | None = None


@dataclass
class Budget:
    """What the chosen model accepts; numbers come from the model catalogue."""

    context_tokens: int
    max_output_tokens: int
    pdf_max_pages: int | None = None
    pdf_max_bytes: int | None = None
    # The provider's tokens per o200k token: the room is in the provider's count, the
    # files are counted in o200k, so the room is divided by it (see pipeline._room).
    count_ratio: float = 1.0


@dataclass
class SpecDocument:
    """A checked specification. Its bytes stay on disk until a request is built: a web
    preview needs only the page count and text, not megabytes of PDF in memory."""

    filename: str
    page_count: int
    text: str = field(repr=False)
    estimated_tokens: int
    size_bytes: int
    path: str | None = None  # None: checked from bytes, kept in memory
    _data: bytes | None = field(default=None, repr=False)

    def read_bytes(self) -> bytes:
        """The PDF as checked; refuses a file that changed size since (never send unchecked)."""
        if self._data is not None:
            return self._data
        try:
            data = Path(self.path).read_bytes()
        except (OSError, TypeError):
            raise PackingError("The specification could not be read.")
        if len(data) != self.size_bytes:
            raise PackingError("The specification changed after it was checked.")
        return data


class SentSpan(NamedTuple):
    """Where a file's numbered body sits in Pack.prompt (see sent.py)."""

    start: int
    end: int
    final_newline: bool


@dataclass
class IncludedFile:
    path: str
    size_bytes: int
    tokens: int
    redactions: int = 0
    sent: SentSpan | None = field(default=None, repr=False, compare=False)


@dataclass
class ExcludedFile:
    path: str
    reason: str
    detail: str = ""


@dataclass
class Redaction:
    path: str
    line: int
    kind: str


@dataclass
class Pack:
    instructions: str
    prompt: str
    spec: SpecDocument | None
    included: list[IncludedFile]
    excluded: list[ExcludedFile]
    redactions: list[Redaction]
    prompt_tokens: int
    spec_tokens: int
    budget_tokens: int
    count_ratio: float = 1.0  # the provider's tokens per o200k token the budget assumed
    context_tokens: int = 0
    max_output_tokens: int = 0
    margin_tokens: int = 0
    coverage: dict = field(default_factory=dict)  # coverage.coverage_summary()

    def summary(self) -> dict:
        """JSON-serialisable figures for the web preview, the report and the CLI."""
        by_reason = Counter(e.reason for e in self.excluded)
        top = sorted(self.included, key=lambda f: (-f.tokens, f.path))[:20]
        return {
            "included_count": len(self.included),
            "excluded_count": len(self.excluded),
            "excluded_by_reason": {r: by_reason[r] for r in REASONS if by_reason[r]},
            "included_bytes": sum(f.size_bytes for f in self.included),
            "included_file_tokens": sum(f.tokens for f in self.included),
            "top_files": [{"path": f.path, "tokens": f.tokens, "bytes": f.size_bytes} for f in top],
            "excluded": [
                {"path": e.path, "reason": e.reason, "detail": e.detail} for e in self.excluded
            ],
            "redactions": [
                {"path": r.path, "line": r.line, "kind": r.kind} for r in self.redactions
            ],
            "redaction_count": len(self.redactions),
            "coverage": self.coverage,
            "spec": None
            if self.spec is None
            else {
                "filename": self.spec.filename,
                "pages": self.spec.page_count,
                "bytes": self.spec.size_bytes,
                "estimated_tokens": self.spec.estimated_tokens,
            },
            "budget": {
                "context_tokens": self.context_tokens,
                "max_output_tokens": self.max_output_tokens,
                "spec_tokens": self.spec_tokens,
                "margin_tokens": self.margin_tokens,
                "budget_tokens": self.budget_tokens,
                "prompt_tokens": self.prompt_tokens,
                "total_input_tokens": self.prompt_tokens + self.spec_tokens,
                "count_ratio": self.count_ratio,
                "provider_input_tokens": round(
                    (self.prompt_tokens + self.spec_tokens) * self.count_ratio
                ),
            },
        }
