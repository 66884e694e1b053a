"""Many reviews per worker, in process: the run enforces its own time limit (the threads
pool has none), packs in another process with its progress still on the stream, can be
cancelled while it packs, and writes to the relay and the row per batch, not per token."""

import os
import threading
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import OperationalError
from django.utils import timezone

from reviewer.reviews.models import Review
from reviewer.runs import lifecycle, packing_pool
from reviewer.runs.run import ReviewRun
from reviewer.streams import relay as relay_module
from reviewer.streams.relay import DELTA, PROGRESS
from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import FakeLLMServer, answer
from tests.stack import ROOT

pytestmark = pytest.mark.django_db(transaction=True)
FILES = {f"shop/app/m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(30)}


@pytest.fixture
def relay(settings):
    relay_module.get_relay.cache_clear()
    settings.REDIS_URL = ""
    yield relay_module.get_relay()
    relay_module.get_relay.cache_clear()


@pytest.fixture
def queued_review(make_review):
    return make_review(
        status="queued",
        report="",
        lease_expires_at=timezone.now() + timedelta(seconds=300),
        archive=ContentFile(make_zip(FILES), name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
        cost_usd=None,
        prompt_tokens=None,
        completion_tokens=None,
    )


@pytest.fixture
def model(settings):
    with FakeLLMServer() as llm:
        settings.LLM_BASE_URL = llm.url
        settings.LLM_API_KEY = "sk-test"
        yield llm


@pytest.fixture
def fresh_pool(settings):
    """A packing pool of one process, started by the test and shut down after it."""
    settings.PACK_PROCESSES = 1
    if packing_pool._pool is not None:
        packing_pool._drop_pool(packing_pool._pool)
    yield
    if packing_pool._pool is not None:
        packing_pool._drop_pool(packing_pool._pool)


def run(review):
    token = lifecycle.claim(review.pk)
    ReviewRun(review.pk, token).run()
    return Review.objects.get(pk=review.pk)


def test_a_review_past_its_time_limit_fails_with_its_text_kept(
    relay, queued_review, model, settings
):
    settings.REVIEW_TIME_LIMIT = 2
    model.script(answer("word " * 400, chunk_size=5, delay=0.05))  # 4 s of tokens
    review = run(queued_review)
    assert review.status == "failed"
    assert review.error == "The review took longer than its 2-second limit."
    assert review.report and "word " * 400 != review.report
    assert review.report == "".join(e.data for e in relay.read(review.pk) if e.kind == DELTA)


def test_the_limit_reads_in_minutes_when_it_is_whole_minutes():
    from reviewer.runs.keeper import _duration

    assert _duration(3600) == "60-minute"
    assert _duration(90) == "90-second"


def test_packing_runs_in_another_process_and_the_stream_still_shows_its_progress(
    relay, queued_review, model, fresh_pool
):
    model.script(answer("## Conformance\n\nFine.\n"))
    review = run(queued_review)
    assert review.status == "done", review.error
    pool = packing_pool._pool
    assert pool.last_pid is not None and pool.last_pid != os.getpid()
    heard = [e.data for e in relay.read(review.pk) if e.kind == PROGRESS]
    assert any('"stage":"counting"' in d and '"done":30,"total":30' in d for d in heard), heard
    assert review.pack_summary["included_paths"]


def test_a_packs_last_progress_reaches_its_watcher_before_the_pack_returns(tmp_path):
    # The result comes back on another channel than the progress: a watcher slower than
    # the pack (a busy worker) must still get the stage's last count, which the page shows.
    archive, spec = tmp_path / "shop.zip", tmp_path / "spec.pdf"
    archive.write_bytes(make_zip(FILES))
    spec.write_bytes(make_pdf())
    from reviewer.packing import Budget, PackOptions

    heard = []

    def slow_watcher(stage, done, total):
        time.sleep(0.1)
        heard.append((stage, done, total))

    pool = packing_pool.PackPool(1)
    try:
        args = (str(archive), str(spec), Budget(1_000_000, 8_000), PackOptions())
        pool.run("pack", args, slow_watcher, None)
        returned_with = list(heard)
    finally:
        pool.shutdown()
    assert ("counting", 30, 30) in returned_with, returned_with


def test_a_review_cancelled_while_it_packs_stops_without_calling_the_model(
    relay, queued_review, model, fresh_pool
):
    Review.objects.filter(pk=queued_review.pk).update(cancel_requested=True)
    token = lifecycle.claim(queued_review.pk)
    run = ReviewRun(queued_review.pk, token)
    started = threading.Event()
    real = packing_pool.PackPool.run

    def run_and_note(self, *args):
        started.set()  # the pack was handed to the packing process
        return real(self, *args)

    packing_pool.PackPool.run = run_and_note
    try:
        run.run()
    finally:
        packing_pool.PackPool.run = real
    review = Review.objects.get(pk=queued_review.pk)
    assert started.is_set()
    assert review.status == "cancelled" and review.status_note == "cancelled while packing"
    assert not model.requests


def test_relay_and_row_writes_grow_with_time_not_with_tokens(
    relay, queued_review, model, settings, monkeypatch
):
    settings.REVIEW_CHECKPOINT_SECONDS = 1
    chunks = 600
    model.script(answer("x" * chunks, chunk_size=1, delay=0.004))  # ~2.5 s of tokens
    appends, updates = [], []
    real_append = relay.append
    monkeypatch.setattr(relay, "append", lambda *a, **k: appends.append(1) or real_append(*a, **k))
    real_update = lifecycle.fenced

    def counted(*args):
        updates.append(1)
        return real_update(*args)

    monkeypatch.setattr(lifecycle, "fenced", counted)
    monkeypatch.setattr("reviewer.runs.keeper.fenced", counted)
    review = run(queued_review)
    assert review.status == "done" and review.report == "x" * chunks
    assert len(appends) < chunks / 6, len(appends)
    assert len(updates) < chunks / 15, len(updates)


def test_the_embedded_broker_shows_a_message_only_once_it_is_whole(tmp_path, monkeypatch):
    from kombu import Connection
    from kombu.utils.json import dumps

    from reviewer.runs import file_broker

    folder = tmp_path / "queue"
    folder.mkdir()
    seen_while_writing = []

    def watched_dumps(payload):
        # What a worker polling the folder would find while the message is written.
        seen_while_writing.extend(p.name for p in folder.iterdir() if p.name.endswith(".msg"))
        return dumps(payload)

    monkeypatch.setattr(file_broker, "dumps", watched_dumps)
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    transport = "reviewer.runs.file_broker:Transport"
    with Connection("filesystem://", transport=transport, transport_options=options) as conn:
        queue = conn.SimpleQueue("reviews")
        queue.put({"review": 1})
        assert seen_while_writing == []
        assert queue.get(timeout=1).payload == {"review": 1}
        queue.close()


def test_a_bounded_worker_opens_no_more_postgresql_connections_than_allowed():
    from reviewer.runs.postgresql import base

    opened = []

    class Handle:
        """Stands in for psycopg's connection: only its lifetime counts here."""

    class Counting(base.base.DatabaseWrapper):
        def get_new_connection(self, conn_params):
            opened.append(1)
            return Handle()

    base.limit_connections(2)
    try:
        wrapper = type("Bounded", (base.DatabaseWrapper, Counting), {})
        first = wrapper.get_new_connection(wrapper.__new__(wrapper), {})
        second = wrapper.get_new_connection(wrapper.__new__(wrapper), {})
        base.WAIT_SECONDS, wait = 0.2, base.WAIT_SECONDS
        try:
            with pytest.raises(OperationalError):
                wrapper.get_new_connection(wrapper.__new__(wrapper), {})
            del first  # closed and gone: its place is free again
            third = wrapper.get_new_connection(wrapper.__new__(wrapper), {})
        finally:
            base.WAIT_SECONDS = wait
        assert len(opened) == 3 and second is not None and third is not None
    finally:
        base.limit_connections(0)


def test_packing_processes_exit_when_their_worker_is_killed():
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import os, sys, time\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'reviewer.settings')\n"
        "from reviewer.runs.packing_pool import PackPool\n"
        "pool = PackPool(1)\n"
        "try:\n"
        "    pool.run('split', ('missing.zip', None, None, None), None, None)\n"
        "except Exception:\n"
        "    pass\n"
        "print(*pool._executor._processes, flush=True)\n"
        "time.sleep(60)\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        child = int(worker.stdout.readline())
        os.kill(child, 0)  # alive
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.kill(child, signal.SIGKILL)
            raise AssertionError("the packing process outlived its worker")
    finally:
        worker.kill()
