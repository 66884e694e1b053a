"""A bad archive or spec is refused on the upload itself, before any Review row (or id)
exists: on the page, over the API and on the command line."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from reviewer.api.models import ApiToken
from reviewer.reviews.models import Review
from reviewer.teams.tokens import new_token
from tests.factories import make_pdf, make_tar_gz, make_zip

pytestmark = pytest.mark.django_db


def zip_with_a_damaged_member():
    # Only reading the member's bytes finds this: the directory at the end is intact.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("shop/app/api.py", "print('hello')\n" * 50)
    data = bytearray(buffer.getvalue())
    data[data.index(b"print('hello')")] = ord("P")
    return bytes(data)


BAD_ARCHIVES = {
    "damaged member": (zip_with_a_damaged_member(), "The archive is damaged or truncated at"),
    "truncated zip": (make_zip()[:-60], "The archive is damaged or truncated."),
    "truncated tar.gz": (make_tar_gz()[:-40], "The archive is damaged or truncated"),
    "not an archive": (b"just some text\n" * 10, "The upload is not a supported archive"),
    "zip slip": (
        make_zip({"../../../tmp/pwned": "x"}),
        "The archive contains a path that escapes its folder: ../../../tmp/pwned.",
    ),
}


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    monkeypatch.setattr("reviewer.runs.tasks.run_review.delay", lambda review_id: None)


def _upload(client, project, archive, spec=None, **extra):
    data = {
        "archive": SimpleUploadedFile("shop.zip", archive),
        "spec": SimpleUploadedFile("spec.pdf", spec or make_pdf()),
        **extra,
    }
    return client.post(f"/projects/{project.pk}/reviews", data)


@pytest.mark.parametrize("start", ["start", "preview"])
@pytest.mark.parametrize("kind", sorted(BAD_ARCHIVES))
def test_a_bad_archive_is_named_on_the_form_and_stores_nothing(
    client, alice, project, media_root, kind, start
):
    archive, sentence = BAD_ARCHIVES[kind]
    client.force_login(alice)
    extra = {"preview": "1"} if start == "preview" else {}
    response = _upload(client, project, archive, **extra)
    assert response.status_code == 400
    page = response.content.decode()
    assert sentence in page and 'id="upload-form"' in page
    assert not Review.objects.exists()
    assert not any(path.is_file() for path in media_root.rglob("*"))


def test_a_refused_upload_consumes_no_review_id(client, alice, project, media_root):
    client.force_login(alice)
    first = _upload(client, project, make_zip())
    assert first.status_code == 302
    before = Review.objects.get().pk
    assert _upload(client, project, zip_with_a_damaged_member()).status_code == 400
    assert _upload(client, project, make_zip()).status_code == 302
    assert list(Review.objects.order_by("pk").values_list("pk", flat=True)) == [before, before + 1]


def test_a_damaged_spec_is_named_on_the_form(client, alice, project, media_root):
    client.force_login(alice)
    response = _upload(client, project, make_zip(), spec=b"%PDF-1.4\nnot really a pdf\n")
    assert response.status_code == 400
    assert "The PDF could not be opened: it is damaged or truncated." in response.content.decode()
    assert not Review.objects.exists()


def test_with_htmx_only_the_error_area_comes_back(client, alice, project, media_root):
    client.force_login(alice)
    archive, sentence = BAD_ARCHIVES["truncated zip"]
    response = client.post(
        f"/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("shop.zip", archive),
            "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
        },
        headers={"HX-Request": "true"},
    )
    fragment = response.content.decode()
    assert response.status_code == 200 and sentence in fragment
    assert "<html" not in fragment and "<input" not in fragment
    assert not Review.objects.exists()


@pytest.mark.parametrize("preview", [False, True])
def test_with_htmx_a_good_upload_redirects_the_page(client, alice, project, media_root, preview):
    client.force_login(alice)
    data = {
        "archive": SimpleUploadedFile("shop.zip", make_zip()),
        "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
    }
    if preview:
        data["preview"] = "1"
    response = client.post(f"/projects/{project.pk}/reviews", data, headers={"HX-Request": "true"})
    review = Review.objects.get()
    expected = f"/reviews/{review.pk}/preview" if preview else f"/reviews/{review.pk}/"
    assert response.status_code == 200 and response["HX-Redirect"] == expected
    assert review.status == ("draft" if preview else "queued")


def test_the_api_answers_400_with_the_sentence(client, bob, project, media_root):
    raw, token_hash = new_token(ApiToken.PREFIX)
    ApiToken.objects.create(user=bob, name="CI", token_hash=token_hash, hint=raw[:8])
    archive, sentence = BAD_ARCHIVES["zip slip"]
    response = client.post(
        f"/api/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("shop.zip", archive),
            "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
        },
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 400
    assert response.json() == {"error": sentence}
    assert not Review.objects.exists()


def test_the_command_exits_2_with_the_sentence(project, media_root, tmp_path):
    archive, sentence = BAD_ARCHIVES["damaged member"]
    (tmp_path / "bad.zip").write_bytes(archive)
    (tmp_path / "spec.pdf").write_bytes(make_pdf())
    stderr = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command(
            "review",
            str(tmp_path / "bad.zip"),
            spec=str(tmp_path / "spec.pdf"),
            project=str(project.pk),
            stderr=stderr,
        )
    assert exit_.value.code == 2
    assert sentence in stderr.getvalue()
    assert not Review.objects.exists()
