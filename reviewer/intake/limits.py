"""Upload size limits enforced while the body arrives, not after it has been stored.

Two layers: `UploadLimits` wraps the ASGI application and refuses an upload request as a
whole (anonymous, or larger than all fields may together be) before Django spools its
body; `FieldLimitUploadHandler` stops each file field at its own limit while Django
parses the body, so that the form can say which file is too large.
"""

import io
import json
import tempfile
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.core.handlers.asgi import ASGIHandler
from django.http.cookie import parse_cookie
from django.urls import Resolver404, resolve

from reviewer.packing.archive import human

MB = 1024 * 1024
# Room for the form's other fields and the multipart framing around the two files.
FORM_ALLOWANCE = 1 * MB
UPLOAD_VIEWS = {"review_create", "review_rerun", "api_review_create"}
API_VIEWS = {"api_review_create"}
BODYLESS_METHODS = {"GET", "HEAD", "OPTIONS"}


def field_limits():
    return {"archive": settings.MAX_UPLOAD_BYTES, "spec": settings.MAX_SPEC_BYTES}


def too_large_sentence(field):
    what = "archive" if field == "archive" else "specification"
    return f"The {what} is larger than the {human(field_limits()[field])} limit."


def body_limit():
    return settings.MAX_UPLOAD_BYTES + settings.MAX_SPEC_BYTES + FORM_ALLOWANCE


# -- per field, while Django parses the body ------------------------------------------------
class OversizedUpload(UploadedFile):
    """Stands in for a file refused at its limit: its name and the size it reached, no
    content, so that the form's size check answers with its usual sentence."""

    def __init__(self, name, content_type, size, charset, content_type_extra):
        super().__init__(io.BytesIO(), name, content_type, size, charset, content_type_extra)


class FieldLimitUploadHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS: hands each chunk on to the storing handlers until
    the field's limit, then throws away what they stored and only counts the rest."""

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        self.limit = field_limits().get(field_name)
        self.over = False

    def receive_data_chunk(self, raw_data, start):
        if self.limit is None or start + len(raw_data) <= self.limit:
            return raw_data
        if not self.over:
            self.over = True
            self._discard_stored_part()
        return None  # the handlers after this one never see the rest

    def file_complete(self, file_size):
        if not self.over:
            return None
        return OversizedUpload(
            self.file_name, self.content_type, file_size, self.charset, self.content_type_extra
        )

    def _discard_stored_part(self):
        # The storing handlers hold the current file as `file` (as Django's own parser
        # assumes when it skips a file); closing a temporary upload deletes it.
        for handler in self.request.upload_handlers:
            if handler is not self and hasattr(handler, "file"):
                handler.file.close()


# -- the whole request, before Django reads its body ------------------------------------------
class WorkDirASGIHandler(ASGIHandler):
    """Django's handler, spooling request bodies under FILE_UPLOAD_TEMP_DIR rather than
    the system's temporary folder."""

    async def read_body(self, receive):
        body_file = tempfile.SpooledTemporaryFile(
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
            mode="w+b",
            dir=settings.FILE_UPLOAD_TEMP_DIR,
        )
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            if "body" in message:
                body_file.write(message["body"])
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file


class UploadLimits:
    """ASGI wrapper for the upload URLs: anonymous requests are turned away unread, and a
    body larger than `body_limit()` is refused by its Content-Length or, without one, as
    soon as the bytes received pass the limit; nothing more is read after that."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        # Pages, streams and static files go straight through, unresolved.
        view = _upload_view(scope) if scope.get("method") not in BODYLESS_METHODS else None
        if view is None:
            return await self.app(scope, receive, send)
        api = view in API_VIEWS
        headers = _headers(scope)
        if not _has_credentials(headers):
            return await _send(send, *_anonymous(scope, api))
        limit = body_limit()
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await _send(send, *_too_large(api))
        counting = _CountingReceive(receive, limit)
        started = False

        async def watching_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting, watching_send)
        if counting.over and not started:
            await _send(send, *_too_large(api))


class _CountingReceive:
    """Passes body messages through until the limit, then tells the app the client left
    (Django then drops what it spooled) and never calls the server's receive again."""

    def __init__(self, receive, limit):
        self.receive, self.limit = receive, limit
        self.total = 0
        self.over = False

    async def __call__(self):
        if self.over:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.total += len(message.get("body", b""))
            if self.total > self.limit:
                self.over = True
                return {"type": "http.disconnect"}
        return message


def _upload_view(scope):
    if scope["type"] != "http":
        return None
    try:
        name = resolve(scope["path"]).url_name
    except Resolver404:
        return None
    return name if name in UPLOAD_VIEWS else None


def _headers(scope):
    headers = {}
    for name, value in scope.get("headers") or []:
        # A request may split its cookies over several headers.
        headers[name] = headers[name] + b"; " + value if name in headers else value
    return headers


def _has_credentials(headers):
    # Whether a session or token is valid is Django's business; only their total
    # absence is settled here, before the body is read.
    if headers.get(b"authorization"):
        return True
    cookies = parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
    return bool(cookies.get(settings.SESSION_COOKIE_NAME))


def _anonymous(scope, api):
    if api:
        from reviewer.api.auth import UNAUTHORIZED

        extra = [(b"www-authenticate", b'Bearer realm="reviewer"')]
        return 401, *_json(UNAUTHORIZED), extra
    path = scope["path"]
    if scope.get("query_string"):
        path += "?" + scope["query_string"].decode("latin-1")
    location = settings.LOGIN_URL + "?" + urlencode({"next": path}, safe="/")
    return 302, b"text/plain; charset=utf-8", b"", [(b"location", location.encode("latin-1"))]


def _too_large(api):
    sentence = (
        f"The upload is larger than the {human(settings.MAX_UPLOAD_BYTES)} archive "
        f"and {human(settings.MAX_SPEC_BYTES)} specification limits allow."
    )
    if api:
        return 413, *_json(sentence), []
    return 413, b"text/plain; charset=utf-8", sentence.encode(), []


def _json(message):
    return b"application/json", json.dumps({"error": message}).encode()


async def _send(send, status, content_type, body, extra_headers):
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        # The body is left unread, so the connection cannot carry another request.
        (b"connection", b"close"),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
