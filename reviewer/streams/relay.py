"""The stream relay: an ordered log of events per review, written by the worker and
read by any number of SSE viewers.

Event ids are small integers per review so that `Last-Event-ID` means the same thing
in both backends. They are handed out atomically by the relay itself (a counter column
in the database, a counter key in Redis), in the same transaction or script that
stores the events, so two writers never collide and a failed write consumes no id.

A run's appends carry its fencing token: the relay stores them only while that run
still owns the review, so a worker that lost its lease cannot add a word to the page.
Deltas are stored raw; escaping happens where they become HTML.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import transaction
from django.db.models import F

DELTA, STATUS, NOTE, DONE = "delta", "status", "note", "done"
# JSON made by the run (runs/progress.py): queue place, packing counts, tokens.
PROGRESS = "progress"

# The statuses in which a run writes; any other status means the run lost the review.
RUNNING_STATUSES = ("packing", "waiting", "streaming")


class FenceLost(Exception):
    """The run no longer owns the review: another worker or the reaper took it over."""


@dataclass(frozen=True)
class Event:
    id: int
    kind: str
    data: str


class DatabaseRelay:
    def append(self, review_id, events, token=None):
        """Stores [(kind, data), ...] under the next ids; returns the last id.

        With a token, only while the run holding it owns the review (FenceLost otherwise).
        """
        from reviewer.reviews.models import Review, StreamEvent

        events = list(events)
        with transaction.atomic():
            rows = Review.objects.filter(pk=review_id)
            if token is not None:
                rows = rows.filter(attempts=token, status__in=RUNNING_STATUSES)
            # The update locks the row until commit: the counter and the rows move together.
            if not rows.update(event_seq=F("event_seq") + len(events)):
                raise FenceLost(f"review {review_id} is no longer this run's")
            last = Review.objects.values_list("event_seq", flat=True).get(pk=review_id)
            first = last - len(events) + 1
            StreamEvent.objects.bulk_create(
                StreamEvent(review_id=review_id, seq=first + i, kind=kind, data=data)
                for i, (kind, data) in enumerate(events)
            )
        return last

    def fence(self, review_id, token):
        """The database relay's fence is the review row itself."""

    def seize(self, review_id):
        """Nothing to do: the row's status change is what stops the old run."""

    def retire(self, review_id, seconds):
        """Nothing to do: the reaper prunes finished reviews' rows."""

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


# KEYS: stream, id counter, fence. ARGV: token ('' for none), ttl, then kind, data pairs.
_APPEND = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return -1
end
local n = (#ARGV - 2) / 2
local last = redis.call('INCRBY', KEYS[2], n)
for i = 0, n - 1 do
  local id = '0-' .. (last - n + 1 + i)
  redis.call('XADD', KEYS[1], id, 'k', ARGV[3 + 2 * i], 'd', ARGV[4 + 2 * i])
end
for i = 1, 3 do
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return last
"""


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
        self._append = self._sync.register_script(_APPEND)

    @staticmethod
    def _key(review_id):
        return f"reviewer:stream:{review_id}"

    @staticmethod
    def _keys(review_id):
        return [
            f"reviewer:stream:{review_id}",
            f"reviewer:stream-seq:{review_id}",
            f"reviewer:stream-fence:{review_id}",
        ]

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

    def append(self, review_id, events, token=None):
        args = ["" if token is None else str(token), self.ttl_seconds]
        for kind, data in events:
            args += [kind, data]
        last = self._append(keys=self._keys(review_id), args=args)
        if last == -1:
            raise FenceLost(f"review {review_id} is no longer this run's")
        return int(last)

    def fence(self, review_id, token):
        """From now on only appends with this token (or none) are stored."""
        self._sync.set(self._keys(review_id)[2], str(token), ex=self.ttl_seconds)

    def seize(self, review_id):
        """Stops every run's appends, before the reaper looks at what a lost run wrote."""
        self._sync.set(self._keys(review_id)[2], "seized", ex=self.ttl_seconds)

    def retire(self, review_id, seconds):
        """A finished review's events expire soon; its row holds the report."""
        self._sync.expire(self._key(review_id), seconds)

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
        """Forgets the events; the id counter stays so that ids never go back."""
        self._sync.delete(self._key(review_id))


@cache
def get_relay():
    if settings.REDIS_URL:
        return RedisRelay(settings.REDIS_URL)
    return DatabaseRelay()


class RelayWriter:
    """Appends one review's events; with a token, only while that run owns the review."""

    def __init__(self, review_id, relay=None, token=None):
        self.review_id = review_id
        self.relay = relay or get_relay()
        self.token = token
        self.last_id = 0

    def append(self, kind, data):
        return self.append_many([(kind, data)])

    def append_many(self, events):
        self.last_id = self.relay.append(self.review_id, events, self.token)
        return self.last_id


def text_so_far(review_id, relay=None):
    """The streamed text and the id of the last event read."""
    events = (relay or get_relay()).read(review_id)
    text = "".join(e.data for e in events if e.kind == DELTA)
    return text, (events[-1].id if events else 0)
