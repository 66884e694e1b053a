"""What the preview shows is what is sent: a review packs with the model and patterns it
was started with (its snapshot), however it was started, and "re-run as it was" too."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from reviewer.api.models import ApiToken
from reviewer.packing import pack
from reviewer.reviews.models import Review
from reviewer.runs import library_settings
from reviewer.teams.tokens import new_token
from tests.factories import SAMPLE_REPO, make_pdf, make_zip

pytestmark = pytest.mark.django_db

REPO = {**SAMPLE_REPO, "shop/docs/legacy/old.md": "# Old\n" * 50}
LEGACY = "docs/legacy/old.md"


def _upload(client, project, start=False, model="gpt-4.1"):
    data = {
        "archive": SimpleUploadedFile("shop.zip", make_zip(REPO)),
        "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
        "model": model,
    }
    if not start:
        data["preview"] = "1"
    response = client.post(f"/projects/{project.pk}/reviews", data)
    assert response.status_code == 302, response.content
    return Review.objects.latest("pk")


def _packed_paths(review):
    """What the worker would send for this review, as the run packs it."""
    model = library_settings.model_for(review.model)
    packed = pack(
        review.archive.path,
        review.spec.path,
        library_settings.budget_for(model),
        library_settings.pack_options_for_review(review),
    )
    return {f.path for f in packed.included}


@pytest.fixture
def member_draft(client, bob, project, media_root):
    project.include_patterns = "vendor/\n"
    project.save()
    client.force_login(bob)
    return _upload(client, project)


def test_a_members_typed_pattern_is_what_the_worker_packs(client, member_draft, project):
    fragment = client.get(
        f"/reviews/{member_draft.pk}/preview",
        {"ignore_patterns": "docs/legacy/\n", "model": "gpt-4.1"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "<code>docs/legacy/</code></td><td>project rule</td>" in fragment
    assert LEGACY in _packed_paths(member_draft)  # not yet: the draft has no snapshot

    response = client.post(
        f"/reviews/{member_draft.pk}/start",
        {"ignore_patterns": "docs/legacy/\n", "include_patterns": "", "model": "gpt-4.1"},
    )
    assert response.status_code == 302
    member_draft.refresh_from_db()
    assert member_draft.status == "queued"
    assert member_draft.pack_options == {
        "model": "gpt-4.1",
        "ignore_patterns": ["docs/legacy/"],
        "include_patterns": [],
    }
    paths = _packed_paths(member_draft)
    assert LEGACY not in paths and "app/api.py" in paths


def test_a_member_cannot_save_patterns_to_the_project(client, member_draft, project):
    page = client.get(f"/reviews/{member_draft.pk}/preview").content.decode()
    assert ">Start review</button>" in page
    assert "Save patterns to the project" not in page
    saved = client.post(
        f"/reviews/{member_draft.pk}/preview/patterns", {"ignore_patterns": "docs/"}
    )
    client.post(f"/reviews/{member_draft.pk}/start", {"ignore_patterns": "docs/legacy/"})
    project.refresh_from_db()
    assert saved.status_code == 404
    assert (project.ignore_patterns, project.include_patterns) == ("", "vendor/\n")


def test_an_admin_saves_patterns_and_keeps_the_chosen_model(client, alice, project, media_root):
    client.force_login(alice)
    draft = _upload(client, project)
    page = client.get(f"/reviews/{draft.pk}/preview").content.decode()
    assert "Save patterns to the project</button>" in page
    response = client.post(
        f"/reviews/{draft.pk}/preview/patterns",
        {"ignore_patterns": "docs/\n", "include_patterns": "", "model": "deepseek-v3.2"},
    )
    project.refresh_from_db()
    assert project.ignore_patterns == "docs/\n"
    assert response["Location"] == f"/reviews/{draft.pk}/preview?model=deepseek-v3.2"
    page = client.get(response["Location"]).content.decode()
    assert '<option value="deepseek-v3.2" selected>' in page
    assert "<code>docs/</code></td><td>project rule</td>" in page


def test_the_model_chosen_on_the_preview_sets_the_fit_and_is_what_starts(
    client, alice, project, media_root, monkeypatch
):
    monkeypatch.setenv("LLM_DEEPSEEK_API_KEY", "test-deepseek-key")
    client.force_login(alice)
    draft = _upload(client, project, model="gpt-4.1")
    small = library_settings.model_for("deepseek-v3.2")
    fragment = client.get(
        f"/reviews/{draft.pk}/preview", {"model": small.id}, headers={"HX-Request": "true"}
    ).content.decode()
    assert f"for {small.label}" in fragment
    bogus = client.get(f"/reviews/{draft.pk}/preview", {"model": "no-such-model"})
    assert bogus.status_code == 400 and "no-such-model" in bogus.content.decode()

    client.post(f"/reviews/{draft.pk}/start", {"model": small.id})
    draft.refresh_from_db()
    assert draft.model == small.id and draft.pack_options["model"] == small.id
    assert library_settings.model_id_for_review(draft) == small.id


def test_every_way_of_starting_writes_the_projects_patterns_as_the_snapshot(
    client, alice, project, media_root, tmp_path
):
    project.ignore_patterns = "docs/\n"
    project.save()
    expected = {"model": "gpt-4.1", "ignore_patterns": ["docs/"], "include_patterns": []}
    client.force_login(alice)
    uploaded = _upload(client, project, start=True)

    raw, token_hash = new_token(ApiToken.PREFIX)
    ApiToken.objects.create(user=alice, name="ci", token_hash=token_hash, hint=raw[:8])
    response = client.post(
        f"/api/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("shop.zip", make_zip(REPO)),
            "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
        },
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    via_api = Review.objects.get(pk=response.json()["id"])

    (tmp_path / "shop.zip").write_bytes(make_zip(REPO))
    (tmp_path / "spec.pdf").write_bytes(make_pdf())
    with pytest.raises(SystemExit):  # nothing runs the review here: the CLI gives up
        call_command(
            "review",
            str(tmp_path / "shop.zip"),
            spec=str(tmp_path / "spec.pdf"),
            project="Shop",
            timeout=0,
        )
    via_cli = Review.objects.latest("pk")
    assert via_cli.pk not in (uploaded.pk, via_api.pk)
    for review in (uploaded, via_api, via_cli):
        review.refresh_from_db()
        assert review.pack_options == expected, review
        assert LEGACY not in _packed_paths(review)


@pytest.fixture
def started(project, make_review):
    """A finished review started with its own patterns; the project's have moved on."""
    project.ignore_patterns = "app/\n"
    project.save()
    return make_review(
        archive=ContentFile(make_zip(REPO), name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
        pack_options={
            "model": "gpt-4.1",
            "ignore_patterns": ["docs/legacy/"],
            "include_patterns": [],
        },
    )


def test_retry_and_rerun_pack_as_the_original_did(client, bob, started, media_root):
    client.force_login(bob)
    client.post(f"/reviews/{started.pk}/retry")
    retried = Review.objects.latest("pk")
    client.post(
        f"/reviews/{started.pk}/rerun",
        {"archive": SimpleUploadedFile("shop2.zip", make_zip(REPO))},
    )
    rerun = Review.objects.latest("pk")
    assert len({started.pk, retried.pk, rerun.pk}) == 3
    for clone in (retried, rerun):
        assert clone.pack_options == started.pack_options
        paths = _packed_paths(clone)
        assert LEGACY not in paths and "app/api.py" in paths


def test_retry_of_a_review_without_snapshot_fixes_the_projects_patterns(
    client, alice, project, make_review
):
    old = make_review(
        archive=ContentFile(make_zip(REPO), name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
        model="gpt-5",
        pack_options={},
    )
    project.ignore_patterns = "docs/\n"
    project.save()
    client.force_login(alice)
    client.post(f"/reviews/{old.pk}/retry")
    clone = Review.objects.latest("pk")
    assert clone.pack_options == {
        "model": "gpt-5",
        "ignore_patterns": ["docs/"],
        "include_patterns": [],
    }
    assert LEGACY not in _packed_paths(old)  # the fallback for the run of such rows


def test_a_past_reviews_preview_shows_what_was_sent_read_only(client, victor, started):
    client.force_login(victor)
    page = client.get(
        f"/reviews/{started.pk}/preview", {"ignore_patterns": "", "model": "deepseek-v3.2"}
    ).content.decode()
    assert "<code>docs/legacy/</code></td><td>project rule</td>" in page
    assert "<code>app/api.py</code>" in page  # the project's current "app/" does not apply
    assert "<pre>docs/legacy/</pre>" in page
    assert "<textarea" not in page and "hx-get" not in page and "Start review" not in page
    review_page = client.get(f"/reviews/{started.pk}/").content.decode()
    assert f'href="/reviews/{started.pk}/preview"' in review_page
