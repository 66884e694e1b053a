"""Status changes of a review. Each one is written to the row and to the relay, so that
the page, the history and every open stream agree.

A run owns a review through its fencing token, the attempt number of its claim: every
write of the run is conditional on it (`fenced`), and the reaper takes a review over by
changing its status, which fences the old run out. Lease times come from the database's
clock, so hosts with drifting clocks agree on when a lease expired.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.functions import Now

from reviewer.notifications.hooks import review_ended
from reviewer.reviews.models import ACTIVE_STATUSES, Review, Status
from reviewer.runs.progress import announce_queue
from reviewer.streams.relay import (
    DONE,
    NOTE,
    RUNNING_STATUSES,
    STATUS,
    FenceLost,
    get_relay,
    text_so_far,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


def seconds_from_now(seconds):
    """A time `seconds` after the database's now, as an expression for updates."""
    return ExpressionWrapper(Now() + timedelta(seconds=seconds), output_field=DateTimeField())


def lease_from_now():
    return seconds_from_now(settings.REVIEW_LEASE_SECONDS)


def queue_deadline():
    """When a queued review that no worker has claimed is sent to the queue again: a
    message can be lost with a worker killed between taking it and claiming the review."""
    return seconds_from_now(settings.REVIEW_QUEUE_SECONDS)


def status_events(status, note=""):
    return [(STATUS, status), (NOTE, note)]


def final_events(status, note=""):
    return [*status_events(status, note), (DONE, status)]


def fenced(review_id, token):
    """The review's row, as long as the run holding `token` still owns it."""
    return Review.objects.filter(pk=review_id, attempts=token, status__in=RUNNING_STATUSES)


def fenced_update(review_id, token, **fields):
    if not fenced(review_id, token).update(**fields):
        raise FenceLost(f"review {review_id} is no longer this run's")


def claim(review_id):
    """Moves a queued review to packing and returns the run's fencing token, or None when
    another worker has it already (or it is no longer queued)."""
    with transaction.atomic():
        review = (
            Review.objects.select_for_update()
            .filter(pk=review_id, status=Status.QUEUED)
            .only("pk", "attempts")
            .first()
        )
        if review is None:
            return None
        token = review.attempts + 1
        Review.objects.filter(pk=review_id).update(
            status=Status.PACKING,
            status_note="",
            attempts=token,
            lease_expires_at=lease_from_now(),
            started_at=Now(),
        )
    get_relay().fence(review_id, token)
    return token


def renew_lease(review_id, token):
    """False when the run no longer owns the review."""
    return bool(fenced(review_id, token).update(lease_expires_at=lease_from_now()))


def request_cancel(review_id):
    """A queued review ends at once; a running one is stopped by its worker's keeper."""
    note = "cancelled before it started"
    with transaction.atomic():
        ended = Review.objects.filter(pk=review_id, status=Status.QUEUED).update(
            status=Status.CANCELLED,
            status_note=note,
            cancel_requested=True,
            lease_expires_at=None,
            finished_at=Now(),
        )
    if ended:
        announce_final(review_id, Status.CANCELLED, note)
        announce_queue()  # the reviews behind it moved up
        return True
    return bool(
        Review.objects.filter(pk=review_id, status__in=ACTIVE_STATUSES).update(
            cancel_requested=True
        )
    )


def announce_final(review_id, status, note):
    """The final events of a review whose row is final already. If the relay fails here,
    viewers still learn the outcome: the stream and the page fall back to the row."""
    relay = get_relay()
    try:
        relay.append(review_id, final_events(status, note))
        relay.retire(review_id, settings.STREAM_KEEP_SECONDS)
    except Exception:
        log.exception("review %s: could not write its final events to the relay", review_id)
    review_ended(review_id, status)


def reap_expired(send, queue_busy=lambda: False):
    """Reviews whose worker stopped renewing the lease: requeue those that had streamed
    nothing yet (through `send`), fail the others with their text kept. A queued review
    nobody claimed is sent again, unless `queue_busy()`: then its message is most likely
    still waiting behind the others, and another would only pile up duplicates. Returns
    the ids it changed."""
    changed = []
    stale = Review.objects.filter(status__in=ACTIVE_STATUSES, lease_expires_at__lt=Now())
    for review_id, status in stale.values_list("pk", "status"):
        if status == Status.QUEUED:
            if _resend(review_id, send, queue_busy):
                changed.append(review_id)
        elif _take_over(review_id, send):
            changed.append(review_id)
    return changed


def _resend(review_id, send, queue_busy):
    # The deadline moves on either way, so a busy queue is looked at again later.
    moved = Review.objects.filter(
        pk=review_id, status=Status.QUEUED, lease_expires_at__lt=Now()
    ).update(lease_expires_at=queue_deadline())
    if not moved or queue_busy():
        return False
    send(review_id)
    return True


def _take_over(review_id, send):
    relay = get_relay()
    # First stop the lost run's relay writes, then look at what it wrote: nothing it
    # sends after this point reaches the page.
    relay.seize(review_id)
    with transaction.atomic():
        review = (
            Review.objects.select_for_update()
            .filter(pk=review_id, status__in=RUNNING_STATUSES, lease_expires_at__lt=Now())
            .first()
        )
        if review is None:
            return False
        text, last_id = text_so_far(review_id, relay)
        requeue = not text and review.attempts < MAX_ATTEMPTS
        if requeue:
            _requeue(review_id, relay)
        else:
            _fail_lost(review_id, text, last_id)
    if requeue:
        send(review_id)
    else:
        announce_final(review_id, Status.FAILED, WORKER_LOST)
    return True


WORKER_LOST = "The worker running this review stopped (worker lost)."


def _requeue(review_id, relay):
    note = "worker lost; queued again"
    Review.objects.filter(pk=review_id).update(
        status=Status.QUEUED, status_note=note, lease_expires_at=queue_deadline()
    )
    relay.append(review_id, status_events(Status.QUEUED, note))


def _fail_lost(review_id, text, last_id):
    log.warning("review %s: worker lost", review_id)
    Review.objects.filter(pk=review_id).update(
        status=Status.FAILED,
        status_note=WORKER_LOST,
        error=WORKER_LOST,
        report=text,
        report_event_id=last_id,
        lease_expires_at=None,
        finished_at=Now(),
    )


def prune_finished_streams(older_than_seconds):
    """Drops the relay events of reviews that finished a while ago: the row holds the
    report and its event id, and a finished review's stream is its `done` alone."""
    from reviewer.reviews.models import FINAL_STATUSES, StreamEvent

    finished = Review.objects.filter(
        status__in=FINAL_STATUSES, finished_at__lt=seconds_from_now(-older_than_seconds)
    )
    return StreamEvent.objects.filter(review__in=finished).delete()[0]
