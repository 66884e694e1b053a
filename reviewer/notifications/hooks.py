"""The one call the run makes when a review ends: queue the notifications, nothing more."""

import logging

log = logging.getLogger(__name__)

NOTIFIED_STATUSES = ("done", "failed")


def queue(review_id):
    from reviewer.notifications.tasks import notify_review_final

    # No retries while publishing: a broker that is down must not hold up the run.
    notify_review_final.apply_async((review_id,), retry=False)


def review_ended(review_id, status):
    """Never raises: a notification that cannot be queued must not fail the review."""
    if status not in NOTIFIED_STATUSES:
        return
    try:
        queue(review_id)
    except Exception:
        log.warning("review %s: its notifications could not be queued", review_id, exc_info=True)
