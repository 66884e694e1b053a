"""Drafts (uploaded and previewed, never started): they expire after DRAFT_EXPIRY_DAYS,
stop counting against the quota at once, are cleaned up with their unshared files, and
are listed on the project page where members may delete them."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from reviewer.reviews.models import Review
from reviewer.reviews.retention import delete_draft, expire_drafts, team_storage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    monkeypatch.setattr("reviewer.runs.tasks.run_review.delay", lambda review_id: None)


def _age(review, days):
    """Backdates a review, as if it had been uploaded `days` ago."""
    Review.objects.filter(pk=review.pk).update(created_at=timezone.now() - timedelta(days=days))
    review.refresh_from_db()
    return review


def _draft(make_review, days=0, **fields):
    fields.setdefault("archive", ContentFile(b"z" * 1000, name="a.zip"))
    return _age(make_review(status="draft", report="", **fields), days)


def _files(review):
    return [review.archive.name, review.spec.name]


def test_expired_drafts_stop_counting_against_the_quota(settings, team, make_review):
    settings.DRAFT_EXPIRY_DAYS = 7
    fresh = _draft(make_review, days=6)
    expired = _draft(make_review, days=8)
    size = sum(default_storage.size(n) for n in _files(fresh))
    assert team_storage(team)[0] == size
    assert default_storage.exists(expired.archive.name), "still stored until the clean-up"
    settings.DRAFT_EXPIRY_DAYS = 5
    assert team_storage(team)[0] == 0


def test_a_file_an_expired_draft_shares_with_a_started_review_still_counts(team, make_review):
    done = make_review(status="done")
    _draft(make_review, days=30, spec=done.spec.name)
    assert team_storage(team)[0] == sum(default_storage.size(n) for n in _files(done))


def test_expire_drafts_deletes_expired_drafts_and_their_unshared_files(
    settings, make_review, django_capture_on_commit_callbacks
):
    settings.DRAFT_EXPIRY_DAYS = 7
    done = _age(make_review(status="done"), 30)
    fresh = _draft(make_review, days=6)
    alone = _draft(make_review, days=8)
    sharing = _draft(make_review, days=9, spec=done.spec.name)
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_drafts() == 2
    assert set(Review.objects.values_list("pk", flat=True)) == {done.pk, fresh.pk}
    assert not any(default_storage.exists(n) for n in _files(alone))
    assert not default_storage.exists(sharing.archive.name)
    assert default_storage.exists(done.spec.name), "the started review still uses it"
    assert all(default_storage.exists(n) for n in _files(done) + _files(fresh))


def test_expire_drafts_takes_the_time_to_judge_by(settings, make_review):
    settings.DRAFT_EXPIRY_DAYS = 7
    draft = _draft(make_review, days=1)
    assert expire_drafts() == 0
    assert expire_drafts(now=timezone.now() + timedelta(days=6, hours=1)) == 1
    assert not Review.objects.filter(pk=draft.pk).exists()


def test_the_expire_drafts_command_cleans_up(
    settings, make_review, django_capture_on_commit_callbacks
):
    settings.DRAFT_EXPIRY_DAYS = 7
    expired = _draft(make_review, days=8)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("expire_drafts", stdout=out)
    assert out.getvalue().strip() == "Deleted 1 expired draft."
    assert not Review.objects.filter(pk=expired.pk).exists()
    assert not any(default_storage.exists(n) for n in _files(expired))


def test_an_expired_draft_cannot_be_started(client, bob, settings, make_review):
    settings.DRAFT_EXPIRY_DAYS = 7
    draft = _draft(make_review, days=8)
    client.force_login(bob)
    response = client.post(f"/reviews/{draft.pk}/start", follow=True)
    assert "This draft has expired; upload the files again." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_the_project_page_lists_drafts_with_their_expiry_to_members(
    client, bob, victor, settings, project, make_review
):
    settings.DRAFT_EXPIRY_DAYS = 7
    draft = _draft(make_review, days=2, archive_name="fresh-upload.zip")
    _draft(make_review, days=8, archive_name="gone-upload.zip")
    make_review(status="done", archive_name="finished.zip")
    client.force_login(bob)
    response = client.get(f"/projects/{project.pk}/")
    assert [d.pk for d in response.context["drafts"]] == [draft.pk]
    section = response.content.decode().split('id="drafts"')[1].split("</section>")[0]
    assert "fresh-upload.zip" in section and "expires in 5 days" in section
    assert f'href="/reviews/{draft.pk}/preview"' in section
    assert f'action="/reviews/{draft.pk}/delete"' in section
    assert "gone-upload.zip" not in section and "finished.zip" not in section
    client.force_login(victor)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert 'id="drafts"' not in page and "fresh-upload.zip" not in page


def test_members_delete_drafts_viewers_and_outsiders_may_not(
    client, bob, victor, charlie, project, make_review, django_capture_on_commit_callbacks
):
    draft = _draft(make_review)
    for denied in (victor, charlie):
        client.force_login(denied)
        assert client.get(f"/reviews/{draft.pk}/delete").status_code == 404
        response = client.post(f"/reviews/{draft.pk}/delete", {"confirm": "delete"})
        assert response.status_code == 404
        assert Review.objects.filter(pk=draft.pk).exists()
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/reviews/{draft.pk}/delete", {"confirm": "delete"})
    assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
    assert not Review.objects.filter(pk=draft.pk).exists()
    assert not any(default_storage.exists(n) for n in _files(draft))


def test_a_draft_started_meanwhile_is_not_deleted_as_a_draft(make_review):
    draft = _draft(make_review)
    Review.objects.filter(pk=draft.pk).update(status="queued")
    assert delete_draft(draft) is False
    assert Review.objects.filter(pk=draft.pk, status="queued").exists()
