"""Each adapter sends its provider's wire format, and reads its provider's stream."""

import base64

import pytest

from reviewer.llm import LLMError, build_body, build_http
from tests.fakes.llm_server import answer, error_event, no_done
from tests.llm.conftest import (
    API_KEY,
    PDF,
    endpoint_for,
    finished,
    make_request,
    model_for,
    run,
    text_of,
)

PDF_URL = "data:application/pdf;base64," + base64.b64encode(PDF).decode()


def test_openai_file_adapter_sends_the_pdf_as_a_file_part(catalogue, server):
    model = model_for(catalogue, "gpt-5")
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events)
    rec = server.requests[0]
    assert rec["path"] == "/v1/chat/completions"
    assert rec["headers"]["authorization"] == f"Bearer {API_KEY}"
    body = rec["body"]
    assert body["model"] == "gpt-5" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_completion_tokens"] == 128000 and "max_tokens" not in body
    system, user = body["messages"]
    assert system == {"role": "system", "content": "You review code against its specification."}
    file_part, text_part = user["content"]
    assert file_part == {"type": "file", "file": {"filename": "spec.pdf", "file_data": PDF_URL}}
    assert text_part == {"type": "text", "text": make_request().prompt}


def test_openai_image_url_adapter_sends_the_pdf_as_a_data_url(catalogue, server):
    model = model_for(catalogue, "claude-sonnet-4.5", adapter="openai_image_url")
    events, err = run(model, endpoint_for(server, model))
    assert err is None
    body = server.requests[0]["body"]
    assert body["model"] == "anthropic/claude-sonnet-4.5" and body["max_tokens"] == 64000
    part = body["messages"][1]["content"][0]
    assert part == {"type": "image_url", "image_url": {"url": PDF_URL}}


def test_openai_text_adapter_puts_the_spec_text_in_the_prompt(catalogue, server):
    model = model_for(catalogue, "deepseek-v3.2")
    events, err = run(model, endpoint_for(server, model))
    assert err is None
    body = server.requests[0]["body"]
    assert body["model"] == "deepseek-chat" and body["max_tokens"] == 8192
    content = body["messages"][1]["content"]
    assert isinstance(content, str)
    assert content.startswith('<specification filename="spec.pdf">\nThe program shall say hi.')
    assert content.endswith(make_request().prompt)
    assert "base64" not in content


def test_text_adapter_without_extracted_text_refuses_plainly(catalogue):
    model = model_for(catalogue, "deepseek-v3.2")
    with pytest.raises(LLMError, match="cannot read PDF files"):
        build_body(model, make_request(spec_text=None))


def test_gemini_adapter_sends_inline_pdf_system_instruction_and_max_tokens(catalogue, server):
    model = model_for(catalogue, "gemini-2.5-pro")
    server.script(answer("Gemini answer ✓", usage=(321, 12)))
    events, err = run(model, endpoint_for(server, model))
    assert err is None and text_of(events) == "Gemini answer ✓"
    assert finished(events).prompt_tokens == 321 and finished(events).completion_tokens == 12
    rec = server.requests[0]
    assert rec["path"] == "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    assert rec["query"] == {"alt": "sse"}
    assert rec["headers"]["x-goog-api-key"] == API_KEY and "authorization" not in rec["headers"]
    body = rec["body"]
    assert body["system_instruction"] == {
        "parts": [{"text": "You review code against its specification."}]
    }
    assert body["generationConfig"] == {"maxOutputTokens": 65536}
    (content,) = body["contents"]
    assert content["role"] == "user"
    pdf_part, text_part = content["parts"]
    assert pdf_part == {
        "inline_data": {"mime_type": "application/pdf", "data": base64.b64encode(PDF).decode()}
    }
    assert text_part == {"text": make_request().prompt}


@pytest.mark.parametrize(
    "reason,expected", [("length", "length"), ("content_filter", "content_filter")]
)
def test_gemini_finish_reasons_are_mapped(catalogue, server, reason, expected):
    # the fake sends MAX_TOKENS / SAFETY on the Gemini wire
    model = model_for(catalogue, "gemini-2.5-flash")
    server.script(answer("partial", finish_reason=reason))
    events, err = run(model, endpoint_for(server, model))
    assert err is None and finished(events).finish_reason == expected


def test_gemini_unusual_finish_reason_is_an_error(catalogue, server):
    model = model_for(catalogue, "gemini-2.5-flash")
    server.script(answer("partial", finish_reason="OTHER"))
    events, err = run(model, endpoint_for(server, model))
    assert err.message == "Google ended the answer abnormally (reason: OTHER)."
    assert err.after_first_token and text_of(events) == "partial"


def test_gemini_stream_ending_without_finish_reason_is_an_error(catalogue, server):
    model = model_for(catalogue, "gemini-3.1-pro")
    server.script(no_done("an unfinished"))
    events, err = run(model, endpoint_for(server, model))
    assert err.message == "Google's stream ended before the answer was complete."


def test_gemini_error_mid_stream(catalogue, server):
    model = model_for(catalogue, "gemini-3.1-pro")
    server.script(error_event("abcdefghijklmn", chunks=1, message="Internal error encountered."))
    events, err = run(model, endpoint_for(server, model))
    assert err.after_first_token and "Internal error encountered." in err.message


def test_gemini_thought_parts_are_not_answer_text():
    from reviewer.llm.adapters import parse_gemini

    data = (
        '{"candidates":[{"content":{"parts":[{"text":"thinking...","thought":true},'
        '{"text":"answer"}]}}],"usageMetadata":{"promptTokenCount":5,'
        '"candidatesTokenCount":3,"thoughtsTokenCount":7}}'
    )
    parsed = parse_gemini("message", data)
    assert parsed.text == "answer" and parsed.usage == (5, 10)


def test_gemini_blocked_prompt_finishes_with_content_filter():
    from reviewer.llm.adapters import parse_gemini

    parsed = parse_gemini("message", '{"promptFeedback":{"blockReason":"SAFETY"}}')
    assert parsed.finish == "content_filter"


def test_spec_without_pdf_goes_as_text_for_pdf_models(catalogue):
    body = build_body(model_for(catalogue, "gpt-4.1"), make_request(spec_pdf=None))
    content = body["messages"][1]["content"]
    assert isinstance(content, str) and "The program shall say hi." in content
    gem = build_body(model_for(catalogue, "gemini-2.5-pro"), make_request(spec_pdf=None))
    assert gem["contents"][0]["parts"][0]["text"].startswith("<specification")


def test_pdf_over_the_size_limit_is_refused_before_sending(catalogue):
    model = model_for(catalogue, "gpt-4.1", pdf_max_bytes=10)
    with pytest.raises(LLMError, match="accepts at most"):
        build_body(model, make_request())


def test_pdf_over_the_page_limit_is_refused_when_pages_are_known(catalogue):
    model = model_for(catalogue, "gpt-4.1")
    with pytest.raises(LLMError, match="has 150 pages"):
        build_body(model, make_request(spec_pages=150))


def test_max_output_tokens_can_be_lowered_per_request(catalogue):
    body = build_body(model_for(catalogue, "gpt-4.1"), make_request(max_output_tokens=1000))
    assert body["max_completion_tokens"] == 1000


def test_build_http_urls_and_headers(catalogue):
    from reviewer.llm import Endpoint

    url, headers = build_http(
        catalogue["gemini-2.5-pro"], Endpoint("https://g.example/v1beta/", "k")
    )
    assert url == "https://g.example/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    assert headers["x-goog-api-key"] == "k"
    url, headers = build_http(catalogue["gpt-4.1"], Endpoint("https://o.example/v1", None))
    assert url == "https://o.example/v1/chat/completions" and "Authorization" not in headers


def test_every_catalogue_model_builds_a_json_body(catalogue):
    import json

    for model in catalogue.values():
        req = make_request() if model.pdf else make_request()
        assert json.loads(json.dumps(build_body(model, req)))
