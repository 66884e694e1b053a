"""Turning the selected archive members into counted file blocks, and the rest into
exclusions with a reason."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from .archive import KIND_FILE, KIND_HARDLINK, KIND_SYMLINK, Member, human
from .models import (
    REASON_BINARY,
    REASON_DEFAULT,
    REASON_HARDLINK,
    REASON_SPECIAL,
    REASON_SYMLINK,
    REASON_TOO_LARGE,
    ExcludedFile,
    PackOptions,
    Redaction,
)
from .parallel import Pool, Row, default_workers, prepare, release_freed_memory
from .progress import COUNTING, ProgressCallback, nothing
from .request import Candidate
from .select import Selector
from .token_cache import TokenCache, block_key
from .tokens import ENCODING_NAME, count_tokens


@dataclass
class Scanned:
    candidates: list[Candidate] = field(default_factory=list)
    excluded: list[ExcludedFile] = field(default_factory=list)  # sorted by path
    redactions: list[Redaction] = field(default_factory=list)


def scan(
    by_path: dict[str, Member],
    selector: Selector,
    options: PackOptions,
    cache: TokenCache | None,
    progress: ProgressCallback = nothing,
    pool: Pool | None = None,
) -> Scanned:
    """Decode, redact and count every selected file, in path order: on ``pool``'s
    processes and this one, else here with counting threads.

    Frees each member's bytes as soon as its text is made, and empties ``by_path``."""
    out = Scanned()
    excluded = _Exclusions()
    total = len(by_path)
    if pool is not None:
        _scan_on_pool(by_path, selector, options, cache, progress, pool, out, excluded)
        out.excluded = excluded.sorted()
        return out
    threads = options.workers or default_workers()
    with _TokenCounter(cache, threads) as counter:
        for done, path in enumerate(sorted(by_path)):
            progress(COUNTING, done, total)
            m = by_path[path]
            if excluded.add_unselected(path, m, selector, options):
                m.data = None
                continue
            cand = _candidate(path, m, out.redactions)
            if cand is None:
                excluded.add(path, REASON_BINARY)
                continue
            out.candidates.append(cand)
            counter.add(cand)
        by_path.clear()
        counter.finish()
        progress(COUNTING, total, total)
    out.excluded = excluded.sorted()
    return out


def _scan_on_pool(
    by_path: dict[str, Member],
    selector: Selector,
    options: PackOptions,
    cache: TokenCache | None,
    progress: ProgressCallback,
    pool: Pool,
    out: Scanned,
    excluded: _Exclusions,
) -> None:
    total = len(by_path)
    items: list[tuple[int, str, bytes]] = []
    paths: list[str] = []
    mtimes: list[float] = []
    for path in sorted(by_path):
        m = by_path[path]
        if excluded.add_unselected(path, m, selector, options):
            m.data = None
            continue
        items.append((len(items), path, m.data))
        paths.append(path)
        mtimes.append(m.mtime)
        m.data = None
    by_path.clear()
    skipped = total - len(items)
    done = [skipped]

    def advanced(n: int) -> None:
        done[0] += n
        progress(COUNTING, done[0], total)

    progress(COUNTING, skipped, total)
    rows: list[Row | None] = [None] * len(items)
    lookup = cache.get if cache is not None else None
    for result in pool.run(items, lookup, advanced):
        for row in result.rows:
            rows[row[0]] = row
        if cache is not None:
            cache.put_many(result.new_counts)
            cache.touch_many(result.touched)
    release_freed_memory()
    for row in rows:
        index, block, size, found, final_newline, tokens = row
        path = paths[index]
        if block is None:
            excluded.add(path, REASON_BINARY)
            continue
        for line, kind in found:
            out.redactions.append(Redaction(path, line, kind))
        out.candidates.append(
            Candidate(path, size, block, len(found), tokens, final_newline, mtime=mtimes[index])
        )


def _candidate(path: str, m: Member, redactions: list[Redaction]) -> Candidate | None:
    """The file's redacted, numbered block; None for a binary file."""
    size = len(m.data)
    prepared = prepare(path, m.data)
    m.data = None  # the text is all we keep from here on
    if prepared is None:
        return None
    block, found, final_newline = prepared
    for line, kind in found:
        redactions.append(Redaction(path, line, kind))
    return Candidate(path, size, block, len(found), final_newline=final_newline, mtime=m.mtime)


class _Exclusions:
    """Excluded files; those ignored because of a folder are counted per folder."""

    def __init__(self) -> None:
        self.files: list[ExcludedFile] = []
        self.dir_counts: dict[tuple[str, str], list] = {}

    def add(self, path: str, reason: str, detail: str = "") -> None:
        self.files.append(ExcludedFile(path, reason, detail))

    def add_unselected(
        self, path: str, m: Member, selector: Selector, options: PackOptions
    ) -> bool:
        """Record why ``m`` is left out, if it is; False for a file to read."""
        if m.kind != KIND_FILE:
            reason = {KIND_SYMLINK: REASON_SYMLINK, KIND_HARDLINK: REASON_HARDLINK}.get(
                m.kind, REASON_SPECIAL
            )
            self.add(path, reason, f"points to {m.link_target}" if m.link_target else "")
            return True
        dec = selector.decide(path)
        if dec.ignored:
            if dec.via_dir:
                entry = self.dir_counts.get((dec.via_dir, dec.reason))
                if entry is None:
                    self.dir_counts[(dec.via_dir, dec.reason)] = [1, dec.detail]
                else:
                    entry[0] += 1
            else:
                self.add(path, dec.reason, dec.detail)
            return True
        if m.too_large:
            self.add(path, REASON_TOO_LARGE, f"larger than {human(options.max_file_bytes)}")
            return True
        if m.data is None:
            # Skipped while reading by a built-in rule the selector did not repeat.
            self.add(path, REASON_DEFAULT)
            return True
        return False

    def sorted(self) -> list[ExcludedFile]:
        out = list(self.files)
        for (d, reason), (count, detail) in self.dir_counts.items():
            files = f"{count} file{'s' if count != 1 else ''}"
            out.append(ExcludedFile(d + "/", reason, f"{files}; {detail}" if detail else files))
        return sorted(out, key=lambda e: e.path)


class _TokenCounter:
    """Counts candidate blocks: from the cache, else on worker threads, else inline.

    Token counting is the single largest cost (~6M tokens for a 20 MB repository):
    counts of blocks seen before come from the cache; the others are counted on
    worker threads (tiktoken releases the GIL) while the caller decodes and scans."""

    def __init__(self, cache: TokenCache | None, threads: int) -> None:
        self.cache = cache
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self.pending: list[tuple[Candidate, bytes | None, Future[int]]] = []

    def __enter__(self) -> _TokenCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def add(self, cand: Candidate) -> None:
        key = None
        if self.cache is not None:
            key = block_key(ENCODING_NAME, cand.block)
            cached = self.cache.get(key, len(cand.block))
            if cached is not None:
                cand.tokens = cached
                return
        if self.pool is not None:
            # Counted in Rust (GIL released) while this thread reads the next files.
            self.pending.append((cand, key, self.pool.submit(count_tokens, cand.block)))
        else:
            self._set(cand, key, count_tokens(cand.block))

    def finish(self) -> None:
        for cand, key, fut in self.pending:
            self._set(cand, key, fut.result())
        self.pending.clear()

    def _set(self, cand: Candidate, key: bytes | None, tokens: int) -> None:
        cand.tokens = tokens
        if key is not None:
            self.cache.put(key, tokens)
