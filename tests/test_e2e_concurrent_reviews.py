"""One worker started the documented way (reviews on threads) streams several reviews at
once, in both profiles, and a review beyond its slots waits only until one is free."""

import threading

import pytest

from tests.fakes.llm_server import answer
from tests.test_e2e_review import ANSWER, create_project, review_id_of, upload, wait_until

pytestmark = pytest.mark.e2e
SLOTS = 5


def statuses(stack, ids):
    out = stack.shell(
        "from reviewer.reviews.models import Review\n"
        f"rows = dict(Review.objects.filter(pk__in={ids!r}).values_list('pk', 'status'))\n"
        f"print(repr([rows[i] for i in {ids!r}]))"
    )
    return eval(out.strip())  # noqa: S307 - our own repr of a list of strings


@pytest.fixture
def threads_worker(stack):
    """The stack's workers stopped, one threads worker with SLOTS slots in their place;
    the stack's usual worker again afterwards."""
    for worker in list(stack.workers):
        stack.stop_worker(worker)
    worker = stack.start_worker(pool="threads", REVIEW_SLOTS=str(SLOTS))
    yield worker
    stack.stop_worker(worker)
    stack.start_worker()


def test_one_threads_worker_streams_its_slots_at_once_and_queues_only_the_rest(
    stack, llm, threads_worker
):
    gate = threading.Event()
    llm.script(*[answer(ANSWER, chunk_size=10, gate=gate, gate_after=2) for _ in range(SLOTS + 1)])
    client = stack.client()
    project_id = create_project(client, "Many at once")
    ids = [review_id_of(upload(client, project_id)) for _ in range(SLOTS + 1)]
    try:
        # Every slot holds a review that has streamed its first tokens and waits on the
        # model's next ones; the one review beyond the slots waits in the queue.
        wait_until(lambda: sorted(statuses(stack, ids)) == ["queued"] + ["streaming"] * SLOTS, 90)
        assert len(llm.requests) == SLOTS
    finally:
        gate.set()
    # A slot freed, the queued review runs too.
    wait_until(lambda: statuses(stack, ids) == ["done"] * (SLOTS + 1), 90)
    assert len(llm.requests) == SLOTS + 1
    assert stack.review_field(ids[-1], "report") == ANSWER
