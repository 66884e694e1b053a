"""Two worker processes share one provider rate limit: while one streams, the other
waits for the window (and says so on the page) instead of sending."""

import threading

import pytest

from tests.conftest import PROFILES
from tests.fakes.llm_server import answer
from tests.sse_client import Collector
from tests.stack import running_stack
from tests.test_e2e_review import ANSWER, create_project, review_id_of, upload, wait_until

pytestmark = pytest.mark.e2e

WINDOW = 4


@pytest.fixture(scope="module", params=PROFILES)
def limited_stack(request, fake_llm, tmp_path_factory):
    with running_stack(
        request.param,
        tmp_path_factory.mktemp(f"limits-{request.param}"),
        fake_llm.url,
        LLM_RPM="1",
        LLM_RATE_WINDOW_SECONDS=str(WINDOW),
        REDIS_DB="11",
    ) as running:
        running.start_worker()  # a second worker process
        yield running


def test_two_workers_share_one_requests_per_minute_limit(limited_stack, llm):
    stack = limited_stack
    gate = threading.Event()
    llm.script(answer(ANSWER, chunk_size=10, gate=gate, gate_after=2), answer(ANSWER))
    client = stack.client()
    project_id = create_project(client, "Rate limited")
    try:
        first = Collector(
            stack.client(), f"/reviews/{review_id_of(upload(client, project_id))}/events"
        )
        first.start()
        wait_until(lambda: first.text() == ANSWER[:20])

        second_id = review_id_of(upload(client, project_id))
        second = Collector(stack.client(), f"/reviews/{second_id}/events")
        second.start()
        # The other worker takes it, finds the shared window spent, and waits.
        wait_until(
            lambda: any("waiting for rate limit" in m.data for m in second.events("note")),
            timeout=WINDOW + 10,
        )
        assert len(llm.requests) == 1
    finally:
        gate.set()
    first.join(30)
    second.join(30)
    assert [m.data for m in second.events("status")][-1] == "done"
    assert stack.review_field(second_id, "report") == ANSWER
    sent = [r["time"] for r in llm.requests]
    assert len(sent) == 2 and sent[1] - sent[0] >= WINDOW - 1
