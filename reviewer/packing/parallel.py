"""The per-file work of a pack (decode, redact, lay out, count) on several cores.

Counting tokens is most of a first pack, and the Python steps around it (decoding,
the secret scan, numbering lines) take most of the rest, so the selected files are
cut into chunks and worked on by ``workers - 1`` child processes and the calling
process together: the children take chunks from the front, the caller from the back,
until none is left. Each file's result is the same whichever process made it (the
work is a pure function of path and bytes), and results are put back in path order,
so the pack is identical to the serial one.

Children are forked while the caller has no other thread (cheap: nothing to import
or build), else started by a fork server. Where no process can be started - a
daemonic process such as a Celery prefork child, a sandbox - ``start`` returns None
and the caller counts on threads instead; a chunk whose child died is redone in the
calling process. The caller sets ``PackOptions.workers`` so that packs run side by
side do not oversubscribe the machine; 1 means no child at all.

Each child opens the token cache read-only for its look-ups and hands the counts it
made back to the caller, which writes them with its own.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from .blocks import file_block
from .secrets import redact
from .text import decode_text
from .token_cache import TokenCache, block_key
from .tokens import ENCODING_NAME, count_tokens, get_encoding

log = logging.getLogger(__name__)

# Below this archive size the pack takes a fraction of a second and starting
# processes would cost more than it saves.
MIN_ARCHIVE_BYTES = 512 * 1024
CHUNKS_PER_WORKER = 8
# None: fork when the caller has a single thread, else a fork server.
START_METHOD: str | None = None


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def prepare(path: str, data: bytes) -> tuple[str, list[tuple[int, str]], bool] | None:
    """The file's redacted, numbered block, its findings and whether it ended with a
    newline; None for a binary file."""
    text = decode_text(data)
    if text is None:
        return None
    text, found = redact(text)
    return file_block(path, text), found, text.endswith("\n")


# One file's result: (index, block or None if binary, size, findings, final newline, tokens)
Row = tuple[int, str | None, int, list[tuple[int, str]], bool, int]


@dataclass
class ChunkResult:
    rows: list[Row]
    new_counts: list[tuple[bytes, int]] = field(default_factory=list)
    touched: list[bytes] = field(default_factory=list)
    peak_rss_kb: int = 0


def work(
    chunk: list[tuple[int, str, bytes]],
    cache_dir: str | None,
    lookup: Callable[[bytes, int], int | None] | None = None,
) -> ChunkResult:
    """Prepare and count one chunk. In a child, ``cache_dir`` is opened for look-ups;
    in the caller, ``lookup`` is its own open cache's ``get``."""
    cache = TokenCache.open(cache_dir) if cache_dir and lookup is None else None
    if cache is not None:
        lookup = cache.get
    out = ChunkResult([])
    try:
        for index, path, data in chunk:
            prepared = prepare(path, data)
            if prepared is None:
                out.rows.append((index, None, len(data), [], False, 0))
                continue
            block, found, final_newline = prepared
            tokens = None
            if lookup is not None:
                key = block_key(ENCODING_NAME, block)
                tokens = lookup(key, len(block))
            if tokens is None:
                tokens = count_tokens(block)
                if lookup is not None:
                    out.new_counts.append((key, tokens))
            out.rows.append((index, block, len(data), found, final_newline, tokens))
    finally:
        if cache is not None:
            out.touched = cache.take_touched()
            cache.close()
    out.peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def _child_init(build_tokenizer: bool) -> None:
    # A first pack will count every file: build the tokenizer while the caller
    # is still reading the archive. A warm cache may never need it.
    if build_tokenizer:
        get_encoding()


def _context() -> multiprocessing.context.BaseContext:
    method = START_METHOD
    if method is None:
        forkable = "fork" in multiprocessing.get_all_start_methods()
        # Forking a process with other threads can copy a lock that one of them
        # holds; a fork server is forked from a clean single-threaded process.
        method = "fork" if forkable and threading.active_count() == 1 else "forkserver"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload([__name__])
    return ctx


class Pool:
    """Child processes for ``pack()``; use ``Pool.start`` and ``close``."""

    def __init__(self, executor: ProcessPoolExecutor, children: int, cache_dir: str | None):
        self.executor = executor
        self.children = children
        self.cache_dir = cache_dir
        self.peak_rss_kb: list[int] = []  # per chunk done in a child, for the benchmark

    @classmethod
    def start(
        cls, workers: int, archive_bytes: int, cache_dir: str | None, cold: bool
    ) -> Pool | None:
        """Children for a pack of this size, or None: too small, one worker, or no
        process can be started here."""
        if workers < 2 or archive_bytes < MIN_ARCHIVE_BYTES:
            return None
        executor = None
        try:
            executor = ProcessPoolExecutor(
                workers - 1, _context(), initializer=_child_init, initargs=(cold,)
            )
            # Start the children now (they build the tokenizer while the caller reads
            # the archive; not waited for); this is where a daemonic process is refused.
            executor.submit(int)
        except Exception as exc:  # noqa: BLE001 - any failure means: no processes here
            log.info("packing without worker processes (%s)", exc)
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
            return None
        return cls(executor, workers - 1, cache_dir)

    def run(
        self,
        items: list[tuple[int, str, bytes]],
        lookup: Callable[[bytes, int], int | None] | None,
        done: Callable[[int], None],
    ) -> Iterator[ChunkResult]:
        """Every item worked on, children from the front, the caller from the back;
        yields chunk results in no particular order. Empties ``items``, and lets go of
        each chunk's bytes once its result is in (the blocks replace them)."""
        chunks: list[list | None] = _chunks(items, (self.children + 1) * CHUNKS_PER_WORKER)
        items.clear()
        futures: list[Future[ChunkResult] | None] = []
        for chunk in chunks:
            try:
                futures.append(self.executor.submit(work, chunk, self.cache_dir))
            except Exception:  # noqa: BLE001 - a broken pool: the caller does it
                futures.append(None)
        for i in range(len(chunks) - 1, -1, -1):
            fut = futures[i]
            if fut is None or fut.cancel():
                futures[i] = None
                chunk, chunks[i] = chunks[i], None
                yield work(chunk, None, lookup)
                done(len(chunk))
        for i, fut in enumerate(futures):
            if fut is None:
                continue
            chunk, chunks[i], futures[i] = chunks[i], None, None
            try:
                result = fut.result()
                self.peak_rss_kb.append(result.peak_rss_kb)
            except (CancelledError, Exception) as exc:  # noqa: BLE001
                # A child died (killed, out of memory) or the pool broke: redo it
                # here; a fault in the work itself is raised again by this call.
                log.warning("pack worker failed (%s): redoing its files here", exc)
                result = work(chunk, None, lookup)
            del fut
            yield result
            done(len(chunk))

    def close(self, wait: bool = True) -> None:
        """Stop the children; ``wait=False`` after a failed pack (a bad archive need
        not wait for a child still building its tokenizer)."""
        self.executor.shutdown(wait=wait, cancel_futures=True)


def release_freed_memory() -> None:
    """Hand the heap pages freed by the scan back to the system (glibc only).

    The archive's bytes are freed while the blocks that replace them arrive from the
    workers, which leaves ~20 MB of holes that glibc keeps; the prompt is built next,
    and this keeps the peak where the serial scan has it."""
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


def _chunks(items: list[tuple[int, str, bytes]], parts: int) -> list[list]:
    """Consecutive runs of items of about equal bytes (at least one item each)."""
    total = sum(len(data) for _, _, data in items)
    target = max(1, total // max(parts, 1))
    chunks: list[list] = []
    current: list = []
    size = 0
    for item in items:
        current.append(item)
        size += len(item[2])
        if size >= target:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    return chunks
