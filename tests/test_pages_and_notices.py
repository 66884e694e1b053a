"""The generic page layer: one format for numbers, costs and dates; error pages that say
what happened; a notice after every change; markup that assistive technology can use
(unique ids, a label for every control, help text that exists); clear review states; and
flows that offer only what can apply."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import timezone

from reviewer.api.models import ApiToken
from reviewer.reviews.models import ShareLink
from reviewer.teams.models import Membership, Role, Team
from tests import pages

pytestmark = pytest.mark.django_db


def render(source, **context):
    return Template("{% load format %}" + source).render(Context(context))


# -- formatting --------------------------------------------------------------------------
class Usage:
    prompt_tokens = 123456
    completion_tokens = 789


def test_one_filter_formats_counts_tokens_costs_durations_and_dates():
    when = datetime(2026, 11, 28, 9, 5, tzinfo=UTC)
    assert render("{{ n|fmt }}", n=1234567) == "1,234,567"
    assert render('{{ r|fmt:"tokens" }}', r=Usage()) == "123,456 + 789"
    assert render('{{ c|fmt:"usd" }}', c=Decimal("0.002400")) == "$0.0024"
    assert render('{{ c|fmt:"usd" }}', c=Decimal("1234.5")) == "$1,234.50"
    assert render('{{ s|fmt:"seconds" }}', s=timedelta(seconds=95)) == "1 min 35 s"
    assert render('{{ s|fmt:"seconds" }}', s=42) == "42 s"
    assert render('{{ d|fmt:"when" }}', d=when) == "2026-11-28 09:05"
    assert render("{{ n|fmt }}|{{ c|fmt:'usd' }}", n=None, c=None) == "—|—"


def test_history_shows_formatted_numbers_right_aligned(client, alice, make_review):
    make_review(prompt_tokens=123456, completion_tokens=789, cost_usd="1.234567")
    client.force_login(alice)
    page = client.get(f"/projects/{make_review().project_id}/").content.decode()
    assert '<td data-label="Tokens" class="num">123,456 + 789</td>' in page
    assert '<td data-label="Cost" class="num">$1.23</td>' in page


# -- error pages ---------------------------------------------------------------------------
def test_expired_share_link_gets_a_styled_page_with_a_specific_sentence(client, make_review):
    review = make_review()
    link = ShareLink.objects.create(
        review=review, token="t" * 43, expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(f"/s/{link.token}")
    assert response.status_code == 404
    body = response.content.decode()
    assert '<link rel="stylesheet"' in body
    assert "This share link has expired, was turned off or never existed." in body


def test_missing_citation_target_says_only_sent_files_open(client, alice, make_review):
    review = make_review(pack_summary={"included_paths": ["app/api.py"]})
    client.force_login(alice)
    response = client.get(f"/reviews/{review.pk}/source/app/secret.py")
    assert response.status_code == 404
    assert "only the files the model was sent can be opened" in response.content.decode()


def test_a_denied_page_reads_like_a_missing_one_and_says_whom_to_ask(
    client, victor, charlie, make_review
):
    review = make_review()
    client.force_login(victor)
    denied = client.get(f"/reviews/{review.pk}/share")
    client.force_login(charlie)
    other_team = client.get(f"/reviews/{review.pk}/")
    missing = client.get("/reviews/999999/")
    for response in (denied, other_team, missing):
        assert response.status_code == 404
        assert "ask an admin of the team" in response.content.decode()
    # Nothing tells another team's review from one that does not exist.
    unmasked = [
        re.sub(r'(X-CSRFToken": "|value=")[^"]+', "", r.content.decode())
        for r in (other_team, missing)
    ]
    assert unmasked[0] == unmasked[1]


def test_a_form_without_its_csrf_token_gets_the_styled_403(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/teams/new", {"name": "X"})
    assert response.status_code == 403
    assert "Reload the page and try again." in response.content.decode()


def test_server_error_page_renders_without_a_request():
    from django.template.loader import render_to_string

    assert "Something broke on our side" in render_to_string("500.html")


# -- notices -------------------------------------------------------------------------------
def test_saving_project_settings_shows_a_notice_after_the_heading_area(client, alice, project):
    client.force_login(alice)
    response = client.post(
        f"/projects/{project.pk}/settings", {"name": "Shop 2", "model": "gpt-4.1"}, follow=True
    )
    body = response.content.decode()
    assert '<div class="notices" role="status" aria-live="polite">' in body
    assert "Project settings saved." in body


def test_notices_come_after_the_breadcrumb(client, alice, make_review):
    review = make_review()
    client.force_login(alice)
    response = client.post(
        f"/reviews/{review.pk}/share", {"action": "enable", "expires_in_days": "7"}, follow=True
    )
    body = response.content.decode()
    assert body.index('class="crumbs"') < body.index('class="notices"') < body.index("<h1>")


# -- markup: ids, labels, descriptions -----------------------------------------------------
class Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.label_for, self.controls, self.described = [], set(), [], []
        self.open_labels = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        if a.get("aria-describedby"):
            self.described.extend(a["aria-describedby"].split())
        hidden = a.get("type") in ("hidden", "submit", "button")
        if tag in ("input", "select", "textarea") and not hidden:
            named = "aria-label" in a or "aria-labelledby" in a or self.open_labels
            self.controls.append((a.get("name"), a.get("id"), bool(named)))

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1


def _page_problems(html):
    parsed = Controls()
    parsed.feed(html)
    problems = []
    duplicates = {i for i in parsed.ids if parsed.ids.count(i) > 1}
    if duplicates:
        problems.append(f"duplicate ids {sorted(duplicates)}")
    missing = set(parsed.described) - set(parsed.ids)
    if missing:
        problems.append(f"aria-describedby names missing ids {sorted(missing)}")
    for name, id_, named in parsed.controls:
        if not named and id_ not in parsed.label_for:
            problems.append(f"control {name!r} has no label")
    return problems


def test_every_page_has_unique_ids_labelled_controls_and_existing_help(
    alice, bob, victor, charlie, project, make_review
):
    users = {"alice": alice, "bob": bob, "victor": victor, "charlie": charlie}
    failures = {}
    for spec in pages.build(users, project, make_review):
        client = Client()
        if spec.who != "anonymous":
            client.force_login(users[spec.who])
        response = client.get(spec.path)
        assert response.status_code == spec.status, spec
        problems = _page_problems(response.content.decode())
        if problems:
            failures[spec.name] = problems
    assert not failures, failures


def test_signup_help_texts_exist_for_the_fields_that_point_at_them(client):
    body = client.get("/accounts/signup/").content.decode()
    assert 'aria-describedby="id_password1_helptext"' in body
    assert 'id="id_password1_helptext"' in body
    assert _page_problems(body) == []


def test_base_layout_has_a_skip_link_and_a_focusable_main(client, alice):
    client.force_login(alice)
    body = client.get("/").content.decode()
    assert '<a class="skip-link" href="#main">Skip to content</a>' in body
    assert '<main id="main" tabindex="-1">' in body


# -- review states -------------------------------------------------------------------------
def test_a_cancelled_review_says_cancelled_once(client, alice, make_review):
    review = make_review(status="cancelled", status_note="cancelled")
    client.force_login(alice)
    body = client.get(f"/reviews/{review.pk}/").content.decode()
    assert '<span id="review-note"></span>' in body
    assert "Cancelling" not in body


def test_the_cancelling_notice_hides_with_the_cancel_button_when_the_review_ends():
    from django.template.loader import render_to_string

    assert "cancel-form" in render_to_string("reviews/_cancel_requested.html")


def test_a_failed_review_shows_its_error_once_and_offers_no_export_of_nothing(
    client, alice, make_review
):
    error = "The model's server closed the connection."
    review = make_review(status="failed", report="", error=error, status_note=error)
    client.force_login(alice)
    body = client.get(f"/reviews/{review.pk}/").content.decode()
    assert body.count(error.replace("'", "&#x27;")) == 1
    assert "export.md" not in body and f"/reviews/{review.pk}/share" not in body
    assert ">Retry</button>" in body


def test_one_name_per_action_retry_everywhere_for_the_same_inputs(client, alice, make_review):
    review = make_review()
    client.force_login(alice)
    for path in (f"/reviews/{review.pk}/", f"/projects/{review.project_id}/"):
        body = client.get(path).content.decode()
        assert ">Retry</button>" in body
        assert "Re-run" not in body


# -- flows ---------------------------------------------------------------------------------
def test_the_sole_owner_is_not_offered_to_leave_or_demote_themselves(client, alice, bob):
    team = Team.objects.create(name="Platform")
    mine = Membership.objects.create(team=team, user=alice, role=Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Role.MEMBER)
    client.force_login(alice)
    body = client.get(f"/teams/{team.pk}/").content.decode()
    assert f"/teams/{team.pk}/leave" not in body
    assert f"/members/{mine.pk}/role" not in body
    assert "You are the only owner" in body
    # With a second owner both come back.
    Membership.objects.filter(team=team, user=bob).update(role=Role.OWNER)
    body = client.get(f"/teams/{team.pk}/").content.decode()
    assert f"/teams/{team.pk}/leave" in body and f"/members/{mine.pk}/role" in body


def test_project_deletion_names_the_project_to_type(client, alice, team):
    from reviewer.reviews.models import Project

    project = Project.objects.create(team=team, name="Delete me", created_by=alice)
    client.force_login(alice)
    body = client.get(f"/projects/{project.pk}/delete").content.decode()
    assert "<h1>Delete the project “Delete me”?</h1>" in body
    assert '<strong class="confirm-name">Delete me</strong>' in body


def test_share_links_expire_in_30_days_unless_changed(client, alice, make_review):
    review = make_review()
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/share").content.decode()
    assert '<option value="30" selected>30 days</option>' in page
    client.post(f"/reviews/{review.pk}/share", {"action": "enable"})
    left = ShareLink.objects.get(review=review).expires_at - timezone.now()
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)
    client.post(f"/reviews/{review.pk}/share", {"action": "enable", "expires_in_days": ""})
    assert ShareLink.objects.get(review=review).expires_at is None


def test_a_new_token_is_shown_once_after_a_redirect(client, alice):
    client.force_login(alice)
    created = client.post("/account/tokens/new", {"name": "CI"})
    assert created.status_code == 302 and created["Location"] == "/account/tokens/"
    shown = client.get("/account/tokens/").content.decode()
    token = re.search(r'value="(rvw_[^"]+)"', shown).group(1)
    assert 'class="copy-row"' in shown and "Token “CI” created." in shown
    # A reload shows it no more and creates nothing.
    assert token not in client.get("/account/tokens/").content.decode()
    assert ApiToken.objects.filter(user=alice).count() == 1


def test_a_new_invite_link_is_shown_once_after_a_redirect(client, alice, team):
    client.force_login(alice)
    created = client.post(f"/teams/{team.pk}/invites", {"role": "viewer"})
    assert created.status_code == 302
    shown = client.get(created["Location"]).content.decode()
    link = re.search(r'value="(https?://[^"]+/invites/[^"]+)"', shown).group(1)
    assert "Invite created." in shown
    assert link not in client.get(created["Location"]).content.decode()


def test_another_admins_page_does_not_show_the_invite_link(client, alice, bob, team):
    Membership.objects.filter(team=team, user=bob).update(role=Role.ADMIN)
    client.force_login(alice)
    created = client.post(f"/teams/{team.pk}/invites", {"role": "viewer"})
    other = Client()
    other.force_login(bob)
    assert "/invites/" not in other.get(created["Location"]).content.decode().split("Invites")[0]


def test_make_run_says_what_it_does_and_the_readme_agrees_on_the_port():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    makefile = (root / "Makefile").read_text()
    assert "installing the Python packages" in makefile
    assert "applying database migrations" in makefile
    readme = (root / "README.md").read_text()
    ports = set(re.findall(r"(?:127\.0\.0\.1|localhost):(\d{4})\b", readme)) - {"5432"}
    assert ports == {"8000"}
    assert "PORT ?= 8000" in makefile
