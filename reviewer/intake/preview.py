"""What a review would send, computed in the web process before any money is spent.

Packing takes seconds of CPU, and every keystroke on the preview asks for a new one, so
the web process guards itself: at most PREVIEW_CONCURRENCY packs run at a time, the
last few results are kept (the same archive, model and patterns give the same preview),
and a request still waiting for a slot gives up when a newer one for the same review
and user has arrived (only the newest is shown anyway)."""

import asyncio
import itertools
import json
import threading
import weakref
from collections import Counter, OrderedDict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace

from asgiref.sync import sync_to_async
from django.conf import settings

from reviewer import llm
from reviewer.packing import PackingError, pack
from reviewer.reviews.models import Status
from reviewer.reviews.storage_files import local_copy
from reviewer.runs import fitting, library_settings

CACHE_SIZE = 16


@dataclass
class Preview:
    # Only what the page shows, so that cached previews stay small (no prompt, no PDF).
    summary: dict | None = None
    included: list = field(default_factory=list)
    error: str = ""
    model: object = None
    estimated_cost: object = None
    used_percent: float = 0.0
    over_budget: bool = False
    # Split mode: one entry per part (number, files, input_tokens), when it takes several.
    parts: list = field(default_factory=list)
    split: bool = False  # split mode was asked for (even if everything fits in one)
    count: dict | None = None  # which count the request is fitted by (fitting.count_summary)
    cacheable: bool = True  # False when the stored files could not be read this time


class Superseded(Exception):
    """A newer preview request for the same review arrived while this one waited."""


# -- at most N packs at a time --------------------------------------------------------
_slots = weakref.WeakKeyDictionary()  # event loop -> (size, asyncio.Semaphore)


def _slot():
    # asyncio primitives belong to one event loop; a process under uvicorn has one.
    loop = asyncio.get_running_loop()
    size = max(1, int(settings.PREVIEW_CONCURRENCY))
    held = _slots.get(loop)
    if held is None or held[0] != size:
        held = (size, asyncio.Semaphore(size))
        _slots[loop] = held
    return held[1]


# -- the last few previews --------------------------------------------------------------
_cache = OrderedDict()
_cache_lock = threading.Lock()


def _cache_key(review, model, options, ratio, split=False):
    # Everything the result depends on: the archive's content, the stored spec (uploads
    # are never rewritten under their name), the model's limits and prices, the options.
    return (
        review.archive_sha256 or review.archive.name,
        review.spec.name,
        model,
        ratio,
        json.dumps(asdict(options), sort_keys=True, default=str),
        split,
    )


def _cached(key):
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    return None


def _remember(key, preview):
    with _cache_lock:
        _cache[key] = preview
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def clear_cache():
    with _cache_lock:
        _cache.clear()


# -- the newest request wins -------------------------------------------------------------
_numbers = itertools.count(1)
_newest = {}
_waiting = Counter()
_newest_lock = threading.Lock()


@contextmanager
def newest_request(key):
    """Registers a request under `key`; yields a function telling whether a newer one
    has arrived since. Entries live only while requests for the key are in flight."""
    with _newest_lock:
        number = next(_numbers)
        _newest[key] = number
        _waiting[key] += 1
    try:
        yield lambda: _newest.get(key) != number
    finally:
        with _newest_lock:
            _waiting[key] -= 1
            if not _waiting[key]:
                del _waiting[key]
                del _newest[key]


async def abuild_preview(review, snapshot, superseded=None):
    """The preview of `review` packed as `snapshot` says (library_settings.snapshot_for).
    Raises Superseded if `superseded()` is true once a slot is free."""
    model, options, ratio = await sync_to_async(_inputs)(snapshot, review)
    options = library_settings.with_upload_names(options, review)
    split = library_settings.is_split(snapshot)
    key = _cache_key(review, model, options, ratio, split)
    found = _cached(key)
    if found is not None:
        return _with_stored_count(found, review)
    async with _slot():
        if superseded is not None and superseded():
            raise Superseded
        # An identical request may have filled the cache while this one waited.
        found = _cached(key)
        if found is None:
            # Off the event loop and off the shared sync thread; no database in there.
            found = await asyncio.to_thread(
                _pack_stored, review.archive, review.spec, model, options, ratio, split
            )
            if found.cacheable:
                _remember(key, found)
    return _with_stored_count(found, review)


def _inputs(snapshot, review):
    """The model, options and count ratio: a started review's preview packs with the
    ratio its run used (after any refit), so that it shows what was sent."""
    model = library_settings.model_for(snapshot["model"])
    ratio = fitting.stored_ratio(review) if review.status != Status.DRAFT else None
    ratio = ratio or library_settings.count_ratio_for(model)
    return model, library_settings.options_from_snapshot(snapshot), ratio


def _with_stored_count(preview, review):
    """A started review says which count its request was fitted by (the provider's own
    count, when the worker asked for it)."""
    stored = (review.pack_summary or {}).get("count")
    if review.status == Status.DRAFT or not stored or preview.error:
        return preview
    return replace(preview, count=stored)


def _pack_stored(archive, spec, model, options, ratio, split):
    """Packs the stored uploads, read from wherever the storage keeps them."""
    try:
        with local_copy(archive) as archive_path, local_copy(spec) as spec_path:
            return _pack_preview(archive_path, spec_path, model, options, ratio, split)
    except OSError:
        error = "The uploaded files could not be read from storage just now; try again."
        return Preview(error=error, model=model, split=split, cacheable=False)


def _pack_preview(archive_path, spec_path, model, options, ratio, split=False):
    budget = library_settings.budget_for(model, ratio.value)
    try:
        if split:
            found = split_preview(archive_path, spec_path, model, options, budget)
            if found is not None:
                return found
        packed = pack(archive_path, spec_path, budget, options)
    except PackingError as exc:
        return Preview(error=str(exc), model=model, split=split)
    input_tokens = packed.prompt_tokens + packed.spec_tokens
    # The window is the provider's; so is the share of it the bar shows.
    provider_tokens = input_tokens * ratio.value
    usable = max(1, model.context_tokens - model.max_output_tokens)
    return Preview(
        summary=packed.summary(),
        included=packed.included,
        model=model,
        estimated_cost=llm.estimate_cost(model, round(provider_tokens), model.max_output_tokens),
        used_percent=min(100.0, 100.0 * provider_tokens / usable),
        over_budget=any(e.reason == "over budget" for e in packed.excluded),
        split=split,
        count=fitting.count_summary(model, ratio, input_tokens),
    )


def split_preview(archive_path, spec_path, model, options, budget):
    """The preview of a review in parts; None when everything fits in one request (split
    mode then sends one, as the usual mode would)."""
    from reviewer.packing.split import pack_split
    from reviewer.splits.run import estimated_cost

    packed = pack_split(archive_path, spec_path, budget, options)
    if len(packed.parts) < 2:
        return None
    usable = max(1, model.context_tokens - model.max_output_tokens)
    largest = max(p.prompt_tokens for p in packed.parts) + packed.spec_tokens
    included = sorted((f for p in packed.parts for f in p.included), key=lambda f: f.path)
    parts = [
        {
            "number": p.index + 1,
            "files": len(p.files),
            "roots": p.roots,
            "truncated": p.truncated,
            "input_tokens": p.prompt_tokens + packed.spec_tokens,
        }
        for p in packed.parts
    ]
    return Preview(
        summary=packed.summary(),
        included=included,
        model=model,
        estimated_cost=estimated_cost(model, packed),
        used_percent=min(100.0, 100.0 * largest / usable),
        parts=parts,
        split=True,
    )
