from celery import shared_task
from django.db import transaction

from reviewer.runs.lifecycle import claim, reap_expired
from reviewer.runs.run import ReviewRun


@shared_task(acks_late=True, ignore_result=True)
def run_review(review_id):
    # A redelivered or duplicate message finds the review claimed already and stops here.
    if claim(review_id):
        ReviewRun(review_id).run()


@shared_task(ignore_result=True)
def reap_lost_reviews():
    return reap_expired()


def enqueue_review(review_id):
    transaction.on_commit(lambda: run_review.delay(review_id))
