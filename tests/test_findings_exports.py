"""Findings in SARIF 2.1.0 (valid against the OASIS schema), JSON, Markdown and HTML, over
the API with triage, and the CI gate."""

import json
from pathlib import Path

import jsonschema
import pytest

from reviewer.api.models import ApiToken
from reviewer.findings import services
from reviewer.findings.exports import sarif
from reviewer.findings.gate import failing_findings
from reviewer.findings.models import Finding, Triage
from reviewer.teams.tokens import new_token
from tests.findings_support import finding, make_sent_review

pytestmark = pytest.mark.django_db

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text())
REPORT = (
    finding(
        "Orders leak",
        kind="conformance",
        severity="critical",
        locations="app/api.py:1-3, app/nope.py:4",
        extra="verdict: contradicted\nrequirement: 2 Orders\npage: 2\n",
    )
    + finding("Past the end", severity="medium", locations="app/api.py:99")
    + finding("Missing refunds", kind="missing", severity="low", locations="", extra="page: 7\n")
)


@pytest.fixture
def review(make_review):
    review = make_sent_review(make_review, REPORT)
    services.record(review.pk, REPORT)
    return review


def validate(doc):
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(doc)


def test_sarif_is_valid_and_carries_only_verified_locations(review):
    doc = sarif(review)
    validate(doc)
    run = doc["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "reviewer/conformance",
        "reviewer/missing",
        "reviewer/refactor",
        "reviewer/risk",
    ]
    first, medium, low = run["results"]
    assert (first["ruleId"], first["level"]) == ("reviewer/conformance", "error")
    assert first["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "app/api.py"},
                "region": {"startLine": 1, "endLine": 3},
            }
        }
    ]
    assert "app/nope.py:4 (not in the code that was sent)" in first["message"]["text"]
    assert first["properties"]["unverifiedLocations"] == [
        {"location": "app/nope.py:4", "reason": "not in the code that was sent"}
    ]
    fingerprint = Finding.objects.get(review=review, title="Orders leak").fingerprint
    assert first["partialFingerprints"] == {"reviewerFinding/v1": fingerprint}
    assert medium["level"] == "warning" and medium["locations"] == []
    assert low["level"] == "note" and low["properties"]["specVerified"] is False


def test_sarif_of_hostile_paths_and_text_stays_valid(make_review):
    report = finding(
        'Quote " and \\ and <b>',
        locations="app/we ird.py:1, app/api.py:2",
        prose="\x00 nul and \u2028 separators",
    )
    files = {"app/we ird.py": "x = 1\n", "app/api.py": "a\nb\n"}
    review = make_sent_review(make_review, "", files=files)
    services.record(review.pk, report)
    assert "\x00" not in review.findings.get().explanation
    doc = sarif(review)
    validate(json.loads(json.dumps(doc)))
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for loc in doc["runs"][0]["results"][0]["locations"]
    ]
    assert uris == ["app/api.py"]  # "app/we" is not a file that was sent


def test_dismissed_findings_are_suppressed_in_sarif_and_do_not_fail_the_gate(review, bob):
    f = Finding.objects.get(review=review, title="Orders leak")
    Triage.objects.create(
        project=review.project,
        fingerprint=f.fingerprint,
        state="dismissed",
        reason="accepted risk",
        review=review,
    )
    doc = sarif(review)
    validate(doc)
    result = doc["runs"][0]["results"][0]
    assert result["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "accepted risk"}
    ]
    assert [x.title for x in failing_findings(review, "medium")] == ["Past the end"]
    assert failing_findings(review, "critical") == []


def test_the_gate_counts_open_findings_at_or_above_a_severity(review):
    assert [f.title for f in failing_findings(review, "critical")] == ["Orders leak"]
    assert len(failing_findings(review, "low")) == 3


def test_downloads_sarif_json_markdown_and_html_with_the_findings_table(client, victor, review):
    client.force_login(victor)
    response = client.get(f"/reviews/{review.pk}/export.sarif")
    assert response["Content-Type"] == "application/sarif+json"
    assert response["Content-Disposition"] == f'attachment; filename="review-{review.pk}.sarif"'
    validate(json.loads(response.content))
    data = json.loads(client.get(f"/reviews/{review.pk}/findings.json").content)
    assert data["citations"] == 5 and data["citations_verified"] == 2
    markdown = client.get(f"/reviews/{review.pk}/export.md").content.decode()
    assert "| F1 | critical | conformance | Orders leak | 2 Orders (contradicted) |" in markdown
    assert "app/nope.py:4 (not in the code that was sent)" in markdown
    assert "spec p. 7 (page 7 is beyond the specification's 3 pages)" in markdown
    html = client.get(f"/reviews/{review.pk}/export.html").content.decode()
    assert "<table>" in html and "not in the code that was sent" in html


def api_client(client, user):
    raw, hashed = new_token(ApiToken.PREFIX)
    ApiToken.objects.create(user=user, name="ci", token_hash=hashed, hint=raw[:8])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_the_api_lists_findings_with_verification_and_triage(client, victor, review):
    headers = api_client(client, victor)
    data = client.get(f"/api/reviews/{review.pk}/findings", **headers).json()
    assert (data["structured"], data["unstructured"]) == (3, 0)
    first = data["findings"][0]
    assert first["title"] == "Orders leak" and first["state"] == "open" and first["open"]
    assert [(loc["path"], loc["verified"], loc["note"]) for loc in first["locations"]] == [
        ("app/api.py", True, None),
        ("app/nope.py", False, "not in the code that was sent"),
    ]
    assert (first["spec"]["page"], first["spec"]["verified"]) == (2, True)
    assert first["spec"]["url"].endswith(f"/reviews/{review.pk}/spec#page=2")
    detail = client.get(f"/api/reviews/{review.pk}", **headers).json()
    assert detail["findings_url"].endswith(f"/api/reviews/{review.pk}/findings")


def test_triage_by_api_needs_a_member_and_a_reason_to_dismiss(client, bob, victor, review):
    f = Finding.objects.get(review=review, title="Past the end")
    url = f"/api/findings/{f.pk}/triage"
    viewer = api_client(client, victor)
    assert client.post(url, {"state": "fixed"}, **viewer).status_code == 404
    member = api_client(client, bob)
    refused = client.post(
        url, json.dumps({"state": "dismissed"}), content_type="application/json", **member
    )
    assert refused.status_code == 400
    assert refused.json() == {"error": "Say why the finding is dismissed."}
    done = client.post(
        url,
        json.dumps({"state": "dismissed", "reason": "false positive"}),
        content_type="application/json",
        **member,
    )
    assert done.status_code == 200
    assert done.json()["triage"]["state"] == "dismissed" and done.json()["open"] is False
    bad = client.post(url, "[1]", content_type="application/json", **member)
    assert bad.status_code == 400
