"""Upload size limits hold while the body arrives: the ASGI layer refuses whole requests
before Django spools them, and each file field stops at its own limit while parsed."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.db import close_old_connections

from reviewer.asgi import application
from reviewer.reviews.models import Review
from tests.factories import make_pdf, make_zip
from tests.stack import ROOT, free_port

KB = 1024
CHUNK = 64 * KB


@pytest.fixture
def small_limits(settings, tmp_path):
    settings.MAX_UPLOAD_BYTES = 256 * KB
    settings.MAX_SPEC_BYTES = 128 * KB
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * KB
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "upload-tmp"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    return settings


def _limit(settings):
    return settings.MAX_UPLOAD_BYTES + settings.MAX_SPEC_BYTES + 1024 * KB


class Exchange:
    """One request to the ASGI application, its body offered in chunks as a server would."""

    def __init__(self, path, headers=(), chunks=(), on_receive=None):
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        self.chunks = list(chunks)
        self.on_receive = on_receive
        self.receive_calls = 0
        self.bytes_given = 0
        self.messages = []

    async def receive(self):
        self.receive_calls += 1
        if self.on_receive:
            self.on_receive(self)
        if not self.chunks:
            # A client that sent its whole body waits for the answer.
            await asyncio.Event().wait()
        chunk = self.chunks.pop(0)
        self.bytes_given += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message):
        self.messages.append(message)

    def run(self):
        # As Django's test clients do: the test's database connection must stay open.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            async_to_sync(application)(self.scope, self.receive, self.send)
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        self.status = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        self.body = b"".join(m.get("body", b"") for m in self.messages[1:])
        return self


SESSION = (b"cookie", b"csrftoken=x; sessionid=not-a-real-session")


def test_an_over_long_content_length_is_refused_without_reading_the_body(small_limits):
    declared = str(_limit(small_limits) + 1).encode()
    for path in ("/projects/1/reviews", "/reviews/1/rerun"):
        exchange = Exchange(path, [SESSION, (b"content-length", declared)], [b"x" * CHUNK]).run()
        assert exchange.status == 413 and exchange.receive_calls == 0
        assert exchange.headers["content-type"].startswith("text/plain")
        assert exchange.body.decode() == (
            "The upload is larger than the 256 KB archive and 128 KB specification limits allow."
        )


def test_the_api_refuses_an_over_long_content_length_in_json(small_limits):
    declared = str(_limit(small_limits) + 1).encode()
    headers = [(b"authorization", b"Bearer rvw_whatever"), (b"content-length", declared)]
    exchange = Exchange("/api/projects/1/reviews", headers, [b"x" * CHUNK]).run()
    assert exchange.status == 413 and exchange.receive_calls == 0
    assert "limits allow" in json.loads(exchange.body)["error"]


def test_a_body_without_length_is_cut_off_once_past_the_limit(small_limits):
    limit = _limit(small_limits)
    seen_in_temp_dir = []

    def watch_spooled_body(exchange):
        # Django spools the body to an unnamed file; /proc shows where it lives.
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith(str(small_limits.FILE_UPLOAD_TEMP_DIR)):
                seen_in_temp_dir.append(target)

    chunks = [b"x" * CHUNK] * (4 * limit // CHUNK)
    exchange = Exchange("/projects/1/reviews", [SESSION], chunks, watch_spooled_body).run()
    assert exchange.status == 413
    assert b"limits allow" in exchange.body
    # Reading stopped with the chunk that crossed the limit; the rest was never asked for.
    assert limit < exchange.bytes_given <= limit + CHUNK
    assert len(exchange.chunks) >= 2 * limit // CHUNK
    assert seen_in_temp_dir, "the spooled body lives under FILE_UPLOAD_TEMP_DIR"


@pytest.mark.django_db
def test_anonymous_uploads_are_turned_away_before_the_body_is_read(small_limits):
    page = Exchange("/projects/1/reviews", [(b"content-length", b"10")], [b"x" * 10]).run()
    assert page.status == 302 and page.receive_calls == 0
    assert page.headers["location"] == "/accounts/login/?next=/projects/1/reviews"
    api = Exchange("/api/projects/1/reviews", [(b"content-length", b"10")], [b"x" * 10]).run()
    assert api.status == 401 and api.receive_calls == 0
    assert api.headers["www-authenticate"] == 'Bearer realm="reviewer"'
    assert "Authorization: Bearer" in json.loads(api.body)["error"]

    # A session cookie, even one that is no longer valid, is Django's to judge: it reads
    # the body, finds no session and sends the visitor to log in.
    csrf = b"a" * 32
    headers = [
        (b"cookie", b"csrftoken=" + csrf + b"; sessionid=not-a-real-session"),
        (b"x-csrftoken", csrf),
        (b"content-length", b"10"),
    ]
    stale = Exchange("/projects/1/reviews", headers, [b"x" * 10]).run()
    assert stale.bytes_given == 10 and stale.status == 302
    assert stale.headers["location"] == "/accounts/login/?next=/projects/1/reviews"


# -- per field, while Django parses the body -------------------------------------------------
class StoredBytes(FileUploadHandler):
    """Counts, per field, the bytes that reach the handlers storing the files."""

    seen = {}

    def receive_data_chunk(self, raw_data, start):
        StoredBytes.seen[self.field_name] = start + len(raw_data)
        return raw_data

    def file_complete(self, file_size):
        return None


@pytest.fixture
def observed_handlers(small_limits):
    StoredBytes.seen = {}
    small_limits.FILE_UPLOAD_HANDLERS = [
        "reviewer.intake.limits.FieldLimitUploadHandler",
        "tests.test_upload_limits.StoredBytes",
        "django.core.files.uploadhandler.MemoryFileUploadHandler",
        "django.core.files.uploadhandler.TemporaryFileUploadHandler",
    ]
    return StoredBytes.seen


def _big_zip(size):
    return make_zip({"shop/blob.bin": os.urandom(size)})


@pytest.mark.django_db
def test_an_archive_over_its_limit_is_stopped_at_the_limit_and_named_on_the_form(
    client, alice, project, media_root, observed_handlers
):
    client.force_login(alice)
    response = client.post(
        f"/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("big.zip", _big_zip(1024 * KB)),
            "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
        },
    )
    assert response.status_code == 400
    assert "The archive is larger than the 256 KB limit." in response.content.decode()
    assert observed_handlers["archive"] <= 256 * KB
    assert not Review.objects.exists()
    assert not list(Path(media_root).rglob("*.zip"))


@pytest.mark.django_db
def test_the_api_names_a_spec_over_its_limit(client, bob, project, media_root, observed_handlers):
    from reviewer.api.models import ApiToken
    from reviewer.teams.tokens import new_token

    raw, token_hash = new_token(ApiToken.PREFIX)
    ApiToken.objects.create(user=bob, name="CI", token_hash=token_hash, hint=raw[:8])
    big_spec = make_pdf() + b"%" + b"x" * (512 * KB)
    response = client.post(
        f"/api/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("shop.zip", make_zip()),
            "spec": SimpleUploadedFile("spec.pdf", big_spec),
        },
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 413
    assert response.json() == {"error": "The specification is larger than the 128 KB limit."}
    assert observed_handlers["spec"] <= 128 * KB
    assert not Review.objects.exists()


# -- the same, through a real uvicorn ------------------------------------------------------
@pytest.fixture
def uvicorn_server(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewer.settings",
        "VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "x" * 50,
        "MAX_UPLOAD_BYTES": str(256 * KB),
        "MAX_SPEC_BYTES": str(128 * KB),
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "uvicorn", "reviewer.asgi:application", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def _request_head(path, *headers):
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


def _read_response(sock):
    data = b""
    while more := sock.recv(4096):  # the server closes the connection after answering
        data += more
    return int(data.split(b" ", 2)[1]), data


def test_uvicorn_answers_413_and_302_before_any_body_is_sent(uvicorn_server):
    with socket.create_connection(("127.0.0.1", uvicorn_server), timeout=10) as sock:
        sock.sendall(
            _request_head(
                "/projects/1/reviews", "Cookie: sessionid=x", f"Content-Length: {10 * 1024**3}"
            )
        )
        status, data = _read_response(sock)
    assert status == 413 and b"limits allow" in data
    with socket.create_connection(("127.0.0.1", uvicorn_server), timeout=10) as sock:
        sock.sendall(_request_head("/projects/1/reviews", f"Content-Length: {10 * 1024**3}"))
        status, data = _read_response(sock)
    assert status == 302 and b"/accounts/login/?next=/projects/1/reviews" in data


def test_uvicorn_cuts_off_a_chunked_body_past_the_limit(uvicorn_server):
    limit = 256 * KB + 128 * KB + 1024 * KB
    chunk = b"%x\r\n" % CHUNK + b"x" * CHUNK + b"\r\n"
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", uvicorn_server), timeout=10) as sock:
        sock.sendall(
            _request_head(
                "/projects/1/reviews", "Cookie: sessionid=x", "Transfer-Encoding: chunked"
            )
        )
        sock.setblocking(False)
        # Send until the server answers, reading as we go: once it closes, whatever we
        # sent and it never read makes the connection end with a reset.
        deadline = time.monotonic() + 20
        while b"limits allow" not in answer and time.monotonic() < deadline:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            try:
                sent += sock.send(chunk)
            except BlockingIOError:
                time.sleep(0.005)
            except (BrokenPipeError, ConnectionResetError):
                break
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b"limits allow" in answer
    assert limit < sent < limit + 32 * 1024 * KB  # the rest sits in socket buffers
