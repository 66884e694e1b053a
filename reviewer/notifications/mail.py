"""Mail about a finished review: to its author, and to team members who asked for it."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from reviewer.notifications.models import TeamReviewMail

log = logging.getLogger(__name__)


def recipients(review):
    """Addresses, each once: the author's, then those of members who opted in."""
    users = []
    if review.created_by is not None:
        users.append(review.created_by)
    opted = TeamReviewMail.objects.filter(membership__team=review.project.team_id)
    users += [m.membership.user for m in opted.select_related("membership__user")]
    seen, out = set(), []
    for user in users:
        email = (user.email or "").strip()
        if user.is_active and email and email.lower() not in seen:
            seen.add(email.lower())
            out.append(email)
    return out


def subject(review):
    mark, word = ("✓", "is done") if review.status == "done" else ("✗", "failed")
    text = f"{mark} Review {review.pk} of {review.project.name} {word}"
    # A header holds one line, whatever a project's name contains.
    return " ".join(text.split())[:200]


def send_review_mail(review):
    """One message per recipient, so that no one sees the others' addresses."""
    to = recipients(review)
    if not to:
        return 0
    context = {
        "review": review,
        "url": settings.SITE_URL.rstrip("/") + review.get_absolute_url(),
        "settings_url": settings.SITE_URL.rstrip("/") + reverse("notification_settings"),
    }
    body = render_to_string("notifications/review_mail.txt", context)
    messages = [EmailMessage(subject(review), body, None, [address]) for address in to]
    with get_connection() as connection:
        return connection.send_messages(messages)
