"""The stream relay: an ordered log of events per review, written by the worker and
read by any number of SSE viewers.

Event ids are small integers per review so that `Last-Event-ID` means the same thing
in both backends. Deltas are stored raw; escaping happens where they become HTML.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings

DELTA, STATUS, NOTE, DONE = "delta", "status", "note", "done"


@dataclass(frozen=True)
class Event:
    id: int
    kind: str
    data: str


class DatabaseRelay:
    def append(self, review_id, seq, kind, data):
        from reviewer.reviews.models import StreamEvent

        StreamEvent.objects.create(review_id=review_id, seq=seq, kind=kind, data=data)

    def read(self, review_id, after=0):
        from reviewer.reviews.models import StreamEvent

        rows = StreamEvent.objects.filter(review_id=review_id, seq__gt=after).order_by("seq")
        return [
            Event(seq, kind, data) for seq, kind, data in rows.values_list("seq", "kind", "data")
        ]

    async def aread(self, review_id, after=0):
        from reviewer.reviews.models import StreamEvent

        rows = StreamEvent.objects.filter(review_id=review_id, seq__gt=after).order_by("seq")
        return [
            Event(seq, kind, data)
            async for seq, kind, data in rows.values_list("seq", "kind", "data")
        ]

    def last_id(self, review_id):
        from reviewer.reviews.models import StreamEvent

        last = StreamEvent.objects.filter(review_id=review_id).order_by("-seq").first()
        return last.seq if last else 0

    def delete(self, review_id):
        from reviewer.reviews.models import StreamEvent

        StreamEvent.objects.filter(review_id=review_id).delete()


class RedisRelay:
    """Redis Streams, with entry ids `0-<seq>` so that XREAD resumes at our own ids."""

    def __init__(self, url, ttl_seconds=7 * 24 * 3600):
        import redis
        import redis.asyncio

        self._sync = redis.Redis.from_url(url, decode_responses=True)
        self._url = url
        self._async_clients = {}
        self.ttl_seconds = ttl_seconds
        self._aredis = redis.asyncio

    @staticmethod
    def _key(review_id):
        return f"reviewer:stream:{review_id}"

    @staticmethod
    def _events(entries):
        return [Event(int(entry_id.split("-")[1]), f["k"], f["d"]) for entry_id, f in entries]

    def _async(self):
        import asyncio

        # redis.asyncio connections belong to the loop that made them.
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = self._aredis.Redis.from_url(self._url, decode_responses=True)
            self._async_clients[loop] = client
        return client

    def append(self, review_id, seq, kind, data):
        key = self._key(review_id)
        pipe = self._sync.pipeline()
        pipe.xadd(key, {"k": kind, "d": data}, id=f"0-{seq}")
        pipe.expire(key, self.ttl_seconds)
        pipe.execute()

    def read(self, review_id, after=0):
        return self._events(self._sync.xrange(self._key(review_id), min=f"0-{after + 1}"))

    async def aread(self, review_id, after=0, block_ms=None):
        key = self._key(review_id)
        client = self._async()
        if block_ms is None:
            return self._events(await client.xrange(key, min=f"0-{after + 1}"))
        result = await client.xread({key: f"0-{after}"}, block=block_ms)
        return self._events(result[0][1]) if result else []

    def last_id(self, review_id):
        last = self._sync.xrevrange(self._key(review_id), count=1)
        return int(last[0][0].split("-")[1]) if last else 0

    def delete(self, review_id):
        self._sync.delete(self._key(review_id))


@cache
def get_relay():
    if settings.REDIS_URL:
        return RedisRelay(settings.REDIS_URL)
    return DatabaseRelay()


class RelayWriter:
    """Appends one review's events with increasing ids; the worker owns one per run."""

    def __init__(self, review_id, relay=None):
        self.review_id = review_id
        self.relay = relay or get_relay()
        self.last_id = self.relay.last_id(review_id)

    def append(self, kind, data):
        self.last_id += 1
        self.relay.append(self.review_id, self.last_id, kind, data)
        return self.last_id


def text_so_far(review_id, relay=None):
    """The streamed text and the id of the last event it includes."""
    events = (relay or get_relay()).read(review_id)
    text = "".join(e.data for e in events if e.kind == DELTA)
    return text, (events[-1].id if events else 0)
