"""One review end to end: upload over HTTP, a real Celery worker, the fake provider,
the SSE stream and the stored report, in both profiles."""

import html
import json
import re
import threading
import time

import pytest

from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import answer
from tests.sse_client import Collector, read_events

ANSWER = (
    "## Conformance\n\nThe `list_orders` handler matches GET /orders (shop/app/api.py:1).\n\n"
    "## Missing APIs\n\n- POST /orders is specified but not implemented.\n\n"
    "## Refactoring\n\n- Move ORDERS out of module state.\n"
)


def wait_until(check, timeout=30, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def create_project(client, name="Shop"):
    page = client.get("/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post("/projects/new", data={"name": name, "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    return str(response.url).rstrip("/").rsplit("/", 1)[-1]


def upload(client, project_id, archive=None, spec=None, **extra):
    page = client.get(f"/projects/{project_id}/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        f"/projects/{project_id}/reviews",
        data={"csrfmiddlewaretoken": token, **extra},
        files={
            "archive": ("shop.zip", archive or make_zip(), "application/zip"),
            "spec": ("spec.pdf", spec or make_pdf(), "application/pdf"),
        },
    )
    return response


def review_id_of(response):
    match = re.search(r"/reviews/(\d+)/", str(response.url))
    assert match, f"not on a review page: {response.url}"
    return int(match.group(1))


@pytest.mark.e2e
def test_review_streams_before_the_last_chunk_and_stores_the_report(stack, llm):
    gate = threading.Event()
    llm.script(answer(ANSWER, chunk_size=9, delay=0.01, gate=gate, gate_after=5))
    client = stack.client("alice")
    project_id = create_project(client)
    response = upload(client, project_id)
    review_id = review_id_of(response)

    collector = Collector(stack.client("alice"), f"/reviews/{review_id}/events")
    collector.start()
    try:
        first_five = ANSWER[:45]
        wait_until(lambda: collector.text() == first_five)
        assert not gate.is_set()
        assert [m.data for m in collector.events("status")][-1] == "streaming"

        # A second viewer mid-stream gets the text so far at once, in the page itself:
        # finished blocks rendered, the unfinished tail as text.
        page = stack.client("alice").get(f"/reviews/{review_id}/")
        assert "<h2>Conformance</h2>" in page.text and "## Conformance" not in page.text
        assert html.escape(first_five[16:]) + "</div>" in page.text
        assert 'sse-connect="/reviews/' in page.text
    finally:
        gate.set()
    collector.join(30)
    assert not collector.is_alive(), "the stream did not end after done"
    assert collector.text() == ANSWER
    done = collector.events("done")
    assert len(done) == 1 and "<h2>Missing APIs</h2>" in done[0].data

    page = client.get(f"/reviews/{review_id}/")
    assert '<span id="review-status" class="status status-done">done</span>' in page.text
    assert "<h2>Refactoring</h2>" in page.text
    assert stack.review_field(review_id, "report") == ANSWER
    assert stack.review_field(review_id, "prompt_tokens") == 1000
    # The citation in the answer links to that line of the uploaded code.
    link = f'<a href="/reviews/{review_id}/source/app/api.py#L1" class="citation">'
    assert link in page.text
    source = client.get(f"/reviews/{review_id}/source/app/api.py")
    assert '<tr id="L1">' in source.text and "def list_orders(user):" in source.text
    body = llm.requests[-1]["body"]
    parts = body["messages"][-1]["content"]
    assert any(p.get("type") == "file" for p in parts)
    assert "shop/app/api.py" in str(body) or "app/api.py" in str(body)


@pytest.mark.e2e
def test_stream_resumes_after_last_event_id(stack, llm):
    llm.script(answer(ANSWER, chunk_size=11))
    client = stack.client("alice")
    review_id = review_id_of(upload(client, create_project(client, "Resume")))
    all_messages = list(read_events(client, f"/reviews/{review_id}/events"))
    # The page's rendered view of a delta (`block`, `tail`) goes out under the delta's id.
    ids = [int(m.id) for m in all_messages if m.event not in ("block", "tail")]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    middle = all_messages[len(all_messages) // 2]
    resumed = list(
        read_events(client, f"/reviews/{review_id}/events", headers={"Last-Event-ID": middle.id})
    )
    assert [m.id for m in resumed] == [m.id for m in all_messages if int(m.id) > int(middle.id)]
    resumed_q = list(read_events(client, f"/reviews/{review_id}/events?lastEventId={middle.id}"))
    assert [m.id for m in resumed_q] == [m.id for m in resumed]


@pytest.mark.e2e
def test_outsider_cannot_see_or_stream_a_review(stack, llm):
    llm.script(answer("short"))
    client = stack.client("alice")
    review_id = review_id_of(upload(client, create_project(client, "Private")))
    outsider = stack.client("charlie")
    assert outsider.get(f"/reviews/{review_id}/").status_code == 404
    assert outsider.get(f"/reviews/{review_id}/events").status_code == 404


@pytest.mark.e2e
def test_review_with_a_native_gemini_model_sends_the_pdf_inline(stack, llm):
    llm.script(answer(ANSWER, chunk_size=12, usage=(2000, 80)))
    client = stack.client("alice")
    project_id = create_project(client, "Gemini shop")
    review_id = review_id_of(upload(client, project_id, model="gemini-2.5-flash"))
    messages = list(read_events(client, f"/reviews/{review_id}/events"))
    assert [m.data for m in messages if m.event == "status"][-1] == "done"
    assert stack.review_field(review_id, "report") == ANSWER
    assert stack.review_field(review_id, "prompt_tokens") == 2000
    request = llm.requests[-1]
    assert request["path"].endswith("/models/gemini-2.5-flash:streamGenerateContent")
    # Google gets its own key; the OpenAI-compatible endpoint's key never reaches it.
    assert request["headers"]["x-goog-api-key"] == stack.env["LLM_GOOGLE_API_KEY"]
    assert stack.env["LLM_API_KEY"] not in json.dumps(request["headers"])
    parts = request["body"]["contents"][0]["parts"]
    assert any(p.get("inline_data", {}).get("mime_type") == "application/pdf" for p in parts)
