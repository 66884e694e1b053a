"""Every way to create or start a review goes through here, so that each started review
carries the snapshot of what it packs with (`Review.pack_options`)."""

import hashlib

from django.db import transaction

from reviewer.reviews.models import Review, Status
from reviewer.reviews.retention import live_drafts
from reviewer.runs import library_settings
from reviewer.runs.lifecycle import queue_deadline
from reviewer.runs.tasks import enqueue_review


def _sha256(uploaded):
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def create_review(project, user, archive, spec, model_id, start=True):
    """Stores the uploads and, when `start`, queues the run once the row is committed,
    packing with the project's saved patterns. A draft gets its snapshot when started."""
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
            pack_options=library_settings.snapshot_for(project, model_id) if start else {},
            status=Status.QUEUED if start else Status.DRAFT,
            lease_expires_at=queue_deadline() if start else None,
        )
        if start:
            enqueue_review(review.pk)
    return review


def start_review(review, snapshot=None):
    """Queues a draft with `snapshot` (see library_settings.snapshot_for; by default the
    draft's model and the project's patterns). False when it is no longer a draft or has
    expired (its uploads no longer count against the quota and are about to be deleted)."""
    if snapshot is None:
        snapshot = library_settings.snapshot_for(review.project, review.model)
    with transaction.atomic():
        started = live_drafts(Review.objects.filter(pk=review.pk)).update(
            status=Status.QUEUED,
            lease_expires_at=queue_deadline(),
            model=snapshot["model"],
            pack_options=snapshot,
        )
        if started:
            enqueue_review(review.pk)
    return bool(started)


def clone_review(review, user, archive=None):
    """A new queued review with the same inputs, packed as the original was (its
    snapshot), optionally with a new archive."""
    snapshot = library_settings.snapshot_of(review)
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
            model=snapshot["model"],
            pack_options=snapshot,
            status=Status.QUEUED,
            lease_expires_at=queue_deadline(),
        )
        enqueue_review(clone.pk)
    return clone
