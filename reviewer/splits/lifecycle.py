"""The parts' rows: made when a split review is first packed, reconciled when it is
claimed again, retried and cancelled one at a time.

A split review is run by one run that holds the review's fencing token; every write to
a part is conditional on that token as the review's writes are, so a run that lost the
review writes to none of its parts either.
"""

from django.db import transaction
from django.db.models.functions import Now

from reviewer.reviews.models import FINAL_STATUSES, Review, Status
from reviewer.runs.lifecycle import queue_deadline, status_events
from reviewer.runs.tasks import enqueue_review
from reviewer.splits.models import PART_ACTIVE, PartStatus, ReviewPart
from reviewer.streams.relay import RUNNING_STATUSES, FenceLost, get_relay

WORKER_LOST = "The worker running this part stopped (worker lost)."
CHANGED = (
    "The repository now packs into different parts (the model's limits changed since it "
    "started); start a new review."
)


def fenced_parts(review_id, token):
    return ReviewPart.objects.filter(
        review_id=review_id, review__attempts=token, review__status__in=RUNNING_STATUSES
    )


def fenced_part_update(review_id, token, index, **fields):
    if not fenced_parts(review_id, token).filter(index=index).update(**fields):
        raise FenceLost(f"review {review_id} is no longer this run's")


def reconcile(review, token, split):
    """The review's parts for this run: created on the first run; on a later one the
    same parts, with what a lost run left behind settled. Returns an error sentence when
    the stored parts no longer match the repository's."""
    stored = list(ReviewPart.objects.filter(review=review).order_by("index"))
    if not stored:
        rows = [
            ReviewPart(
                review=review,
                index=p.index,
                files=p.files,
                truncated=p.truncated,
                estimated_input_tokens=p.prompt_tokens + split.spec_tokens,
            )
            for p in split.parts
        ]
        rows.append(ReviewPart(review=review, index=len(split.parts), is_synthesis=True))
        ReviewPart.objects.bulk_create(rows)
        return ""
    if [p.files for p in stored if not p.is_synthesis] != [p.files for p in split.parts]:
        return CHANGED
    for part in stored:
        if part.status in PART_ACTIVE:
            # A lost run's part: sent again only if it had not answered yet, so that no
            # answer is paid for twice.
            fields = {"status": PartStatus.QUEUED, "status_note": ""}
            if part.text:
                fields = {
                    "status": PartStatus.FAILED,
                    "status_note": WORKER_LOST,
                    "error": WORKER_LOST,
                    "finished_at": Now(),
                }
            fenced_parts(review.pk, token).filter(pk=part.pk).update(**fields)
    return ""


def _part_for_update(review, index):
    return ReviewPart.objects.select_for_update().filter(review=review, index=index).first()


def retry_part(review, index):
    """Sends a failed or cancelled part (or the merge) again. While the review runs, its
    run picks the part up; a finished review is queued again and its run sends only the
    parts that are not done. False when there is nothing to retry."""
    with transaction.atomic():
        locked = Review.objects.select_for_update().get(pk=review.pk)
        part = _part_for_update(locked, index)
        ended = (PartStatus.FAILED, PartStatus.CANCELLED)
        if locked.status in FINAL_STATUSES:
            # Also a part the review ended without finishing or sending (a lost worker,
            # or a retry that came as the review ended).
            ended = (*ended, PartStatus.QUEUED, *PART_ACTIVE)
        if part is None or part.status not in ended:
            return False
        ReviewPart.objects.filter(pk=part.pk).update(
            status=PartStatus.QUEUED,
            status_note="queued again",
            error="",
            cancel_requested=False,
            finished_at=None,
        )
        if locked.status in FINAL_STATUSES:
            note = f"{part.label.lower()} queued again"
            Review.objects.filter(pk=locked.pk).update(
                status=Status.QUEUED,
                status_note=note,
                error="",
                finish_reason="",
                cancel_requested=False,
                lease_expires_at=queue_deadline(),
                finished_at=None,
            )
            relay = get_relay()
            # The old run's events end with its `done`, which would end every new viewer's
            # stream at once; ids go on from the counter, which stays.
            relay.delete(locked.pk)
            relay.append(locked.pk, status_events(Status.QUEUED, note))
            enqueue_review(locked.pk)
    return True


def cancel_part(review, index):
    """Stops one part (queued or running); the others go on. False when it has ended."""
    with transaction.atomic():
        locked = Review.objects.select_for_update().get(pk=review.pk)
        if locked.status in FINAL_STATUSES:
            return False
        return bool(
            ReviewPart.objects.filter(
                review=locked,
                index=index,
                status__in=(PartStatus.QUEUED, *PART_ACTIVE),
            ).update(cancel_requested=True)
        )
