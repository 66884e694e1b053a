"""`progress` events: what a person waiting on a review is told besides its status.

- while queued: the review's place in the queue and how many reviews are running;
- while packing: the stage and its file counts ("counted 812 of 1,892 files");
- while streaming: the tokens streamed so far and their rate.

Each event's data is a JSON object made here from numbers and fixed words only, with
`<`, `>` and `&` escaped as JSON escapes, so that it is inert even where it would be
taken for HTML; no model or repository text ever goes into one.
"""

import json
import logging
import time

from reviewer.packing import count_tokens
from reviewer.packing.progress import throttled
from reviewer.reviews.models import Review, Status
from reviewer.streams.relay import PROGRESS, RUNNING_STATUSES, get_relay

log = logging.getLogger(__name__)

# How often a running review tells its viewers about packing and tokens, at most.
PACK_EVERY_SECONDS = 0.3
TOKENS_EVERY_SECONDS = 1.0
# Queued reviews told their place when the queue moves; later ones learn it as it shrinks.
QUEUE_TOLD = 200


def progress_event(stage, **fields):
    data = json.dumps({"stage": stage, **fields}, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (PROGRESS, data)


def latest(events):
    """The data of the last progress event among relay events, or None."""
    for event in reversed(events):
        if event.kind == PROGRESS:
            return event.data
    return None


# -- the queue -----------------------------------------------------------------------
def running_count():
    return Review.objects.filter(status__in=RUNNING_STATUSES).count()


def queued_in_order():
    # A queued review's lease deadline is set when it is sent to the queue: the order of
    # the deadlines is the order in which workers take the reviews.
    rows = Review.objects.filter(status=Status.QUEUED).order_by("lease_expires_at", "pk")
    return list(rows.values_list("pk", flat=True)[:QUEUE_TOLD])


def queue_event(position, running):
    return progress_event("queued", position=position, running=running)


def queue_place(review_id):
    """The progress event data for one queued review, computed now (None if not queued)."""
    order = queued_in_order()
    if review_id not in order:
        return None
    return queue_event(order.index(review_id) + 1, running_count())[1]


def announce_queue():
    """Tells every queued review its place; never raises (the queue works without it)."""
    try:
        order = queued_in_order()
        if not order:
            return
        relay = get_relay()
        running = running_count()
        for position, review_id in enumerate(order, start=1):
            relay.append(review_id, [queue_event(position, running)])
    except Exception:
        log.warning("could not tell queued reviews their place", exc_info=True)


# -- a running review ----------------------------------------------------------------
def pack_progress(send, started=None):
    """A pack() progress callback that sends at most a few events a second."""
    started = time.monotonic() if started is None else started

    def report(stage, done, total):
        elapsed = round(time.monotonic() - started, 1)
        send(progress_event(stage, done=done, total=total, elapsed=elapsed))

    return throttled(report, PACK_EVERY_SECONDS)


class TokenMeter:
    """Counts the tokens streamed (o200k, an estimate for other tokenizers) and reports
    them with their rate once a second; text is counted when a report is due."""

    def __init__(self, started=None, every=None, clock=time.monotonic):
        self.clock = clock
        self.every = TOKENS_EVERY_SECONDS if every is None else every
        self.started = clock() if started is None else started
        self.first_token_at = None
        self.tokens = 0
        self._pending = []
        self._last_report = None

    def add(self, text):
        if self.first_token_at is None:
            self.first_token_at = self.clock()
            self._last_report = self.first_token_at
        self._pending.append(text)

    def due(self):
        return self._pending and self.clock() - self._last_report >= self.every

    def event(self):
        if self._pending:
            self.tokens += count_tokens("".join(self._pending))
            self._pending.clear()
        now = self.clock()
        self._last_report = now
        streaming_for = max(now - (self.first_token_at or now), 1e-6)
        return progress_event(
            "streaming",
            tokens=self.tokens,
            tokens_per_second=round(self.tokens / streaming_for, 1) if self.tokens else 0,
            elapsed=round(now - self.started, 1),
        )


# -- the review page -----------------------------------------------------------------
def _files(n):
    return f"{n:,} file{'' if n == 1 else 's'}"


def describe(p):
    """One line for a person; static/js/progress.js says the same for later events."""
    stage = p.get("stage")
    if stage == "queued":
        place = (
            "next in the queue"
            if p["position"] == 1
            else f"position {p['position']:,} in the queue"
        )
        running = p["running"]
        return f"{place} · {running:,} review{'' if running == 1 else 's'} running"
    if stage == "reading":
        return f"read {_files(p['done'])}"
    if stage == "counting":
        return f"counted {p['done']:,} of {_files(p['total'])}"
    if stage == "fitting":
        return f"fitting {_files(p['total'])} into the model's context"
    if stage == "streaming":
        tokens = p["tokens"]
        rate = round(p["tokens_per_second"])
        return f"{tokens:,} token{'' if tokens == 1 else 's'} streamed · {rate:,} tokens/s"
    return ""


TITLE_MARKS = {Status.DONE: "✓", Status.FAILED: "✗", Status.CANCELLED: "✗"}


def page_context(review, events):
    """What the review page shows before its stream connects: the latest progress, the
    time elapsed (the page ticks on from it) and the state for the tab's title."""
    from django.utils import timezone

    context = {"title_mark": TITLE_MARKS.get(review.status, "…")}
    if review.is_final:
        return context
    data = latest(events)
    if review.status == Status.QUEUED and data is None:
        data = queue_place(review.pk)
    parsed = json.loads(data) if data else None
    if parsed and parsed.get("stage") == "queued" and review.status != Status.QUEUED:
        data = parsed = None
    since = review.created_at if review.status == Status.QUEUED else review.started_at
    elapsed = (timezone.now() - since).total_seconds() if since else 0
    if parsed and "elapsed" in parsed:
        elapsed = max(elapsed, parsed["elapsed"])
    context.update(
        progress_json=data or "",
        progress_text=describe(parsed) if parsed else "",
        elapsed_seconds=int(elapsed),
    )
    return context
