"""The transport on its own: abort wakes a blocked read, error bodies are capped."""

import json
import time

from reviewer.llm import ClientSettings, build_body, build_http
from reviewer.llm.transport import MAX_ERROR_BODY, Body, Chunk, Head, Transport
from tests.fakes.llm_server import stall_after, status
from tests.llm.conftest import endpoint_for, make_request, model_for

# A long backstop: without a working abort the reader would stay blocked for over a minute.
SETTINGS = ClientSettings(connect_timeout=2, first_token_timeout=60, stall_timeout=60)


def _open(transport, catalogue, server):
    model = model_for(catalogue)
    url, headers = build_http(model, endpoint_for(server, model))
    payload = json.dumps(build_body(model, make_request())).encode("ascii")
    return transport.open_stream(url, headers, payload)


def _get(stream, seconds=5.0):
    return stream.get(time.monotonic() + seconds, None, 0.05)


def test_abort_wakes_a_read_blocked_on_a_silent_server_within_a_second(catalogue, server):
    server.script(stall_after("abcdefgh", chunks=1, seconds=60, chunk_size=4))
    with Transport(SETTINGS) as transport:
        stream = _open(transport, catalogue, server)
        assert isinstance(_get(stream), Head)
        chunks = []
        while (item := _get(stream, 0.3)) is not None:
            chunks.append(item)
        # everything before the silence arrived; the reader is now blocked in a read
        assert chunks and all(isinstance(c, Chunk) for c in chunks)
        assert b"abcd" in b"".join(c.data for c in chunks)
        t0 = time.monotonic()
        stream.abort()
        assert time.monotonic() - t0 < 1.0
        assert not stream.running
        assert _get(stream, 0.2) is None  # an aborted stream reports nothing more


def test_an_error_body_is_read_up_to_the_limit_only(catalogue, server):
    server.script(status(500, body=b"x" * (MAX_ERROR_BODY * 4)))
    with Transport(SETTINGS) as transport:
        stream = _open(transport, catalogue, server)
        head = _get(stream)
        assert isinstance(head, Head) and head.status == 500
        body = _get(stream)
        assert isinstance(body, Body) and body.data == b"x" * MAX_ERROR_BODY
        assert _get(stream, 0.3) is None
        deadline = time.monotonic() + 2
        while stream.running and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not stream.running  # stopped reading without aborting
