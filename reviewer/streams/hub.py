"""Fan-out of relay events inside one ASGI process.

Each review that has viewers gets one reader task here, however many viewers it has:
200 viewers cost one relay query (or one blocking XREAD) per poll, not 200. The reader
stops once it has read `done`; viewers are then served from memory. It also looks at the
review's row now and then, so that a review whose `done` never reached the relay (the
relay failed at that moment, or its events were pruned) still ends for its viewers.
"""

import asyncio
import bisect
import contextlib

from asgiref.sync import sync_to_async
from django.conf import settings

from reviewer.streams.relay import DONE, Event, RedisRelay, get_relay

POLL_SECONDS = 0.02
ROW_CHECK_SECONDS = 2.0
IDLE_GRACE_SECONDS = 30


def _final_status_now(review_id):
    from django.db import connections

    from reviewer.reviews.models import FINAL_STATUSES, Review

    rows = Review.objects.filter(pk=review_id, status__in=FINAL_STATUSES)
    try:
        return rows.values_list("status", flat=True).first()
    finally:
        # The reader lives as long as the review streams, in the thread of the request
        # that started it: a connection kept open there would be one per streaming
        # review (100 reviews, 100 PostgreSQL connections, the server's default limit).
        for conn in connections.all(initialized_only=True):
            if not conn.in_atomic_block:
                conn.close()


async def _final_status(review_id):
    return await sync_to_async(_final_status_now)(review_id)


class _Watcher:
    def __init__(self, review_id, relay):
        self.review_id = review_id
        self.relay = relay
        self.events = []
        self.ids = []
        self.cursor = 0
        self.done = None
        self.subscribers = 0
        # One future per waiting subscriber, resolved when events arrive: cheaper than a
        # Condition with wait_for (a lock round trip and a task per wait), which matters
        # when one event wakes hundreds of viewers.
        self._waiters = set()
        self.task = None

    async def run(self, on_idle):
        loop = asyncio.get_running_loop()
        idle_since = None
        next_row_check = loop.time() + ROW_CHECK_SECONDS
        blocking = isinstance(self.relay, RedisRelay)
        try:
            while self.done is None:
                if blocking:
                    new = await self.relay.aread(self.review_id, self.cursor, block_ms=1000)
                else:
                    new = await self.relay.aread(self.review_id, self.cursor)
                self._add(new)
                if self.done is None and loop.time() >= next_row_check:
                    next_row_check = loop.time() + ROW_CHECK_SECONDS
                    await self._end_if_final()
                if self.subscribers == 0:
                    idle_since = idle_since or loop.time()
                    if loop.time() - idle_since > IDLE_GRACE_SECONDS:
                        return
                else:
                    idle_since = None
                if not new and not blocking and self.done is None:
                    await asyncio.sleep(POLL_SECONDS)
        finally:
            on_idle(self)

    async def _end_if_final(self):
        status = await _final_status(self.review_id)
        if status is None:
            return
        # Whatever reached the relay first, then a `done` of our own if none did.
        self._add(await self.relay.aread(self.review_id, self.cursor))
        if self.done is None:
            self._add([Event(self.cursor + 1, DONE, status)])

    def _add(self, new):
        fresh = [e for e in new if e.id > self.cursor]
        if not fresh:
            return
        self.events.extend(fresh)
        self.ids.extend(e.id for e in fresh)
        self.cursor = fresh[-1].id
        self.done = self.done or next((e for e in fresh if e.kind == DONE), None)
        self._wake()

    def _wake(self):
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, after, timeout):
        """Events after `after`; an empty list when `timeout` passed with none."""
        if self.cursor <= after and self.done is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await waiter
            finally:
                self._waiters.discard(waiter)
        if self.done is not None and after >= self.done.id:
            # A viewer that resumes at or past `done` still gets it: the page must end.
            return [self.done]
        # Ids increase but may have gaps, so find the place instead of computing it.
        return self.events[bisect.bisect_right(self.ids, after) :]


class Hub:
    def __init__(self):
        self._watchers = {}

    def _watcher(self, review_id):
        watcher = self._watchers.get(review_id)
        if watcher is None or (watcher.task.done() and watcher.done is None):
            watcher = _Watcher(review_id, get_relay())
            self._watchers[review_id] = watcher
            watcher.task = asyncio.get_running_loop().create_task(watcher.run(self._forget))
        return watcher

    def _forget(self, watcher):
        # A finished review's watcher stays while viewers still read from it.
        finished_in_use = watcher.done is not None and watcher.subscribers > 0
        if self._watchers.get(watcher.review_id) is watcher and not finished_in_use:
            del self._watchers[watcher.review_id]

    def _release(self, watcher):
        watcher.subscribers -= 1
        if watcher.subscribers <= 0 and watcher.done is not None:
            # A finished review's events are dropped with its last viewer.
            if self._watchers.get(watcher.review_id) is watcher:
                del self._watchers[watcher.review_id]

    async def subscribe(self, review_id, after=0, heartbeat=None):
        """Yields lists of events after `after`; an empty list is a heartbeat tick.

        Ends after the `done` event.
        """
        heartbeat = heartbeat or settings.SSE_HEARTBEAT_SECONDS
        watcher = self._watcher(review_id)
        watcher.subscribers += 1
        try:
            while True:
                events = await watcher.wait(after, heartbeat)
                if events:
                    after = max(after, events[-1].id)
                yield events
                if any(e.kind == DONE for e in events):
                    return
                if watcher.task.done() and watcher.done is None and not events:
                    # The reader stopped (idle or an error): start a fresh one.
                    self._release(watcher)
                    watcher = self._watcher(review_id)
                    watcher.subscribers += 1
        finally:
            self._release(watcher)


_hubs = {}


def get_hub():
    # One hub per event loop: tests and servers may run more than one loop per process.
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
