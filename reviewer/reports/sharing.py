"""Public share links of review reports: enable, regenerate, revoke, expire."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from reviewer.reviews.models import Review, ShareLink


def active_link(review):
    now = timezone.now()
    return (
        review.share_links.filter(revoked_at__isnull=True)
        .exclude(expires_at__lte=now)
        .order_by("-created_at")
        .first()
    )


def revoke_links(review):
    return review.share_links.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def _expiry(days):
    return timezone.now() + timedelta(days=days) if days else None


def enable_link(review, user, days=None):
    """The active link, or a new one; `days` (None: never) sets its expiry either way."""
    with transaction.atomic():
        Review.objects.select_for_update().filter(pk=review.pk).first()
        link = active_link(review)
        if link is None:
            link = ShareLink.objects.create(
                review=review,
                token=secrets.token_urlsafe(32),  # 256 random bits
                created_by=user,
                expires_at=_expiry(days),
            )
        else:
            link.expires_at = _expiry(days)
            link.save(update_fields=["expires_at"])
    return link


def regenerate_link(review, user, days=None):
    """A new token; the old link stops working at once."""
    with transaction.atomic():
        Review.objects.select_for_update().filter(pk=review.pk).first()
        revoke_links(review)
        return ShareLink.objects.create(
            review=review,
            token=secrets.token_urlsafe(32),
            created_by=user,
            expires_at=_expiry(days),
        )


def get_shared_review(token):
    """The review behind an active share link; 404 when unknown, revoked or expired."""
    if not token or len(token) > 64:
        raise Http404("No such report.")
    link = (
        ShareLink.objects.select_related("review")
        .filter(token=token, revoked_at__isnull=True)
        .exclude(expires_at__lte=timezone.now())
        .first()
    )
    if link is None:
        raise Http404("No such report.")
    return link.review
