"""One run per review, whatever happens: a worker frozen past its lease, whose review
another worker took over, cannot add a word to the page when it wakes up."""

import contextlib
import html
import os
import signal
import subprocess
import threading
import time

import pytest

from tests.fakes.llm_server import answer
from tests.sse_client import read_events
from tests.test_e2e_review import ANSWER, create_project, review_id_of, upload, wait_until

pytestmark = pytest.mark.e2e


def _family(pid):
    """The worker process and its pool children, which run the tasks under prefork."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [pid, *(int(p) for p in children.stdout.split())]


def _signal_all(workers, sig):
    for worker in workers:
        for pid in _family(worker.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def test_a_frozen_worker_cannot_write_after_another_took_its_review_over(stack, llm):
    frozen_text = "FROZEN RUN TEXT. " * 12
    gate = threading.Event()
    llm.script(
        answer(frozen_text, chunk_size=10, gate=gate, gate_after=0),
        answer(ANSWER, chunk_size=10, delay=0.01),
    )
    client = stack.client()
    review_id = review_id_of(upload(client, create_project(client, "Frozen worker")))
    wait_until(lambda: len(llm.requests) == 1)
    # Workers killed by earlier tests stay in the list; only the living ones run tasks.
    frozen = [worker for worker in stack.workers if worker.poll() is None]
    rescuer = None
    try:
        _signal_all(frozen, signal.SIGSTOP)
        rescuer = stack.start_worker()
        # Past the lease (6 s in the stack), the rescuer's reaper requeues the review and
        # the rescuer runs it: one more model call, streamed to the end.
        wait_until(lambda: stack.review_field(review_id, "status") == "done", timeout=60)
        assert stack.review_field(review_id, "attempts") == 2
    finally:
        _signal_all(frozen, signal.SIGCONT)
        gate.set()
    try:
        # The woken worker now receives its whole answer and tries to write it.
        time.sleep(4)
        _check_only_the_second_run_reached_the_page(stack, llm, client, review_id)
    finally:
        if rescuer is not None:
            stack.workers.remove(rescuer)
            rescuer.terminate()
            rescuer.wait(10)


def _check_only_the_second_run_reached_the_page(stack, llm, client, review_id):

    assert len(llm.requests) == 2
    assert stack.review_field(review_id, "status") == "done"
    assert stack.review_field(review_id, "report") == ANSWER
    messages = list(read_events(client, f"/reviews/{review_id}/events"))
    text = "".join(html.unescape(m.data) for m in messages if m.event == "delta")
    assert text == ANSWER
    assert [m.event for m in messages][-1] == "done"
    # The page's rendered `block`/`tail` events repeat their delta's id.
    ids = [int(m.id) for m in messages if m.event not in ("block", "tail")]
    assert ids == sorted(set(ids))
    page = client.get(f"/reviews/{review_id}/").text
    assert "FROZEN" not in page
    logs = "".join(p.read_text(errors="replace") for p in stack.logs.glob("worker-*.log"))
    assert "IntegrityError" not in logs
    # The woken run says it stopped: its keeper lost the lease, or its own thread found
    # the last renewal older than a lease before the keeper looked, or the relay refused.
    stopped = ("this run stops", "run 1 stopped")
    assert any(f"review {review_id}: {words}" in logs for words in stopped), logs[-2000:]
