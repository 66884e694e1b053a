"""Uploads in a bucket, end to end: a web host and a worker host that share no disk (each
its own VAR_DIR and MEDIA_ROOT), moto's S3 server as the bucket, PostgreSQL and Redis
between them. Upload, preview, start, stream, report, source viewer, specification and
deletion all work, and no copy of the archive is left on either host."""

import os
import re
from pathlib import Path

import pytest

from tests.conftest import _services_available
from tests.factories import SAMPLE_REPO, make_pdf, make_zip
from tests.fakes.llm_server import answer
from tests.sse_client import read_events
from tests.stack import running_stack
from tests.test_e2e_findings import GOOD, PAST_END, TABLE
from tests.test_e2e_review import create_project, review_id_of, upload

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
ANSWER = "# Review report\n\n## 1. Conformance\n\n" + TABLE + GOOD + PAST_END
SPEC = make_pdf(("1 Orders. The service SHALL expose GET /orders.", "2 Paging. Pages of 50."))


@pytest.fixture(scope="module")
def bucket_stack(s3_server, fake_llm, tmp_path_factory):
    if not _services_available():
        pytest.fail("the services profile needs PostgreSQL and Redis on 127.0.0.1")
    bucket = s3_server.new_bucket()
    with running_stack(
        "services",
        tmp_path_factory.mktemp("hosts-apart"),
        fake_llm.url,
        separate_hosts=True,
        REDIS_DB="14",
        AWS_S3_MULTIPART_BYTES=str(5 * MB),
        **s3_server.env(bucket),
    ) as stack:
        stack.bucket = bucket
        yield stack


def files_under(root):
    root = Path(root)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def stored_name(stack, review_id, field):
    return stack.shell(
        "from reviewer.reviews.models import Review\n"
        f"print(getattr(Review.objects.get(pk={review_id}), {field!r}).name)"
    ).strip()


def csrf(client, path):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(path).text).group(1)


def test_a_review_runs_with_uploads_only_in_the_bucket(bucket_stack, s3_server, llm):
    stack, bucket = bucket_stack, bucket_stack.bucket
    web, worker = stack.env, stack.worker_env
    assert web["VAR_DIR"] != worker["VAR_DIR"] and web["MEDIA_ROOT"] != worker["MEDIA_ROOT"]
    llm.script(answer(ANSWER, chunk_size=40))
    client = stack.client("alice")
    project_id = create_project(client, "Bucket shop")
    # Over two parts of 5 MB: the web host sends it to the bucket in parts.
    blob = os.urandom(12 * MB)
    archive = make_zip({**SAMPLE_REPO, "shop/assets/photo.bin": blob})

    # Upload as a draft: the preview is packed by a web process from the bucket's copy.
    response = upload(client, project_id, archive=archive, spec=SPEC, preview="1")
    review_id = review_id_of(response)
    assert str(response.url).endswith(f"/reviews/{review_id}/preview")
    assert "app/api.py" in response.text and "could not be read" not in response.text
    s3 = s3_server.client()
    archive_key = stored_name(stack, review_id, "archive")
    head = s3.head_object(Bucket=bucket, Key=archive_key)
    assert head["ContentLength"] == len(archive)
    assert head["ETag"].strip('"').endswith("-3")

    # Start; the worker packs from its own download and streams the answer.
    start = client.post(
        f"/reviews/{review_id}/start",
        data={"csrfmiddlewaretoken": csrf(client, f"/reviews/{review_id}/preview")},
    )
    assert start.status_code == 200 and str(start.url).endswith(f"/reviews/{review_id}/")
    events = list(read_events(client, f"/reviews/{review_id}/events"))
    assert [m.data for m in events if m.event == "status"][-1] == "done"
    assert stack.review_field(review_id, "report") == ANSWER

    # Findings were checked against the sent files and the PDF, both read from the bucket.
    page = client.get(f"/reviews/{review_id}/").text
    assert "4 of 5 citations verified" in page
    assert "line 40 is past the end of the file (5 lines)" in page
    source = client.get(f"/reviews/{review_id}/source/app/api.py")
    assert source.status_code == 200 and "def list_orders(user):" in source.text
    pdf = client.get(f"/reviews/{review_id}/spec")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content == SPEC
    sent_key = stored_name(stack, review_id, "sent_files")
    assert s3_server.keys(bucket) == sorted(
        [archive_key, stored_name(stack, review_id, "spec"), sent_key]
    )

    # Neither host keeps an upload or a temporary copy: everything came from the bucket.
    for env in (web, worker):
        assert files_under(env["MEDIA_ROOT"]) == []
        assert files_under(Path(env["VAR_DIR"]) / "tmp") == []
        large = [p for p in files_under(env["VAR_DIR"]) if p.stat().st_size >= len(blob)]
        assert large == []

    # Deleting the review deletes its objects.
    deleted = client.post(
        f"/reviews/{review_id}/delete",
        data={"confirm": "delete", "csrfmiddlewaretoken": csrf(client, f"/reviews/{review_id}/")},
    )
    assert deleted.status_code == 200
    assert client.get(f"/reviews/{review_id}/").status_code == 404
    assert s3_server.keys(bucket) == []


def test_the_team_quota_counts_what_the_bucket_holds(bucket_stack, s3_server, llm):
    stack = bucket_stack
    client = stack.client("bob")
    project_id = create_project(client, "Quota shop")
    archive, spec = make_zip(), make_pdf()
    review_id = review_id_of(upload(client, project_id, archive=archive, spec=spec, preview="1"))
    out = stack.shell(
        "from reviewer.reviews.models import Review\n"
        "from reviewer.reviews.retention import team_storage\n"
        f"print(team_storage(Review.objects.get(pk={review_id}).project.team)[0])"
    )
    assert int(out.strip()) == len(archive) + len(spec)
