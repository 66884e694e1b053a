"""Uploads in an S3-compatible bucket (moto's standalone server): local copies that
never outlive their use, multipart uploads that do not hold the file in memory, and
deletion and quotas that work as they do on disk."""

import os
import tracemalloc
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.utils import timezone
from storages.backends.s3 import S3Storage

from reviewer.reviews import retention
from reviewer.reviews.storage_files import local_copy
from reviewer.runs import lifecycle
from reviewer.runs.run import ReviewRun
from reviewer.settings import s3_storage_options
from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import FakeLLMServer, answer

MB = 1024 * 1024


class Stored:
    """What local_copy needs of a FieldFile."""

    def __init__(self, storage, name):
        self.storage, self.name = storage, name


def temp_files(settings):
    return sorted(os.listdir(settings.FILE_UPLOAD_TEMP_DIR))


def spooled_upload(size):
    """A large upload as Django's handlers hand it over: spooled to a file on disk."""
    upload = TemporaryUploadedFile("big.tar.gz", "application/gzip", size, None)
    block = os.urandom(MB)
    for _ in range(size // MB):
        upload.write(block)
    upload.seek(0)
    return upload


@pytest.mark.django_db
def test_local_copy_of_a_bucket_file_is_a_temporary_download_removed_afterwards(
    s3_storage, settings
):
    name = default_storage.save("uploads/archive", ContentFile(b"archive bytes"))
    with local_copy(Stored(default_storage, name)) as path:
        assert os.path.dirname(path) == str(settings.FILE_UPLOAD_TEMP_DIR)
        with open(path, "rb") as copy:
            assert copy.read() == b"archive bytes"
    assert not os.path.exists(path)
    assert temp_files(settings) == []


@pytest.mark.django_db
def test_local_copy_is_removed_when_the_reader_fails(s3_storage, settings):
    name = default_storage.save("uploads/archive", ContentFile(b"archive bytes"))
    with pytest.raises(RuntimeError), local_copy(Stored(default_storage, name)) as path:
        assert os.path.exists(path)
        raise RuntimeError("the packer gave up")
    assert temp_files(settings) == []


@pytest.mark.django_db
def test_a_file_missing_from_the_bucket_reads_as_an_oserror_and_leaves_nothing(
    s3_storage, settings
):
    with pytest.raises(OSError), local_copy(Stored(default_storage, "uploads/gone")):
        pass
    assert temp_files(settings) == []


def test_local_copy_of_a_file_on_disk_is_the_file_itself_and_is_kept(tmp_path):
    storage = FileSystemStorage(location=tmp_path)
    name = storage.save("uploads/archive", ContentFile(b"archive bytes"))
    with local_copy(Stored(storage, name)) as path:
        assert path == storage.path(name)
    assert storage.exists(name)


@pytest.mark.django_db
def test_a_large_archive_goes_to_the_bucket_in_parts_without_being_held_in_memory(
    s3_storage, s3_server, make_review
):
    size = 30 * MB  # six parts of 5 MB
    upload = spooled_upload(size)
    default_storage.exists("warm-up")  # the client and its service model, loaded once
    tracemalloc.start()
    try:
        review = make_review(archive=upload)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    head = s3_server.client().head_object(Bucket=s3_storage, Key=review.archive.name)
    assert head["ContentLength"] == size
    # A multipart upload's ETag ends in the number of its parts.
    assert head["ETag"].strip('"').endswith("-6")
    # About one part was in memory at a time (with the copies the checksums take), never
    # the whole file.
    assert peak < 3 * 5 * MB, f"peak {peak / MB:.1f} MB while storing {size / MB:.0f} MB"
    with local_copy(review.archive) as path:
        assert os.path.getsize(path) == size


@pytest.mark.django_db
def test_stored_names_are_never_overwritten_and_carry_no_acl(s3_storage, s3_server):
    first = default_storage.save("sent/files.zip", ContentFile(b"one"))
    second = default_storage.save("sent/files.zip", ContentFile(b"two"))
    assert first != second
    assert s3_server.keys(s3_storage) == sorted([first, second])
    grants = s3_server.client().get_object_acl(Bucket=s3_storage, Key=first)["Grants"]
    # Only the owner: nothing public, nothing granted to anyone else.
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert grants[0]["Grantee"]["Type"] == "CanonicalUser"


@pytest.mark.django_db
def test_deleting_a_review_removes_its_files_from_the_bucket(
    s3_storage, s3_server, make_review, django_capture_on_commit_callbacks
):
    review = make_review()
    kept = make_review()
    assert len(s3_server.keys(s3_storage)) == 4
    with django_capture_on_commit_callbacks(execute=True):
        retention.delete_review(review)
    assert s3_server.keys(s3_storage) == sorted([kept.archive.name, kept.spec.name])


@pytest.mark.django_db
def test_a_clone_keeps_the_files_it_shares_when_the_original_is_deleted(
    s3_storage, s3_server, make_review, django_capture_on_commit_callbacks
):
    original = make_review()
    clone = make_review(archive=original.archive.name, spec=original.spec.name)
    with django_capture_on_commit_callbacks(execute=True):
        retention.delete_review(original)
    assert s3_server.keys(s3_storage) == sorted([clone.archive.name, clone.spec.name])


@pytest.mark.django_db
def test_the_quota_counts_specs_measured_in_the_bucket(s3_storage, make_review, team, settings):
    make_review(archive=ContentFile(b"a" * 1000), spec=ContentFile(b"%PDF" + b"s" * 496))
    make_review(archive=ContentFile(b"b" * 2000), spec=ContentFile(b"%PDF" + b"s" * 96))
    used, _ = retention.team_storage(team)
    assert used == 1000 + 500 + 2000 + 100
    settings.TEAM_STORAGE_QUOTA_MB = 1
    assert retention.quota_error(team, ContentFile(b"x" * (MB - used))) is None
    assert "storage quota of 1 MB" in retention.quota_error(team, ContentFile(b"x" * (MB - 3599)))


@pytest.mark.django_db
def test_a_specs_size_is_asked_of_the_bucket_once(s3_storage, make_review, team, monkeypatch):
    make_review(spec=ContentFile(b"%PDF" + b"s" * 96))
    assert retention.team_storage(team)[0] == 11 + 100
    asked = []
    monkeypatch.setattr(S3Storage, "size", lambda self, name: asked.append(name) or 0)
    # Stored names are never rewritten, so the size measured once holds.
    assert retention.team_storage(team)[0] == 11 + 100
    assert asked == []


def test_the_bucket_options_keep_files_private_and_address_custom_endpoints_by_path():
    options = s3_storage_options(
        {"AWS_STORAGE_BUCKET_NAME": "uploads", "AWS_S3_ENDPOINT_URL": "http://minio:9000"}
    )
    assert options["default_acl"] is None and options["querystring_auth"] is True
    assert options["file_overwrite"] is False
    assert options["addressing_style"] == "path" and options["signature_version"] == "s3v4"
    # Parts are never below S3's minimum, whatever the environment says.
    small = s3_storage_options({"AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_MULTIPART_BYTES": "1"})
    assert small["transfer_config"].multipart_chunksize == 5 * MB
    assert small["addressing_style"] is None  # AWS itself: its default, virtual hosts


def test_a_bucket_without_a_name_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="AWS_STORAGE_BUCKET_NAME"):
        s3_storage_options({"MEDIA_STORAGE": "s3"})


def queued_review(make_review):
    return make_review(
        status="queued",
        report="",
        lease_expires_at=timezone.now() + timedelta(seconds=300),
        archive=ContentFile(make_zip(), name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
        cost_usd=None,
        prompt_tokens=None,
        completion_tokens=None,
    )


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_review_from_the_bucket_and_keeps_no_copy(
    s3_storage, s3_server, make_review, settings
):
    review = queued_review(make_review)
    with FakeLLMServer() as llm:
        llm.script(answer("## Conformance\n\nFine (shop/app/api.py:1).\n"))
        settings.LLM_BASE_URL, settings.LLM_API_KEY = llm.url, "sk-test"
        ReviewRun(review.pk, lifecycle.claim(review.pk)).run()
        # The PDF went out with the request, read after packing had ended.
        assert any(
            p.get("type") == "file" for p in llm.requests[-1]["body"]["messages"][-1]["content"]
        )
    review.refresh_from_db()
    assert review.status == "done", review.error
    assert review.sent_files.name in s3_server.keys(s3_storage)
    assert temp_files(settings) == []


@pytest.mark.django_db(transaction=True)
def test_an_archive_lost_from_the_bucket_fails_the_review_in_one_sentence(
    s3_storage, s3_server, make_review, settings
):
    review = queued_review(make_review)
    s3_server.client().delete_object(Bucket=s3_storage, Key=review.archive.name)
    ReviewRun(review.pk, lifecycle.claim(review.pk)).run()
    review.refresh_from_db()
    assert review.status == "failed"
    assert review.error == "The uploaded files could not be read from storage."
    assert temp_files(settings) == []
