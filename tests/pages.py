"""Every page a person reaches, with data behind it, for the browser sweeps (layout,
console, accessibility) and the screenshot script.

The list follows the authorization matrix (tests/test_authz_matrix.py): each of its GET
entries that renders a page for someone, seen by the least user who gets that page, plus
the states a page can be in (failed, cancelled, truncated review; denied and missing
pages)."""

from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from reviewer.reports.sharing import enable_link
from reviewer.teams.models import Invite, Membership, Role, Team
from reviewer.teams.tokens import new_token
from tests.factories import make_pdf, make_zip

# Matrix entries that are not pages: streams, downloads, redirects, POST-only actions.
NOT_PAGES = {
    "review_events",
    "api_review_events",
    "review_export_markdown",
    "review_export_html",
    "review_export_sarif",
    "review_export_findings",
    "review_spec",  # the PDF itself, inline
    "project_history",
    "logout",
}


@dataclass
class Page:
    name: str  # matrix entry (or state) the page belongs to
    path: str
    who: str  # "anonymous" or a username
    status: int = 200


REPORT = (
    "## Conformance\n\nMostly follows the spec; see `app/api.py:2` for the order handler, "
    "which does not validate quantities.\n\n## Missing APIs\n\n- POST /orders/{id}/refund\n"
    "- GET /reports/monthly\n\n## Refactoring\n\n- Split `app/api.py` into routers.\n"
)


def build(users, project, make_review):
    """Rows for every page; returns the list of Page."""
    alice = users["alice"]
    zipped = make_zip()
    done = make_review(
        archive=ContentFile(zipped, name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
        archive_name="shop-backend-2026-11-28-release-candidate.zip",
        pack_summary={"included_paths": ["app/api.py"]},
        report=REPORT,
        prompt_tokens=123456,
        completion_tokens=789,
        cost_usd="1.234567",
        started_at=timezone.now() - timedelta(seconds=95),
        finished_at=timezone.now(),
    )
    make_review(model="gemini-2.5-pro", report="## Earlier\n", prompt_tokens=98765)
    failed = make_review(
        status="failed",
        report="",
        error="The model's server closed the connection before the answer was complete.",
        prompt_tokens=None,
        completion_tokens=None,
        cost_usd=None,
    )
    cancelled = make_review(
        status="cancelled",
        report="## Conformance\n\nStarted well",
        status_note="cancelled",
        cancel_requested=True,
    )
    draft = make_review(
        status="draft",
        archive=ContentFile(zipped, name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
        report="",
        prompt_tokens=None,
        completion_tokens=None,
        cost_usd=None,
    )
    # A review of a repository by URL, with a long URL and ref for the narrow layout.
    by_url = make_review(
        archive=ContentFile(zipped, name="shop.tar.gz"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
        archive_name="shop-backend-0123456789ab.tar.gz",
        repo_url="https://git.example.com/engineering/platform/shop-backend-service.git",
        repo_ref="release/2026-11-candidate",
        commit_sha="0123456789abcdef0123456789abcdef01234567",
        pack_summary={"included_paths": ["app/api.py"]},
        report=REPORT,
    )
    fetching = make_review(
        status="fetching",
        archive_name="shop-backend-service",
        repo_url="https://git.example.com/engineering/platform/shop-backend-service.git",
        report="",
        prompt_tokens=None,
        completion_tokens=None,
        cost_usd=None,
    )
    type(fetching).objects.filter(pk=fetching.pk).update(archive="")  # not fetched yet
    share = enable_link(done, alice, 30)
    team = project.team
    shared_team = Team.objects.create(name="Shared")
    for who, role in (("alice", "owner"), ("bob", "member"), ("victor", "viewer")):
        Membership.objects.create(team=shared_team, user=users[who], role=role)
    invite_token, token_hash = new_token()
    Invite.objects.create(
        team=team,
        role=Role.MEMBER,
        email="newcomer@example.com",
        token_hash=token_hash,
        expires_at=timezone.now() + timedelta(days=7),
        created_by=alice,
    )
    open_token, open_hash = new_token()
    Invite.objects.create(
        team=team,
        role=Role.VIEWER,
        token_hash=open_hash,
        expires_at=timezone.now() + timedelta(days=7),
        created_by=alice,
    )
    p, r = project.pk, done.pk
    return [
        Page("login", "/accounts/login/", "anonymous"),
        Page("signup", "/accounts/signup/", "anonymous"),
        Page("password_reset", "/accounts/password_reset/", "anonymous"),
        Page("password_reset_done", "/accounts/password_reset/done/", "anonymous"),
        Page("password_reset_confirm", "/accounts/reset/MQ/bad-token/", "anonymous"),
        Page("password_reset_complete", "/accounts/reset/done/", "anonymous"),
        Page("shared_review", f"/s/{share.token}", "anonymous"),
        Page("shared_review expired", "/s/no-such-link", "anonymous", 404),
        Page("invite_accept logged out", f"/invites/{invite_token}", "anonymous"),
        Page("invite_accept", f"/invites/{open_token}", "charlie"),
        Page("home", "/", "alice"),
        Page("project", f"/projects/{p}/", "alice"),
        Page("project as viewer", f"/projects/{p}/", "victor"),
        Page("review", f"/reviews/{r}/", "alice"),
        Page("review failed", f"/reviews/{failed.pk}/", "alice"),
        Page("review cancelled", f"/reviews/{cancelled.pk}/", "alice"),
        Page("review as viewer", f"/reviews/{r}/", "victor"),
        Page("review_source", f"/reviews/{r}/source/app/api.py", "alice"),
        Page("review_source missing", f"/reviews/{r}/source/app/nope.py", "alice", 404),
        Page("review_preview", f"/reviews/{draft.pk}/preview", "alice"),
        Page("review_preview sent", f"/reviews/{r}/preview", "alice"),
        Page("review_compare", f"/projects/{p}/compare?a={failed.pk}&b={r}", "alice"),
        Page("review_share", f"/reviews/{r}/share", "alice"),
        Page("review_share denied", f"/reviews/{r}/share", "victor", 404),
        Page("review_delete", f"/reviews/{r}/delete", "alice"),
        Page("project_delete", f"/projects/{p}/delete", "alice"),
        Page("provider_keys", f"/teams/{team.pk}/keys", "alice"),
        Page("git_token", f"/teams/{team.pk}/git-token", "alice"),
        Page("review by url", f"/reviews/{by_url.pk}/", "alice"),
        Page("review_preview fetching", f"/reviews/{fetching.pk}/preview", "alice"),
        Page("team_list", "/teams/", "alice"),
        Page("team", f"/teams/{team.pk}/", "alice"),
        Page("team shared", f"/teams/{shared_team.pk}/", "alice"),
        Page("team as viewer", f"/teams/{shared_team.pk}/", "victor"),
        Page("team_delete", f"/teams/{shared_team.pk}/delete", "alice"),
        Page("api_tokens", "/account/tokens/", "alice"),
        Page("notification_settings", "/account/notifications", "alice"),
        Page("project_webhook", f"/projects/{p}/webhook", "alice"),
        Page("webhook_deliveries", f"/projects/{p}/webhook/deliveries", "alice"),
        Page("password_change", "/accounts/password_change/", "alice"),
        Page("password_change_done", "/accounts/password_change/done/", "alice"),
        Page("missing", "/no/such/page", "alice", 404),
    ]
