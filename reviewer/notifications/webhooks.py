"""A project's webhook: the signed JSON body of a finished review and one delivery attempt.

Receivers check `X-Reviewer-Signature: sha256=<hex>`, the HMAC-SHA256 with the project's
secret of `<X-Reviewer-Timestamp>.<body>`, and refuse a timestamp that is too old, so a
captured request cannot be replayed later.
"""

import hashlib
import hmac
import json
import logging
import time

import httpx
from django.conf import settings

from reviewer.notifications.models import Webhook, WebhookDelivery
from reviewer.notifications.outbound import Refused, post
from reviewer.reviews.models import Review

log = logging.getLogger(__name__)

EVENTS = {"done": "review.done", "failed": "review.failed"}


def sign(secret, timestamp, body):
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def payload(review, event):
    def number(value):
        return None if value is None else str(value)

    return {
        "event": event,
        "review": {
            "id": review.pk,
            "status": review.status,
            "project": {"id": review.project_id, "name": review.project.name},
            "archive": review.archive_name,
            "model": review.model,
            "url": settings.SITE_URL.rstrip("/") + review.get_absolute_url(),
            "error": review.error,
            "prompt_tokens": review.prompt_tokens,
            "completion_tokens": review.completion_tokens,
            "cost_usd": number(review.cost_usd),
            "finished_at": review.finished_at.isoformat() if review.finished_at else None,
        },
    }


def deliver(webhook_id, review_id, event, delivery_id, attempt):
    """One attempt, logged; returns (delivered, worth_retrying)."""
    webhook = Webhook.objects.select_related("project").filter(pk=webhook_id).first()
    review = Review.objects.select_related("project").filter(pk=review_id).first()
    if webhook is None or review is None:
        return False, False  # removed since: nothing to tell any more
    body = json.dumps(payload(review, event), separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "reviewer-webhooks",
        "X-Reviewer-Event": event,
        "X-Reviewer-Delivery": delivery_id,
        "X-Reviewer-Timestamp": timestamp,
        "X-Reviewer-Signature": sign(webhook.get_secret() or "", timestamp, body),
    }
    row = WebhookDelivery(
        webhook=webhook, review=review, event=event, delivery_id=delivery_id, attempt=attempt
    )
    retry = True
    try:
        response = post(
            webhook.url,
            body,
            headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
        )
    except Refused as exc:
        row.error, retry = str(exc), False
    except httpx.HTTPError as exc:
        row.error = f"The receiver could not be reached ({type(exc).__name__})."
    else:
        row.status_code = response.status_code
        row.ok = 200 <= response.status_code < 300
        if 300 <= response.status_code < 400:
            row.error = "The receiver answered with a redirect, which is not followed."
        elif not row.ok:
            row.error = f"The receiver answered {response.status_code}."
    row.save()
    return row.ok, retry and not row.ok
