"""``stream_review``: send one review request and stream the answer, robustly.

Design:

* Each attempt is one HTTP request whose response a reader thread feeds into a queue
  (``transport.py``); the attempt (``attempt.py``) waits on it with deadlines, so the
  first-token timeout (long), the stall timeout (between bytes once text flows), the total cap
  and cancellation are all enforced there, independent of httpx's per-read timeout.
* To stop an upstream stream at once (cancel, timeout, consumer went away) the transport shuts
  the request's sockets down.
* This module runs the attempts: rate limiter, circuit breaker and back-off. Retries happen only
  before any answer text was yielded, so text is never duplicated.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from .adapters import build_body, build_http
from .attempt import Attempt, Retry
from .catalogue import ModelInfo
from .limits import CircuitBreaker, RateLimiter, limiter_key, retry_after_seconds
from .messages import cap, host_of, seconds, time_limit_sentence, who_answers, with_detail
from .state import SharedState
from .transport import Transport
from .types import (
    Cancelled,
    ClientSettings,
    Delta,
    Endpoint,
    Finished,
    LLMError,
    ReviewRequest,
    Status,
    redact,
)

# --- the public entry point ----------------------------------------------------------------------


def stream_review(
    model: ModelInfo,
    endpoint: Endpoint,
    request: ReviewRequest,
    *,
    settings: ClientSettings | None = None,
    shared: SharedState | None = None,
    cancel: threading.Event | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    rng: random.Random | None = None,
) -> Iterator[Delta | Status | Finished]:
    """Stream one review. Yields ``Delta`` (answer text, in order, never repeated), ``Status``
    (retrying / waiting / streaming) and, last, ``Finished``. Raises ``LLMError`` (``message``
    is a plain sentence without the key; ``after_first_token`` tells whether Delta text was
    already yielded) or ``Cancelled``.

    ``shared`` enables the cross-process rate limiter (rpm/tpm from settings or catalogue) and
    the per-provider circuit breaker. ``sleep`` is called for every wait (inject it in tests;
    with the default and a ``cancel`` event, waits end early on cancel). ``clock`` is the wall
    clock used for shared deadlines (inject with ``sleep`` to simulate time)."""
    return _Review(
        model, endpoint, request, settings or ClientSettings(), shared, cancel, sleep, clock, rng
    ).run()


class _Review:
    def __init__(
        self,
        model: ModelInfo,
        endpoint: Endpoint,
        request: ReviewRequest,
        settings: ClientSettings,
        shared: SharedState | None,
        cancel: threading.Event | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: random.Random | None,
    ):
        self.model, self.endpoint, self.request, self.settings = model, endpoint, request, settings
        self.cancel, self._sleep, self.clock = cancel, sleep, clock
        self.rng = rng or random.Random()
        self.secrets = (endpoint.api_key,)
        self.who = who_answers(model.provider, endpoint.base_url, endpoint.name)
        self.host = host_of(endpoint.base_url)
        rpm = settings.rpm if settings.rpm is not None else model.rpm
        tpm = settings.tpm if settings.tpm is not None else model.tpm
        self.limiter = None
        self.breaker = None
        if shared is not None:
            if rpm or tpm:
                key = limiter_key(model.provider, endpoint.api_key)
                self.limiter = RateLimiter(shared, key, rpm, tpm, clock, settings.rate_window)
            self.breaker = CircuitBreaker(
                shared,
                model.provider,
                failures=settings.breaker_failures,
                open_seconds=settings.breaker_open_seconds,
                probe_lease=settings.first_token_timeout + settings.connect_timeout + 60,
                clock=clock,
            )

    # helpers
    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("The review was cancelled.")

    def _wait(self, duration: float) -> None:
        self._check_cancel()
        if time.monotonic() + duration > self.total_deadline:
            raise LLMError(time_limit_sentence(self.settings.total_timeout), retryable=True)
        if self.cancel is not None and self._sleep is time.sleep:
            self.cancel.wait(duration)
        else:
            self._sleep(duration)
        self._check_cancel()

    def _error(self, message: str, **kw: Any) -> LLMError:
        return LLMError(redact(message, *self.secrets), **kw)

    # main loop
    def run(self) -> Iterator[Delta | Status | Finished]:
        self._check_cancel()
        body = build_body(self.model, self.request)
        # ASCII escapes keep the text one byte a character in memory: with non-ASCII
        # characters kept, CPython would hold the whole prompt at up to 4 bytes a character.
        payload = json.dumps(body).encode("ascii")
        url, headers = build_http(self.model, self.endpoint)
        tokens = self.request.rough_prompt_tokens()
        self.total_deadline = time.monotonic() + self.settings.total_timeout
        attempts = self.settings.max_retries + 1
        with Transport(self.settings) as transport:
            attempt = 0
            while True:
                probe = yield from self._wait_for_breaker()
                yield from self._wait_for_budget(tokens)
                attempt += 1
                try:
                    stream = transport.open_stream(url, headers, payload)
                    yield from Attempt(self, stream, probe).run()
                    return
                except Retry as failure:
                    self._after_failure(failure, probe)
                    if attempt >= attempts:
                        raise self._exhausted(failure, attempts) from None
                    delay = self._delay(failure, attempt)
                    yield Status(
                        "retrying",
                        f"retrying in {seconds(delay)} s (attempt {attempt + 1} of {attempts})",
                    )
                    self._wait(delay)

    def _wait_for_breaker(self) -> Generator[Status, None, bool]:
        """Wait while the provider's breaker is open; return whether this attempt is the probe."""
        if self.breaker is None:
            return False
        while True:
            self._check_cancel()
            wait, probe = self.breaker.before()
            if wait <= 0:
                return probe
            yield Status(
                "waiting",
                f"waiting: {self.who} is failing, trying again in about {seconds(wait)} s",
            )
            self._wait(wait)

    def _wait_for_budget(self, tokens: int) -> Iterator[Status]:
        """Wait until the shared rate limit has room for one request of ``tokens``."""
        if self.limiter is None:
            return
        while True:
            self._check_cancel()
            wait = self.limiter.acquire(tokens)
            if wait <= 0:
                return
            yield Status("waiting", f"waiting for rate limit, about {seconds(wait)} s")
            self._wait(wait)

    def _after_failure(self, failure: Retry, probe: bool) -> None:
        if failure.status == 429 and self.limiter is not None:
            wait = retry_after_seconds(failure.headers, self.clock())
            if wait:
                self.limiter.block(min(wait, self.settings.retry_after_cap))
        if self.breaker is not None:
            if failure.breaker_failure:
                self.breaker.failure(was_probe=probe)
            else:
                self.breaker.release(probe)

    def _delay(self, failure: Retry, attempt: int) -> float:
        asked = retry_after_seconds(failure.headers, self.clock())
        if asked is not None:
            return min(asked, self.settings.retry_after_cap)
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** (attempt - 1))
        return self.rng.uniform(0, ceiling)

    def _exhausted(self, failure: Retry, attempts: int) -> LLMError:
        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        if failure.status == 429:
            message = f"{cap(self.who)}'s rate limit was still exceeded {tries}."
        elif failure.status is not None:
            message = f"{cap(self.who)} failed with HTTP {failure.status} {tries}."
        else:
            message = f"{failure.message.rstrip('.')} ({tries})."
        if failure.detail:
            message = with_detail(message, failure.detail, self.who)
        return self._error(message, retryable=True, status_code=failure.status)
