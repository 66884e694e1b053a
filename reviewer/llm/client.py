"""``stream_review``: send one review request and stream the answer, robustly.

Design:

* The HTTP request runs in a reader thread that pushes response head, body bytes, end or
  exception into a queue. The generator waits on the queue with deadlines, so the first-token
  timeout (long), the stall timeout (between bytes once text flows), the total cap and
  cancellation are all enforced here, independent of httpx's per-read timeout (which is only a
  generous backstop).
* To stop an upstream stream at once (cancel, timeout, consumer went away) the sockets of the
  request's httpx client are shut down (``shutdown(SHUT_RDWR)`` wakes a blocked ``recv``), via
  a small wrapper around httpcore's network backend.
* Retries happen only before any answer text was yielded, so text is never duplicated.
"""

from __future__ import annotations

import json
import math
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from .adapters import MalformedEvent, build_body, build_http, parser_for
from .catalogue import ModelInfo
from .limits import CircuitBreaker, RateLimiter, limiter_key, retry_after_seconds
from .sse import SSEParser
from .state import SharedState
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

RETRY_STATUSES = frozenset({408, 409, 429})
BREAKER_STATUSES = frozenset({408})  # plus every 5xx
_MAX_ERROR_BODY = 64 * 1024


class _Retry(Exception):
    """A failure before the first token that may be retried."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        breaker_failure: bool = True,
        detail: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.status = status
        self.headers = dict(headers or {})
        self.breaker_failure = breaker_failure


# --- socket tracking so another thread can stop a blocked read -----------------------------------


class _TrackedStream:
    """Wraps an httpcore network stream; remembers the newest stream (after TLS) for abort."""

    def __init__(self, inner: Any, registry: list):
        self._inner = inner
        self._registry = registry
        registry.append(self)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> _TrackedStream:
        return _TrackedStream(self._inner.start_tls(*args, **kwargs), self._registry)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def shutdown(self) -> None:
        try:
            sock = self._inner.get_extra_info("socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _TrackingBackend:
    def __init__(self, inner: Any):
        self._inner = inner
        self.streams: list[_TrackedStream] = []

    def connect_tcp(self, *args: Any, **kwargs: Any) -> _TrackedStream:
        return _TrackedStream(self._inner.connect_tcp(*args, **kwargs), self.streams)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _TrackedStream:
        return _TrackedStream(self._inner.connect_unix_socket(*args, **kwargs), self.streams)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def shutdown_all(self) -> None:
        for stream in list(self.streams):
            stream.shutdown()
        self.streams.clear()


def _make_client(settings: ClientSettings) -> tuple[httpx.Client, _TrackingBackend | None]:
    backstop = max(settings.first_token_timeout, settings.stall_timeout) + 30
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=backstop,
        write=max(60.0, settings.first_token_timeout),
        pool=settings.connect_timeout,
    )
    client = httpx.Client(timeout=timeout, follow_redirects=False)
    backend = None
    try:  # best effort: httpcore internals; without it aborts rely on the read backstop
        pools = [client._transport, *client._mounts.values()]
        for transport in pools:
            pool = getattr(transport, "_pool", None)
            if pool is not None and hasattr(pool, "_network_backend"):
                if backend is None:
                    backend = _TrackingBackend(pool._network_backend)
                pool._network_backend = backend
    except Exception:  # pragma: no cover - depends on httpx internals
        backend = None
    return client, backend


class _Upstream:
    """One HTTP request running in a reader thread, consumed through a queue."""

    def __init__(
        self,
        client: httpx.Client,
        backend: _TrackingBackend | None,
        url: str,
        headers: dict[str, str],
        payload: bytes,
    ):
        self._client, self._backend = client, backend
        self._url, self._headers, self._payload = url, headers, payload
        self.queue: queue.Queue = queue.Queue()
        self._abort = threading.Event()
        self.thread = threading.Thread(target=self._run, name="reviewer-llm-upstream", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream(
                "POST", self._url, content=self._payload, headers=self._headers
            ) as resp:
                if self._abort.is_set():
                    return
                self.queue.put(("head", resp.status_code, dict(resp.headers)))
                if resp.status_code != 200:
                    body = b""
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) >= _MAX_ERROR_BODY or self._abort.is_set():
                            break
                    self.queue.put(("body", body[:_MAX_ERROR_BODY]))
                    return
                for chunk in resp.iter_bytes():
                    if self._abort.is_set():
                        return
                    self.queue.put(("data", chunk))
                self.queue.put(("end",))
        except Exception as exc:
            if not self._abort.is_set():
                self.queue.put(("exc", exc))

    def get(self, deadline: float, cancel: threading.Event | None, poll: float) -> tuple | None:
        """Next item, or None when ``deadline`` (monotonic) passes. Raises Cancelled."""
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled("The review was cancelled.")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                return self.queue.get(timeout=min(poll, remaining))
            except queue.Empty:
                continue

    def abort(self) -> None:
        """Stop the request now: the reader thread's blocked read returns at once."""
        self._abort.set()
        if self._backend is not None:
            self._backend.shutdown_all()
        self.thread.join(timeout=1.0)


# --- messages ------------------------------------------------------------------------------------


def _seconds(value: float) -> str:
    return str(math.ceil(value)) if value >= 1 else f"{value:.1f}".rstrip("0").rstrip(".") or "0"


def _provider_message(body: bytes, secrets: tuple) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    message = ""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, list) and doc:
        doc = doc[0]
    if isinstance(doc, dict):
        err = doc.get("error", doc)
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("detail") or err.get("status") or "")
        elif isinstance(err, str):
            message = err
        if not message:
            message = str(doc.get("message") or doc.get("detail") or "")
    elif text and not text.lstrip().startswith("<"):
        message = text
    message = " ".join(message.split())
    if len(message) > 300:
        message = message[:297] + "..."
    return redact(message, *secrets)


_STATUS_SENTENCES = {
    400: "The provider rejected the request as invalid.",
    401: "The provider rejected the API key.",
    402: "The provider refused the request for billing reasons (payment required).",
    403: "The provider refused access with this API key.",
    404: "The provider does not know this model or address.",
    413: "The request is too large for the provider.",
    422: "The provider could not process the request.",
}


def _with_detail(sentence: str, detail: str) -> str:
    return f"{sentence} The provider said: {detail}" if detail else sentence


def _connection_sentence(exc: Exception, settings: ClientSettings) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Could not connect to the provider within {_seconds(settings.connect_timeout)} s."
    if isinstance(exc, httpx.ConnectError):
        return "Could not connect to the provider."
    if isinstance(exc, httpx.TimeoutException):
        return "The provider stopped responding."
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return "The connection to the provider broke."
    if isinstance(exc, httpx.HTTPError):
        return "The request to the provider failed."
    return "The request to the provider failed unexpectedly."


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

    def _wait(self, seconds: float) -> None:
        self._check_cancel()
        if time.monotonic() + seconds > self.total_deadline:
            raise LLMError(
                "The review could not finish within the "
                f"{_seconds(self.settings.total_timeout)} s time limit.",
                retryable=True,
            )
        if self.cancel is not None and self._sleep is time.sleep:
            self.cancel.wait(seconds)
        else:
            self._sleep(seconds)
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
        provider = self.model.provider
        client, backend = _make_client(self.settings)
        try:
            attempt = 0
            while True:
                probe = False
                if self.breaker is not None:
                    while True:
                        self._check_cancel()
                        wait, probe = self.breaker.before()
                        if wait <= 0:
                            break
                        yield Status(
                            "waiting",
                            f"waiting: {provider} is failing, trying again in about "
                            f"{_seconds(wait)} s",
                        )
                        self._wait(wait)
                if self.limiter is not None:
                    while True:
                        self._check_cancel()
                        wait = self.limiter.acquire(tokens)
                        if wait <= 0:
                            break
                        yield Status("waiting", f"waiting for rate limit, about {_seconds(wait)} s")
                        self._wait(wait)
                attempt += 1
                try:
                    yield from self._attempt(client, backend, url, headers, payload, probe)
                    return
                except _Retry as failure:
                    self._after_failure(failure, probe)
                    if attempt >= attempts:
                        raise self._exhausted(failure, attempts) from None
                    delay = self._delay(failure, attempt)
                    yield Status(
                        "retrying",
                        f"retrying in {_seconds(delay)} s (attempt {attempt + 1} of {attempts})",
                    )
                    self._wait(delay)
        finally:
            client.close()

    def _after_failure(self, failure: _Retry, probe: bool) -> None:
        if failure.status == 429 and self.limiter is not None:
            wait = retry_after_seconds(failure.headers, self.clock())
            if wait:
                self.limiter.block(min(wait, self.settings.retry_after_cap))
        if self.breaker is not None:
            if failure.breaker_failure:
                self.breaker.failure(was_probe=probe)
            else:
                self.breaker.release(probe)

    def _delay(self, failure: _Retry, attempt: int) -> float:
        asked = retry_after_seconds(failure.headers, self.clock())
        if asked is not None:
            return min(asked, self.settings.retry_after_cap)
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** (attempt - 1))
        return self.rng.uniform(0, ceiling)

    def _exhausted(self, failure: _Retry, attempts: int) -> LLMError:
        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        if failure.status == 429:
            message = f"The provider's rate limit was still exceeded {tries}."
        elif failure.status is not None:
            message = f"The provider failed with HTTP {failure.status} {tries}."
        else:
            message = f"{failure.message.rstrip('.')} ({tries})."
        if failure.detail:
            message = _with_detail(message, failure.detail)
        return self._error(message, retryable=True, status_code=failure.status)

    def _attempt(
        self,
        client: httpx.Client,
        backend: _TrackingBackend | None,
        url: str,
        headers: dict[str, str],
        payload: bytes,
        probe: bool,
    ) -> Iterator[Delta | Status | Finished]:
        s = self.settings
        poll = s.poll_interval
        up = _Upstream(client, backend, url, headers, payload)
        clean = False
        got_text = False
        finish: str | None = None
        usage: list[int | None] = [None, None]
        breaker_noted = False

        def note_success() -> None:
            nonlocal breaker_noted
            if not breaker_noted and self.breaker is not None:
                self.breaker.success()
            breaker_noted = True

        def fail(message: str, retryable: bool = True, breaker_failure: bool = True) -> Exception:
            """Failure in the stream: retry before the first token, LLMError after it."""
            if got_text:
                if self.breaker is not None and breaker_failure:
                    self.breaker.failure()
                return self._error(message, after_first_token=True, retryable=retryable)
            if retryable:
                return _Retry(redact(message, *self.secrets), breaker_failure=breaker_failure)
            if self.breaker is not None:
                self.breaker.release(probe)
            return self._error(message, retryable=False)

        def finished() -> Finished:
            note_success()
            return Finished(finish or "stop", usage[0], usage[1])

        try:
            start = time.monotonic()
            first_deadline = min(start + s.first_token_timeout, self.total_deadline)
            item = up.get(first_deadline, self.cancel, poll)
            if item is None:
                raise _Retry(
                    "The provider did not start answering within "
                    f"{_seconds(s.first_token_timeout)} s."
                )
            if item[0] == "exc":
                exc = item[1]
                if not isinstance(exc, httpx.TransportError) or isinstance(
                    exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
                ):
                    raise self._error(
                        f"{_connection_sentence(exc, s)} ({type(exc).__name__}: {exc})"
                    )
                raise _Retry(_connection_sentence(exc, s))
            status, resp_headers = item[1], item[2]
            if self.limiter is not None:
                self.limiter.observe(resp_headers)
            if status != 200:
                body_item = up.get(
                    min(time.monotonic() + 30, self.total_deadline), self.cancel, poll
                )
                body = body_item[1] if body_item and body_item[0] == "body" else b""
                detail = _provider_message(body, self.secrets)
                if status in RETRY_STATUSES or 500 <= status <= 599:
                    failure = _Retry(
                        f"The provider answered HTTP {status}.",
                        status=status,
                        headers=resp_headers,
                        breaker_failure=status in BREAKER_STATUSES or status >= 500,
                        detail=detail,
                    )
                    raise failure
                note_success()  # the provider is up; the request itself is wrong
                sentence = _STATUS_SENTENCES.get(
                    status, f"The provider refused the request with HTTP {status}."
                )
                raise self._error(_with_detail(sentence, detail), status_code=status)

            yield Status("streaming", "the provider accepted the request; waiting for the answer")
            parser = SSEParser()
            parse = parser_for(self.model)
            last = time.monotonic()
            while True:
                if got_text:
                    deadline = min(last + s.stall_timeout, self.total_deadline)
                else:
                    deadline = first_deadline
                item = up.get(deadline, self.cancel, poll)
                if item is None:
                    if finish is not None:
                        clean = True
                        yield finished()
                        return
                    if time.monotonic() >= self.total_deadline:
                        raise self._error(
                            "The review could not finish within the "
                            f"{_seconds(s.total_timeout)} s time limit.",
                            after_first_token=got_text,
                            retryable=True,
                        )
                    if got_text:
                        raise fail(
                            "The provider stopped sending the answer for "
                            f"{_seconds(s.stall_timeout)} s."
                        )
                    raise fail(
                        "The provider did not start answering within "
                        f"{_seconds(s.first_token_timeout)} s."
                    )
                kind = item[0]
                if kind == "exc":
                    if finish is not None:
                        clean = True
                        yield finished()
                        return
                    raise fail(_connection_sentence(item[1], s))
                events = parser.feed(item[1]) if kind == "data" else parser.close()
                last = time.monotonic()
                for event in events:
                    if not event.data:
                        continue
                    try:
                        parsed = parse(event.event, event.data)
                    except MalformedEvent:
                        raise fail("The provider sent a malformed stream event.")
                    if parsed.error is not None:
                        raise fail(
                            _with_detail(
                                "The provider reported an error in the stream.", parsed.error
                            ),
                            retryable=parsed.error_transient,
                            breaker_failure=parsed.error_transient,
                        )
                    if parsed.usage is not None:
                        usage[0] = parsed.usage[0] if parsed.usage[0] is not None else usage[0]
                        usage[1] = parsed.usage[1] if parsed.usage[1] is not None else usage[1]
                    if parsed.text:
                        if not got_text:
                            got_text = True
                            note_success()
                        yield Delta(parsed.text)
                    if parsed.unusual_finish is not None:
                        raise fail(
                            "The provider ended the answer abnormally "
                            f"(reason: {parsed.unusual_finish}).",
                            retryable=False,
                            breaker_failure=False,
                        )
                    if parsed.finish is not None:
                        finish = parsed.finish
                    if parsed.done:
                        clean = True
                        yield finished()
                        return
                if kind == "end":
                    if finish is not None:
                        clean = True
                        yield finished()
                        return
                    raise fail("The provider's stream ended before the answer was complete.")
        finally:
            if not clean or up.thread.is_alive():
                up.abort()
