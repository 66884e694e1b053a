"""The Celery tasks: run one review, and send lost reviews on."""

import logging

from celery import current_app, shared_task
from django.db import transaction

from reviewer.runs.lifecycle import claim, reap_expired
from reviewer.runs.progress import announce_queue
from reviewer.runs.run import ReviewRun

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def run_review(review_id):
    # A redelivered or duplicate message finds the review claimed already and stops here.
    token = claim(review_id)
    if token is not None:
        announce_queue()  # the reviews behind it moved up
        ReviewRun(review_id, token).run()


@shared_task(acks_late=True, ignore_result=True)
def fetch_repository(review_id):
    """Fetches a draft's repository by URL, for its preview."""
    from reviewer.intake.repository import fetch_draft

    fetch_draft(review_id)


def enqueue_fetch(review_id):
    transaction.on_commit(lambda: fetch_repository.delay(review_id))


@shared_task(ignore_result=True)
def reap_lost_reviews():
    from reviewer.intake.repository import reap_fetches

    changed = reap_expired(send_review, queue_busy=lambda: queue_backlog() > 0)
    # Drafts being fetched hold no run: a lost fetch is sent again or fails.
    changed += reap_fetches(lambda review_id: fetch_repository.delay(review_id))
    if changed:
        announce_queue()  # a review queued again takes a place
    return changed


def send_review(review_id):
    run_review.delay(review_id)


def enqueue_review(review_id):
    def send():
        run_review.delay(review_id)
        announce_queue()

    transaction.on_commit(send)


def queue_backlog():
    """Messages waiting in the review queue (0 when the broker cannot tell)."""
    try:
        with current_app.connection_for_write() as connection:
            name = current_app.conf.task_default_queue
            return connection.default_channel.queue_declare(name, passive=True).message_count
    except Exception:
        log.warning("could not read the queue's length", exc_info=True)
        return 0
