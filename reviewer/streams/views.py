"""The review's SSE stream. Async, so an open stream holds no thread."""

import asyncio
import contextvars
import html
import weakref
from collections import OrderedDict

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import StreamingHttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from reviewer.reports.rendering import report_context
from reviewer.reviews.access import aget_review_for_user
from reviewer.reviews.models import Review
from reviewer.splits import views as split_views
from reviewer.splits.events import PART_KINDS, PARTS
from reviewer.streams.hub import get_hub
from reviewer.streams.live_render import LiveText, render_blocks, tail_html
from reviewer.streams.relay import DELTA, DONE, NOTE, PROGRESS, STATUS, get_relay

SPLIT_KINDS = (*PART_KINDS, PARTS)
# The page's rendered view of the main text: finished blocks, and the unfinished tail.
BLOCK, TAIL = "block", "tail"


def _sse(event_id, kind, data):
    # Browsers end a line at \r\n, \n or a bare \r: every one of them becomes a new
    # `data:` line here, so no text can end a field and start a forged one.
    data = data.replace("\r\n", "\n").replace("\r", "\n")
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"id: {event_id}\nevent: {kind}\n{lines}\n"


async def _final_report_html(review_id):
    """The same for every viewer, so it can be shared; the page has its own Retry form."""
    review = await Review.objects.select_related("project__team").aget(pk=review_id)

    def render():
        return render_to_string("reviews/_report.html", report_context(None, review))

    return await sync_to_async(render)()


# The done event carries the rendered report; every viewer of a review gets the same one,
# so it is rendered once per process (per event loop) and shared, not once per viewer.
_REPORTS_KEPT = 32
_reports = weakref.WeakKeyDictionary()


async def _shared_final_report_html(review_id, done_id):
    loop = asyncio.get_running_loop()
    memo = _reports.setdefault(loop, OrderedDict())
    key = (review_id, done_id)
    task = memo.get(key)
    if task is None:
        # A context of its own: the viewer that starts it may leave before it finishes.
        task = loop.create_task(_final_report_html(review_id), context=contextvars.Context())
        memo[key] = task
        while len(memo) > _REPORTS_KEPT:
            memo.popitem(last=False)
    try:
        return await asyncio.shield(task)
    except Exception:
        if memo.get(key) is task:
            del memo[key]
        raise


def _release_connections():
    # A stream stays open for the whole review: don't hold a database connection for it
    # (200 viewers would otherwise be 200 PostgreSQL connections).
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


def _rendered(live, event_id, finished):
    """The page's view of the deltas just framed: newly finished blocks (`block`, appended)
    and the whole unfinished tail (`tail`, replaced). The raw `delta` events stay for
    API clients."""
    block = _sse(event_id, BLOCK, render_blocks(finished)) if finished else ""
    return block + _sse(event_id, TAIL, tail_html(live.tail))


async def _framed(review_id, events, live=None):
    """SSE text for a list of relay events, in pieces: the text before a `done` goes out
    before the report is rendered. With `live` (the page), the deltas also go out rendered;
    API clients read the raw deltas alone."""
    chunks, finished, last_delta = [], [], None
    for event in events:
        if event.kind != DELTA and last_delta is not None:
            chunks.append(_rendered(live, last_delta, "".join(finished)))
            finished, last_delta = [], None
        if event.kind in (DELTA, STATUS, NOTE):
            chunks.append(_sse(event.id, event.kind, html.escape(event.data)))
            if event.kind == DELTA and live is not None:
                finished.append(live.feed(event.data))
                last_delta = event.id
        elif event.kind in SPLIT_KINDS:
            chunks.append(await split_views.frame(review_id, event, _sse))
        elif event.kind == PROGRESS:
            # JSON the run made from numbers and fixed words, inert as HTML already.
            chunks.append(_sse(event.id, PROGRESS, event.data))
        elif event.kind == DONE:
            if chunks:
                yield "".join(chunks)
                chunks = []
            report = await _shared_final_report_html(review_id, event.id)
            chunks.append(_sse(event.id, DONE, report))
    if last_delta is not None:
        chunks.append(_rendered(live, last_delta, "".join(finished)))
    yield "".join(chunks)


async def _live_at(review_id, after):
    """The text the viewer has already seen: a resumed stream continues splitting it
    where the page (or the previous connection) left off, so no block comes twice."""
    live = LiveText()
    if after:
        seen = await get_relay().aread(review_id)
        live.feed("".join(e.data for e in seen if e.kind == DELTA and e.id <= after))
    return live


async def _events(review_id, after, live):
    # Tells EventSource to reconnect quickly after a dropped connection.
    yield "retry: 1000\n\n"
    async for events in get_hub().subscribe(review_id, after):
        if not events:
            yield ": heartbeat\n\n"
            continue
        async for piece in _framed(review_id, events, live):
            yield piece


async def _finished(review, events, after, live):
    """A finished review: its remaining events while the relay keeps them, otherwise
    (pruned, or resumed at or past `done`) the final view alone."""
    if any(e.kind == DONE for e in events):
        async for piece in _framed(review.pk, events, live):
            yield piece
        return
    done_id = max(after, review.report_event_id) + 1
    yield _sse(done_id, DONE, await _final_report_html(review.pk))


def _last_event_id(request):
    raw = request.headers.get("Last-Event-ID") or request.GET.get("lastEventId") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


# Many streams may open at once: a review with many viewers, or every EventSource
# reconnecting a second after a restart. Each one's checks take a database connection for
# a moment; only a few run at a time so that 200 of them never need 200 connections
# (PostgreSQL allows 100 by default).
DB_CHECKS_AT_ONCE = 16
_db_slots = weakref.WeakKeyDictionary()


def _checks_slot():
    loop = asyncio.get_running_loop()
    slot = _db_slots.get(loop)
    if slot is None:
        slot = _db_slots[loop] = asyncio.Semaphore(DB_CHECKS_AT_ONCE)
    return slot


@require_GET
async def review_events(request, pk, rendered=True):
    async with _checks_slot():
        try:
            user = await request.auser()
            if not user.is_authenticated:
                from django.http import HttpResponse

                return HttpResponse("Log in to follow this review.", status=401)
            review = await aget_review_for_user(user, pk)
            after = _last_event_id(request)
            live = await _live_at(review.pk, after) if rendered else None
            if review.is_final:
                events = await get_relay().aread(review.pk, after)
                stream = _finished(review, events, after, live)
            else:
                stream = _events(review.pk, after, live)
        finally:
            await sync_to_async(_release_connections)()
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"
    return response
