"""Every JSON API call, the event stream's opening included, counts against its token's
limit per window; past it the API answers 429 with Retry-After."""

import math

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from reviewer import throttle
from reviewer.api.models import ApiToken
from reviewer.teams.tokens import new_token

pytestmark = pytest.mark.django_db

START = 1_000_000.0 + 17  # 17 s into a minute


@pytest.fixture
def clock(monkeypatch):
    moment = [START]
    monkeypatch.setattr(throttle, "now", lambda: moment[0])
    return moment


def _token(user, name="CI"):
    token, token_hash = new_token(ApiToken.PREFIX)
    ApiToken.objects.create(user=user, name=name, token_hash=token_hash, hint=token[:8])
    return token


def _get(path, token):
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_token_over_its_limit_gets_429_json_with_retry_after(alice, settings, clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    settings.API_RATE_WINDOW_SECONDS = 60
    token = _token(alice)
    for _ in range(3):
        assert _get("/api/projects", token).status_code == 200
    refused = _get("/api/projects", token)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert set(refused.json()) == {"error"} and refused.json()["error"]
    window_end = (clock[0] // 60 + 1) * 60
    assert int(refused["Retry-After"]) == math.ceil(window_end - clock[0])


def test_the_limit_frees_once_the_window_has_passed(alice, settings, clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    settings.API_RATE_WINDOW_SECONDS = 5
    token = _token(alice)
    _get("/api/projects", token)
    _get("/api/projects", token)
    refused = _get("/api/projects", token)
    assert refused.status_code == 429
    clock[0] += int(refused["Retry-After"]) - 1
    assert _get("/api/projects", token).status_code == 429
    clock[0] += 1
    assert _get("/api/projects", token).status_code == 200


def test_each_token_has_its_own_limit(alice, bob, settings, clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    first, second, bobs = _token(alice, "one"), _token(alice, "two"), _token(bob)
    # Calls with a wrong token spend nobody's limit.
    assert _get("/api/projects", first + "x").status_code == 401
    assert _get("/api/projects", first).status_code == 200
    assert _get("/api/projects", first).status_code == 429
    assert _get("/api/projects", second).status_code == 200
    assert _get("/api/projects", bobs).status_code == 200


def test_every_api_view_counts_and_refuses(alice, project, make_review, settings, clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    review = make_review()
    token = _token(alice)
    assert _get(f"/api/reviews/{review.pk}", token).status_code == 200
    create = Client().post(
        f"/api/projects/{project.pk}/reviews", {}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert create.status_code == 400  # counted, though the upload was missing
    assert _get(f"/api/reviews/{review.pk}", token).status_code == 429
    refused = Client().post(
        f"/api/projects/{project.pk}/reviews", {}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert refused.status_code == 429 and refused["Retry-After"]


def _open_stream(review, token):
    async def read():
        response = await AsyncClient().get(
            f"/api/reviews/{review.pk}/events", headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code != 200:
            return response, ""
        chunks = []
        async for chunk in response.streaming_content:
            chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if "event: done" in "".join(chunks):
                break
        return response, "".join(chunks)

    return async_to_sync(read)()


def test_event_stream_counts_its_opening_not_its_events(alice, make_review, settings, clock):
    from reviewer.streams.relay import get_relay

    settings.API_RATE_LIMIT_PER_MINUTE = 2
    review = make_review(status="streaming", report="")
    get_relay().append(review.pk, [("delta", "hel"), ("delta", "lo"), ("done", "done")])
    token = _token(alice)
    response, text = _open_stream(review, token)
    assert response.status_code == 200 and text.count("event: ") == 3
    # Three events went by, yet one more call fits in the limit of two.
    assert _get("/api/projects", token).status_code == 200
    refused, _ = _open_stream(review, token)
    assert refused.status_code == 429
    assert refused.json()["error"] and int(refused["Retry-After"]) > 0
