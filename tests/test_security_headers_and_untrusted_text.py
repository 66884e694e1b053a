"""Security headers, cookies, and untrusted text (model output, file and project names)
coming out inert on every page that shows it."""

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from reviewer.reports.sharing import enable_link
from reviewer.reviews.models import Project
from reviewer.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.django_db

EVIL_REPORT = (
    "## Findings\n\n"
    "<script>alert('report')</script>\n\n"
    "[click me](javascript:alert('link'))\n\n"
    '<a href="javascript:alert(1)">raw link</a>\n\n'
    "<img src=x onerror=\"alert('img')\">\n\n"
    '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\'svg\')">'
    "<script>alert('svg-script')</script></svg>\n\n"
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)\n"
)
EVIL_NAME = "<script>alert('name')</script><img src=x onerror=alert('name')>\"'.zip"
EVIL_MEMBER = "src/<svg onload=alert('member')>.py"


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_inert(html):
    """No script but our own files, no event handlers, no javascript:/data: links, no
    img/svg/iframe/object from the untrusted text, no inline styles."""
    parser = _Collector()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("img", "svg", "iframe", "object", "embed"), (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in ("href", "src", "action", "formaction"):
                v = (value or "").strip().lower()
                assert not v.startswith(("javascript:", "data:", "vbscript:")), (tag, value)


@pytest.fixture
def evil(make_review, project, alice, team, django_user_model):
    Project.objects.filter(pk=project.pk).update(name=EVIL_NAME)
    project.refresh_from_db()
    review = make_review(
        report=EVIL_REPORT,
        archive_name=EVIL_NAME,
        spec_name=EVIL_NAME.replace(".zip", ".pdf"),
        model=EVIL_NAME,
        error="<b onmouseover=alert(1)>boom</b>",
        pack_summary={"included": [{"path": EVIL_MEMBER}], "excluded": []},
    )
    other = make_review(report="## Findings\n\nfine", archive_name=EVIL_NAME)
    return review, other


def _pages(client, alice, review, other):
    client.force_login(alice)
    project = review.project_id
    share = enable_link(review, alice)
    return {
        "review page": client.get(f"/reviews/{review.pk}/"),
        "project page (history)": client.get(f"/projects/{project}/"),
        "history partial": client.get(f"/projects/{project}/history", HTTP_HX_REQUEST="true"),
        "compare": client.get(f"/projects/{project}/compare?a={other.pk}&b={review.pk}"),
        "share management": client.get(f"/reviews/{review.pk}/share"),
        "home": client.get("/"),
        "team page": client.get(f"/teams/{review.project.team_id}/"),
        "html export": client.get(f"/reviews/{review.pk}/export.html"),
        "shared page": client.get(f"/s/{share.token}"),
    }


def test_planted_markup_comes_out_inert_on_every_page(client, alice, evil):
    review, other = evil
    for name, response in _pages(client, alice, review, other).items():
        assert response.status_code == 200, name
        html = response.content.decode()
        assert_inert(html)
        assert "<script>alert" not in html, name


def test_planted_names_are_shown_escaped_not_dropped(client, alice, evil):
    review, other = evil
    pages = _pages(client, alice, review, other)
    escaped = "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;"
    for name in ("review page", "project page (history)", "compare", "html export"):
        assert escaped in pages[name].content.decode(), name


def test_report_markup_is_rendered_as_text_on_the_shared_page(client, alice, evil):
    review, _ = evil
    share = enable_link(review, alice)
    html = client.get(f"/s/{share.token}").content.decode()
    assert "<h2>Findings</h2>" in html
    assert "&lt;script&gt;alert(&#x27;report&#x27;)&lt;/script&gt;" in html or (
        "&lt;script&gt;alert('report')&lt;/script&gt;" in html
    )


def test_markdown_export_is_a_plain_text_download(client, alice, evil):
    review, _ = evil
    client.force_login(alice)
    response = client.get(f"/reviews/{review.pk}/export.md")
    assert response["Content-Type"].startswith("text/markdown")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    # Names are Markdown-escaped so they cannot form a link or raw HTML when rendered.
    assert "\\<script\\>" in response.content.decode()


def test_api_returns_the_untrusted_text_as_json(client, alice, evil):
    from reviewer.api.models import ApiToken
    from reviewer.teams.tokens import new_token

    review, _ = evil
    raw, token_hash = new_token(ApiToken.PREFIX)
    ApiToken.objects.create(user=alice, name="ci", token_hash=token_hash, hint=raw[:8])
    response = client.get(f"/api/reviews/{review.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response["Content-Type"] == "application/json"
    assert response.json()["archive"]["name"] == EVIL_NAME


def test_team_and_token_names_are_escaped(client, alice, team):
    from reviewer.teams.models import Team

    Team.objects.filter(pk=team.pk).update(name=EVIL_NAME)
    client.force_login(alice)
    client.post("/account/tokens/new", {"name": "<img src=x onerror=alert(1)>"})
    for path in (f"/teams/{team.pk}/", "/teams/", "/account/tokens/", "/"):
        assert_inert(client.get(path).content.decode())


def test_every_page_sends_the_content_security_policy(client, alice, project):
    client.force_login(alice)
    response = client.get(f"/projects/{project.pk}/")
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ):
        assert directive in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get("/accounts/login/")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_no_template_uses_inline_scripts_styles_or_handlers():
    root = Path(django_settings.BASE_DIR) / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        if path.relative_to(root).as_posix() == "sharing/export.html":
            continue  # the downloadable file: inline CSS by design, its own CSP
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\sstyle=", text):
            offenders.append(str(path))
        if re.search(r"<style", text) or re.search(r"\son[a-z]+\s*=", text):
            offenders.append(str(path))
    assert not offenders


def test_session_and_csrf_cookies_are_httponly_and_samesite(client, alice, password):
    response = client.post("/accounts/login/", {"username": "alice", "password": password})
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    page = client.get("/")
    csrf = page.cookies.get(django_settings.CSRF_COOKIE_NAME) or client.cookies.get("csrftoken")
    assert csrf["httponly"] and csrf["samesite"] == "Lax"


@pytest.mark.parametrize(("site_url", "secure"), [("https://x.example", True), ("http://x", False)])
def test_cookies_are_secure_when_served_over_https(site_url, secure, tmp_path):
    env = {**os.environ, "SITE_URL": site_url, "VAR_DIR": str(tmp_path), "SECRET_KEY": "k"}
    env.pop("SECURE_COOKIES", None)
    env.pop("DEBUG", None)
    code = "import reviewer.settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(secure), str(secure)]


def test_smtp_settings_come_from_email_url(tmp_path):
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": "k",
        "EMAIL_URL": "smtp+tls://mailer%40example.com:p%40ss@smtp.example.com:2525",
        "DEFAULT_FROM_EMAIL": "reviewer@example.com",
    }
    env.pop("EMAIL_BACKEND", None)
    code = (
        "import reviewer.settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT,"
        " s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "2525",
        "mailer@example.com",
        "p@ss",
        "True",
        "reviewer@example.com",
    ]


def test_console_email_is_the_default(tmp_path):
    env = {**os.environ, "VAR_DIR": str(tmp_path), "SECRET_KEY": "k"}
    for name in ("EMAIL_URL", "EMAIL_HOST", "EMAIL_BACKEND"):
        env.pop(name, None)
    code = "import reviewer.settings as s; print(s.EMAIL_BACKEND)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "django.core.mail.backends.console.EmailBackend"
