"""HTTP transport for one review: requests that run in a reader thread and can be stopped.

``Transport`` owns one httpx client (kept for every attempt of a review, so a kept-alive
connection is reused). ``Transport.open_stream`` sends one POST and returns a ``Stream``; its
reader thread puts the response into a queue as items, in this order:

* ``Head(status, headers)`` first, or ``Failed(exc)`` when no response arrived;
* after a non-200 head: one ``Body(data)`` (at most ``MAX_ERROR_BODY`` bytes), then nothing;
* after a 200 head: ``Chunk(data)`` items, then ``End()`` or ``Failed(exc)``.

``Stream.get`` waits for the next item up to a deadline, so the caller enforces its own
timeouts; httpx's read timeout is only a generous backstop. ``Stream.abort`` stops the request
from any thread at once: the sockets of the client are shut down (``shutdown(SHUT_RDWR)``
wakes a blocked ``recv``) through a small wrapper around httpcore's network backend.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from .types import Cancelled, ClientSettings

MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True)
class Head:
    status: int
    headers: dict[str, str]


@dataclass(frozen=True)
class Body:
    data: bytes


@dataclass(frozen=True)
class Chunk:
    data: bytes


@dataclass(frozen=True)
class End:
    pass


@dataclass(frozen=True)
class Failed:
    exc: Exception


Item = Head | Body | Chunk | End | Failed


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


# --- the interface -------------------------------------------------------------------------------


class Transport:
    """One httpx client with abortable streams; close it (or use ``with``) when done."""

    def __init__(self, settings: ClientSettings):
        self._client, self._backend = _make_client(settings)

    def open_stream(self, url: str, headers: dict[str, str], payload: bytes) -> Stream:
        """Start ``POST url`` in a reader thread; read the response with ``Stream.get``."""
        return Stream(self._client, self._backend, url, headers, payload)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Stream:
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
        self._queue: queue.Queue[Item] = queue.Queue()
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reviewer-llm-upstream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream(
                "POST", self._url, content=self._payload, headers=self._headers
            ) as resp:
                if self._abort.is_set():
                    return
                self._queue.put(Head(resp.status_code, dict(resp.headers)))
                if resp.status_code != 200:
                    self._queue.put(Body(self._error_body(resp)))
                    return
                for chunk in resp.iter_bytes():
                    if self._abort.is_set():
                        return
                    self._queue.put(Chunk(chunk))
                self._queue.put(End())
        except Exception as exc:
            if not self._abort.is_set():
                self._queue.put(Failed(exc))

    def _error_body(self, resp: httpx.Response) -> bytes:
        body = b""
        for chunk in resp.iter_bytes():
            body += chunk
            if len(body) >= MAX_ERROR_BODY or self._abort.is_set():
                break
        return body[:MAX_ERROR_BODY]

    def get(self, deadline: float, cancel: threading.Event | None, poll: float) -> Item | None:
        """Next item, or None when ``deadline`` (monotonic) passes. Checks ``cancel`` at least
        every ``poll`` seconds and raises ``Cancelled`` when it is set."""
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled("The review was cancelled.")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                return self._queue.get(timeout=min(poll, remaining))
            except queue.Empty:
                continue

    @property
    def running(self) -> bool:
        """Whether the reader thread is still reading the response."""
        return self._thread.is_alive()

    def abort(self) -> None:
        """Stop the request now: the reader thread's blocked read returns at once."""
        self._abort.set()
        if self._backend is not None:
            self._backend.shutdown_all()
        self._thread.join(timeout=1.0)
