"""The JSON API for CI, end to end: a token made in the UI, an upload, the live events
and the finished review, through the real worker."""

import re

import httpx
import pytest

from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import answer
from tests.sse_client import read_events
from tests.test_e2e_review import ANSWER, create_project

pytestmark = pytest.mark.e2e


def make_token(client):
    page = client.get("/account/tokens/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    created = client.post("/account/tokens/new", data={"name": "CI", "csrfmiddlewaretoken": csrf})
    return re.search(r"\b(rvw_[A-Za-z0-9_-]{20,})", created.text).group(1)


def test_ci_uploads_follows_and_reads_a_review_with_a_token(stack, llm):
    llm.script(answer(ANSWER, chunk_size=10))
    client = stack.client()
    project_id = create_project(client, "API shop")
    token = make_token(client)
    api = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    created = api.post(
        f"/api/projects/{project_id}/reviews",
        files={"archive": ("shop.zip", make_zip()), "spec": ("spec.pdf", make_pdf())},
        data={"model": "gpt-4.1"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    events = list(read_events(api, body["events_url"].replace(stack.url, "")))
    assert [e.data for e in events if e.event == "status"][-1] == "done"

    review = api.get(f"/api/reviews/{body['id']}").json()
    assert review["status"] == "done" and review["report"] == ANSWER
    usage = review["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (1000, 50)
    # The fake reports 1000 whatever was sent; our own count is kept next to it.
    assert usage["estimated_prompt_tokens"] > 0
    assert usage["cached_prompt_tokens"] is None
    assert float(review["cost_usd"]) > 0 and review["truncated"] is False

    outsider = stack.client("charlie")
    outsider_token = make_token(outsider)
    other = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {outsider_token}"})
    assert other.get(f"/api/reviews/{body['id']}").status_code == 404
    assert other.get(f"/api/reviews/{body['id']}/events").status_code == 404
    anonymous = httpx.get(f"{stack.url}/api/reviews/{body['id']}")
    assert anonymous.status_code == 401 and anonymous.json()["error"].endswith(".")
