"""The API key never appears in an error message, a repr or a status."""

import pytest

from reviewer.llm import Endpoint, redact
from tests.fakes.llm_server import error_event, status
from tests.llm.conftest import API_KEY, endpoint_for, model_for, run


@pytest.mark.parametrize(
    "scenario",
    [
        status(401, body={"error": {"message": f"Incorrect API key provided: {API_KEY}."}}),
        status(400, body={"error": {"message": f"bad header Authorization: Bearer {API_KEY}"}}),
        status(403, body={"error": {"message": f"key ...{API_KEY[-12:]} has no access"}}),
        status(404, body=f"unknown path for key {API_KEY}"),
        error_event("abcdefghij", 1, message=f"internal failure for {API_KEY}"),
    ],
)
def test_api_key_never_appears_in_any_error_message(catalogue, server, scenario):
    for model_id in ("gpt-4.1", "gemini-2.5-pro"):
        model = model_for(catalogue, model_id)
        server.script(scenario)
        events, err = run(model, endpoint_for(server, model))
        assert err is not None
        for text in (err.message, str(err), repr(err), repr(events)):
            assert API_KEY not in text
            assert API_KEY[-12:] not in text
        assert "[redacted]" in err.message or "provider" in err.message


def test_exhausted_retries_message_is_redacted(catalogue, server):
    server.script(*[status(503, body={"error": {"message": f"down; key={API_KEY}"}})] * 5)
    model = model_for(catalogue)
    _, err = run(model, endpoint_for(server, model))
    assert API_KEY not in err.message and "[redacted]" in err.message


def test_endpoint_repr_hides_the_key():
    assert API_KEY not in repr(Endpoint("https://x", API_KEY))


def test_redact_removes_fragments_bearer_tokens_and_query_keys():
    assert redact(f"x {API_KEY} y", API_KEY) == "x [redacted] y"
    assert API_KEY[3:15] not in redact(f"partial {API_KEY[3:15]}", API_KEY)
    assert redact("Authorization: Bearer abcdefghijklmnop") == "Authorization: Bearer [redacted]"
    assert redact("GET /v1?key=AIzaSyABC&x=1") == "GET /v1?key=[redacted]&x=1"
    assert redact("nothing secret", None) == "nothing secret"
