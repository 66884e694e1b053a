"""Behind a gateway (LiteLLM and the like): what it does differently from a provider, as the
fake reproduces it, and how the client copes."""

import logging

from reviewer.llm import ClientSettings, Endpoint
from reviewer.llm.messages import meaningful
from tests.fakes.llm_server import Scenario, answer, error_event, status
from tests.llm.conftest import (
    API_KEY,
    FAST,
    Sleeper,
    endpoint_for,
    finished,
    model_for,
    run,
    statuses,
    text_of,
)

LITELLM_CHAIN = (
    "litellm.APIConnectionError: APIConnectionError: OpenAIException - Connection error.\n"
    "Received Model Group=gpt-4.1\nAvailable Model Group Fallbacks=None "
    "{'model_name': 'gpt-4.1', 'litellm_params': {'api_base': 'http://upstream.internal', "
    f"'api_key': '{API_KEY}'}}}}"
)


def test_a_gateway_stream_without_comments_and_with_an_empty_usage_choice_is_read(
    catalogue, server
):
    server.script(answer("All good.", usage=(1200, 30), gateway=True))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "All good."
    assert (finished(events).prompt_tokens, finished(events).completion_tokens) == (1200, 30)


def test_an_empty_answer_ending_with_stop_is_retried_then_fails_with_a_sentence(catalogue, server):
    server.script(*[answer("", gateway=True)] * 3)
    model = model_for(catalogue)
    settings = ClientSettings(**{**FAST.__dict__, "max_retries": 2})
    events, err = run(model, endpoint_for(server, model), settings=settings)
    assert finished(events) is None and len(server.requests) == 3
    assert err.message == "OpenAI sent an empty answer (after 3 attempts)."
    assert not err.after_first_token


def test_an_empty_answer_then_a_real_one_is_done(catalogue, server):
    server.script(answer("", gateway=True), answer("Second try.", gateway=True))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "Second try." and len(server.requests) == 2


def test_in_stream_errors_with_string_codes_are_temporary_before_the_first_token(catalogue, server):
    server.script(
        error_event("", 0, message="Connection error.", gateway=True, error_code="500"),
        error_event("", 0, message="Rate limited upstream", gateway=True, error_code="429"),
        answer("Recovered.", gateway=True),
    )
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "Recovered." and len(server.requests) == 3
    assert len(statuses(events, "retrying")) == 2


def test_a_string_coded_client_error_in_the_stream_is_not_retried(catalogue, server):
    server.script(error_event("", 0, message="Bad model name", gateway=True, error_code="400"))
    model = model_for(catalogue)
    _, err = run(model, endpoint_for(server, model))
    assert len(server.requests) == 1 and "Bad model name" in err.message


def test_the_gateways_retry_after_headers_are_obeyed(catalogue, server):
    server.script(
        status(429, headers={"llm_provider-retry-after": "7"}),
        status(503, headers={"llm_provider-retry-after-ms": "2500"}),
        answer("ok", gateway=True),
    )
    model = model_for(catalogue)
    sleeper = Sleeper()
    events, err = run(model, endpoint_for(server, model), sleep=sleeper)
    assert err is None and text_of(events) == "ok"
    assert sleeper.waits == [7.0, 2.5]


def test_a_chunked_stream_that_ends_early_is_retried_before_the_first_token(catalogue, server):
    server.script(Scenario(text="", ending="cut", cut_after=0, gateway=True), answer("whole"))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "whole" and len(server.requests) == 2


def test_a_chunked_stream_that_ends_early_after_text_keeps_the_partial_answer(catalogue, server):
    server.script(Scenario(text="Partial answer text", ending="cut", cut_after=2, gateway=True))
    model = model_for(catalogue)
    events, err = run(model, endpoint_for(server, model))
    assert err.after_first_token and text_of(events) == "Partial answer text"[:14]
    assert err.message == "The connection to OpenAI broke."


def test_a_gateway_error_chain_is_cut_to_its_first_sentence_and_logged_whole(
    catalogue, server, caplog
):
    server.script(status(400, body={"error": {"message": LITELLM_CHAIN, "code": "400"}}))
    model = model_for(catalogue)
    gateway = Endpoint(server.url, API_KEY, name="the gateway at proxy:4000")
    with caplog.at_level(logging.WARNING, logger="reviewer.llm"):
        _, err = run(model, gateway)
    assert err.message == (
        "The gateway at proxy:4000 rejected the request as invalid (400). "
        "The gateway at proxy:4000 said: Connection error."
    )
    assert "Model Group" in caplog.text and "upstream.internal" in caplog.text
    assert API_KEY not in caplog.text and API_KEY not in err.message


def test_meaningful_keeps_one_sentence_and_caps_the_length():
    assert meaningful(LITELLM_CHAIN) == "Connection error."
    nested = "Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4.1. Retry.'}}"
    assert meaningful(f"litellm.RateLimitError: RateLimitError: OpenAIException - {nested}") == (
        "Rate limit reached for gpt-4.1."
    )
    assert len(meaningful("x" * 1000)) == 300
    assert meaningful("API key not valid. Please pass a valid API key.") == "API key not valid."


def test_connection_failures_name_the_host(catalogue):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    model = model_for(catalogue, "deepseek-v3.2")
    settings = ClientSettings(**{**FAST.__dict__, "max_retries": 0})
    _, err = run(model, Endpoint(f"http://127.0.0.1:{port}", "k"), settings=settings)
    assert err.message == f"Could not reach 127.0.0.1:{port} (after 1 attempt)."
