"""Progress over the review's stream, in process: queue places, packing counts and tokens
reach the relay, the hub and the SSE framing, in both relays."""

import asyncio
import json
from datetime import timedelta

import pytest
import redis
from django.core.files.base import ContentFile
from django.utils import timezone

from reviewer.llm.sse import SSEParser
from reviewer.packing.progress import throttled
from reviewer.reviews.models import Review
from reviewer.runs import lifecycle, progress
from reviewer.runs.run import ReviewRun
from reviewer.streams import relay as relay_module
from reviewer.streams.hub import Hub
from reviewer.streams.relay import PROGRESS
from reviewer.streams.views import _framed
from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import FakeLLMServer, answer
from tests.stack import redis_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["database", "redis"])
def relay(request, settings):
    relay_module.get_relay.cache_clear()
    if request.param == "redis":
        settings.REDIS_URL = redis_url(13)
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    else:
        settings.REDIS_URL = ""
    yield relay_module.get_relay()
    relay_module.get_relay.cache_clear()


def progress_of(relay, review_id):
    return [json.loads(e.data) for e in relay.read(review_id) if e.kind == PROGRESS]


def queued(make_review, seconds):
    deadline = timezone.now() + timedelta(seconds=seconds)
    return make_review(status="queued", report="", lease_expires_at=deadline)


def test_queued_reviews_are_told_their_place_and_how_many_run(relay, make_review):
    make_review(status="streaming", report="")
    first, second, third = (queued(make_review, s) for s in (300, 301, 302))
    progress.announce_queue()
    places = [progress_of(relay, r.pk)[-1] for r in (first, second, third)]
    assert places == [{"stage": "queued", "position": p, "running": 1} for p in (1, 2, 3)]

    # A claim moves the others up.
    lifecycle.claim(first.pk)
    progress.announce_queue()
    assert progress_of(relay, second.pk)[-1] == {"stage": "queued", "position": 1, "running": 2}
    assert progress_of(relay, third.pk)[-1]["position"] == 2


def test_cancelling_a_queued_review_moves_the_ones_behind_it_up(relay, make_review):
    first, second = queued(make_review, 300), queued(make_review, 301)
    lifecycle.request_cancel(first.pk)
    assert progress_of(relay, second.pk)[-1]["position"] == 1


def test_progress_data_is_inert_json():
    kind, data = progress.progress_event("counting", note="<img src=x>&")
    assert kind == PROGRESS and "<" not in data and "&" not in data and "\n" not in data
    assert json.loads(data)["note"] == "<img src=x>&"


def test_throttled_progress_passes_stage_changes_and_ends_only():
    now = [0.0]
    seen = []
    report = throttled(lambda *a: seen.append(a), 0.25, clock=lambda: now[0])
    for i in range(100):
        report("counting", i, 100)
    report("counting", 100, 100)
    now[0] = 0.3
    report("counting", 100, 100)
    report("fitting", 0, 100)
    assert seen == [
        ("counting", 0, 100),
        ("counting", 100, 100),
        ("counting", 100, 100),
        ("fitting", 0, 100),
    ]


def test_the_token_meter_reports_tokens_and_rate_once_a_second():
    now = [10.0]
    meter = progress.TokenMeter(started=5.0, clock=lambda: now[0])
    meter.add("Hello world, ")
    assert not meter.due()
    now[0] = 11.0
    meter.add("hello again.")
    assert meter.due()
    data = json.loads(meter.event()[1])
    assert data["stage"] == "streaming" and data["tokens"] >= 5
    assert data["tokens_per_second"] == data["tokens"] and data["elapsed"] == 6.0
    assert not meter.due()


async def _framed_stream(review_id):
    text = []
    async for events in Hub().subscribe(review_id, 0, heartbeat=0.5):
        async for piece in _framed(review_id, events):
            text.append(piece)
    return "".join(text)


def test_the_stream_carries_queue_place_packing_counts_and_tokens(
    relay, make_review, settings, monkeypatch
):
    monkeypatch.setattr(progress, "TOKENS_EVERY_SECONDS", 0.05)
    files = {f"shop/app/m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(30)}
    review = make_review(
        status="queued",
        report="",
        lease_expires_at=timezone.now() + timedelta(seconds=300),
        archive=ContentFile(make_zip(files), name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
        cost_usd=None,
        prompt_tokens=None,
        completion_tokens=None,
    )
    progress.announce_queue()
    with FakeLLMServer() as llm:
        llm.script(answer("## Conformance\n\n" + "Looks fine. " * 40, chunk_size=12, delay=0.01))
        settings.LLM_BASE_URL = llm.url
        settings.LLM_API_KEY = "sk-test"
        token = lifecycle.claim(review.pk)
        ReviewRun(review.pk, token).run()
    assert Review.objects.get(pk=review.pk).status == "done"

    framed = asyncio.run(asyncio.wait_for(_framed_stream(review.pk), 20))
    events = [e for e in SSEParser().feed(framed.encode()) if e.event == "progress"]
    data = [json.loads(e.data) for e in events]
    assert data[0] == {"stage": "queued", "position": 1, "running": 0}
    counting = [d for d in data if d["stage"] == "counting"]
    assert counting[-1]["done"] == counting[-1]["total"] == 30
    streaming = [d for d in data if d["stage"] == "streaming"]
    assert streaming and streaming[-1]["tokens"] > 0 and streaming[-1]["tokens_per_second"] > 0
    assert all(d["elapsed"] >= 0 for d in counting + streaming)


def test_a_queued_review_page_shows_its_place_a_skeleton_and_its_state_in_the_title(
    relay, client, alice, make_review
):
    make_review(status="streaming", report="")
    queued(make_review, 300)
    review = queued(make_review, 301)
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "position 2 in the queue · 1 review running" in page
    assert 'id="review-skeleton"' in page
    assert f"<title>… queued — Review {review.pk} · Shop · reviewer</title>" in page


def test_a_finished_review_title_says_done_or_failed(client, alice, make_review):
    client.force_login(alice)
    done, failed = make_review(status="done"), make_review(status="failed", error="Broken.")
    assert f"<title>✓ done — Review {done.pk} ·" in client.get(f"/reviews/{done.pk}/").text
    assert f"<title>✗ failed — Review {failed.pk} ·" in client.get(f"/reviews/{failed.pk}/").text


def test_packing_progress_reads_as_file_counts():
    assert progress.describe({"stage": "counting", "done": 812, "total": 1892}) == (
        "counted 812 of 1,892 files"
    )
    assert progress.describe({"stage": "streaming", "tokens": 1234, "tokens_per_second": 41.6}) == (
        "1,234 tokens streamed · 42 tokens/s"
    )
