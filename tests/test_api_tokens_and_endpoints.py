"""Personal API tokens and the JSON API for CI."""

import asyncio
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewer.api.models import ApiToken
from reviewer.reviews.models import Review
from reviewer.teams.tokens import hash_token
from tests.factories import make_pdf, make_zip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    monkeypatch.setattr("reviewer.runs.tasks.run_review.delay", lambda review_id: None)


def _create_token(client, user, name="CI"):
    client.force_login(user)
    response = client.post("/account/tokens/new", {"name": name}, follow=True)
    assert response.redirect_chain == [("/account/tokens/", 302)]
    token = re.search(r'value="(rvw_[^"]+)"', response.content.decode()).group(1)
    client.logout()
    return token


def _auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _files(archive=None, spec=None):
    return {
        "archive": SimpleUploadedFile("shop.zip", archive or make_zip(), "application/zip"),
        "spec": SimpleUploadedFile("spec.pdf", spec or make_pdf(), "application/pdf"),
    }


def test_token_is_shown_once_and_only_its_hash_is_stored(client, alice):
    token = _create_token(client, alice)
    stored = ApiToken.objects.get()
    assert stored.token_hash == hash_token(token)
    assert token not in json.dumps(list(ApiToken.objects.values()), default=str)
    client.force_login(alice)
    assert token not in client.get("/account/tokens/").content.decode()


def test_create_review_over_the_api(client, alice, bob, project, media_root):
    token = _create_token(client, bob)
    response = client.post(
        f"/api/projects/{project.pk}/reviews", {**_files(), "model": "gpt-4.1"}, **_auth(token)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    review = Review.objects.get(pk=body["id"])
    assert body["status"] == "queued" and review.created_by == bob
    assert body["url"].endswith(f"/reviews/{review.pk}/")
    assert body["events_url"].endswith(f"/api/reviews/{review.pk}/events")
    assert body["api_url"].endswith(f"/api/reviews/{review.pk}")


def test_get_review_reports_status_usage_cost_and_report(client, alice, make_review):
    review = make_review(report="## Done\n", finish_reason="length", estimated_cost_usd="0.5")
    token = _create_token(client, alice)
    body = client.get(f"/api/reviews/{review.pk}", **_auth(token)).json()
    assert body["status"] == "done" and body["model"] == "gpt-4.1"
    assert body["usage"] == {
        "prompt_tokens": 1000,
        "completion_tokens": 50,
        "estimated_prompt_tokens": None,
        "cached_prompt_tokens": None,
    }
    assert body["cost_usd"] == 0.0024 and body["estimated_cost_usd"] == 0.5
    assert body["finish_reason"] == "length" and body["truncated"] is True
    assert body["report"] == "## Done\n" and body["error"] is None
    assert body["created_at"] and "finished_at" in body


def test_missing_or_wrong_token_answers_401_json(client, alice, project):
    assert client.get("/api/projects").status_code == 401
    response = client.get("/api/projects", HTTP_AUTHORIZATION="Bearer rvw_nope")
    assert response.status_code == 401
    assert list(response.json()) == ["error"]
    # A session does not authenticate the API.
    client.force_login(alice)
    assert client.get("/api/projects").status_code == 401


def test_revoked_token_answers_401(client, alice):
    token = _create_token(client, alice)
    client.force_login(alice)
    client.post(f"/account/tokens/{ApiToken.objects.get().pk}/revoke")
    client.logout()
    assert client.get("/api/projects", **_auth(token)).status_code == 401


def test_other_teams_review_answers_404_json(client, charlie, make_review):
    review = make_review()
    token = _create_token(client, charlie)
    response = client.get(f"/api/reviews/{review.pk}", **_auth(token))
    assert response.status_code == 404
    assert response.json() == {"error": "No such object, or you have no access to it."}


def test_viewer_token_cannot_start_reviews(client, victor, project, media_root):
    token = _create_token(client, victor)
    response = client.post(f"/api/projects/{project.pk}/reviews", _files(), **_auth(token))
    assert response.status_code == 404
    assert not Review.objects.exists()


def test_invalid_upload_answers_400_with_one_sentence(client, alice, project, media_root):
    token = _create_token(client, alice)
    files = _files(spec=b"not a pdf")
    response = client.post(f"/api/projects/{project.pk}/reviews", files, **_auth(token))
    assert response.status_code == 400
    assert response.json() == {"error": "The specification is not a PDF."}
    response = client.post(
        f"/api/projects/{project.pk}/reviews", {"spec": _files()["spec"]}, **_auth(token)
    )
    assert response.json() == {"error": "The repository archive is missing."}


def test_oversized_archive_answers_413(client, alice, project, media_root, settings):
    settings.MAX_UPLOAD_BYTES = 100
    token = _create_token(client, alice)
    response = client.post(f"/api/projects/{project.pk}/reviews", _files(), **_auth(token))
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]


def test_upload_over_the_team_quota_answers_413(client, alice, project, media_root, settings):
    settings.TEAM_STORAGE_QUOTA_MB = 0.001  # about 1 KB
    token = _create_token(client, alice)
    response = client.post(f"/api/projects/{project.pk}/reviews", _files(), **_auth(token))
    assert response.status_code == 413
    assert "storage quota" in response.json()["error"]


def test_api_is_csrf_exempt_for_token_calls(alice, project, media_root):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    token = _create_token(Client(), alice)
    response = strict.post(f"/api/projects/{project.pk}/reviews", _files(), **_auth(token))
    assert response.status_code == 201


def test_api_events_stream_with_a_token(client, alice, make_review):
    from reviewer.streams.relay import get_relay

    review = make_review(status="streaming", report="")
    get_relay().append(review.pk, [("delta", "hel")])
    get_relay().append(review.pk, [("delta", "lo")])
    get_relay().append(review.pk, [("done", "done")])
    token = _create_token(client, alice)

    async def read():
        from django.test import AsyncClient

        response = await AsyncClient().get(
            f"/api/reviews/{review.pk}/events", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        chunks = []
        async for chunk in response.streaming_content:
            chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if "event: done" in "".join(chunks):
                break
        return "".join(chunks)

    from asgiref.sync import async_to_sync

    text = async_to_sync(read)()
    assert "event: delta\ndata: hel" in text and "event: done" in text


def test_api_events_need_a_token(client, alice, make_review):
    review = make_review()
    client.force_login(alice)
    response = asyncio.run(_async_get(f"/api/reviews/{review.pk}/events"))
    assert response.status_code == 401


async def _async_get(path):
    from django.test import AsyncClient

    return await AsyncClient().get(path)
