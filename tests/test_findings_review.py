"""Findings of a stored review: citations checked against what was sent, the review page,
the spec at a page, the cited range in the source viewer, triage and tracking."""

import re

import pytest

from reviewer.findings import services
from reviewer.findings.models import Finding, ReviewFindings, Triage
from reviewer.findings.prompt import dismissed_note
from reviewer.findings.tracking import trend_svg
from tests.findings_support import finding, make_sent_review

pytestmark = pytest.mark.django_db

TABLE = (
    "| Requirement | Page | Verdict | Evidence |\n|---|---|---|---|\n"
    "| 2 Orders | 2 | partly met | `app/api.py:1-3` |\n"
    "| 3 Refunds | 3 | missing | — |\n"
    "| 9 Ghosts | 40 | met | `app/ghost.py:1` |\n\n"
)
REPORT = (
    "# Review report\n\n## 1. Conformance to the specification\n\n"
    + TABLE
    + finding(
        "Orders leak across users",
        kind="conformance",
        extra="verdict: contradicted\nrequirement: 2 Orders\npage: 2\nquote: expose GET /orders\n",
    )
    + finding("Invented helper is unsafe", locations="app/helpers.py:3")
    + finding("Off the end", severity="medium", locations="app/api.py:30")
    + finding("Beyond the spec", severity="low", extra="page: 9\n")
    + finding("Misquoted", severity="low", extra="page: 1\nquote: Refunds are accepted\n")
    + "```finding\nkind: risk\nseverity: whenever\n```\nBroken.\n"
)


@pytest.fixture
def review(make_review):
    review = make_sent_review(make_review, REPORT)
    services.record(review.pk, REPORT)
    return review


def by_title(review):
    return {f.title: f for f in review.findings.all()}


def test_every_citation_is_checked_against_the_files_and_the_pdf_sent(review):
    found = by_title(review)
    ok = found["Orders leak across users"]
    assert ok.locations[0]["ok"] and ok.spec_ok is True and ok.verdict == "contradicted"
    assert "GET /orders" in ok.spec_excerpt
    invented = found["Invented helper is unsafe"].locations[0]
    assert not invented["ok"] and invented["note"] == "not in the code that was sent"
    past = found["Off the end"].locations[0]
    assert not past["ok"] and past["note"] == "line 30 is past the end of the file (3 lines)"
    beyond = found["Beyond the spec"]
    assert (
        beyond.spec_ok is False
        and beyond.spec_note == "page 9 is beyond the specification's 3 pages"
    )
    misquoted = found["Misquoted"]
    assert misquoted.spec_ok is False
    assert misquoted.spec_note == "the quoted words are not on page 1 (they are on page 3)"
    info = review.findings_info
    assert (info.structured, info.unstructured) == (5, 1)
    # Findings: 5 locations (3 good) + 3 pages (1 good); the table: 2 locations (1 good)
    # + 3 pages (2 good).
    assert (info.citations_verified, info.citations) == (7, 13)
    assert [r["verdict"] for r in info.requirements] == ["partly met", "missing", "met"]
    assert info.requirements[2]["page_ok"] is False


def test_the_review_page_shows_findings_flags_and_the_count_of_unstructured(client, alice, review):
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "7 of 13 citations verified" in page
    assert "1 finding could not be structured" in page
    assert page.count("not in the code that was sent") == 2  # a finding and a table row
    assert "line 30 is past the end of the file (3 lines)" in page
    assert "page 9 is beyond the specification&#x27;s 3 pages" in page
    ok = Finding.objects.get(review=review, title="Orders leak across users")
    assert f'href="/reviews/{review.pk}/spec#page=2"' in page
    assert f'href="/reviews/{review.pk}/source/app/api.py?lines=3-3&amp;finding={ok.pk}#L3"' in page
    assert "Text of page 2" in page
    assert "33% partly met" in page


def test_hostile_text_in_findings_is_escaped(client, alice, make_review):
    report = finding(
        "<img src=x onerror=alert(1)> title",
        locations="app/api.py:1",
        prose="<script>alert('x')</script>\n\nSuggested change: <iframe src=//evil></iframe>",
        extra="requirement: <b>2</b>\nquote: </blockquote><script>q()</script>\n",
    )
    review = make_sent_review(make_review, report)
    services.record(review.pk, report)
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    section = page[page.index('id="findings"') :]
    assert "<script>" not in section and "<img src=x" not in section and "<iframe" not in section
    assert "&lt;img src=x onerror=alert(1)&gt; title" in section


def test_a_finished_review_without_findings_says_so(client, alice, make_review):
    review = make_sent_review(make_review, "# Review report\n\nAll good.\n")
    services.record(review.pk, review.report)
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "no findings in the documented form" in page


def test_the_spec_opens_inline_for_team_members_only(client, alice, charlie, review):
    client.force_login(alice)
    response = client.get(f"/reviews/{review.pk}/spec")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    client.force_login(charlie)
    assert client.get(f"/reviews/{review.pk}/spec").status_code == 404


def test_the_source_viewer_highlights_the_cited_range_and_links_back(client, alice, review):
    f = Finding.objects.get(review=review, title="Orders leak across users")
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/source/app/api.py?lines=2-3&finding={f.pk}").content
    page = page.decode()
    assert '<tr id="L1">' in page
    assert '<tr id="L2" class="cited">' in page and '<tr id="L3" class="cited">' in page
    assert f'href="/reviews/{review.pk}/#finding-{f.pk}"' in page
    plain = client.get(f"/reviews/{review.pk}/source/app/api.py").content.decode()
    assert "cited" not in plain and "back-to-finding" not in plain


# -- triage -----------------------------------------------------------------------------
def triage(client, finding_obj, state, reason=""):
    return client.post(f"/findings/{finding_obj.pk}/triage", {"state": state, "reason": reason})


def test_members_triage_and_a_dismissal_needs_a_reason(client, bob, review):
    f = Finding.objects.get(review=review, title="Off the end")
    client.force_login(bob)
    response = triage(client, f, "dismissed")
    assert response.status_code == 302 and not Triage.objects.exists()
    triage(client, f, "dismissed", "a test fixture")
    t = Triage.objects.get()
    assert (t.state, t.reason, t.updated_by) == ("dismissed", "a test fixture", bob)
    triage(client, f, "open")
    assert not Triage.objects.exists()


def test_viewers_cannot_triage(client, victor, review):
    f = Finding.objects.get(review=review, title="Off the end")
    client.force_login(victor)
    assert triage(client, f, "accepted").status_code == 404
    assert not Triage.objects.exists()


def test_triage_and_tracking_carry_over_to_the_next_review(client, bob, make_review, review):
    f = Finding.objects.get(review=review, title="Off the end")
    client.force_login(bob)
    triage(client, f, "dismissed", "generated code")
    # The next review raises "Off the end" again (reworded), drops two, adds one.
    report = (
        finding("Orders leak across users", kind="conformance", extra="requirement: 2 Orders\n")
        + finding("The end is off", severity="medium", locations="app/api.py:2")
        + finding("A brand new risk", locations="app/models.py:1")
    )
    later = make_sent_review(make_review, report)
    services.record(later.pk, report)
    found = {f.title: f for f in services.annotate(later.findings.all(), later)}
    assert found["The end is off"].state == "dismissed" and not found["The end is off"].is_open
    assert found["Orders leak across users"].change == "still open"
    assert found["A brand new risk"].change == "new"
    resolved = {f.title for f in services.resolved_since_previous(later)}
    assert resolved == {"Invented helper is unsafe", "Beyond the spec", "Misquoted"}
    assert later.findings_info.previous_id == review.pk

    page = client.get(f"/reviews/{later.pk}/").content.decode()
    assert "1 new, 3 resolved since" in page
    compare = client.get(f"/projects/{later.project_id}/compare?a={review.pk}&b={later.pk}")
    text = compare.content.decode()
    assert '<span id="compare-new">1 new</span>' in text
    assert '<span id="compare-resolved">3 resolved</span>' in text
    assert '<span id="compare-unchanged">2 unchanged</span>' in text
    assert 'id="report-diff"' in text  # the text diff is still there, below


def test_a_finding_marked_fixed_that_comes_back_is_open_again(client, bob, make_review, review):
    f = Finding.objects.get(review=review, title="Off the end")
    client.force_login(bob)
    triage(client, f, "fixed")
    assert services.annotate([f], review)[0].state == "fixed"
    later = make_sent_review(make_review, review.report)
    services.record(later.pk, review.report)
    again = later.findings.get(title="Off the end")
    (annotated,) = services.annotate([again], later)
    assert annotated.state == "open" and annotated.change == "reopened"


def test_dismissed_findings_are_listed_for_the_next_prompt(client, bob, review):
    f = Finding.objects.get(review=review, title="Invented helper is unsafe")
    client.force_login(bob)
    triage(client, f, "dismissed", "helpers are\nvendored")
    note = dismissed_note(review.project)
    assert note.startswith("\n## Findings the team has dismissed")
    assert (
        "- risk: Invented helper is unsafe (app/helpers.py) — dismissed: helpers are vendored"
        in note
    )


# -- project page -------------------------------------------------------------------------
def test_the_project_page_shows_open_findings_the_trend_and_accuracy_per_model(
    client, alice, review
):
    client.force_login(alice)
    page = client.get(f"/projects/{review.project_id}/").content.decode()
    section = page[page.index('id="project-findings"') :]
    assert f'href="/reviews/{review.pk}/#findings"' in section
    assert '<span class="sev sev-high">2 high</span>' in section
    assert "<svg" in section and "Findings by severity over the last 1 reviews" in section
    assert re.search(
        r"<td>gpt-4.1</td><td class=\"num\">7 of 13</td><td class=\"num\">54%</td>", section
    )
    history = page[page.index('id="review-history"') :]
    assert "7 of 13" in history


def test_the_trend_chart_escapes_and_scales(review, make_review):
    svg = str(trend_svg([review, review]))
    assert svg.count("<rect") == 6  # two bars of three severities each
    assert "<script" not in svg


def test_a_failure_to_read_findings_never_fails_and_keeps_nothing_half_written(review):
    services.store(None)
    prepared = services.prepare(review.pk, REPORT)
    prepared.findings[1].position = 1  # two rows at one position: the insert fails
    services.store(prepared)
    assert ReviewFindings.objects.filter(review=review).exists()  # the earlier rows stand
    assert review.findings.count() == 5
