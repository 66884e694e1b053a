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
