"""Who may do what, on every URL the app serves.

The matrix below has one entry per named URL of `reviewer.urls`; a new URL without an
entry fails `test_every_url_has_a_matrix_entry`. Each entry says, for GET and for POST,
the least role that may use it (others answer 404, never 403, so that other teams'
objects are not disclosed) and the status an allowed user gets. Users: alice (owner),
bob (member), victor (viewer), charlie (outsider) and an anonymous visitor."""

from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from reviewer.api.models import ApiToken
from reviewer.findings.models import Finding
from reviewer.reports.sharing import enable_link
from reviewer.reviews.models import Review
from reviewer.splits.models import ReviewPart
from reviewer.teams.models import Invite, Membership, Role
from reviewer.teams.tokens import new_token
from tests.factories import make_pdf, make_zip

pytestmark = pytest.mark.django_db

USERS = ["anonymous", "charlie", "victor", "bob", "alice"]  # denied ones first
RANK = {"charlie": -1, "victor": 0, "bob": 1, "alice": 3}
ROLE_RANK = {"none": -1, "viewer": 0, "member": 1, "admin": 2, "owner": 3}


@dataclass
class Rule:
    kind: str  # role | user | public | anon | token | invite | none
    role: str = "viewer"
    ok: int = 200
    anon: int = 302  # what an anonymous visitor gets


@dataclass
class Entry:
    path: object  # callable(ctx) -> path
    get: Rule
    post: Rule
    data: dict = field(default_factory=dict)


def role(r, ok=200, anon=302):
    return Rule("role", r, ok, anon)


def user(ok=200):
    return Rule("user", ok=ok)


def public(ok=200, anon=None):
    return Rule("public", ok=ok, anon=ok if anon is None else anon)


def token(r, ok=200):
    return Rule("token", r, ok, 401)


NOT_ALLOWED = Rule("none", ok=405)  # method not allowed (after login where login is needed)
API_NOT_ALLOWED = Rule("none", ok=405, anon=405)  # 405 even before login
SAME_AS_GET = Rule("same")

MATRIX = {
    # projects and reviews
    # Pages of views that are not method-restricted render on POST too and change nothing.
    "home": Entry(lambda c: "/", user(), SAME_AS_GET),
    "project_create": Entry(lambda c: "/projects/new", NOT_ALLOWED, user(302), {"name": "P"}),
    "project": Entry(lambda c: f"/projects/{c.project.pk}/", role("viewer"), SAME_AS_GET),
    "project_settings": Entry(
        lambda c: f"/projects/{c.project.pk}/settings",
        NOT_ALLOWED,
        role("admin", 302),
        {"name": "Shop"},
    ),
    "review_create": Entry(
        lambda c: f"/projects/{c.project.pk}/reviews", NOT_ALLOWED, role("member", 400)
    ),
    "review": Entry(lambda c: f"/reviews/{c.review.pk}/", role("viewer"), SAME_AS_GET),
    "review_source": Entry(
        lambda c: f"/reviews/{c.review.pk}/source/app/api.py", role("viewer"), SAME_AS_GET
    ),
    "review_events": Entry(
        lambda c: f"/reviews/{c.review.pk}/events", role("viewer", anon=401), API_NOT_ALLOWED
    ),
    "review_preview": Entry(
        lambda c: f"/reviews/{c.draft.pk}/preview", role("viewer"), SAME_AS_GET
    ),
    "review_preview_save": Entry(
        lambda c: f"/reviews/{c.draft.pk}/preview/patterns",
        NOT_ALLOWED,
        role("admin", 302),
        {"ignore_patterns": "docs/"},
    ),
    "provider_keys": Entry(
        lambda c: f"/teams/{c.project.team.pk}/keys",
        role("admin"),
        role("admin", 302),
        {"provider": "openai", "api_key": "sk-matrix"},
    ),
    "provider_key_delete": Entry(
        lambda c: f"/teams/{c.project.team.pk}/keys/openai/delete",
        NOT_ALLOWED,
        role("admin", 302),
    ),
    "review_start": Entry(
        lambda c: f"/reviews/{c.draft.pk}/start", NOT_ALLOWED, role("member", 302)
    ),
    "review_cancel": Entry(
        lambda c: f"/reviews/{c.review.pk}/cancel", NOT_ALLOWED, role("member", 302)
    ),
    "review_retry": Entry(
        lambda c: f"/reviews/{c.review.pk}/retry", NOT_ALLOWED, role("member", 302)
    ),
    "review_refetch": Entry(
        lambda c: f"/reviews/{c.url_review.pk}/refetch", NOT_ALLOWED, role("member", 302)
    ),
    "git_token": Entry(
        lambda c: f"/teams/{c.project.team.pk}/git-token",
        role("admin"),
        role("admin", 302),
        {"token": "glpat-matrix"},
    ),
    "git_token_delete": Entry(
        lambda c: f"/teams/{c.project.team.pk}/git-token/delete", NOT_ALLOWED, role("admin", 302)
    ),
    "review_part_retry": Entry(
        lambda c: f"/reviews/{c.review.pk}/parts/1/retry", NOT_ALLOWED, role("member", 302)
    ),
    "review_part_cancel": Entry(
        lambda c: f"/reviews/{c.review.pk}/parts/1/cancel", NOT_ALLOWED, role("member", 302)
    ),
    "project_history": Entry(
        lambda c: f"/projects/{c.project.pk}/history", role("viewer", 302), NOT_ALLOWED
    ),
    "review_compare": Entry(
        lambda c: f"/projects/{c.project.pk}/compare?a={c.review.pk}&b={c.review.pk}",
        role("viewer"),
        NOT_ALLOWED,
    ),
    "project_delete": Entry(
        lambda c: f"/projects/{c.project.pk}/delete",
        role("admin"),
        role("admin", 302),
        {"confirm": "Shop"},
    ),
    "review_rerun": Entry(
        lambda c: f"/reviews/{c.review.pk}/rerun", NOT_ALLOWED, role("member", 302)
    ),
    "review_delete": Entry(
        lambda c: f"/reviews/{c.review.pk}/delete",
        role("admin"),
        role("admin", 302),
        {"confirm": "delete"},
    ),
    # sharing and export
    "review_share": Entry(
        lambda c: f"/reviews/{c.review.pk}/share",
        role("admin"),
        role("admin", 302),
        {"action": "enable"},
    ),
    "review_export_markdown": Entry(
        lambda c: f"/reviews/{c.review.pk}/export.md", role("viewer"), NOT_ALLOWED
    ),
    "review_export_html": Entry(
        lambda c: f"/reviews/{c.review.pk}/export.html", role("viewer"), NOT_ALLOWED
    ),
    "shared_review": Entry(
        lambda c: f"/s/{c.share.token}", public(), Rule("none", ok=405, anon=405)
    ),
    # accounts
    "login": Entry(lambda c: "/accounts/login/", public(302, anon=200), public(302, anon=200)),
    "signup": Entry(lambda c: "/accounts/signup/", public(302, anon=200), public(302, anon=400)),
    "logout": Entry(lambda c: "/accounts/logout/", Rule("none", ok=405, anon=405), public(302)),
    "password_change": Entry(lambda c: "/accounts/password_change/", user(), user(200)),
    "password_change_done": Entry(lambda c: "/accounts/password_change/done/", user(), NOT_ALLOWED),
    "password_reset": Entry(
        lambda c: "/accounts/password_reset/", public(), public(302), {"email": "x@example.com"}
    ),
    "password_reset_done": Entry(
        lambda c: "/accounts/password_reset/done/", public(), API_NOT_ALLOWED
    ),
    "password_reset_confirm": Entry(
        lambda c: "/accounts/reset/MQ/bad-token/", public(), public(200)
    ),
    "password_reset_complete": Entry(lambda c: "/accounts/reset/done/", public(), API_NOT_ALLOWED),
    # teams
    "team_list": Entry(lambda c: "/teams/", user(), NOT_ALLOWED),
    "team_create": Entry(lambda c: "/teams/new", NOT_ALLOWED, user(302), {"name": "New"}),
    "team": Entry(lambda c: f"/teams/{c.team.pk}/", role("viewer"), NOT_ALLOWED),
    "team_settings": Entry(
        lambda c: f"/teams/{c.team.pk}/settings", NOT_ALLOWED, role("admin", 302), {"name": "T"}
    ),
    "team_delete": Entry(
        lambda c: f"/teams/{c.shared_team.pk}/delete",
        role("owner"),
        role("owner", 302),
        {"confirm": "Shared"},
    ),
    "team_leave": Entry(lambda c: f"/teams/{c.team.pk}/leave", NOT_ALLOWED, role("viewer", 302)),
    "member_role": Entry(
        lambda c: f"/teams/{c.team.pk}/members/{c.victor_membership.pk}/role",
        NOT_ALLOWED,
        role("admin", 302),
        {"role": "viewer"},
    ),
    "member_remove": Entry(
        lambda c: f"/teams/{c.team.pk}/members/{c.victor_membership.pk}/remove",
        NOT_ALLOWED,
        role("admin", 302),
    ),
    "invite_create": Entry(
        lambda c: f"/teams/{c.team.pk}/invites", NOT_ALLOWED, role("admin", 302), {"role": "member"}
    ),
    "invite_revoke": Entry(
        lambda c: f"/teams/{c.team.pk}/invites/{c.invite.pk}/revoke",
        NOT_ALLOWED,
        role("admin", 302),
    ),
    # The invite's token is the authority: any holder may see whom it invites (a visitor
    # who is not logged in, to sign up or log in first); members of the team already
    # cannot use it again (400), the outsider joins (302).
    "invite_accept": Entry(
        lambda c: f"/invites/{c.invite_token}",
        Rule("user", ok=200, anon=200),
        Rule("invite", ok=302),
    ),
    # API tokens (pages) and the JSON API (bearer tokens only)
    "api_tokens": Entry(lambda c: "/account/tokens/", user(), NOT_ALLOWED),
    "api_token_create": Entry(
        lambda c: "/account/tokens/new", NOT_ALLOWED, user(302), {"name": "CI"}
    ),
    "api_token_revoke": Entry(
        lambda c: f"/account/tokens/{c.alice_token.pk}/revoke", NOT_ALLOWED, Rule("self", ok=302)
    ),
    # Lists the caller's own teams' projects: any token holder.
    "api_projects": Entry(
        lambda c: "/api/projects", Rule("token", "none", 200, 401), API_NOT_ALLOWED
    ),
    "api_review_create": Entry(
        lambda c: f"/api/projects/{c.project.pk}/reviews", API_NOT_ALLOWED, token("member", 400)
    ),
    "api_review": Entry(lambda c: f"/api/reviews/{c.review.pk}", token("viewer"), API_NOT_ALLOWED),
    "api_review_refetch": Entry(
        lambda c: f"/api/reviews/{c.url_review.pk}/refetch", API_NOT_ALLOWED, token("member", 201)
    ),
    "api_review_events": Entry(
        lambda c: f"/api/reviews/{c.review.pk}/events", token("viewer"), API_NOT_ALLOWED
    ),
    # findings: triage, the spec at a page, SARIF and JSON exports, the API
    "finding_triage": Entry(
        lambda c: f"/findings/{c.finding.pk}/triage",
        NOT_ALLOWED,
        role("member", 302),
        {"state": "accepted"},
    ),
    "review_spec": Entry(lambda c: f"/reviews/{c.review.pk}/spec", role("viewer"), NOT_ALLOWED),
    "review_export_sarif": Entry(
        lambda c: f"/reviews/{c.review.pk}/export.sarif", role("viewer"), NOT_ALLOWED
    ),
    "review_export_findings": Entry(
        lambda c: f"/reviews/{c.review.pk}/findings.json", role("viewer"), NOT_ALLOWED
    ),
    "api_review_findings": Entry(
        lambda c: f"/api/reviews/{c.review.pk}/findings", token("viewer"), API_NOT_ALLOWED
    ),
    "api_finding_triage": Entry(
        lambda c: f"/api/findings/{c.finding.pk}/triage",
        API_NOT_ALLOWED,
        token("member"),
        {"state": "accepted"},
    ),
    # notifications
    "notification_settings": Entry(lambda c: "/account/notifications", user(), user(302)),
    "project_webhook": Entry(
        lambda c: f"/projects/{c.project.pk}/webhook",
        role("admin"),
        role("admin", 200),
        {"action": "save", "url": "https://hooks.example.com/reviews"},
    ),
    "webhook_deliveries": Entry(
        lambda c: f"/projects/{c.project.pk}/webhook/deliveries", role("admin"), NOT_ALLOWED
    ),
}


def _names(patterns, namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue  # Django's admin: staff only, tested below
            yield from _names(p.url_patterns, p.namespace)
        elif isinstance(p, URLPattern):
            assert p.name, f"URL {p.pattern} has no name"
            yield p.name


def test_every_url_has_a_matrix_entry():
    names = list(_names(get_resolver().url_patterns))
    assert len(names) == len(set(names)), "URL names are unique"
    assert set(names) == set(MATRIX), (
        f"missing: {set(names) - set(MATRIX)}, stale: {set(MATRIX) - set(names)}"
    )


class Ctx:
    pass


@pytest.fixture
def ctx(alice, bob, victor, charlie, team, project, make_review, monkeypatch, settings):
    from reviewer.teams.models import Team

    monkeypatch.setattr("reviewer.runs.tasks.run_review.delay", lambda review_id: None)
    # Every user posts the same reset email from one address: this checks access, and the
    # throttles have tests of their own.
    settings.PASSWORD_RESETS_PER_EMAIL_PER_HOUR = 0
    c = Ctx()
    c.users = {"alice": alice, "bob": bob, "victor": victor, "charlie": charlie}
    c.team, c.project = team, project
    c.review = make_review(
        archive=ContentFile(make_zip(), name="shop.zip"),
        pack_summary={"included_paths": ["app/api.py"]},
    )
    # A review in parts, so that the part URLs find their part.
    ReviewPart.objects.create(review=c.review, index=0, status="failed")
    ReviewPart.objects.create(review=c.review, index=1, is_synthesis=True)
    # Real files: starting a draft packs it first.
    c.draft = make_review(
        status="draft",
        archive=ContentFile(make_zip(), name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
    )
    c.share = enable_link(c.review, alice)
    c.url_review = make_review(
        repo_url="https://git.example.com/team/shop.git", repo_ref="main", commit_sha="a" * 40
    )
    c.finding = Finding.objects.create(
        review=c.review, position=1, kind="risk", severity="high", title="T", fingerprint="f"
    )
    c.victor_membership = Membership.objects.get(team=team, user=victor)
    c.invite_token, token_hash = new_token()
    c.invite = Invite.objects.create(
        team=team,
        role=Role.MEMBER,
        token_hash=token_hash,
        expires_at="2999-01-01T00:00Z",
        created_by=alice,
    )
    c.shared_team = Team.objects.create(name="Shared")
    for who, r in (("alice", "owner"), ("bob", "member"), ("victor", "viewer")):
        Membership.objects.create(team=c.shared_team, user=c.users[who], role=r)
    c.tokens = {}
    for name, u in c.users.items():
        raw, h = new_token(ApiToken.PREFIX)
        row = ApiToken.objects.create(user=u, name="t", token_hash=h, hint=raw[:8])
        c.tokens[name] = raw
        if name == "alice":
            c.alice_token = row
    return c


def _expected(rule, who, entry=None):
    if rule.kind == "same":
        return _expected(entry.get, who)
    if who == "anonymous":
        return rule.anon
    if rule.kind in ("user", "public", "none"):
        return rule.ok
    if rule.kind == "self":
        return rule.ok if who == "alice" else 404
    if rule.kind == "invite":
        return rule.ok if who == "charlie" else 400
    allowed = RANK[who] >= ROLE_RANK[rule.role]
    return rule.ok if allowed else 404


def _request(c, entry, method, who):
    client = Client()
    headers = {}
    rule = entry.get if method == "get" else entry.post
    if who != "anonymous":
        if rule.kind == "token" or entry.path(c).startswith("/api/"):
            headers["HTTP_AUTHORIZATION"] = f"Bearer {c.tokens[who]}"
        else:
            client.force_login(c.users[who])
    path = entry.path(c)
    if method == "get":
        return client.get(path, **headers)
    return client.post(path, entry.data, **headers)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_access_matrix(name, method, ctx):
    entry = MATRIX[name]
    rule = entry.get if method == "get" else entry.post
    seen = {}
    # An invite works once: the team's members try it before the outsider uses it.
    order = ["anonymous", "victor", "bob", "alice", "charlie"] if rule.kind == "invite" else USERS
    for who in order:
        response = _request(ctx, entry, method, who)
        seen[who] = response.status_code
        needs_login = rule.kind in ("role", "user", "self", "invite")
        if who == "anonymous" and response.status_code == 302 and needs_login:
            assert response["Location"].startswith("/accounts/login/"), name
    expected = {who: _expected(rule, who, entry) for who in order}
    assert seen == expected, f"{method.upper()} {name}"


@pytest.mark.parametrize(
    "name", sorted(n for n, e in MATRIX.items() if e.post.kind in ("role", "user", "self"))
)
def test_state_changing_forms_require_the_csrf_token(name, ctx):
    entry = MATRIX[name]
    client = Client(enforce_csrf_checks=True)
    client.force_login(ctx.users["alice"])
    assert client.post(entry.path(ctx), entry.data).status_code == 403


def test_admin_site_is_for_staff_only(client, alice):
    client.force_login(alice)
    assert client.get("/admin/").status_code == 302
    alice.is_staff = alice.is_superuser = True
    alice.save()
    assert client.get("/admin/").status_code == 200


def test_every_model_is_registered_in_the_admin():
    from django.apps import apps
    from django.contrib import admin

    ours = [m for m in apps.get_models() if m.__module__.startswith("reviewer.")]
    assert ours
    missing = [m.__name__ for m in ours if not admin.site.is_registered(m)]
    assert not missing, missing


def test_outsider_404_hides_whether_the_review_exists(client, charlie, ctx):
    client.force_login(charlie)
    missing = client.get("/reviews/999999/")
    existing = client.get(f"/reviews/{ctx.review.pk}/")
    assert missing.status_code == existing.status_code == 404
    assert Review.objects.filter(pk=ctx.review.pk).exists()
