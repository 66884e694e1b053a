"""Fan-out of relay events inside one ASGI process.

Each review that has viewers gets one reader task here, however many viewers it has:
200 viewers cost one relay query (or one blocking XREAD) per poll, not 200.
"""

import asyncio
import contextlib

from django.conf import settings

from reviewer.streams.relay import DONE, RedisRelay, get_relay

POLL_SECONDS = 0.02
IDLE_GRACE_SECONDS = 30


class _Watcher:
    def __init__(self, review_id, relay):
        self.review_id = review_id
        self.relay = relay
        self.events = []
        self.cursor = 0
        self.finished = False
        self.subscribers = 0
        # One future per waiting subscriber, resolved when events arrive: cheaper than a
        # Condition with wait_for (a lock round trip and a task per wait), which matters
        # when one event wakes hundreds of viewers.
        self._waiters = set()
        self.task = None

    async def run(self, on_idle):
        idle_since = None
        blocking = isinstance(self.relay, RedisRelay)
        try:
            while True:
                if blocking:
                    new = await self.relay.aread(self.review_id, self.cursor, block_ms=1000)
                else:
                    new = await self.relay.aread(self.review_id, self.cursor)
                if new:
                    self.cursor = new[-1].id
                    self.events.extend(new)
                    self.finished = self.finished or any(e.kind == DONE for e in new)
                    self._wake()
                if self.subscribers == 0:
                    loop = asyncio.get_running_loop()
                    idle_since = idle_since or loop.time()
                    if self.finished or loop.time() - idle_since > IDLE_GRACE_SECONDS:
                        return
                else:
                    idle_since = None
                if not new and not blocking:
                    await asyncio.sleep(POLL_SECONDS)
        finally:
            on_idle(self)

    def _wake(self):
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, after, timeout):
        """Events after `after`; an empty list when `timeout` passed with none."""
        if self.cursor <= after:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await waiter
            finally:
                self._waiters.discard(waiter)
        return self._tail(after)

    def _tail(self, after):
        # Ids are dense from the first event we hold, so slice instead of scanning.
        if not self.events:
            return []
        start = max(0, after - self.events[0].id + 1)
        return self.events[start:]


class Hub:
    def __init__(self):
        self._watchers = {}

    def _watcher(self, review_id):
        watcher = self._watchers.get(review_id)
        if watcher is None or watcher.task is None or watcher.task.done():
            watcher = _Watcher(review_id, get_relay())
            self._watchers[review_id] = watcher
            watcher.task = asyncio.get_running_loop().create_task(watcher.run(self._forget))
        return watcher

    def _forget(self, watcher):
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
                    after = events[-1].id
                yield events
                if any(e.kind == DONE for e in events):
                    return
                if watcher.task.done() and not events:
                    # The reader stopped (idle or an error): start a fresh one.
                    watcher.subscribers -= 1
                    watcher = self._watcher(review_id)
                    watcher.subscribers += 1
        finally:
            watcher.subscribers -= 1


_hubs = {}


def get_hub():
    # One hub per event loop: tests and servers may run more than one loop per process.
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
