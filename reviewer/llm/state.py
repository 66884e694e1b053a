"""Shared state for the rate limiter and the circuit breaker, across worker processes.

:class:`SharedState` is the small protocol the limiter and breaker need. Ship-ready
implementations: :class:`MemoryState` (one process; tests) and :class:`RedisState`. Any other
implementation (e.g. a database table) must pass ``tests/llm/state_contract.py``.

All keys are short ASCII strings chosen by this library (they never contain an API key); values
are strings; times are seconds (floats allowed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class SharedState(Protocol):
    """The operations the limiter and breaker use. Each one must be atomic with respect to
    every other call on the same key, from any thread or process sharing the state."""

    def take(self, key: str, amount: int, limit: int, window: float) -> float:
        """Fixed-window budget. ``key``'s window starts at the first successful take when no
        window is running and lasts ``window`` seconds; its usage starts at 0.

        If ``usage + amount <= limit``, or ``usage == 0`` (one request larger than the whole
        limit may still go alone in an empty window), add ``amount`` to the usage and return
        ``0.0``. Otherwise change nothing and return the seconds until the running window ends
        (a number > 0). When the window ends the key disappears and usage is 0 again."""
        ...

    def refund(self, key: str, amount: int) -> None:
        """Give back ``amount`` to the running window of ``key`` (usage never goes below 0; the
        window's end does not move). No effect when no window is running."""
        ...

    def get(self, key: str) -> str | None:
        """The value stored at ``key``, or None when absent or expired."""
        ...

    def set(self, key: str, value: str, ttl: float) -> None:
        """Store ``value`` at ``key``, replacing any value; it expires ``ttl`` seconds from now."""
        ...

    def add(self, key: str, value: str, ttl: float) -> bool:
        """Store ``value`` at ``key`` only if the key is absent or expired; expires after ``ttl``
        seconds. Returns True if this call stored it (exactly one of concurrent callers wins)."""
        ...

    def incr(self, key: str, ttl: float) -> int:
        """Add 1 to the integer at ``key`` and return the new value. An absent or expired key
        starts at 0 and gets a time to live of ``ttl`` seconds; incrementing an existing key
        keeps its expiry unchanged."""
        ...

    def delete(self, *keys: str) -> None:
        """Remove the keys (absent keys are fine)."""
        ...


class MemoryState:
    """In-process SharedState (thread-safe). ``clock`` is injectable for tests (monotonic
    seconds); it must be the same clock the test advances."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._data: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> tuple[str, float | None] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= self._clock():
            del self._data[key]
            return None
        return item

    def take(self, key: str, amount: int, limit: int, window: float) -> float:
        with self._lock:
            item = self._live(key)
            if item is None:
                self._data[key] = (str(amount), self._clock() + window)
                return 0.0
            used, expires = int(item[0]), item[1]
            if used == 0 or used + amount <= limit:
                self._data[key] = (str(used + amount), expires)
                return 0.0
            return max(1e-3, (expires or 0.0) - self._clock())

    def refund(self, key: str, amount: int) -> None:
        with self._lock:
            item = self._live(key)
            if item is not None:
                self._data[key] = (str(max(0, int(item[0]) - amount)), item[1])

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._live(key)
            return None if item is None else item[0]

    def set(self, key: str, value: str, ttl: float) -> None:
        with self._lock:
            self._data[key] = (str(value), self._clock() + ttl)

    def add(self, key: str, value: str, ttl: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (str(value), self._clock() + ttl)
            return True

    def incr(self, key: str, ttl: float) -> int:
        with self._lock:
            item = self._live(key)
            if item is None:
                self._data[key] = ("1", self._clock() + ttl)
                return 1
            value = int(item[0]) + 1
            self._data[key] = (str(value), item[1])
            return value

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)


_TAKE = """
local pttl = redis.call('PTTL', KEYS[1])
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
if pttl == -2 then
  redis.call('SET', KEYS[1], amount, 'PX', window)
  return 0
end
local used = tonumber(redis.call('GET', KEYS[1]))
if used == 0 or used + amount <= limit then
  redis.call('INCRBY', KEYS[1], amount)
  if pttl == -1 then redis.call('PEXPIRE', KEYS[1], window) end
  return 0
end
if pttl == -1 then
  redis.call('PEXPIRE', KEYS[1], window)
  return window
end
return math.max(pttl, 1)
"""

_REFUND = """
local pttl = redis.call('PTTL', KEYS[1])
if pttl == -2 then return 0 end
local v = redis.call('DECRBY', KEYS[1], tonumber(ARGV[1]))
if v < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL') end
return 0
"""

_INCR = """
local v = redis.call('INCR', KEYS[1])
if v == 1 or redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return v
"""


def _ms(seconds: float) -> int:
    return max(1, int(round(seconds * 1000)))


class RedisState:
    """SharedState on Redis: every operation is one atomic command or Lua script; expiry uses
    Redis' own clock, so worker clocks need not agree. All keys get ``prefix``."""

    def __init__(self, redis_url: str, prefix: str = "reviewer:llm:", client=None):
        import redis  # imported here so the library imports without redis installed

        self.prefix = prefix
        self._r = client or redis.Redis.from_url(redis_url, socket_timeout=10)
        self._take = self._r.register_script(_TAKE)
        self._refund = self._r.register_script(_REFUND)
        self._incr = self._r.register_script(_INCR)

    def _k(self, key: str) -> str:
        return self.prefix + key

    def take(self, key: str, amount: int, limit: int, window: float) -> float:
        ms = self._take(keys=[self._k(key)], args=[int(amount), int(limit), _ms(window)])
        return int(ms) / 1000.0

    def refund(self, key: str, amount: int) -> None:
        self._refund(keys=[self._k(key)], args=[int(amount)])

    def get(self, key: str) -> str | None:
        value = self._r.get(self._k(key))
        return None if value is None else value.decode() if isinstance(value, bytes) else value

    def set(self, key: str, value: str, ttl: float) -> None:
        self._r.set(self._k(key), str(value), px=_ms(ttl))

    def add(self, key: str, value: str, ttl: float) -> bool:
        return bool(self._r.set(self._k(key), str(value), px=_ms(ttl), nx=True))

    def incr(self, key: str, ttl: float) -> int:
        return int(self._incr(keys=[self._k(key)], args=[_ms(ttl)]))

    def delete(self, *keys: str) -> None:
        if keys:
            self._r.delete(*[self._k(k) for k in keys])

    def flush_prefix(self) -> None:
        """Delete every key under this prefix (for tests)."""
        for key in self._r.scan_iter(match=self.prefix + "*", count=500):
            self._r.delete(key)
