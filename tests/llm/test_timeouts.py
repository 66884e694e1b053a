"""First-token, stall and total timeouts are separate and configurable."""

import time

from reviewer.llm import ClientSettings
from tests.fakes.llm_server import answer, stall_after
from tests.llm.conftest import FAST, Sleeper, endpoint_for, model_for, run, text_of


def settings(**kw):
    return ClientSettings(**{**FAST.__dict__, **kw})


def test_stall_after_first_token_fails_after_the_stall_timeout(catalogue, server):
    server.script(stall_after("abcdefghijkl", chunks=2, seconds=30, chunk_size=4))
    model = model_for(catalogue)
    t0 = time.monotonic()
    events, err = run(model, endpoint_for(server, model), settings=settings(stall_timeout=0.5))
    elapsed = time.monotonic() - t0
    assert text_of(events) == "abcdefgh"
    assert err.after_first_token and err.message == ("OpenAI stopped sending the answer for 0.5 s.")
    assert 0.4 < elapsed < 3


def test_slow_prefill_longer_than_stall_timeout_is_fine_before_first_token(catalogue, server):
    # 1.5 s of silence (keep-alives only) before the first token, stall timeout 0.5 s
    server.script(answer("worth the wait", prefill=1.5))
    model = model_for(catalogue)
    events, err = run(
        model,
        endpoint_for(server, model),
        settings=settings(stall_timeout=0.5, first_token_timeout=5),
    )
    assert err is None and text_of(events) == "worth the wait"


def test_slow_headers_longer_than_stall_timeout_are_fine_before_first_token(catalogue, server):
    server.script(answer("late headers", headers_delay=1.0))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model), settings=settings(stall_timeout=0.3))
    assert err is None and text_of(events) == "late headers"


def test_first_token_timeout_is_retried_then_fails(catalogue, server):
    server.script(answer("never", prefill=30), answer("never", prefill=30))
    model = model_for(catalogue)
    sleeper = Sleeper()
    t0 = time.monotonic()
    events, err = run(
        model,
        endpoint_for(server, model),
        settings=settings(first_token_timeout=0.5, max_retries=1),
        sleep=sleeper,
    )
    assert time.monotonic() - t0 < 4
    assert err.message == "OpenAI did not start answering within 0.5 s (after 2 attempts)."
    assert not err.after_first_token and text_of(events) == ""
    assert len(server.requests) == 2


def test_first_token_timeout_then_success(catalogue, server):
    server.script(answer("never", prefill=30), answer("second try"))
    model = model_for(catalogue)
    events, err = run(
        model, endpoint_for(server, model), settings=settings(first_token_timeout=0.5)
    )
    assert err is None and text_of(events) == "second try"


def test_keepalives_after_first_token_do_not_hide_a_slow_but_alive_stream(catalogue, server):
    server.script(answer("a b c d", chunk_size=2, delay=0.3))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model), settings=settings(stall_timeout=1))
    assert err is None and text_of(events) == "a b c d"


def test_total_timeout_caps_a_slow_stream(catalogue, server):
    server.script(answer("x" * 40, chunk_size=1, delay=0.1))
    model = model_for(catalogue)
    t0 = time.monotonic()
    events, err = run(model, endpoint_for(server, model), settings=settings(total_timeout=1))
    assert time.monotonic() - t0 < 3
    assert err.after_first_token and err.message == (
        "The review could not finish within the 1 s time limit."
    )
