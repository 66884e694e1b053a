"""One run per review: the claim's token fences every write, relay ids are allocated
atomically, the keeper survives database blips and stops a run that lost its review."""

import threading
import time
from datetime import timedelta

import pytest
import redis
from django.db import OperationalError
from django.utils import timezone

from reviewer.reviews.models import Review, StreamEvent
from reviewer.runs import keeper as keeper_module
from reviewer.runs import lifecycle
from reviewer.runs.keeper import Keeper
from reviewer.streams.relay import DELTA, DatabaseRelay, FenceLost, RedisRelay, text_so_far
from tests.stack import redis_url

REDIS_URL = redis_url(15)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["database", "redis"])
def relay(request, monkeypatch):
    if request.param == "database":
        chosen = DatabaseRelay()
    else:
        redis.Redis.from_url(REDIS_URL).flushdb()
        chosen = RedisRelay(REDIS_URL)
    monkeypatch.setattr("reviewer.runs.lifecycle.get_relay", lambda: chosen)
    return chosen


def _expire_lease(review_id):
    Review.objects.filter(pk=review_id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=5)
    )


def test_a_run_that_lost_its_review_can_write_nothing_and_the_new_run_can(relay, make_review):
    review = make_review(status="queued", report="")
    first = lifecycle.claim(review.pk)
    relay.append(review.pk, [(DELTA, "")], first)  # owns it: accepted
    _expire_lease(review.pk)
    sent = []
    assert lifecycle.reap_expired(sent.append) == [review.pk]
    second = lifecycle.claim(review.pk)
    assert sent == [review.pk] and second == first + 1

    with pytest.raises(FenceLost):
        relay.append(review.pk, [(DELTA, "from the lost run")], first)
    with pytest.raises(FenceLost):
        lifecycle.fenced_update(review.pk, first, status_note="lost run")
    assert not lifecycle.renew_lease(review.pk, first)

    relay.append(review.pk, [(DELTA, "from the new run")], second)
    lifecycle.fenced_update(review.pk, second, status_note="new run")
    assert text_so_far(review.pk, relay)[0] == "from the new run"
    assert Review.objects.get(pk=review.pk).status_note == "new run"


def test_a_lost_run_cannot_add_text_between_the_reapers_look_and_its_takeover(make_review):
    # In the database profile the reaper's look and takeover are one locked transaction;
    # Redis needs the fence moved first.
    redis.Redis.from_url(REDIS_URL).flushdb()
    relay = RedisRelay(REDIS_URL)
    review = make_review(status="queued", report="")
    token = lifecycle.claim(review.pk)
    relay.fence(review.pk, token)
    relay.append(review.pk, [(DELTA, "")], token)
    relay.seize(review.pk)  # the reaper's first step
    with pytest.raises(FenceLost):
        relay.append(review.pk, [(DELTA, "late text")], token)


def test_concurrent_writers_get_distinct_increasing_ids(relay, make_review):
    review = make_review(status="streaming", report="")
    errors = []

    def write(n):
        try:
            for i in range(10):
                relay.append(review.pk, [(DELTA, f"{n}.{i} "), (DELTA, "")])
        except Exception as exc:  # an IntegrityError here is the bug
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [e.id for e in relay.read(review.pk)] == list(range(1, 81))


def test_a_failed_database_write_consumes_no_id(make_review, monkeypatch):
    relay = DatabaseRelay()
    review = make_review(status="streaming", report="")
    real = StreamEvent.objects.bulk_create

    def broken(*args, **kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(StreamEvent.objects, "bulk_create", broken)
    with pytest.raises(OperationalError):
        relay.append(review.pk, [(DELTA, "lost")])
    monkeypatch.setattr(StreamEvent.objects, "bulk_create", real)
    assert relay.append(review.pk, [(DELTA, "kept")]) == 1


def test_the_lease_comes_from_the_database_clock(make_review, monkeypatch, settings):
    settings.REVIEW_LEASE_SECONDS = 30
    review = make_review(status="queued", report="")
    # This host's clock is an hour behind; the lease must not be.
    monkeypatch.setattr("django.utils.timezone.now", lambda: time_now_real() - timedelta(hours=1))
    lifecycle.claim(review.pk)
    lease = Review.objects.get(pk=review.pk).lease_expires_at
    real_now = time_now_real()
    assert real_now + timedelta(seconds=20) < lease < real_now + timedelta(seconds=40)


def time_now_real():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_the_keeper_rides_out_database_errors(make_review, monkeypatch, settings):
    settings.REVIEW_LEASE_SECONDS = 4
    review = make_review(status="queued", report="")
    token = lifecycle.claim(review.pk)
    calls = []
    real = keeper_module.renew_lease

    def flaky(review_id, run_token):
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real(review_id, run_token)

    monkeypatch.setattr(keeper_module, "renew_lease", flaky)
    cancel = threading.Event()
    keeper = Keeper(review.pk, token, cancel)
    keeper.start()
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        keeper.stop()
    assert len(calls) >= 4
    assert keeper.owns() and not cancel.is_set()


def test_the_keeper_gives_the_run_up_before_its_lease_ends(make_review, monkeypatch, settings):
    settings.REVIEW_LEASE_SECONDS = 2
    review = make_review(status="queued", report="")
    token = lifecycle.claim(review.pk)

    def down(review_id, run_token):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(keeper_module, "renew_lease", down)
    cancel = threading.Event()
    keeper = Keeper(review.pk, token, cancel)
    started = time.monotonic()
    keeper.start()
    assert keeper.lost.wait(5)
    assert time.monotonic() - started < 2
    assert cancel.is_set() and not keeper.owns()
    assert "could not be renewed" in keeper.reason


def test_the_keeper_stops_a_run_whose_review_was_taken_over(make_review, settings):
    settings.REVIEW_LEASE_SECONDS = 2
    review = make_review(status="queued", report="")
    token = lifecycle.claim(review.pk)
    _expire_lease(review.pk)
    lifecycle.reap_expired(lambda review_id: None)
    cancel = threading.Event()
    keeper = Keeper(review.pk, token, cancel)
    keeper.start()
    assert keeper.lost.wait(5)
    assert cancel.is_set() and keeper.reason == "another worker took this review over"


def test_a_queued_review_is_not_sent_again_while_the_queue_is_busy(make_review):
    review = make_review(status="queued", lease_expires_at=timezone.now() - timedelta(seconds=1))
    sent = []
    assert lifecycle.reap_expired(sent.append, queue_busy=lambda: True) == []
    assert sent == []
    # The deadline moved on, so the reaper looks again later instead of every sweep.
    assert Review.objects.get(pk=review.pk).lease_expires_at > timezone.now()
    _expire_lease(review.pk)
    assert lifecycle.reap_expired(sent.append, queue_busy=lambda: False) == [review.pk]
    assert sent == [review.pk]


def test_finished_reviews_lose_their_stream_events_but_keep_the_report(make_review):
    relay = DatabaseRelay()
    old = make_review(status="done", finished_at=timezone.now() - timedelta(minutes=5))
    recent = make_review(status="done", finished_at=timezone.now())
    running = make_review(status="streaming", report="")
    for review in (old, recent, running):
        relay.append(review.pk, [(DELTA, "text")])
    assert lifecycle.prune_finished_streams(60) == 1
    assert relay.read(old.pk) == []
    assert relay.read(recent.pk) and relay.read(running.pk)
    assert Review.objects.get(pk=old.pk).report
