import hashlib

from django.db import transaction

from reviewer.reviews.models import Review, Status
from reviewer.reviews.retention import live_drafts
from reviewer.runs.lifecycle import queue_deadline
from reviewer.runs.tasks import enqueue_review


def _sha256(uploaded):
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def create_review(project, user, archive, spec, model_id, start=True):
    """Stores the uploads and, when `start`, queues the run once the row is committed."""
    with transaction.atomic():
        review = Review.objects.create(
            project=project,
            created_by=user,
            archive=archive,
            archive_name=archive.name[:255],
            archive_sha256=_sha256(archive),
            archive_size=archive.size,
            spec=spec,
            spec_name=spec.name[:255],
            model=model_id,
            status=Status.QUEUED if start else Status.DRAFT,
            lease_expires_at=queue_deadline() if start else None,
        )
        if start:
            enqueue_review(review.pk)
    return review


def start_review(review):
    """Queues a draft; False when it is no longer a draft or has expired (its uploads no
    longer count against the quota and are about to be deleted)."""
    with transaction.atomic():
        started = live_drafts(Review.objects.filter(pk=review.pk)).update(
            status=Status.QUEUED, lease_expires_at=queue_deadline()
        )
        if started:
            enqueue_review(review.pk)
    return bool(started)


def clone_review(review, user, archive=None):
    """A new queued review with the same inputs (and optionally a new archive)."""
    with transaction.atomic():
        clone = Review.objects.create(
            project=review.project,
            created_by=user,
            archive=archive or review.archive.name,
            archive_name=(archive.name if archive else review.archive_name)[:255],
            archive_sha256=_sha256(archive) if archive else review.archive_sha256,
            archive_size=archive.size if archive else review.archive_size,
            spec=review.spec.name,
            spec_name=review.spec_name,
            spec_pages=review.spec_pages,
            model=review.model,
            status=Status.QUEUED,
            lease_expires_at=queue_deadline(),
        )
        enqueue_review(clone.pk)
    return clone
