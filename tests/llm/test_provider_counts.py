"""Requests that fit by the provider's count: catalogue ratios, the providers' refusals of
an over-long prompt (parsed from their real error bodies), the count endpoints, the learned
ratio's rule, and the fake's own count."""

import dataclasses
import json

import pytest

from reviewer.llm import (
    ContextOverflow,
    Endpoint,
    catalogue_ratio,
    count_tokens,
    learned_ratio,
    load_catalogue,
    refit_ratio,
)
from reviewer.llm.overflow import Overflow, parse_body
from reviewer.packing import count_tokens as o200k
from tests.fakes.llm_server import status
from tests.fakes.provider_counts import CountRules, error_body, fake_count
from tests.llm.conftest import API_KEY, endpoint_for, make_request, model_for, run

# Real bodies, as the providers send them (from reports in public issue trackers).
OPENAI_BODY = (
    b'{"error": {"message": "This model\'s maximum context length is 128000 tokens. However, '
    b'your messages resulted in 204308 tokens. Please reduce the length of the messages.", '
    b'"type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}'
)
OPENAI_REQUESTED_BODY = (
    b'{"error": {"message": "This model\'s maximum context length is 131072 tokens. However, you '
    b"requested 139162 tokens (130970 in the messages, 8192 in the completion). Please reduce "
    b'the length of the messages or completion.", "type": "invalid_request_error", '
    b'"param": null, "code": "invalid_request_error"}}'
)
OPENAI_NO_COUNT_BODY = (
    b'{"error": {"type": "invalid_request_error", "code": "context_length_exceeded", '
    b'"message": "Your input exceeds the context window of this model. Please adjust your '
    b'input and try again.", "param": "input"}}'
)
ANTHROPIC_BODY = (
    b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: '
    b'208310 tokens > 200000 maximum"},"request_id":"req_011CVQe1dLrGNMJyE1ghG1av"}'
)
ANTHROPIC_WITH_OUTPUT_BODY = (
    b'{"type":"error","error":{"type":"invalid_request_error","message":"input length and '
    b"`max_tokens` exceed context limit: 199759 + 8192 > 200000, decrease input length or "
    b'`max_tokens` and try again"}}'
)
GEMINI_BODY = (
    b'{"error": {"code": 400, "message": "The input token count (1156615) exceeds the maximum '
    b'number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}'
)
GEMINI_LIST_BODY = b"[" + GEMINI_BODY + b"]"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (OPENAI_BODY, Overflow(204308, 128000)),
        (OPENAI_REQUESTED_BODY, Overflow(130970, 131072 - 8192)),
        (OPENAI_NO_COUNT_BODY, Overflow()),
        (ANTHROPIC_BODY, Overflow(208310, 200000)),
        (ANTHROPIC_WITH_OUTPUT_BODY, Overflow(199759, 200000 - 8192)),
        (b'{"error": {"message": "prompt is too long: 1200 tokens > 1000"}}', Overflow(1200, 1000)),
        (GEMINI_BODY, Overflow(1156615, 1048576)),
        (GEMINI_LIST_BODY, Overflow(1156615, 1048576)),
    ],
)
def test_each_providers_too_long_body_is_read_with_its_count(body, expected):
    assert parse_body(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"message": "Invalid API key.", "type": "invalid_request_error"}}',
        b'{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: '
        b'10000 > 4096, which is the maximum allowed number of output tokens"}}',
        b"<html>Bad request</html>",
        b"",
    ],
)
def test_other_refusals_are_not_taken_for_an_overflow(body):
    assert parse_body(body) is None


def test_every_shipped_model_says_how_its_provider_counts_and_where_that_comes_from():
    for model in load_catalogue().values():
        ratio = catalogue_ratio(model)
        # An entry's own figure, else its provider's default (with that default's source).
        assert ratio.value == (model.count_ratio or ratio.value) and ratio.value >= 1.0
        assert len(ratio.source) > 30, model.id
    models = load_catalogue()
    assert models["gemini-2.5-pro"].count_ratio == 1.2
    assert models["gpt-4.1"].count_ratio == 1.0
    assert models["claude-sonnet-4.5"].count_ratio == 1.5


def test_entries_without_a_ratio_get_their_providers_default(catalogue):
    bare = model_for(catalogue, "gemini-2.5-pro", count_ratio=None, id="admin-gemini")
    assert catalogue_ratio(bare).value == 1.2
    other = dataclasses.replace(bare, provider="someone", adapter="openai_text")
    assert catalogue_ratio(other).value == 1.25
    claude = dataclasses.replace(bare, provider="anthropic")
    assert catalogue_ratio(claude).value == 1.5


def test_learned_ratio_needs_three_samples_takes_the_90th_percentile_and_stays_bounded(
    catalogue,
):
    gemini = catalogue["gemini-2.5-pro"]  # 1.2 in the catalogue
    assert learned_ratio(gemini, [1.4, 1.4]).kind == "catalogue"
    learned = learned_ratio(gemini, [1.25, 1.3, 1.35, 1.3, 1.28, 1.31, 1.29, 1.3, 1.3, 1.6])
    assert learned.kind == "learned" and learned.value == 1.35
    # Never more optimistic than the catalogue, never past 2.0.
    assert learned_ratio(gemini, [0.9, 0.95, 0.9]).value == 1.2
    assert learned_ratio(gemini, [3.0, 3.0, 3.0]).value == 2.0
    # Only the last twenty count.
    assert learned_ratio(gemini, [1.9] * 5 + [1.3] * 20).value == 1.3


def test_refit_ratio_follows_the_providers_count_and_only_ever_shrinks():
    assert refit_ratio(1.2, 13000, 10000) == pytest.approx(1.3 * 1.02)
    assert refit_ratio(1.2, 11000, 10000) == pytest.approx(1.2 * 1.02)
    assert refit_ratio(1.2, None, 10000) == pytest.approx(1.5)
    # An input cap under the advertised window shrinks it further.
    assert refit_ratio(1.0, 10000, 10000, limit=5000, room=10000) == pytest.approx(2.04)


def test_the_fake_counts_with_its_own_ratio_and_counts_the_pdf_apart():
    body = {"messages": [{"role": "user", "content": "def f(x):\n    return x\n" * 50}]}
    assert fake_count(body, 1.6) == round(o200k("def f(x):\n    return x\n" * 50) * 1.6)
    with_pdf = {"contents": [{"parts": [{"inline_data": {"data": "A" * 1000}}, {"text": "hi"}]}]}
    assert fake_count(with_pdf, 1.0) == o200k("hi") + 11


def test_gemini_count_endpoint_is_asked_with_the_whole_request(catalogue, server):
    server.counting = CountRules(ratio=1.5)
    model = catalogue["gemini-2.5-pro"]
    request = make_request(prompt="def f(x):\n    return x\n" * 200)
    counted = count_tokens(model, endpoint_for(server, model), request)
    call = server.count_requests[-1]
    assert call["path"] == "/v1beta/models/gemini-2.5-pro:countTokens"
    assert call["headers"]["x-goog-api-key"] == API_KEY
    inner = call["body"]["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-pro" and "generationConfig" not in inner
    assert inner["system_instruction"]["parts"][0]["text"] == request.instructions
    assert counted == call["tokens"] and counted > o200k(request.prompt) * 1.4
    assert server.requests == []  # counting is not a generation request


def test_anthropic_count_tokens_sends_the_messages_body_without_answer_settings(catalogue, server):
    server.counting = CountRules(ratio=1.7)
    model = model_for(catalogue, "claude-sonnet-4.5", adapter="anthropic", provider="anthropic")
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64000,
        "stream": True,
        "system": "Review the code.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "x = 1\n" * 300}]}],
    }
    endpoint = Endpoint(base_url=server.root, api_key=API_KEY)
    from reviewer.llm import count_api

    original = count_api.build_body
    count_api.build_body = lambda m, r: dict(body)
    try:
        counted = count_tokens(model, endpoint, make_request())
    finally:
        count_api.build_body = original
    call = server.count_requests[-1]
    assert call["path"] == "/v1/messages/count_tokens"
    assert call["headers"]["x-api-key"] == API_KEY
    assert call["headers"]["anthropic-version"] == "2023-06-01"
    assert set(call["body"]) == {"model", "system", "messages"}
    assert counted == call["tokens"] == fake_count(body, 1.7)


def test_a_failing_or_keyless_count_keeps_the_estimate(catalogue, server):
    model = catalogue["gemini-2.5-pro"]
    assert count_tokens(model, endpoint_for(server, model, key=None), make_request()) is None
    dead = Endpoint(base_url="http://127.0.0.1:9/v1beta", api_key=API_KEY)
    assert count_tokens(model, dead, make_request(), timeout=1) is None
    assert count_tokens(catalogue["gpt-4.1"], endpoint_for(server, model), make_request()) is None


@pytest.mark.parametrize(
    ("model_id", "path_end"),
    [("gpt-4.1", "/chat/completions"), ("gemini-2.5-pro", ":streamGenerateContent")],
)
def test_a_fake_over_its_limit_refuses_with_the_providers_body_and_the_client_says_overflow(
    catalogue, server, model_id, path_end
):
    server.counting = CountRules(ratio=1.5, context_limit=100)
    model = catalogue[model_id]
    request = make_request(prompt="def f(x):\n    return x\n" * 100)
    events, err = run(model, endpoint_for(server, model), request)
    assert isinstance(err, ContextOverflow) and not err.after_first_token
    assert err.overflow.provider_tokens > 100 and err.overflow.limit_tokens == 100
    assert f"{err.overflow.provider_tokens:,}" in err.message
    assert len(server.requests) == 1, "an overflow is never retried by the client"
    assert server.requests[0]["path"].endswith(path_end)


def test_only_a_bad_request_is_taken_for_an_overflow(catalogue, server):
    server.script(status(401, ANTHROPIC_BODY))
    model = catalogue["gpt-4.1"]
    _, err = run(model, endpoint_for(server, model))
    assert err is not None and not isinstance(err, ContextOverflow)
    assert err.message.startswith("OpenAI refused the key (401).")


def test_the_fakes_bodies_are_the_providers_shapes():
    rules = CountRules(context_limit=1000)
    assert parse_body(json.dumps(error_body("openai", 1500, rules))) == Overflow(1500, 1000)
    assert parse_body(json.dumps(error_body("gemini", 1500, rules))) == Overflow(1500, 1000)
    assert parse_body(json.dumps(error_body("anthropic", 1500, rules))) == Overflow(1500, 1000)
    silent = CountRules(context_limit=1000, openai_style="no_count")
    assert parse_body(json.dumps(error_body("openai", 1500, silent))) == Overflow()


def test_an_overflow_inside_the_stream_before_any_text_is_not_retried(catalogue, server):
    from tests.fakes.llm_server import error_event

    server.script(
        error_event(
            "",
            0,
            message="Your input exceeds the context window of this model. Please adjust your "
            "input and try again.",
        )
    )
    model = catalogue["gpt-4.1"]
    _, err = run(model, endpoint_for(server, model))
    assert isinstance(err, ContextOverflow)
    assert len(server.requests) == 1
