"""A fake LLM provider: a real HTTP server on 127.0.0.1 speaking two wire formats.

* OpenAI-compatible: ``POST .../chat/completions`` (any prefix), answered as a server-sent event
  stream of ``chat.completion.chunk`` objects, like OpenAI, OpenRouter or DeepSeek do.
* Native Gemini: ``POST .../models/{model}:streamGenerateContent?alt=sse`` (any prefix).
* Native Anthropic: ``POST .../v1/messages`` (see anthropic_wire.py).

Every response is a declarative :class:`Scenario`; tests queue them with
:meth:`FakeLLMServer.script` (one consumed per request, a normal answer when the queue is
empty) and read what the client sent in :attr:`FakeLLMServer.requests`.

In-process use::

    with FakeLLMServer() as server:
        server.script(status(429, headers={"Retry-After": "3"}), answer("Hello world"))
        ...  # point the client at server.url
        assert server.requests[0]["body"]["stream"] is True

As a subprocess (runs until killed; prints ``FAKE_LLM_URL=<url>`` on stdout when ready)::

    python -m tests.fakes.llm_server --port 0 --answer-file answer.md --delay 0.05

The subprocess also takes scenarios over HTTP: ``POST {root}/_fake/script`` with a JSON list of
scenario dicts (the fields of :class:`Scenario`), ``GET {root}/_fake/requests`` returns the
recorded requests, ``POST {root}/_fake/expect`` with a JSON number expects that many more
requests (see :meth:`FakeLLMServer.expect`), ``POST {root}/_fake/reset`` clears both.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import socket
import struct
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import provider_counts
from tests.fakes.anthropic_wire import AnthropicWire

ENDINGS = ("done", "no_done", "reset", "stall", "error", "malformed", "cut")

_GEMINI_PATH = re.compile(
    r"/models/(?P<model>[^/:]+):(?P<method>streamGenerateContent|generateContent)$"
)
_GEMINI_FINISH = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
}


@dataclass
class Scenario:
    """One scripted response. Build them with the helper functions below.

    ``status`` other than 200 sends ``body`` (JSON error by default) and ``headers`` and stops.
    For 200 the answer ``text`` is streamed in pieces of ``chunk_size`` characters (so deltas split
    mid-word), ``delay`` seconds apart. ``ending`` says how the stream ends:

    * ``done``: finish chunk (``finish_reason``), usage chunk (if the client asked), ``[DONE]``
    * ``no_done``: all the text, then the body ends cleanly with no finish reason, no ``[DONE]``
    * ``reset``: ``cut_after`` chunks, then the TCP connection is reset (RST)
    * ``stall``: ``cut_after`` chunks, silence for ``stall_seconds``, then the connection resets
    * ``error``: ``cut_after`` chunks, then ``{"error": {...}}`` (``error_message``), then the end
    * ``malformed``: ``cut_after`` chunks, then the raw ``inject_lines``, then the rest as ``done``
    * ``cut``: ``cut_after`` chunks, then the connection closes without the chunked body's end

    ``gateway`` answers as a LiteLLM-style proxy does: no SSE comments (it strips them), the
    usage chunk carries ``choices: [{"index": 0, "delta": {}}]``, and an ``error`` ending
    carries ``error_code`` (gateways pass the upstream status on as a string, ``"500"``).
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    text: str = "The fake model reviewed the code and found nothing to report."
    chunk_size: int = 7
    delay: float = 0.0
    usage: tuple[int, int] | None = (1000, 50)
    finish_reason: str = "stop"
    keepalive: bool = True
    gate: threading.Event | None = None
    gate_after: int | None = None
    ending: str = "done"
    cut_after: int | None = None
    stall_seconds: float = 30.0
    error_message: str = "The model is overloaded."
    inject_lines: tuple[bytes, ...] = ()
    headers_delay: float = 0.0
    prefill: float = 0.0
    fragment: int | None = None
    gateway: bool = False
    error_code: str | int | None = None
    # Prompt tokens (part of usage[0]) read from / written to the provider's prompt cache.
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    error_type: str = "overloaded_error"  # the Anthropic error event's type

    def __post_init__(self) -> None:
        if self.ending not in ENDINGS:
            raise ValueError(f"unknown ending {self.ending!r}; expected one of {ENDINGS}")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")

    def pieces(self) -> list[str]:
        n = self.chunk_size
        return [self.text[i : i + n] for i in range(0, len(self.text), n)]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """Build a scenario from JSON-friendly data (used by the ``/_fake/script`` endpoint)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"gate"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown scenario fields: {sorted(unknown)}")
        values = dict(data)
        if isinstance(values.get("body"), str):
            values["body"] = values["body"].encode()
        if values.get("usage") is not None:
            values["usage"] = tuple(values["usage"])
        if "inject_lines" in values:
            values["inject_lines"] = tuple(
                x.encode() if isinstance(x, str) else bytes(x) for x in values["inject_lines"]
            )
        return cls(**values)


# --- declarative helpers -------------------------------------------------------------------------


def answer(
    text: str = Scenario.text,
    chunk_size: int = 7,
    delay: float = 0.0,
    usage: tuple[int, int] | None = (1000, 50),
    finish_reason: str = "stop",
    keepalive: bool = True,
    gate: threading.Event | None = None,
    gate_after: int | None = None,
    **more: Any,
) -> Scenario:
    """A normal streamed answer. With ``gate`` and ``gate_after`` the first ``gate_after``
    chunks are sent, then the server waits for ``gate`` to be set before sending the rest."""
    return Scenario(
        text=text,
        chunk_size=chunk_size,
        delay=delay,
        usage=usage,
        finish_reason=finish_reason,
        keepalive=keepalive,
        gate=gate,
        gate_after=gate_after,
        **more,
    )


def status(
    code: int, body: bytes | str | dict | None = None, headers: dict | None = None
) -> Scenario:
    """A non-streaming response with this status code (e.g. 429 with Retry-After, 503).

    ``body`` defaults to a provider-style JSON error object."""
    if body is None:
        body = {
            "error": {
                "message": f"Fake provider error {code}.",
                "type": "fake_error",
                "code": code,
            }
        }
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return Scenario(status=code, body=body, headers=dict(headers or {}))


def reset_after(text: str, chunks: int, **more: Any) -> Scenario:
    """Send ``chunks`` chunks of ``text``, then abruptly reset the TCP connection."""
    return Scenario(text=text, ending="reset", cut_after=chunks, **more)


def stall_after(text: str, chunks: int, seconds: float = 30.0, **more: Any) -> Scenario:
    """Send ``chunks`` chunks of ``text``, then go silent for ``seconds``, then close."""
    return Scenario(text=text, ending="stall", cut_after=chunks, stall_seconds=seconds, **more)


def error_event(text: str, chunks: int, message: str = "The model is overloaded.", **more: Any):
    """A 200 stream that carries ``{"error": {...}}`` after ``chunks`` chunks."""
    return Scenario(text=text, ending="error", cut_after=chunks, error_message=message, **more)


DEFAULT_GARBAGE = (
    b"this line is not server-sent events at all",
    b"event: something-odd",
    b"data: {this is not json",
)


def malformed(
    text: str = "Some text before the garbage and some after.",
    chunks: int = 2,
    lines: tuple[bytes, ...] = DEFAULT_GARBAGE,
    **more: Any,
) -> Scenario:
    """Send ``chunks`` chunks, then the raw ``lines`` (garbage, invalid JSON), then the rest."""
    return Scenario(
        text=text, ending="malformed", cut_after=chunks, inject_lines=tuple(lines), **more
    )


def no_done(text: str = "An answer that never says it is finished", **more: Any) -> Scenario:
    """All of ``text``, then the body ends cleanly without a finish reason or ``[DONE]``."""
    return Scenario(text=text, ending="no_done", **more)


# --- the server ----------------------------------------------------------------------------------


class _Stop(Exception):
    """The server is stopping or the client went away."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence access log
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.server.fake._handle_post(self)

    def do_GET(self) -> None:  # noqa: N802
        self.server.fake._handle_get(self)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-stream is normal here; don't print tracebacks.
        pass


class FakeLLMServer:
    """A threaded HTTP server on 127.0.0.1 answering with scripted scenarios."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, default: Scenario | None = None):
        self._host = host
        self._port = port
        self.default = default or Scenario()
        self.requests: list[dict[str, Any]] = []
        # With expect(n): how many requests a test expects; any past them is refused and
        # kept in `unexpected`, so a test can tell "exactly n" from "at least n".
        self.expected: int | None = None
        self.unexpected: list[dict[str, Any]] = []
        # Its own token count, count endpoints and context limit (provider_counts.py).
        self.counting = provider_counts.CountRules()
        self.count_requests: list[dict[str, Any]] = []
        self._queue: deque[Scenario] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.root = ""
        self.url = ""

    # lifecycle
    def start(self) -> FakeLLMServer:
        httpd = _Server((self._host, self._port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        host, port = httpd.server_address[:2]
        self.port = port
        self.root = f"http://{host}:{port}"
        self.url = f"{self.root}/v1"
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def gemini_url(self) -> str:
        """Base URL for the native Gemini adapter (``{gemini_url}/models/{m}:stream...``)."""
        return f"{self.root}/v1beta"

    # scripting
    def script(self, *responses: Scenario) -> None:
        """Queue responses; each request consumes one, a normal answer when none are left."""
        with self._lock:
            self._queue.extend(responses)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.unexpected.clear()
            self.expected = None
            self.count_requests.clear()
            self.counting = provider_counts.CountRules()

    def expect(self, count: int) -> None:
        """Expect ``count`` more requests; any beyond them is answered 400 and kept in
        ``unexpected`` instead of ``requests``."""
        with self._lock:
            self.expected = len(self.requests) + count

    def wait_for_requests(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The first ``count`` requests, once they have arrived (AssertionError if not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests[:count])
            time.sleep(0.02)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next(self) -> Scenario:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    # request handling
    def _handle_get(self, h: _Handler) -> None:
        path = urlsplit(h.path).path
        if path == "/_fake/requests":
            with self._lock:
                data = json.dumps(self.requests).encode()
            self._send_plain(h, 200, data)
        elif path == "/_fake/health":
            self._send_plain(h, 200, b'{"ok": true}')
        else:
            self._send_plain(h, 404, b'{"error": {"message": "Not found."}}')

    def _handle_post(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        if parts.path.startswith("/_fake/"):
            return self._handle_control(h, parts.path, raw)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if provider_counts.answer_count(self, h, parts.path, body):
            return
        gem = _GEMINI_PATH.search(parts.path)
        record = {
            "method": "POST",
            "path": parts.path,
            "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
            "headers": {k.lower(): v for k, v in h.headers.items()},
            "body": body,
            "raw_size": len(raw),
            "time": time.time(),
        }
        with self._lock:
            surplus = self.expected is not None and len(self.requests) >= self.expected
            (self.unexpected if surplus else self.requests).append(record)
        if surplus:
            message = f"The fake model expected only {self.expected} requests."
            body = json.dumps({"error": {"message": message}}).encode()
            return self._send_plain(h, 400, body)
        if provider_counts.refuse_overflow(self, h, parts.path, body):
            return  # refused before any scenario: the provider never started an answer
        scenario = self._next()
        try:
            if scenario.headers_delay:
                self._wait(scenario.headers_delay)
            if scenario.status != 200:
                return self._send_plain(h, scenario.status, scenario.body or b"", scenario.headers)
            if gem is not None:
                stream = gem.group("method") == "streamGenerateContent"
                gwire = _GeminiWire(gem.group("model"))
                gwire.cached = scenario.cached_tokens
                self._stream(h, scenario, gwire, stream)
            elif parts.path.endswith("/chat/completions"):
                body = body or {}
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                wire = _OpenAIWire(body.get("model", "fake-model"), include_usage)
                wire.cached = scenario.cached_tokens
                self._stream(h, scenario, wire, bool(body.get("stream")))
            elif parts.path.endswith("/v1/messages"):
                body = body or {}
                wire = AnthropicWire(
                    body.get("model", "fake-model"),
                    scenario.usage,
                    scenario.cached_tokens,
                    scenario.cache_write_tokens,
                    scenario.error_type,
                )
                self._stream(h, scenario, wire, bool(body.get("stream")))
            else:
                self._send_plain(h, 404, b'{"error": {"message": "Unknown path."}}')
        except (_Stop, OSError):
            h.close_connection = True

    def _handle_control(self, h: _Handler, path: str, raw: bytes) -> None:
        if path == "/_fake/script":
            try:
                items = json.loads(raw or b"[]")
                self.script(*[Scenario.from_dict(x) for x in items])
            except (ValueError, TypeError) as exc:
                return self._send_plain(h, 400, json.dumps({"error": str(exc)}).encode())
            self._send_plain(h, 200, b'{"ok": true}')
        elif path == "/_fake/expect":
            try:
                self.expect(int(json.loads(raw or b"0")))
            except (ValueError, TypeError) as exc:
                return self._send_plain(h, 400, json.dumps({"error": str(exc)}).encode())
            self._send_plain(h, 200, b'{"ok": true}')
        elif path == "/_fake/counting":
            self.counting = provider_counts.CountRules.from_dict(json.loads(raw or b"{}"))
            self._send_plain(h, 200, b'{"ok": true}')
        elif path == "/_fake/reset":
            self.reset()
            self._send_plain(h, 200, b'{"ok": true}')
        else:
            self._send_plain(h, 404, b'{"error": {"message": "Not found."}}')

    def _send_plain(self, h: _Handler, code: int, body: bytes, headers: dict | None = None) -> None:
        h.send_response(code)
        headers = dict(headers or {})
        lowered = {k.lower() for k in headers}
        if "content-type" not in lowered:
            h.send_header("Content-Type", "application/json")
        for k, v in headers.items():
            h.send_header(k, str(v))
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    def _wait(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise _Stop

    def _wait_gate(self, gate: threading.Event) -> None:
        while not gate.wait(0.05):
            if self._stopping.is_set():
                raise _Stop

    def _stream(self, h: _Handler, sc: Scenario, wire: _Wire, stream: bool) -> None:
        pieces = sc.pieces()
        if not stream:
            text = sc.text
            return self._send_plain(h, 200, wire.whole(text, sc.finish_reason, sc.usage))
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Transfer-Encoding", "chunked")
        for k, v in sc.headers.items():
            h.send_header(k, str(v))
        h.end_headers()
        h.wfile.flush()

        def write(data: bytes) -> None:
            step = sc.fragment or len(data) or 1
            for i in range(0, len(data), step):
                part = data[i : i + step]
                h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                h.wfile.flush()

        def end_body() -> None:
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()

        keepalive = sc.keepalive and not sc.gateway
        if keepalive:
            write(b": keep-alive\n\n")
        if sc.prefill:
            deadline = time.monotonic() + sc.prefill
            while (left := deadline - time.monotonic()) > 0:
                self._wait(min(left, 0.5))
                if keepalive:
                    write(b": keep-alive\n\n")
        first = wire.first()
        if first:
            write(first)

        cut = len(pieces) if sc.cut_after is None else min(sc.cut_after, len(pieces))
        if sc.ending in ("done", "no_done", "malformed"):
            cut = len(pieces) if sc.ending != "malformed" else cut
        for i, piece in enumerate(pieces[:cut]):
            if sc.gate is not None and sc.gate_after is not None and i == sc.gate_after:
                self._wait_gate(sc.gate)
            if i and sc.delay:
                self._wait(sc.delay)
            write(wire.delta(piece))

        if sc.ending == "reset":
            _reset(h)
            raise _Stop
        if sc.ending == "stall":
            self._wait(sc.stall_seconds)
            h.close_connection = True
            _reset(h)
            raise _Stop
        if sc.ending == "error":
            write(wire.error(sc.error_message, sc.error_code, sc.gateway))
            return end_body()
        if sc.ending == "cut":
            # A clean close in the middle of a chunked body, as a proxy that gave up does.
            h.close_connection = True
            raise _Stop
        if sc.ending == "no_done":
            return end_body()
        if sc.ending == "malformed":
            write(b"".join(line + b"\n" for line in sc.inject_lines) + b"\n")
            for i, piece in enumerate(pieces[cut:], start=cut):
                if sc.gate is not None and sc.gate_after is not None and i == sc.gate_after:
                    self._wait_gate(sc.gate)
                if sc.delay:
                    self._wait(sc.delay)
                write(wire.delta(piece))
        if sc.gate is not None and sc.gate_after is not None and sc.gate_after >= len(pieces):
            self._wait_gate(sc.gate)
        for event in wire.finish(sc.finish_reason, sc.usage, sc.gateway):
            write(event)
        end_body()


def _reset(h: _Handler) -> None:
    """Close the client's TCP connection with an RST, as a crashed proxy would."""
    try:
        h.wfile.flush()
    except OSError:
        pass
    sock: socket.socket = h.connection
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()
    h.close_connection = True


def _sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


class _Wire:
    cached: int | None = None  # prompt tokens the usage reports as read from the cache

    def first(self) -> bytes:
        return b""

    def delta(self, text: str) -> bytes:
        raise NotImplementedError

    def finish(
        self, reason: str, usage: tuple[int, int] | None, gateway: bool = False
    ) -> list[bytes]:
        raise NotImplementedError

    def error(self, message: str, code: str | int | None = None, gateway: bool = False) -> bytes:
        raise NotImplementedError

    def whole(self, text: str, reason: str, usage: tuple[int, int] | None) -> bytes:
        raise NotImplementedError


class _OpenAIWire(_Wire):
    def __init__(self, model: str, include_usage: bool):
        self.model = model
        self.include_usage = include_usage
        self.id = f"chatcmpl-fake{int(time.time() * 1000)}"
        self.created = int(time.time())

    def _chunk(self, choices: list, **extra: Any) -> bytes:
        obj = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage and "usage" not in extra:
            obj["usage"] = None
        obj.update(extra)
        return _sse(obj)

    def first(self) -> bytes:
        delta = {"role": "assistant", "content": ""}
        return self._chunk([{"index": 0, "delta": delta, "finish_reason": None}])

    def delta(self, text: str) -> bytes:
        return self._chunk([{"index": 0, "delta": {"content": text}, "finish_reason": None}])

    def finish(
        self, reason: str, usage: tuple[int, int] | None, gateway: bool = False
    ) -> list[bytes]:
        out = [self._chunk([{"index": 0, "delta": {}, "finish_reason": reason}])]
        if self.include_usage and usage is not None:
            p, c = usage
            u: dict[str, Any] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
            if self.cached is not None:
                u["prompt_tokens_details"] = {"cached_tokens": self.cached}
            # LiteLLM's usage chunk keeps an empty choice where OpenAI sends none.
            choices = [{"index": 0, "delta": {}}] if gateway else []
            out.append(self._chunk(choices, usage=u))
        out.append(b"data: [DONE]\n\n")
        return out

    def error(self, message: str, code: str | int | None = None, gateway: bool = False) -> bytes:
        if gateway:
            return _sse({"error": {"message": message, "type": None, "param": None, "code": code}})
        return _sse({"error": {"message": message, "type": "server_error", "code": code}})

    def whole(self, text: str, reason: str, usage: tuple[int, int] | None) -> bytes:
        p, c = usage or (0, 0)
        return json.dumps(
            {
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": reason,
                    }
                ],
                "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
            }
        ).encode()


class _GeminiWire(_Wire):
    def __init__(self, model: str):
        self.model = model

    def _usage(self, usage: tuple[int, int] | None) -> dict:
        p, c = usage or (0, 0)
        meta = {"promptTokenCount": p, "candidatesTokenCount": c, "totalTokenCount": p + c}
        if self.cached is not None:
            meta["cachedContentTokenCount"] = self.cached
        return meta

    def delta(self, text: str) -> bytes:
        return _sse(
            {
                "candidates": [
                    {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
                ],
                "modelVersion": self.model,
            }
        )

    def finish(
        self, reason: str, usage: tuple[int, int] | None, gateway: bool = False
    ) -> list[bytes]:
        obj: dict[str, Any] = {
            "candidates": [
                {
                    "content": {"parts": [{"text": ""}], "role": "model"},
                    "finishReason": _GEMINI_FINISH.get(reason, reason),
                    "index": 0,
                }
            ],
            "modelVersion": self.model,
        }
        if usage is not None:
            obj["usageMetadata"] = self._usage(usage)
        return [_sse(obj)]

    def error(self, message: str, code: str | int | None = None, gateway: bool = False) -> bytes:
        return _sse({"error": {"code": code or 500, "message": message, "status": "INTERNAL"}})

    def whole(self, text: str, reason: str, usage: tuple[int, int] | None) -> bytes:
        obj = {
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": _GEMINI_FINISH.get(reason, reason),
                    "index": 0,
                }
            ],
            "usageMetadata": self._usage(usage),
        }
        return json.dumps(obj).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible and Gemini server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--answer-file", help="file whose text is the default answer")
    parser.add_argument("--answer", help="default answer text (if no --answer-file)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--chunk-size", type=int, default=7)
    parser.add_argument("--usage", default="1000,50", help="prompt,completion tokens")
    args = parser.parse_args(argv)
    text = Scenario.text
    if args.answer_file:
        with open(args.answer_file, encoding="utf-8") as fh:
            text = fh.read()
    elif args.answer is not None:
        text = args.answer
    p, c = (int(x) for x in args.usage.split(","))
    default = Scenario(text=text, chunk_size=args.chunk_size, delay=args.delay, usage=(p, c))
    server = FakeLLMServer(host=args.host, port=args.port, default=default).start()
    print(f"FAKE_LLM_URL={server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
