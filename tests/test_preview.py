"""The preview shows what a review would send, before any money is spent."""

import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewer.reviews.models import Review
from tests.factories import SAMPLE_REPO, make_pdf, make_zip

pytestmark = pytest.mark.django_db

REPO = {
    **SAMPLE_REPO,
    "shop/config.py": 'DATABASE_URL = "postgres://admin:s3cr3t-Pa55word@db.internal/shop"\n',
    "shop/docs/legacy/old.md": "# Old\n" * 50,
    "shop/node_modules/left-pad/index.js": "module.exports = 1\n",
}


@pytest.fixture
def draft(client, alice, project, media_root, settings):
    client.force_login(alice)
    response = client.post(
        f"/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("shop.zip", make_zip(REPO)),
            "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
            "model": "gpt-4.1",
            "preview": "1",
        },
    )
    review = Review.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reviews/{review.pk}/preview"
    return review


def test_preview_lists_files_reasons_budget_cost_and_redactions(client, draft):
    page = client.get(f"/reviews/{draft.pk}/preview").content.decode()
    assert draft.status == "draft"
    assert "<code>app/api.py</code>" in page
    assert re.search(r"<code>debug.log</code></td><td>gitignored</td>", page)
    assert re.search(
        r'<code>node_modules/</code></td><td>default rule</td><td class="muted">1 file', page
    )
    assert "<code>config.py:1</code>" in page and "s3cr3t" not in page
    assert re.search(r"<progress max=\"100\" value=\"\d+\">", page)
    assert "Estimated cost: <strong>up to $" in page
    assert ">Start review</button>" in page


def test_typing_an_ignore_pattern_updates_the_preview_without_saving(client, draft, project):
    fragment = client.get(
        f"/reviews/{draft.pk}/preview",
        {"ignore_patterns": "docs/legacy/\n"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "<html" not in fragment
    assert re.search(r"<code>docs/legacy/</code></td><td>project rule</td>", fragment)
    project.refresh_from_db()
    assert project.ignore_patterns == ""


def test_saved_patterns_apply_to_the_project(client, draft, project):
    client.post(f"/reviews/{draft.pk}/preview/patterns", {"ignore_patterns": "docs/"})
    project.refresh_from_db()
    assert project.ignore_patterns == "docs/"
    page = client.get(f"/reviews/{draft.pk}/preview").content.decode()
    assert re.search(r"<code>docs/</code></td><td>project rule</td>", page)


@pytest.fixture
def unpackable_draft(make_review):
    """A draft whose archive cannot be packed: one stored before uploads were checked."""
    return make_review(
        status="draft",
        archive=ContentFile(make_zip({"../../../tmp/pwned": "x"}), name="evil.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
    )


def test_preview_of_an_unpackable_archive_says_why_and_offers_no_start(
    client, alice, unpackable_draft
):
    client.force_login(alice)
    page = client.get(f"/reviews/{unpackable_draft.pk}/preview").content.decode()
    assert re.search(r'<p class="error" role="alert">[^<]*\.\./\.\./\.\./tmp/pwned[^<]*</p>', page)
    assert "Start review" not in page
    assert f'action="/reviews/{unpackable_draft.pk}/start"' not in page


def test_start_refuses_an_unpackable_archive_with_the_sentence(
    client, alice, unpackable_draft, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/reviews/{unpackable_draft.pk}/start")
    unpackable_draft.refresh_from_db()
    assert response.status_code == 400 and unpackable_draft.status == "draft"
    assert not callbacks
    page = response.content.decode()
    assert "The archive contains a path that escapes its folder" in page
    assert "Start review" not in page


def test_patterns_that_leave_nothing_to_send_take_the_start_button_away(client, draft):
    fragment = client.get(
        f"/reviews/{draft.pk}/preview",
        {"ignore_patterns": "*\n"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "No file of the repository fits" in fragment
    assert 'id="preview-start" class="start" hx-swap-oob="true"' in fragment
    assert "Start review" not in fragment
    # With patterns that keep files, the same swap brings the button back.
    fragment = client.get(
        f"/reviews/{draft.pk}/preview", {"ignore_patterns": ""}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'hx-swap-oob="true"' in fragment and ">Start review</button>" in fragment


def test_upload_rejects_a_spec_that_is_not_a_pdf(client, alice, project, media_root):
    client.force_login(alice)
    response = client.post(
        f"/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("shop.zip", make_zip()),
            "spec": SimpleUploadedFile("spec.pdf", b"GIF89a not a pdf"),
        },
    )
    assert response.status_code == 400
    assert "The specification is not a PDF." in response.content.decode()
    assert not Review.objects.exists()


def test_start_from_preview_queues_the_review(client, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/reviews/{draft.pk}/start")
    draft.refresh_from_db()
    assert draft.status == "queued" and len(callbacks) == 1
    assert response["Location"] == f"/reviews/{draft.pk}/"
