"""Reviews never stay queued or running forever, and a queued review cancels at once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewer.runs import lifecycle
from reviewer.streams.relay import DELTA, RelayWriter, get_relay

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    ids = []
    monkeypatch.setattr("reviewer.runs.tasks.enqueue_review", ids.append)
    return ids


def test_a_queued_review_nobody_claimed_is_sent_again_once_per_deadline(make_review, sent):
    review = make_review(status="queued", lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert lifecycle.reap_expired(sent.append) == [review.pk]
    assert sent == [review.pk]
    assert lifecycle.reap_expired(sent.append) == []
    review.refresh_from_db()
    assert review.status == "queued" and review.lease_expires_at > timezone.now()


def test_a_lost_worker_with_no_text_requeues_and_with_text_fails_keeping_it(make_review, sent):
    expired = timezone.now() - timedelta(seconds=1)
    silent = make_review(status="streaming", lease_expires_at=expired, attempts=1)
    talking = make_review(status="streaming", lease_expires_at=expired, attempts=1)
    RelayWriter(talking.pk).append(DELTA, "## Conformance\n")
    assert sorted(lifecycle.reap_expired(sent.append)) == sorted([silent.pk, talking.pk])
    silent.refresh_from_db()
    talking.refresh_from_db()
    assert silent.status == "queued" and sent == [silent.pk]
    assert talking.status == "failed" and talking.report == "## Conformance\n"
    assert "worker lost" in talking.error


def test_a_review_that_keeps_losing_workers_fails_after_three_attempts(make_review, sent):
    review = make_review(
        status="packing", lease_expires_at=timezone.now() - timedelta(seconds=1), attempts=3
    )
    lifecycle.reap_expired(sent.append)
    review.refresh_from_db()
    assert review.status == "failed" and sent == []


def test_cancelling_a_queued_review_ends_it_at_once(make_review):
    review = make_review(status="queued", report="")
    assert lifecycle.request_cancel(review.pk)
    review.refresh_from_db()
    assert review.status == "cancelled"
    assert [e.kind for e in get_relay().read(review.pk)][-1] == "done"
    assert not lifecycle.claim(review.pk)


def test_cancelling_a_running_review_asks_its_worker(make_review):
    review = make_review(status="streaming")
    assert lifecycle.request_cancel(review.pk)
    review.refresh_from_db()
    assert review.status == "streaming" and review.cancel_requested


def test_cancelling_a_finished_review_changes_nothing(make_review):
    review = make_review(status="done")
    assert not lifecycle.request_cancel(review.pk)
