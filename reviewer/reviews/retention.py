"""Stored uploads: a team's storage use and quota, expiring drafts, and deleting reviews,
projects and teams together with their files and stream events.

Clones share the stored files of the review they were cloned from, so a file is removed
only when no remaining review refers to it."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from reviewer.streams.relay import get_relay

from .models import ACTIVE_STATUSES, Review, Status

log = logging.getLogger(__name__)

FILE_FIELDS = ("archive", "spec", "sent_files")


def _file_size(name):
    try:
        return default_storage.size(name)
    except Exception:  # a lost file, or a bucket that does not answer: counts as nothing
        log.warning("could not measure stored file %s", name)
        return None


def _file_sizes(names):
    """Sizes of stored files. A stored name is never rewritten, so its size is cached
    for good: with a bucket each measurement is a request, and every upload asks for the
    team's whole use."""
    keys = {f"stored-size:{name}": name for name in names}
    known = cache.get_many(list(keys))
    measured = {}
    for key, name in keys.items():
        if key not in known:
            size = _file_size(name)
            if size is not None:
                measured[key] = size
    if measured:
        cache.set_many(measured, timeout=None)
    return {keys[key]: size for key, size in {**known, **measured}.items()}


# -- drafts ------------------------------------------------------------------------------
def draft_cutoff(now=None):
    """Drafts created before this moment have expired."""
    return (now or timezone.now()) - timedelta(days=settings.DRAFT_EXPIRY_DAYS)


def draft_expires_at(review):
    return review.created_at + timedelta(days=settings.DRAFT_EXPIRY_DAYS)


def live_drafts(reviews, now=None):
    return reviews.filter(status=Status.DRAFT, created_at__gte=draft_cutoff(now))


def without_expired_drafts(reviews, now=None):
    return reviews.exclude(status=Status.DRAFT, created_at__lt=draft_cutoff(now))


# -- storage use -------------------------------------------------------------------------
def team_storage(team):
    """(bytes used by the team's distinct stored uploads, quota in bytes).

    Expired drafts no longer count: their files are about to be deleted. Archive sizes
    come from the rows (recorded at upload); only specifications are measured in the
    storage, once per distinct file, since the rows do not record their size."""
    reviews = without_expired_drafts(Review.objects.filter(project__team=team)).order_by()
    archives = (
        reviews.exclude(archive="")
        .values("archive")
        .annotate(size=Max("archive_size"))
        .aggregate(total=Sum("size"))["total"]
    )
    specs = set(reviews.exclude(spec="").values_list("spec", flat=True).distinct())
    used = (archives or 0) + sum(_file_sizes(specs).values())
    return used, settings.TEAM_STORAGE_QUOTA_MB * 1024 * 1024


def quota_error(team, *uploads):
    """One plain sentence when storing these uploads would exceed the team's quota."""
    used, quota = team_storage(team)
    incoming = sum(upload.size for upload in uploads if upload is not None)
    if quota and used + incoming > quota:
        return (
            f"This upload would exceed your team's storage quota of "
            f"{settings.TEAM_STORAGE_QUOTA_MB} MB ({used / 1048576:.1f} MB in use); "
            f"delete old reviews first."
        )
    return None


def _remove_unreferenced(names):
    for name in names:
        referenced = Q()
        for field in FILE_FIELDS:
            referenced |= Q(**{field: name})
        if Review.objects.filter(referenced).exists():
            continue
        try:
            default_storage.delete(name)
        except Exception:  # OSError on disk, ClientError from a bucket: the rows are gone
            log.warning("could not delete stored file %s", name)


def _delete_reviews(reviews):
    """Deletes these reviews (a queryset; call inside a transaction) and, once committed,
    their unshared files and relay streams. Returns how many were deleted."""
    rows = list(reviews.select_for_update(of=("self",)).values_list("pk", *FILE_FIELDS))
    ids = [row[0] for row in rows]
    names = {name for row in rows for name in row[1:] if name}
    if not ids:
        return 0
    Review.objects.filter(pk__in=ids).delete()  # stream events cascade

    def cleanup():
        _remove_unreferenced(names)
        relay = get_relay()
        for review_id in ids:
            try:
                relay.delete(review_id)
            except Exception:  # the relay's copy expires by itself anyway
                log.warning("could not delete the relay stream of review %s", review_id)

    transaction.on_commit(cleanup)
    return len(ids)


def delete_review(review):
    with transaction.atomic():
        _delete_reviews(Review.objects.filter(pk=review.pk))


def delete_draft(review):
    """Deletes the review if it is still a draft; False when it has been started since."""
    with transaction.atomic():
        return bool(_delete_reviews(Review.objects.filter(pk=review.pk, status=Status.DRAFT)))


def expire_drafts(now=None):
    """Deletes drafts older than DRAFT_EXPIRY_DAYS with their files no other review uses;
    returns how many. Cheap when there are none, so the worker's reaper may call it often."""
    with transaction.atomic():
        expired = Review.objects.filter(status=Status.DRAFT, created_at__lt=draft_cutoff(now))
        count = _delete_reviews(expired)
    if count:
        log.info("deleted %s expired draft(s)", count)
    return count


def delete_project(project):
    with transaction.atomic():
        _delete_reviews(project.reviews.all())
        project.delete()


def team_has_running_reviews(team):
    return Review.objects.filter(project__team=team, status__in=ACTIVE_STATUSES).exists()


def delete_team(team):
    with transaction.atomic():
        _delete_reviews(Review.objects.filter(project__team=team))
        team.delete()
