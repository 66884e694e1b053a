import asyncio

import pytest

from reviewer.streams.hub import Hub
from reviewer.streams.relay import DELTA, DONE, RelayWriter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def review(make_review):
    return make_review(status="streaming", report="")


async def _collect(hub, review_id, after=0):
    seen = []
    async for events in hub.subscribe(review_id, after, heartbeat=0.2):
        seen.extend(events)
    return seen


def test_many_viewers_share_one_reader_and_all_see_every_event_in_order(review):
    async def scenario():
        hub = Hub()
        viewers = [asyncio.create_task(_collect(hub, review.pk)) for _ in range(20)]
        await asyncio.sleep(0.1)
        assert len(hub._watchers) == 1
        writer = await asyncio.to_thread(RelayWriter, review.pk)
        for piece in ("a", "b", "c"):
            await asyncio.to_thread(writer.append, DELTA, piece)
        await asyncio.to_thread(writer.append, DONE, "done")
        return await asyncio.wait_for(asyncio.gather(*viewers), 10)

    results = asyncio.run(scenario())
    for seen in results:
        assert [(e.id, e.data) for e in seen] == [(1, "a"), (2, "b"), (3, "c"), (4, "done")]


def test_a_late_viewer_resumes_after_its_last_event_id(review):
    writer = RelayWriter(review.pk)
    for piece in ("a", "b", "c"):
        writer.append(DELTA, piece)
    writer.append(DONE, "done")
    seen = asyncio.run(asyncio.wait_for(_collect(Hub(), review.pk, after=2), 10))
    assert [e.id for e in seen] == [3, 4]


def test_a_quiet_stream_yields_heartbeat_ticks(review):
    async def scenario():
        ticks = 0
        async for events in Hub().subscribe(review.pk, 0, heartbeat=0.1):
            assert events == []
            ticks += 1
            if ticks == 3:
                return ticks

    assert asyncio.run(asyncio.wait_for(scenario(), 5)) == 3


def test_event_ids_with_gaps_neither_spin_nor_lose_events(review, monkeypatch):
    from reviewer.streams.relay import Event

    class GappyRelay:
        async def aread(self, review_id, after=0):
            events = [Event(3, DELTA, "a"), Event(7, DELTA, "b"), Event(20, DONE, "done")]
            return [e for e in events if e.id > after]

    monkeypatch.setattr("reviewer.streams.hub.get_relay", GappyRelay)
    seen = asyncio.run(asyncio.wait_for(_collect(Hub(), review.pk, after=4), 5))
    assert [e.id for e in seen] == [7, 20]


def test_a_viewer_resuming_at_or_past_done_still_gets_done(review):
    writer = RelayWriter(review.pk)
    writer.append(DELTA, "a")
    done_id = writer.append(DONE, "done")
    for after in (done_id, done_id + 5):
        seen = asyncio.run(asyncio.wait_for(_collect(Hub(), review.pk, after=after), 5))
        assert [e.kind for e in seen] == [DONE]


def test_a_review_whose_done_never_reached_the_relay_ends_from_its_row(review, monkeypatch):
    from reviewer.reviews.models import Review

    monkeypatch.setattr("reviewer.streams.hub.ROW_CHECK_SECONDS", 0.1)
    RelayWriter(review.pk).append(DELTA, "partial")

    async def scenario():
        viewer = asyncio.create_task(_collect(Hub(), review.pk))
        await asyncio.sleep(0.3)
        await Review.objects.filter(pk=review.pk).aupdate(status="failed")
        return await asyncio.wait_for(viewer, 5)

    seen = asyncio.run(scenario())
    assert [(e.kind, e.data) for e in seen] == [(DELTA, "partial"), (DONE, "failed")]


def test_the_reader_stops_polling_once_the_review_is_done(review, monkeypatch):
    from reviewer.streams.relay import DatabaseRelay

    reads = []

    class CountingRelay(DatabaseRelay):
        async def aread(self, review_id, after=0):
            reads.append(after)
            return await super().aread(review_id, after)

    monkeypatch.setattr("reviewer.streams.hub.get_relay", CountingRelay)
    # The same relay the reader polls, whatever REDIS_URL says.
    writer = RelayWriter(review.pk, DatabaseRelay())
    writer.append(DELTA, "a")
    writer.append(DONE, "done")

    async def scenario():
        hub = Hub()
        # A viewer that stays connected after `done` (a slow browser) must not keep
        # the reader polling.
        stream = hub.subscribe(review.pk, 0, heartbeat=0.1)
        await stream.__anext__()
        await asyncio.sleep(0.5)
        count = len(reads)
        await asyncio.sleep(0.5)
        await stream.aclose()
        return count, len(reads)

    before, after = asyncio.run(scenario())
    assert before == after


def test_the_readers_look_at_the_row_leaves_no_database_connection_open(review):
    # A reader lives as long as its review streams, in the thread of the request that
    # started it; a connection left open there is one per streaming review.
    from asgiref.sync import async_to_sync
    from django.db import connection

    from reviewer.streams import hub

    connection.close()
    assert async_to_sync(hub._final_status)(review.pk) is None
    assert connection.connection is None
