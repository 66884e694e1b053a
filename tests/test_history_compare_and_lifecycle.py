"""The project's review history, re-runs, comparison, deletion and the storage quota."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewer.reports.views.history import PAGE_SIZE, diff_rows
from reviewer.reviews.models import Review, StreamEvent
from reviewer.streams.relay import get_relay
from tests.factories import make_pdf, make_zip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    monkeypatch.setattr("reviewer.runs.tasks.run_review.delay", lambda review_id: None)


def test_history_shows_who_what_and_how_much(client, bob, make_review):
    review = make_review(archive_sha256="0123456789abcdef" * 4, spec_pages=12)
    client.force_login(bob)
    page = client.get(f"/projects/{review.project_id}/").content.decode()
    assert 'title="sha256 ' + "0123456789abcdef" * 4 + '"' in page
    assert ">0123456789ab</code>" in page
    assert "shop.zip" in page and "spec.pdf" in page and "(12 p.)" in page
    assert "alice" in page and "1,000 + 50" in page and "$0.0024" in page


def test_history_is_paginated(client, alice, make_review):
    for _ in range(PAGE_SIZE + 3):
        make_review()
    client.force_login(alice)
    project = Review.objects.first().project_id
    first = client.get(f"/projects/{project}/").content.decode()
    assert first.count('class="status status-done"') == PAGE_SIZE
    assert "Page 1 of 2" in first
    second = client.get(f"/projects/{project}/?page=2").content.decode()
    assert second.count('class="status status-done"') == 3


def test_history_filters_by_status_and_model(client, alice, make_review):
    make_review(status="failed", model="gemini-2.5-pro")
    make_review(status="done", model="gpt-4.1")
    make_review(status="done", model="gemini-2.5-pro")
    client.force_login(alice)
    project = Review.objects.first().project_id
    page = client.get(
        f"/projects/{project}/history?status=done&model=gemini-2.5-pro", HTTP_HX_REQUEST="true"
    )
    body = page.content.decode()
    assert body.startswith('<div id="history">')  # the htmx partial, no page around it
    assert body.count("<tr>") == 2  # header + one row
    assert "status-done" in body and 'status-failed"' not in body


def test_history_partial_without_htmx_redirects_to_the_project_page(client, alice, project):
    client.force_login(alice)
    response = client.get(f"/projects/{project.pk}/history?status=done")
    assert response["Location"] == f"/projects/{project.pk}/?status=done"


def test_rerun_with_a_new_archive_keeps_spec_and_model(client, bob, make_review, monkeypatch):
    monkeypatch.setenv("LLM_GOOGLE_API_KEY", "test-google-key")
    review = make_review(model="gemini-2.5-pro")
    client.force_login(bob)
    archive = SimpleUploadedFile("v2.zip", make_zip(), "application/zip")
    response = client.post(f"/reviews/{review.pk}/rerun", {"archive": archive})
    clone = Review.objects.exclude(pk=review.pk).get()
    assert response["Location"] == f"/reviews/{clone.pk}/"
    assert clone.archive_name == "v2.zip" and clone.archive.name != review.archive.name
    assert clone.spec.name == review.spec.name and clone.model == "gemini-2.5-pro"
    assert clone.status == "queued" and clone.created_by == bob


def test_rerun_with_the_same_inputs_shares_the_stored_files(client, bob, make_review):
    review = make_review()
    client.force_login(bob)
    client.post(f"/reviews/{review.pk}/retry")
    clone = Review.objects.exclude(pk=review.pk).get()
    assert (clone.archive.name, clone.spec.name) == (review.archive.name, review.spec.name)


def test_viewer_cannot_rerun(client, victor, make_review):
    review = make_review()
    client.force_login(victor)
    archive = SimpleUploadedFile("v2.zip", make_zip(), "application/zip")
    assert client.post(f"/reviews/{review.pk}/rerun", {"archive": archive}).status_code == 404
    assert Review.objects.count() == 1


def test_diff_rows_pair_changed_lines_and_keep_text_raw():
    rows = diff_rows("a\nb\nc", "a\nB\nc\nd")
    assert rows[0] == ("equal", 1, "a", 1, "a")
    assert rows[1] == ("replace", 2, "b", 2, "B")
    assert rows[3] == ("insert", None, "", 4, "d")


def test_compare_shows_the_diff_and_the_change_in_tokens_and_cost(client, victor, make_review):
    old = make_review(
        report="## A\nsame\nold line", prompt_tokens=1000, completion_tokens=50, cost_usd="0.0024"
    )
    new = make_review(
        report="## A\nsame\nnew line", prompt_tokens=1200, completion_tokens=80, cost_usd="0.0030"
    )
    client.force_login(victor)
    page = client.get(f"/projects/{old.project_id}/compare?a={old.pk}&b={new.pk}")
    body = page.content.decode()
    assert page.status_code == 200
    assert '<tr class="diff-replace">' in body and "old line" in body and "new line" in body
    assert "(1 changed line)" in body
    assert '<td id="token-delta">+230 (prompt +200, completion +30)</td>' in body
    assert '<td id="cost-delta">+$0.0006</td>' in body


def test_compare_refuses_a_review_of_another_project(client, alice, make_review, team):
    from reviewer.reviews.models import Project

    mine = make_review()
    other_project = Project.objects.create(team=team, name="Other")
    other = make_review(project=other_project)
    client.force_login(alice)
    url = f"/projects/{mine.project_id}/compare?a={mine.pk}&b={other.pk}"
    assert client.get(url).status_code == 404


def test_deleting_a_review_removes_its_files_and_events(
    client, alice, make_review, django_capture_on_commit_callbacks, monkeypatch
):
    review = make_review()
    StreamEvent.objects.create(review=review, seq=1, kind="delta", data="x")
    deleted_streams = []
    # Whichever relay this profile uses (database rows or Redis Streams) is told to forget.
    monkeypatch.setattr(type(get_relay()), "delete", lambda self, pk: deleted_streams.append(pk))
    names = [review.archive.name, review.spec.name]
    assert all(default_storage.exists(n) for n in names)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/reviews/{review.pk}/delete", {"confirm": "delete"})
    assert response["Location"] == f"/projects/{review.project_id}/"
    assert not Review.objects.exists() and not StreamEvent.objects.exists()
    assert not any(default_storage.exists(n) for n in names)
    assert deleted_streams == [review.pk]


def test_deleted_files_go_once_no_clone_refers_to_them(
    client, alice, make_review, django_capture_on_commit_callbacks
):
    review = make_review()
    clone = make_review(archive=review.archive.name, spec=review.spec.name)
    names = [review.archive.name, review.spec.name]
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/reviews/{review.pk}/delete", {"confirm": "delete"})
    assert all(default_storage.exists(n) for n in names), "the clone still uses them"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/reviews/{clone.pk}/delete", {"confirm": "delete"})
    assert not any(default_storage.exists(n) for n in names)


def test_deleting_a_review_removes_the_files_it_sent(
    client, alice, make_review, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    review = make_review()
    review.sent_files.save("sent", ContentFile(b"zip of redacted text"))
    name = review.sent_files.name
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/reviews/{review.pk}/delete", {"confirm": "delete"})
    assert not default_storage.exists(name)


def test_deleting_needs_confirmation_and_an_admin(client, alice, bob, make_review):
    review = make_review()
    client.force_login(bob)
    assert client.post(f"/reviews/{review.pk}/delete", {"confirm": "delete"}).status_code == 404
    client.force_login(alice)
    assert client.get(f"/reviews/{review.pk}/delete").status_code == 200
    assert client.post(f"/reviews/{review.pk}/delete").status_code == 400
    assert Review.objects.filter(pk=review.pk).exists()


def test_running_review_cannot_be_deleted(client, alice, make_review):
    review = make_review(status="streaming")
    client.force_login(alice)
    client.post(f"/reviews/{review.pk}/delete", {"confirm": "delete"})
    assert Review.objects.filter(pk=review.pk).exists()


def test_deleting_a_project_removes_reviews_and_files(
    client, alice, make_review, django_capture_on_commit_callbacks
):
    review = make_review()
    names = [review.archive.name, review.spec.name]
    client.force_login(alice)
    project = review.project
    assert client.post(f"/projects/{project.pk}/delete", {"confirm": "wrong"}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/projects/{project.pk}/delete", {"confirm": project.name})
    assert response["Location"] == "/"
    assert not Review.objects.exists()
    assert not any(default_storage.exists(n) for n in names)


def test_storage_use_counts_shared_files_once(make_review, team):
    from reviewer.reviews.retention import team_storage

    review = make_review()
    make_review(archive=review.archive.name, spec=review.spec.name)
    used, _ = team_storage(team)
    assert used == review.archive.size + review.spec.size


def test_storage_use_measures_in_the_storage_only_the_specifications(
    make_review, team, monkeypatch
):
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage

    from reviewer.reviews.retention import team_storage

    first = make_review(archive=ContentFile(b"a" * 700, name="a.zip"))
    others = [
        make_review(archive=ContentFile(b"b" * n, name="b.zip"), spec=first.spec.name)
        for n in (300, 500)
    ]
    measured = []
    size = FileSystemStorage.size
    monkeypatch.setattr(
        FileSystemStorage, "size", lambda self, name: measured.append(name) or size(self, name)
    )
    used, _ = team_storage(team)
    assert measured == [first.spec.name]
    monkeypatch.undo()
    reviews = [first, *others]
    assert used == sum(r.archive.size for r in reviews) + first.spec.size


def test_upload_over_quota_is_refused_with_one_sentence(
    client, alice, project, media_root, settings, make_review
):
    make_review(archive=SimpleUploadedFile("big.zip", b"x" * 4000))
    settings.TEAM_STORAGE_QUOTA_MB = 4096 / (1024 * 1024)
    client.force_login(alice)
    response = client.post(
        f"/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("shop.zip", make_zip(), "application/zip"),
            "spec": SimpleUploadedFile("spec.pdf", make_pdf(), "application/pdf"),
        },
    )
    assert response.status_code == 413
    assert "would exceed your team&#x27;s storage quota" in response.content.decode()
    assert Review.objects.count() == 1
