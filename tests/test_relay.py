import pytest
import redis

from reviewer.streams.relay import (
    DELTA,
    DONE,
    STATUS,
    DatabaseRelay,
    RedisRelay,
    RelayWriter,
    text_so_far,
)
from tests.stack import redis_url

REDIS_URL = redis_url(14)


@pytest.fixture(params=["database", "redis"])
def relay(request, db):
    if request.param == "database":
        return DatabaseRelay()
    redis.Redis.from_url(REDIS_URL).flushdb()
    return RedisRelay(REDIS_URL)


@pytest.fixture
def review(make_review):
    return make_review(status="streaming", report="")


def test_writer_numbers_events_from_one_and_reads_resume_after_an_id(relay, review):
    writer = RelayWriter(review.pk, relay)
    writer.append(STATUS, "streaming")
    writer.append(DELTA, "Hel")
    writer.append(DELTA, "lo\n<b>")
    writer.append(DONE, "done")
    assert [e.id for e in relay.read(review.pk)] == [1, 2, 3, 4]
    assert [(e.kind, e.data) for e in relay.read(review.pk, after=2)] == [
        (DELTA, "lo\n<b>"),
        (DONE, "done"),
    ]
    assert relay.last_id(review.pk) == 4


def test_a_second_writer_continues_the_numbering(relay, review):
    RelayWriter(review.pk, relay).append(DELTA, "a")
    second = RelayWriter(review.pk, relay)
    assert second.append(DELTA, "b") == 2


def test_text_so_far_joins_the_deltas_only(relay, review):
    writer = RelayWriter(review.pk, relay)
    writer.append(STATUS, "streaming")
    writer.append(DELTA, "The code ")
    writer.append(DELTA, "follows the spec.")
    assert text_so_far(review.pk, relay) == ("The code follows the spec.", 3)


def test_delete_forgets_a_reviews_events(relay, review):
    RelayWriter(review.pk, relay).append(DELTA, "x")
    relay.delete(review.pk)
    assert relay.read(review.pk) == []
