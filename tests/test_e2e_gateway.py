"""Behind a gateway, end to end with real workers: an empty answer is a failure (retried,
then one sentence, never billed), a gateway's error chain is cut for the page and kept
whole in the worker log, and every failed review logs its reason."""

import pytest

from tests.fakes.llm_server import answer, error_event
from tests.sse_client import read_events
from tests.test_e2e_review import create_project, review_id_of, upload

pytestmark = pytest.mark.e2e


def _host(stack):
    # The generic endpoint names itself by its host when it is not OpenAI's.
    return stack.env["LLM_BASE_URL"].split("//")[1].split("/")[0]


def _worker_log(stack):
    return "".join(p.read_text(errors="replace") for p in stack.logs.glob("worker-*.log"))


def test_an_empty_answer_is_retried_then_failed_and_not_billed(stack, llm):
    # LLM_MAX_RETRIES is 2 in the stack: three attempts, all empty.
    llm.script(*[answer("", usage=(900, 0), gateway=True)] * 3)
    client = stack.client()
    review_id = review_id_of(upload(client, create_project(client, "Empty answers")))
    messages = list(read_events(client, f"/reviews/{review_id}/events"))
    assert [m.data for m in messages if m.event == "status"][-1] == "failed"
    error = stack.review_field(review_id, "error")
    assert error == f"{_host(stack)} sent an empty answer (after 3 attempts)."
    assert stack.review_field(review_id, "cost_usd") is None
    assert len(llm.requests) == 3
    assert f"review {review_id} failed: {error}" in _worker_log(stack)


def test_a_gateway_error_chain_is_one_sentence_on_the_page_and_whole_in_the_log(stack, llm):
    key = stack.env["LLM_API_KEY"]
    chain = (
        "litellm.APIConnectionError: APIConnectionError: OpenAIException - Connection error.\n"
        "Received Model Group=gpt-4.1\nAvailable Model Group Fallbacks=None "
        f"{{'model_name': 'gpt-4.1', 'litellm_params': {{'api_key': '{key}'}}}}"
    )
    scenario = error_event("", 0, message=chain, gateway=True, error_code="500")
    llm.script(*[scenario] * 3)
    client = stack.client()
    review_id = review_id_of(upload(client, create_project(client, "Gateway chain")))
    list(read_events(client, f"/reviews/{review_id}/events"))
    error = stack.review_field(review_id, "error")
    # Retried like any temporary failure before the first token, then one short sentence.
    assert len(llm.requests) == 3
    host = _host(stack)
    assert error == (
        f"{host} reported an error in the stream. {host} said: Connection error (after 3 attempts)."
    )
    log = _worker_log(stack)
    assert "Received Model Group=gpt-4.1" in log and key not in log
