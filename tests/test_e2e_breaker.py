"""A provider that keeps failing opens the shared circuit breaker: later reviews wait
(and say so on the page) instead of failing, and go through once it closes."""

import pytest

from tests.conftest import PROFILES
from tests.fakes.llm_server import answer, status
from tests.sse_client import read_events
from tests.stack import running_stack
from tests.test_e2e_review import ANSWER, create_project, review_id_of, upload

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=PROFILES)
def breaker_stack(request, fake_llm, tmp_path_factory):
    with running_stack(
        request.param,
        tmp_path_factory.mktemp(f"breaker-{request.param}"),
        fake_llm.url,
        LLM_MAX_RETRIES="1",
        LLM_BREAKER_FAILURES="2",
        # Long enough for the second review's upload and pack (a packing process starts
        # on a worker's first pack) to reach the model while the breaker is still open.
        LLM_BREAKER_OPEN_SECONDS="10",
        REDIS_DB="10",
    ) as running:
        yield running


def test_open_breaker_makes_the_next_review_wait_then_succeed(breaker_stack, llm):
    stack = breaker_stack
    llm.script(status(503), status(503), answer(ANSWER))
    client = stack.client()
    project_id = create_project(client, "Flaky provider")

    first = review_id_of(upload(client, project_id))
    list(read_events(client, f"/reviews/{first}/events"))
    assert stack.review_field(first, "status") == "failed"
    assert "503" in stack.review_field(first, "error") or "unavailable" in stack.review_field(
        first, "error"
    )

    second = review_id_of(upload(client, project_id))
    messages = list(read_events(client, f"/reviews/{second}/events"))
    statuses = [m.data for m in messages if m.event == "status"]
    notes = [m.data for m in messages if m.event == "note"]
    assert "waiting" in statuses and statuses[-1] == "done"
    assert any("failing" in note and "about" in note for note in notes), notes
    assert stack.review_field(second, "report") == ANSWER
    assert len(llm.requests) == 3
