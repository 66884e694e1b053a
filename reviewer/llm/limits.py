"""Shared rate limiter and circuit breaker, built on a :class:`SharedState`."""

from __future__ import annotations

import email.utils
import hashlib
import re
import time
from collections.abc import Callable, Mapping

from .state import SharedState

WINDOW = 60.0  # seconds: providers count their limits per minute


def limiter_key(provider: str, api_key: str | None) -> str:
    """Key of a provider account: provider + a short sha256 of the API key (never the key)."""
    digest = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
    return f"rl:{provider}:{digest}"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(value: str | None) -> float | None:
    """OpenAI-style reset durations: ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"``, or plain
    seconds ``"12"``. None when it cannot be read."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    total, pos = 0.0, 0
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            return None
        pos = m.end()
        n = float(m.group(1))
        total += {"ms": n / 1000, "s": n, "m": n * 60, "h": n * 3600}[m.group(2)]
    return total if pos == len(value) and pos else None


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the provider asked us to wait: ``retry-after-ms``, then ``Retry-After`` as
    seconds or an HTTP date, each also under a gateway's ``llm_provider-`` prefix. None when
    absent or unreadable."""
    lower = {k.lower(): v for k, v in headers.items()}
    # Gateways (LiteLLM) pass the upstream's wait on under their own prefix.
    for name in ("retry-after-ms", "llm_provider-retry-after-ms"):
        ms = lower.get(name)
        if ms:
            try:
                return max(0.0, float(ms) / 1000)
            except ValueError:
                pass
    value = lower.get("retry-after") or lower.get("llm_provider-retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RateLimiter:
    """Requests-per-minute and tokens-per-minute for one provider key, shared through
    ``state``. ``acquire`` either takes budget (returns 0) or says how long to wait."""

    def __init__(
        self,
        state: SharedState,
        key: str,
        rpm: int | None,
        tpm: int | None,
        clock: Callable[[], float] = time.time,
        window: float = WINDOW,
    ):
        self.state, self.key, self.rpm, self.tpm, self.clock = state, key, rpm, tpm, clock
        self.window = window

    def acquire(self, tokens: int) -> float:
        now = self.clock()
        blocked = self.state.get(f"{self.key}:block")
        if blocked is not None:
            until = float(blocked)
            if until > now:
                return until - now
        if self.tpm:
            wait = self.state.take(f"{self.key}:tpm", max(1, tokens), self.tpm, self.window)
            if wait > 0:
                return wait
        if self.rpm:
            wait = self.state.take(f"{self.key}:rpm", 1, self.rpm, self.window)
            if wait > 0:
                if self.tpm:
                    self.state.refund(f"{self.key}:tpm", max(1, tokens))
                return wait
        return 0.0

    def block(self, seconds: float) -> None:
        """Nobody sharing this key sends for ``seconds`` (keeps a longer block in place)."""
        if seconds <= 0:
            return
        until = self.clock() + seconds
        current = self.state.get(f"{self.key}:block")
        if current is not None and float(current) >= until:
            return
        self.state.set(f"{self.key}:block", repr(until), seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adapt to ``x-ratelimit-remaining-{requests,tokens}`` = 0: block until the matching
        ``x-ratelimit-reset-*`` time."""
        lower = {k.lower(): v for k, v in headers.items()}
        for kind in ("requests", "tokens"):
            remaining = lower.get(f"x-ratelimit-remaining-{kind}")
            if remaining is None:
                continue
            try:
                left = float(remaining)
            except ValueError:
                continue
            if left <= 0:
                reset = parse_duration(lower.get(f"x-ratelimit-reset-{kind}"))
                self.block(reset if reset is not None else self.window)


class CircuitBreaker:
    """Per-provider breaker shared through ``state``.

    Closed: requests go. After ``failures`` consecutive failures it opens for
    ``open_seconds``. Then it is half-open: exactly one caller wins the probe (atomic ``add``);
    the others keep waiting. The probe's success closes it; its failure opens it again.
    A probe whose process dies frees the slot after ``probe_lease`` seconds."""

    def __init__(
        self,
        state: SharedState,
        provider: str,
        failures: int = 5,
        open_seconds: float = 60,
        probe_lease: float = 700,
        clock: Callable[[], float] = time.time,
    ):
        self.state, self.provider, self.clock = state, provider, clock
        self.failures, self.open_seconds, self.probe_lease = failures, open_seconds, probe_lease
        self._fails = f"cb:{provider}:fails"
        self._open = f"cb:{provider}:open"
        self._probe = f"cb:{provider}:probe"
        self.memory = max(3600.0, open_seconds * 10)

    def before(self) -> tuple[float, bool]:
        """``(wait_seconds, is_probe)``: wait > 0 means not now."""
        opened = self.state.get(self._open)
        if opened is None:
            return 0.0, False
        until = float(opened)
        now = self.clock()
        if now < until:
            return until - now, False
        if self.state.add(self._probe, repr(now), self.probe_lease):
            return 0.0, True
        return min(5.0, self.open_seconds), False

    def is_open(self) -> bool:
        return self.state.get(self._open) is not None

    def success(self) -> None:
        self.state.delete(self._fails, self._open, self._probe)

    def failure(self, was_probe: bool = False) -> None:
        count = self.state.incr(self._fails, self.memory)
        if was_probe or count >= self.failures:
            until = self.clock() + self.open_seconds
            self.state.set(self._open, repr(until), self.open_seconds + self.memory)
            self.state.delete(self._probe)

    def release(self, was_probe: bool) -> None:
        """Neither success nor failure (e.g. a 429): let another caller probe."""
        if was_probe:
            self.state.delete(self._probe)
