"""pack(): archive + PDF -> the best single request that fits the model.

The steps, in order: check the spec and what room it leaves; read the archive;
select files; decode, redact and count each kept file (scan.py); fit the files
into the budget; build the Pack.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .archive import KIND_FILE, Member, iter_archive
from .blocks import body_span
from .coverage import coverage_summary
from .errors import PackingError
from .importance import drop_order
from .models import (
    REASON_OVER_BUDGET,
    Budget,
    ExcludedFile,
    IncludedFile,
    Pack,
    PackOptions,
    SentSpan,
    SpecDocument,
)
from .names import display_name
from .parallel import Pool, default_workers
from .pdf import check_pdf
from .progress import FITTING, READING, ProgressCallback, nothing
from .request import INSTRUCTIONS, Candidate, Omitted, fit
from .scan import Scanned, scan
from .select import Selector, compile_patterns, default_ignored, matches_self_or_parent
from .token_cache import FILENAME as CACHE_FILENAME
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
    progress: ProgressCallback = nothing,
) -> Pack:
    """Read, select, redact and lay out the repository; raises PackingError on bad input.

    ``progress(stage, done, total)`` is called as files are read and counted (see
    progress.py); wrap it in ``progress.throttled`` when each call costs something."""
    options = options or PackOptions()
    spec = _check_spec(spec_path, budget, options)
    room = _room(budget, options, spec)
    # Started first: the children get ready while this process reads the archive.
    # Before the cache is opened here: a forked child must not inherit an open
    # SQLite connection (SQLite's per-process lock bookkeeping would be copied).
    pool = start_pool(archive_path, options)
    cache = (
        TokenCache.open(options.cache_dir, options.cache_max_entries) if options.cache_dir else None
    )
    failed = True
    try:
        prefix, by_path = _read_repository(archive_path, options, progress)
        selector = _selector(by_path, options)
        scanned = scan(by_path, selector, options, cache, progress, pool)
        failed = False
        progress(FITTING, 0, len(scanned.candidates))
        title = _title(prefix, archive_path, options)
        return _fit_pack(title, spec, scanned, room, _cached_counter(cache))
    finally:
        if pool is not None:
            pool.close(wait=not failed)
        if cache is not None:
            cache.close()  # writes the new counts


def start_pool(archive_path: str | os.PathLike, options: PackOptions) -> Pool | None:
    """Worker processes for this pack (parallel.py), or None to work in this process."""
    try:
        size = os.path.getsize(archive_path)
    except (OSError, TypeError):
        return None
    workers = options.workers or default_workers()
    # No cache file yet (a first pack): every child will need the tokenizer.
    cold = not options.cache_dir or not os.path.exists(
        os.path.join(options.cache_dir, CACHE_FILENAME)
    )
    return Pool.start(workers, size, options.cache_dir, cold)


@dataclass
class _Room:
    """How the model's context is shared out; ``budget_tokens`` is what the code gets."""

    context_tokens: int
    max_output_tokens: int
    spec_tokens: int
    margin_tokens: int
    budget_tokens: int
    count_ratio: float = 1.0


def _check_spec(
    spec_path: str | os.PathLike | None, budget: Budget, options: PackOptions
) -> SpecDocument | None:
    if spec_path is None:
        return None
    return check_pdf(
        spec_path, budget.pdf_max_pages, budget.pdf_max_bytes, filename=options.spec_name
    )


def _room(budget: Budget, options: PackOptions, spec: SpecDocument | None) -> _Room:
    spec_tokens = spec.estimated_tokens if spec else 0
    margin_tokens = int(budget.context_tokens * options.margin)
    # The window is in the provider's count; our figures are o200k.
    ratio = max(budget.count_ratio, 0.1)
    room = budget.context_tokens - budget.max_output_tokens - margin_tokens
    budget_tokens = int(room / ratio) - spec_tokens
    if budget_tokens <= 0:
        if spec is not None:
            raise PackingError(
                f"The specification alone (about {spec_tokens:,} tokens) leaves no room "
                "for the code in this model's context."
            )
        raise PackingError("This model's context leaves no room for the code.")
    return _Room(
        budget.context_tokens,
        budget.max_output_tokens,
        spec_tokens,
        margin_tokens,
        budget_tokens,
        budget.count_ratio,
    )


def _read_repository(
    archive_path: str | os.PathLike, options: PackOptions, progress: ProgressCallback = nothing
) -> tuple[str, dict[str, Member]]:
    """The common top folder ('' if none) and the members by path below it."""
    members = []
    progress(READING, 0, None)
    for member in iter_archive(archive_path, options, _reading_rule(options)):
        members.append(member)
        progress(READING, len(members), None)
    prefix = strip_common_folder([m.path for m in members])
    by_path: dict[str, Member] = {}
    for m in members:
        if prefix:
            m.path = m.path[len(prefix) + 1 :]
        by_path[m.path] = m  # a later duplicate wins, as when tar extracts
    return prefix, by_path


def _selector(by_path: dict[str, Member], options: PackOptions) -> Selector:
    gitignores = {
        posixpath.dirname(p): m.data.decode("utf-8", "replace")
        for p, m in by_path.items()
        if posixpath.basename(p) == ".gitignore" and m.kind == KIND_FILE and m.data is not None
    }
    return Selector(
        list(by_path),
        gitignores,
        options.extra_ignores,
        options.force_includes,
        use_defaults=options.default_ignores,
    )


def _title(prefix: str, archive_path: str | os.PathLike, options: PackOptions) -> str:
    """The repository's top folder, else the archive's name as the user gave it."""
    if options.archive_name is None:  # a caller that knows no other name
        return display_name(prefix or Path(archive_path).name, "repository")
    return display_name(prefix or options.archive_name, "repository")


def _spec_note(spec: SpecDocument | None) -> str:
    if spec is None:
        return "No specification was provided: review the code on its own merits.\n"
    name = display_name(spec.filename, "specification.pdf")
    return f"The specification is the attached PDF `{name}` ({spec.page_count} pages).\n"


def _fit_pack(
    title: str,
    spec: SpecDocument | None,
    scanned: Scanned,
    room: _Room,
    count: Callable[[str], int],
) -> Pack:
    ranked = []  # the Ranking, when the repository did not fit and was ranked

    def order_for(candidates: list[Candidate]) -> list[Candidate]:
        order, ranking = drop_order(candidates, spec.text if spec else "")
        ranked.append(ranking)
        return order

    kept, listed, prompt, prompt_tokens = fit(
        title,
        scanned.candidates,
        [Omitted(e.path, e.reason, e.detail) for e in scanned.excluded],
        _spec_note(spec),
        room.budget_tokens,
        count=count,
        order_for=order_for,
    )
    if not kept:
        raise PackingError(
            "No file of the repository fits this model's context once the specification "
            "and the answer are reserved."
        )
    kept_paths = {c.path for c in kept}
    over = [
        ExcludedFile(o.path, o.reason, o.detail) for o in listed if o.reason == REASON_OVER_BUDGET
    ]
    return Pack(
        instructions=INSTRUCTIONS,
        prompt=prompt,
        spec=spec,
        included=[_included(c) for c in kept],
        excluded=sorted(scanned.excluded + over, key=lambda e: e.path),
        redactions=[r for r in scanned.redactions if r.path in kept_paths],
        prompt_tokens=prompt_tokens,
        spec_tokens=room.spec_tokens,
        budget_tokens=room.budget_tokens,
        count_ratio=room.count_ratio,
        context_tokens=room.context_tokens,
        max_output_tokens=room.max_output_tokens,
        margin_tokens=room.margin_tokens,
        coverage=coverage_summary(scanned.candidates, kept_paths, ranked[0] if ranked else None),
    )


def _included(c: Candidate) -> IncludedFile:
    # Only where the file sits in the prompt is kept, not a second copy of its text.
    start, end = body_span(c.path, c.block)
    sent = SentSpan(c.offset + start, c.offset + end, c.final_newline)
    return IncludedFile(c.path, c.size_bytes, c.tokens, c.redactions, sent=sent)


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
