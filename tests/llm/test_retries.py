"""Retries happen only before the first token, honour Retry-After and back off with jitter."""

import random
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from reviewer.llm import ClientSettings, Endpoint
from tests.fakes.llm_server import answer, status
from tests.llm.conftest import (
    FAST,
    Sleeper,
    endpoint_for,
    finished,
    model_for,
    run,
    statuses,
    text_of,
)


def test_retry_after_429_then_success_yields_text_once(catalogue, server):
    server.script(status(429, headers={"Retry-After": "7"}), answer("The full answer."))
    model = model_for(catalogue)
    sleeper = Sleeper()
    events, err = run(model, endpoint_for(server, model), sleep=sleeper)
    assert err is None
    assert text_of(events) == "The full answer."
    assert sleeper.waits == [7.0]
    assert [s.message for s in statuses(events, "retrying")] == ["retrying in 7 s (attempt 2 of 5)"]
    assert finished(events).finish_reason == "stop"
    assert len(server.requests) == 2


def test_retry_after_ms_header_wins(catalogue, server):
    server.script(status(429, headers={"retry-after-ms": "1500", "Retry-After": "9"}), answer("x"))
    model = model_for(catalogue)
    sleeper = Sleeper()
    _, err = run(model, endpoint_for(server, model), sleep=sleeper)
    assert err is None and sleeper.waits == [1.5]


def test_retry_after_http_date_is_honoured(catalogue, server):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.script(status(503, headers={"Retry-After": when}), answer("x"))
    model = model_for(catalogue)
    sleeper = Sleeper()
    _, err = run(model, endpoint_for(server, model), sleep=sleeper)
    assert err is None and 27 <= sleeper.waits[0] <= 30


def test_retry_after_is_capped(catalogue, server):
    server.script(status(429, headers={"Retry-After": "100000"}), answer("x"))
    model = model_for(catalogue)
    sleeper = Sleeper()
    settings = ClientSettings(**{**FAST.__dict__, "retry_after_cap": 42, "total_timeout": 100})
    _, err = run(model, endpoint_for(server, model), sleep=sleeper, settings=settings)
    assert err is None and sleeper.waits == [42]


def test_503_twice_then_success_backs_off_with_full_jitter(catalogue, server):
    server.script(status(503), status(503), answer("Recovered."))
    model = model_for(catalogue)
    sleeper = Sleeper()
    settings = ClientSettings(**{**FAST.__dict__, "backoff_base": 2.0, "backoff_cap": 60})
    events, err = run(
        model, endpoint_for(server, model), sleep=sleeper, settings=settings, rng=random.Random(3)
    )
    assert err is None and text_of(events) == "Recovered."
    assert len(sleeper.waits) == 2
    assert 0 <= sleeper.waits[0] <= 2.0 and 0 <= sleeper.waits[1] <= 4.0
    msgs = [s.message for s in statuses(events, "retrying")]
    assert msgs[0].endswith("(attempt 2 of 5)") and msgs[1].endswith("(attempt 3 of 5)")


def test_retryable_statuses_408_409_500_502_504(catalogue, server):
    server.script(status(408), status(409), status(500), status(502), answer("ok"))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "ok" and len(server.requests) == 5


def test_retries_exhausted_gives_a_plain_sentence(catalogue, server):
    server.script(*[status(503, body={"error": {"message": "Backend down."}})] * 5)
    model = model_for(catalogue)
    sleeper = Sleeper()
    events, err = run(model, endpoint_for(server, model), sleep=sleeper)
    assert err.message == (
        "OpenAI failed with HTTP 503 after 5 attempts. OpenAI said: Backend down."
    )
    assert err.retryable and not err.after_first_token and err.status_code == 503
    assert len(sleeper.waits) == 4 and text_of(events) == ""


def test_rate_limit_exhausted_message(catalogue, server):
    server.script(*[status(429)] * 3)
    model = model_for(catalogue)
    settings = ClientSettings(**{**FAST.__dict__, "max_retries": 2})
    _, err = run(model, endpoint_for(server, model), settings=settings)
    assert err.message.startswith("OpenAI's rate limit was still exceeded after 3 attempts.")


def test_401_fails_at_once_without_retry(catalogue, server):
    server.script(status(401, body={"error": {"message": "Invalid authentication."}}))
    model = model_for(catalogue)
    sleeper = Sleeper()
    _, err = run(model, endpoint_for(server, model), sleep=sleeper)
    assert err.message == "OpenAI refused the key (401). OpenAI said: Invalid authentication."
    assert not err.retryable and err.status_code == 401
    assert sleeper.waits == [] and len(server.requests) == 1


def test_400_includes_the_providers_message(catalogue, server):
    server.script(status(400, body={"error": {"message": "maximum context length is 128000"}}))
    model = model_for(catalogue)
    _, err = run(model, endpoint_for(server, model))
    assert err.message == (
        "OpenAI rejected the request as invalid (400). "
        "OpenAI said: maximum context length is 128000"
    )


def test_404_and_html_bodies_are_not_echoed(catalogue, server):
    server.script(status(404, body="<html><body>Not Found</body></html>"))
    model = model_for(catalogue)
    _, err = run(model, endpoint_for(server, model))
    assert err.message == "OpenAI does not know this model or address (404)."


def test_connection_refused_is_retried_then_fails(catalogue):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    model = model_for(catalogue)
    sleeper = Sleeper()
    settings = ClientSettings(**{**FAST.__dict__, "max_retries": 2})
    _, err = run(
        model, Endpoint(f"http://127.0.0.1:{port}/v1", "k"), sleep=sleeper, settings=settings
    )
    assert err.message == f"Could not reach 127.0.0.1:{port} (after 3 attempts)."
    assert len(sleeper.waits) == 2 and err.retryable


def test_no_retry_after_first_token(catalogue, server):
    from tests.fakes.llm_server import reset_after

    server.script(reset_after("abcdefghijkl", chunks=1, chunk_size=4), answer("never"))
    model = model_for(catalogue)
    sleeper = Sleeper()
    events, err = run(model, endpoint_for(server, model), sleep=sleeper)
    assert text_of(events) == "abcd" and err.after_first_token
    assert sleeper.waits == [] and len(server.requests) == 1


def test_a_wait_longer_than_the_total_cap_fails_plainly(catalogue, server):
    server.script(status(429, headers={"Retry-After": "100"}))
    model = model_for(catalogue)
    _, err = run(model, endpoint_for(server, model))  # FAST: total 30 s
    assert err.message == "The review could not finish within the 30 s time limit."
