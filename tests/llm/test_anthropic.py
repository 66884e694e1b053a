"""The native Anthropic adapter against the fake's Messages API: body, headers, the event
stream, errors (events and HTTP), cached-token usage and the cache layout."""

import base64
import json
from decimal import Decimal

import pytest

from reviewer.llm import Endpoint, LLMError, build_body, estimate_cost
from reviewer.llm.adapters import parse_anthropic
from reviewer.packing import Budget, PackingError
from reviewer.packing.pdf import check_pdf
from tests.fakes.anthropic_wire import error_body
from tests.fakes.llm_server import Scenario, answer, error_event, no_done, status
from tests.llm.conftest import (
    API_KEY,
    PDF,
    endpoint_for,
    finished,
    make_request,
    model_for,
    run,
    statuses,
    text_of,
)
from tests.packing.conftest import make_pdf


@pytest.fixture
def claude(catalogue):
    return model_for(catalogue, "claude-sonnet-5.5")


def test_request_goes_to_v1_messages_with_the_key_only_in_x_api_key(claude, server):
    server.script(answer("Looks fine.", chunk_size=3))
    events, err = run(claude, Endpoint(base_url=server.root, api_key=API_KEY))
    assert err is None and text_of(events) == "Looks fine."
    rec = server.requests[0]
    assert rec["path"] == "/v1/messages"
    headers = rec["headers"]
    assert headers["x-api-key"] == API_KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers
    assert not [k for k, v in headers.items() if API_KEY in v and k != "x-api-key"]
    assert API_KEY not in json.dumps(rec["body"])


def test_a_base_url_ending_in_v1_is_not_doubled(claude, server):
    events, err = run(claude, endpoint_for(server, claude))  # server.url ends in /v1
    assert err is None
    assert server.requests[0]["path"] == "/v1/messages"


def test_body_has_system_document_then_repository_with_cache_breakpoints(claude, server):
    run(claude, endpoint_for(server, claude))
    body = server.requests[0]["body"]
    assert body["model"] == "claude-sonnet-5-5" and body["stream"] is True
    assert body["max_tokens"] == claude.max_output_tokens
    assert body["system"] == make_request().instructions
    (turn,) = body["messages"]
    assert turn["role"] == "user"
    document, repository = turn["content"]
    assert document == {
        "type": "document",
        "source": {
            "type": "base64",
            "media_type": "application/pdf",
            "data": base64.b64encode(PDF).decode(),
        },
        "cache_control": {"type": "ephemeral"},
    }
    assert repository == {
        "type": "text",
        "text": make_request().prompt,
        "cache_control": {"type": "ephemeral"},
    }


def test_notes_come_after_the_last_breakpoint_and_leave_the_prefix_unchanged(claude):
    plain = build_body(claude, make_request())
    noted = build_body(claude, make_request(notes="Findings dismissed earlier: none."))
    content = noted["messages"][0]["content"]
    assert content[:2] == plain["messages"][0]["content"]
    assert content[2] == {"type": "text", "text": "Findings dismissed earlier: none."}
    assert noted["system"] == plain["system"]


def test_usage_counts_cache_reads_and_writes_as_part_of_the_prompt(claude, server):
    server.script(
        answer("ok", usage=(120_000, 900), cached_tokens=100_000, cache_write_tokens=15_000)
    )
    events, err = run(claude, endpoint_for(server, claude))
    assert err is None
    done = finished(events)
    assert (done.prompt_tokens, done.completion_tokens) == (120_000, 900)
    assert (done.cached_tokens, done.cache_write_tokens) == (100_000, 15_000)
    # 5,000 fresh at $2, 100,000 read at $0.20, 15,000 written at $2.50, 900 out at $10.
    cost = estimate_cost(claude, 120_000, 900, done.cached_tokens, done.cache_write_tokens)
    assert cost == Decimal("0.0765")


def test_max_tokens_and_refusal_map_to_length_and_content_filter(claude, server):
    server.script(
        answer("cut", finish_reason="length"), answer("no", finish_reason="content_filter")
    )
    first, _ = run(claude, endpoint_for(server, claude))
    second, _ = run(claude, endpoint_for(server, claude))
    assert finished(first).finish_reason == "length"
    assert finished(second).finish_reason == "content_filter"


def test_overloaded_error_event_before_the_first_token_is_retried(claude, server):
    server.script(error_event("", 0, "Overloaded"), answer("second time lucky"))
    events, err = run(claude, endpoint_for(server, claude))
    assert err is None and text_of(events) == "second time lucky"
    assert len(server.requests) == 2
    assert statuses(events, "retrying")


def test_error_event_after_text_keeps_the_text_and_fails(claude, server):
    server.script(error_event("Half an answer", 2, "Overloaded"))
    events, err = run(claude, endpoint_for(server, claude))
    assert err is not None and err.after_first_token
    assert text_of(events) == "Half an answer"[:14]
    assert "Overloaded" in err.message and len(server.requests) == 1


def test_invalid_request_error_event_is_not_retried(claude, server):
    server.script(
        Scenario(
            text="x",
            ending="error",
            cut_after=0,
            error_message="bad",
            error_type="invalid_request_error",
        )
    )
    events, err = run(claude, endpoint_for(server, claude))
    assert err is not None and not err.after_first_token and "bad" in err.message
    assert len(server.requests) == 1


def test_529_overloaded_and_429_with_retry_after_are_retried(claude, server):
    server.script(
        status(529, error_body(529, "Overloaded")),
        status(429, error_body(429), headers={"retry-after": "0"}),
        answer("finally"),
    )
    events, err = run(claude, endpoint_for(server, claude))
    assert err is None and text_of(events) == "finally"
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        (401, "Anthropic refused the key (401)."),
        (403, "Anthropic refused access with this key (403)."),
        (400, "Anthropic rejected the request as invalid (400)."),
    ],
)
def test_refusals_fail_at_once_with_the_providers_message(claude, server, code, sentence):
    server.script(status(code, error_body(code, "prompt is too long: 1200000 tokens > 1000000")))
    events, err = run(claude, endpoint_for(server, claude))
    assert err is not None and err.status_code == code
    assert err.message.startswith(sentence)
    assert "prompt is too long" in err.message
    assert len(server.requests) == 1


def test_a_stream_without_stop_is_incomplete(claude, server):
    server.script(no_done("never finished"))
    events, err = run(claude, endpoint_for(server, claude))
    assert err is not None and "ended before the answer was complete" in err.message


def test_thinking_deltas_are_not_answer_text_and_unknown_events_are_ignored():
    thinking = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "hmm"},
    }
    assert parse_anthropic("content_block_delta", json.dumps(thinking)).text == ""
    text = {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "text_delta", "text": "Hi"},
    }
    assert parse_anthropic("content_block_delta", json.dumps(text)).text == "Hi"
    assert parse_anthropic("ping", '{"type": "ping"}').text == ""
    odd = parse_anthropic("something_new", '{"type": "something_new", "x": 1}')
    assert odd.text == "" and odd.error is None and not odd.done


def test_a_spec_over_anthropics_pdf_limits_is_refused_before_sending(claude, tmp_path):
    assert (claude.pdf_max_pages, claude.pdf_max_bytes) == (100, 24 * 1024 * 1024)
    with pytest.raises(LLMError, match="has 101 pages but Claude Sonnet 5.5 accepts at most 100"):
        build_body(claude, make_request(spec_pages=101))
    budget = Budget(claude.context_tokens, claude.max_output_tokens, 100, claude.pdf_max_bytes)
    with pytest.raises(PackingError, match="101 pages; this model accepts at most 100"):
        check_pdf(make_pdf(pages=101), budget.pdf_max_pages, budget.pdf_max_bytes)
