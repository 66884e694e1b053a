"""The Celery tasks that tell people a review has finished. They run after the review's
run, never inside it: a slow mail server or receiver cannot hold up or fail a review."""

import logging
import uuid

from celery import shared_task
from django.conf import settings

from reviewer.notifications.mail import send_review_mail
from reviewer.notifications.models import Webhook
from reviewer.notifications.webhooks import EVENTS, deliver
from reviewer.reviews.models import Review

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def notify_review_final(review_id):
    review = Review.objects.select_related("project__team", "created_by").filter(pk=review_id)
    review = review.first()
    if review is None or review.status not in EVENTS:
        return
    try:
        send_review_mail(review)
    except Exception:
        log.exception("review %s: the notification mail could not be sent", review_id)
    hooks = Webhook.objects.filter(project=review.project_id).values_list("pk", flat=True)
    for webhook_id in hooks:
        deliver_webhook.delay(webhook_id, review_id, EVENTS[review.status], str(uuid.uuid4()))


def backoff_seconds(attempt):
    """Seconds before the attempt after `attempt`: the base, doubled each time."""
    return settings.WEBHOOK_RETRY_SECONDS * 2 ** (attempt - 1)


# The number of attempts is counted here (WEBHOOK_ATTEMPTS), not by Celery.
@shared_task(bind=True, ignore_result=True, acks_late=False, max_retries=None)
def deliver_webhook(self, webhook_id, review_id, event, delivery_id):
    attempt = self.request.retries + 1
    delivered, worth_retrying = deliver(webhook_id, review_id, event, delivery_id, attempt)
    if worth_retrying and attempt < settings.WEBHOOK_ATTEMPTS:
        raise self.retry(countdown=backoff_seconds(attempt))
    return delivered
