"""Status changes of a review. Each one is written to the row and to the relay, so that
the page, the history and every open stream agree."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from reviewer.reviews.models import ACTIVE_STATUSES, Review, Status
from reviewer.streams.relay import DONE, NOTE, STATUS, RelayWriter, text_so_far

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


def announce(writer, status, note=""):
    writer.append(STATUS, status)
    writer.append(NOTE, note)


def claim(review_id):
    """Moves a queued review to packing; False when another worker has it already."""
    now = timezone.now()
    claimed = Review.objects.filter(pk=review_id, status=Status.QUEUED).update(
        status=Status.PACKING,
        status_note="",
        attempts=F("attempts") + 1,
        lease_expires_at=now + timedelta(seconds=settings.REVIEW_LEASE_SECONDS),
        started_at=now,
    )
    return bool(claimed)


def queue_deadline():
    """When a queued review that no worker has claimed is sent to the queue again: a
    message can be lost with a worker killed between taking it and claiming the review."""
    return timezone.now() + timedelta(seconds=settings.REVIEW_QUEUE_SECONDS)


def request_cancel(review_id):
    """A queued review ends at once; a running one is stopped by its worker's keeper."""
    if Review.objects.filter(pk=review_id, status=Status.QUEUED).update(
        status=Status.CANCELLED,
        status_note="cancelled before it started",
        cancel_requested=True,
        lease_expires_at=None,
        finished_at=timezone.now(),
    ):
        writer = RelayWriter(review_id)
        announce(writer, Status.CANCELLED, "cancelled before it started")
        writer.append(DONE, Status.CANCELLED)
        return True
    return bool(
        Review.objects.filter(pk=review_id, status__in=ACTIVE_STATUSES).update(
            cancel_requested=True
        )
    )


def finish(review_id, writer, status, *, report, error="", note="", **fields):
    """Ends a review for good; the `done` event tells every viewer to stop listening."""
    Review.objects.filter(pk=review_id).update(
        status=status,
        status_note=note or error,
        error=error,
        report=report,
        report_event_id=writer.last_id,
        lease_expires_at=None,
        finished_at=timezone.now(),
        **fields,
    )
    announce(writer, status, note or error)
    writer.append(DONE, status)


def reap_expired(now=None):
    """Reviews whose worker stopped renewing the lease: requeue those that had streamed
    nothing yet, fail the others with their text kept. Returns the ids it changed."""
    from reviewer.runs.tasks import enqueue_review

    now = now or timezone.now()
    changed = []
    stale = Review.objects.filter(status__in=ACTIVE_STATUSES, lease_expires_at__lt=now)
    for review in stale:
        if review.status == Status.QUEUED:
            resent = Review.objects.filter(
                pk=review.pk, status=Status.QUEUED, lease_expires_at=review.lease_expires_at
            ).update(lease_expires_at=queue_deadline())
            if resent:
                enqueue_review(review.pk)
                changed.append(review.pk)
            continue
        writer = RelayWriter(review.pk)
        text, _ = text_so_far(review.pk, writer.relay)
        if not text and review.attempts < MAX_ATTEMPTS:
            requeued = Review.objects.filter(
                pk=review.pk, status=review.status, lease_expires_at=review.lease_expires_at
            ).update(
                status=Status.QUEUED,
                status_note="worker lost; queued again",
                lease_expires_at=queue_deadline(),
            )
            if requeued:
                announce(writer, Status.QUEUED, "worker lost; queued again")
                enqueue_review(review.pk)
                changed.append(review.pk)
            continue
        taken = Review.objects.filter(
            pk=review.pk, status=review.status, lease_expires_at=review.lease_expires_at
        ).update(lease_expires_at=None)
        if taken:
            log.warning("review %s: worker lost", review.pk)
            finish(
                review.pk,
                writer,
                Status.FAILED,
                report=text,
                error="The worker running this review stopped (worker lost).",
            )
            changed.append(review.pk)
    return changed
