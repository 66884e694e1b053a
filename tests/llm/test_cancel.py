"""Cancelling stops the upstream stream within 2 s, even when the server is silent."""

import threading
import time

import pytest

from reviewer.llm import Cancelled, Delta, stream_review
from tests.fakes.llm_server import answer, stall_after, status
from tests.llm.conftest import FAST, endpoint_for, make_request, model_for


def _upstream_threads():
    return [t for t in threading.enumerate() if t.name == "reviewer-llm-upstream"]


def test_cancel_during_a_stall_raises_cancelled_within_two_seconds(catalogue, server):
    server.script(stall_after("abcdefgh", chunks=1, seconds=60, chunk_size=4))
    model = model_for(catalogue)
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    got = []
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        for ev in stream_review(
            model,
            endpoint_for(server, model),
            make_request(),
            settings=FAST.__class__(**{**FAST.__dict__, "stall_timeout": 60}),
            cancel=cancel,
        ):
            if isinstance(ev, Delta):
                got.append(ev.text)
    assert time.monotonic() - t0 < 2.0
    assert got == ["abcd"]
    deadline = time.monotonic() + 1
    while _upstream_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _upstream_threads() == []  # the reader thread was woken and ended


def test_cancel_while_waiting_for_headers(catalogue, server):
    server.script(answer("late", headers_delay=30))
    model = model_for(catalogue)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        list(stream_review(model, endpoint_for(server, model), make_request(), cancel=cancel))
    assert time.monotonic() - t0 < 2.0


def test_cancel_during_retry_backoff(catalogue, server):
    server.script(status(503, headers={"Retry-After": "30"}))
    model = model_for(catalogue)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    settings = FAST.__class__(**{**FAST.__dict__, "total_timeout": 100})
    with pytest.raises(Cancelled):
        list(
            stream_review(
                model, endpoint_for(server, model), make_request(), settings=settings, cancel=cancel
            )
        )
    assert time.monotonic() - t0 < 2.0


def test_already_cancelled_sends_nothing(catalogue, server):
    model = model_for(catalogue)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        list(stream_review(model, endpoint_for(server, model), make_request(), cancel=cancel))
    assert server.requests == []


def test_consumer_closing_the_generator_stops_the_upstream(catalogue, server):
    server.script(answer("x" * 200, chunk_size=2, delay=0.05))
    model = model_for(catalogue)
    gen = stream_review(model, endpoint_for(server, model), make_request(), settings=FAST)
    for ev in gen:
        if isinstance(ev, Delta):
            break
    gen.close()
    deadline = time.monotonic() + 1.5
    while _upstream_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _upstream_threads() == []
