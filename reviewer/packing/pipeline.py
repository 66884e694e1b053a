"""pack(): archive + PDF -> the best single request that fits the model."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from .archive import (
    KIND_FILE,
    KIND_HARDLINK,
    KIND_SYMLINK,
    Member,
    human,
    iter_archive,
    read_archive,
)
from .errors import PackingError
from .models import (
    REASON_BINARY,
    REASON_DEFAULT,
    REASON_HARDLINK,
    REASON_SPECIAL,
    REASON_SYMLINK,
    REASON_TOO_LARGE,
    Budget,
    ExcludedFile,
    IncludedFile,
    Pack,
    PackOptions,
    Redaction,
)
from .pdf import check_pdf
from .request import INSTRUCTIONS, Candidate, Omitted, file_block, fit
from .secrets import redact
from .select import Selector, compile_patterns, default_ignored, matches_self_or_parent
from .text import decode_text
from .token_cache import TokenCache, block_key
from .tokens import ENCODING_NAME, count_tokens


def strip_common_folder(paths: list[str]) -> str:
    """The single top-level folder every member sits in ('' if there is none)."""
    first = None
    for p in paths:
        head, sep, _ = p.partition("/")
        if not sep:
            return ""
        if first is None:
            first = head
        elif head != first:
            return ""
    return first or ""


def _reading_rule(options: PackOptions) -> Callable[[str], bool]:
    """Which files pack() reads the bytes of: all but those a built-in rule drops anyway."""
    force = compile_patterns(options.force_includes)

    def want(raw_path: str) -> bool:
        # Force-includes are written relative to the repository root, which we only know
        # at the end, so try the path both with and without its first folder.
        if not options.default_ignores or not default_ignored(raw_path):
            return True
        if force is None:
            return False
        tail = raw_path.partition("/")[2]
        return matches_self_or_parent(force, raw_path) or bool(
            tail and matches_self_or_parent(force, tail)
        )

    return want


def check_archive(
    archive: str | os.PathLike | BinaryIO, options: PackOptions | None = None
) -> None:
    """Read the archive as pack() would, keeping nothing: raises the PackingError that
    pack() would raise while reading it, without selecting, redacting or counting."""
    options = options or PackOptions()
    for member in iter_archive(archive, options, _reading_rule(options)):
        member.data = None


def pack(
    archive_path: str | os.PathLike,
    spec_path: str | os.PathLike | None,
    budget: Budget,
    options: PackOptions | None = None,
) -> Pack:
    """Read, select, redact and lay out the repository; raises PackingError on bad input."""
    options = options or PackOptions()
    spec = None
    if spec_path is not None:
        spec = check_pdf(spec_path, budget.pdf_max_pages, budget.pdf_max_bytes)
    spec_tokens = spec.estimated_tokens if spec else 0
    margin_tokens = int(budget.context_tokens * options.margin)
    budget_tokens = budget.context_tokens - budget.max_output_tokens - spec_tokens - margin_tokens
    if budget_tokens <= 0:
        if spec is not None:
            raise PackingError(
                f"The specification alone (about {spec_tokens:,} tokens) leaves no room "
                "for the code in this model's context."
            )
        raise PackingError("This model's context leaves no room for the code.")

    members = read_archive(archive_path, options, _reading_rule(options))
    prefix = strip_common_folder([m.path for m in members])
    by_path: dict[str, Member] = {}
    for m in members:
        if prefix:
            m.path = m.path[len(prefix) + 1 :]
        by_path[m.path] = m  # a later duplicate wins, as when tar extracts
    del members

    gitignores = {
        posixpath.dirname(p): m.data.decode("utf-8", "replace")
        for p, m in by_path.items()
        if posixpath.basename(p) == ".gitignore" and m.kind == KIND_FILE and m.data is not None
    }
    selector = Selector(
        list(by_path),
        gitignores,
        options.extra_ignores,
        options.force_includes,
        use_defaults=options.default_ignores,
    )

    excluded: list[ExcludedFile] = []
    dir_counts: dict[tuple[str, str], list] = {}
    candidates: list[Candidate] = []
    redactions: list[Redaction] = []
    # Token counting is the single largest cost (~6M tokens for a 20 MB repository):
    # counts of blocks seen before come from the cache; the others are counted on
    # worker threads (tiktoken releases the GIL) while this thread decodes and scans.
    cache = (
        TokenCache.open(options.cache_dir, options.cache_max_entries) if options.cache_dir else None
    )
    try:
        pool = ThreadPoolExecutor(options.count_threads) if options.count_threads > 1 else None
        counting: list[tuple[Candidate, bytes | None, Future[int]]] = []
        try:
            for path in sorted(by_path):
                m = by_path[path]
                if m.kind != KIND_FILE:
                    reason = {KIND_SYMLINK: REASON_SYMLINK, KIND_HARDLINK: REASON_HARDLINK}.get(
                        m.kind, REASON_SPECIAL
                    )
                    detail = f"points to {m.link_target}" if m.link_target else ""
                    excluded.append(ExcludedFile(path, reason, detail))
                    continue
                dec = selector.decide(path)
                if dec.ignored:
                    if dec.via_dir:
                        entry = dir_counts.get((dec.via_dir, dec.reason))
                        if entry is None:
                            dir_counts[(dec.via_dir, dec.reason)] = [1, dec.detail]
                        else:
                            entry[0] += 1
                    else:
                        excluded.append(ExcludedFile(path, dec.reason, dec.detail))
                    m.data = None
                    continue
                if m.too_large:
                    excluded.append(
                        ExcludedFile(
                            path, REASON_TOO_LARGE, f"larger than {human(options.max_file_bytes)}"
                        )
                    )
                    continue
                if m.data is None:
                    # Skipped while reading by a built-in rule the selector did not repeat.
                    excluded.append(ExcludedFile(path, REASON_DEFAULT))
                    continue
                text = decode_text(m.data)
                size = len(m.data)
                m.data = None  # the text is all we keep from here on
                if text is None:
                    excluded.append(ExcludedFile(path, REASON_BINARY))
                    continue
                text, found = redact(text)
                for line, kind in found:
                    redactions.append(Redaction(path, line, kind))
                block = file_block(path, text)
                del text
                cand = Candidate(path, size, block, len(found))
                candidates.append(cand)
                key = None
                if cache is not None:
                    key = block_key(ENCODING_NAME, block)
                    cached = cache.get(key, len(block))
                    if cached is not None:
                        cand.tokens = cached
                        continue
                if pool is not None:
                    # Counted in Rust (GIL released) while this thread reads the next files.
                    counting.append((cand, key, pool.submit(count_tokens, block)))
                else:
                    cand.tokens = count_tokens(block)
                    if key is not None:
                        cache.put(key, cand.tokens)
            by_path.clear()
            for cand, key, fut in counting:
                cand.tokens = fut.result()
                if key is not None:
                    cache.put(key, cand.tokens)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        for (d, reason), (count, detail) in dir_counts.items():
            files = f"{count} file{'s' if count != 1 else ''}"
            excluded.append(
                ExcludedFile(d + "/", reason, f"{files}; {detail}" if detail else files)
            )
        excluded.sort(key=lambda e: e.path)

        title = prefix or Path(os.fspath(archive_path)).name
        spec_note = (
            f"The specification is the attached PDF `{spec.filename}` ({spec.page_count} pages).\n"
            if spec
            else "No specification was provided: review the code on its own merits.\n"
        )
        kept, listed, prompt, prompt_tokens = fit(
            title,
            candidates,
            [Omitted(e.path, e.reason, e.detail) for e in excluded],
            spec_note,
            budget_tokens,
            count=_cached_counter(cache),
        )
        if not kept:
            raise PackingError(
                "No file of the repository fits this model's context once the specification "
                "and the answer are reserved."
            )
        kept_paths = {c.path for c in kept}
        over = [
            ExcludedFile(o.path, o.reason, o.detail) for o in listed if o.reason == "over budget"
        ]
        excluded = sorted(excluded + over, key=lambda e: e.path)
        return Pack(
            instructions=INSTRUCTIONS,
            prompt=prompt,
            spec=spec,
            included=[IncludedFile(c.path, c.size_bytes, c.tokens, c.redactions) for c in kept],
            excluded=excluded,
            redactions=[r for r in redactions if r.path in kept_paths],
            prompt_tokens=prompt_tokens,
            spec_tokens=spec_tokens,
            budget_tokens=budget_tokens,
            context_tokens=budget.context_tokens,
            max_output_tokens=budget.max_output_tokens,
            margin_tokens=margin_tokens,
        )
    finally:
        if cache is not None:
            cache.close()  # writes the new counts


def _cached_counter(cache: TokenCache | None) -> Callable[[str], int]:
    """count_tokens through the cache (for the prompt's head and tail, and instructions)."""
    if cache is None:
        return count_tokens

    def count(text: str) -> int:
        key = block_key(ENCODING_NAME, text)
        n = cache.get(key, len(text))
        if n is None:
            n = count_tokens(text)
            cache.put(key, n)
        return n

    return count
