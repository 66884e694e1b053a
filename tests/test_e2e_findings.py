"""Findings end to end: the real worker parses the fake model's answer, checks every
citation against what it sent, and the page, the API, SARIF and the CLI gate agree;
triage survives a re-run, whose prompt lists the dismissed findings, and compare shows
what is new and what was resolved."""

import json
import re
from pathlib import Path

import jsonschema
import pytest

from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import answer
from tests.sse_client import read_events
from tests.test_e2e_review import create_project, review_id_of, upload

pytestmark = pytest.mark.e2e

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text())
SPEC = make_pdf(("1 Orders. The service SHALL expose GET /orders.", "2 Paging. Pages of 50."))


def block(title, body):
    return (
        f"### {title}\n```finding\n{body}```\nExplanation of {title}.\n\nSuggested change: fix.\n\n"
    )


GOOD = block(
    "Orders are listed without paging",
    "kind: conformance\nseverity: high\nverdict: partly met\nrequirement: 1 Orders\npage: 1\n"
    "quote: expose GET /orders\nlocations: shop/app/api.py:1-3\n",
)
INVENTED = block(
    "Helper module is unsafe", "kind: risk\nseverity: critical\nlocations: app/helpers.py:10\n"
)
PAST_END = block(
    "Order model has a stale field", "kind: refactor\nseverity: low\nlocations: app/models.py:40\n"
)
BEYOND = block(
    "Paging rules ignored", "kind: missing\nseverity: medium\nrequirement: 9 Paging\npage: 9\n"
)
NEW = block(
    "ORDERS is shared mutable state", "kind: risk\nseverity: medium\nlocations: app/models.py:1\n"
)
TABLE = (
    "| Requirement | Page | Verdict | Evidence |\n|---|---|---|---|\n"
    "| 1 Orders | 1 | partly met | `shop/app/api.py:1-3` |\n\n"
)
FIRST = "# Review report\n\n## 1. Conformance to the specification\n\n" + TABLE + GOOD + INVENTED
FIRST += PAST_END + BEYOND + "```finding\nkind: risk\n"  # ends inside a block
SECOND = "# Review report\n\n" + GOOD + INVENTED + NEW


def finished(client, review_id):
    statuses = [
        m.data for m in read_events(client, f"/reviews/{review_id}/events") if m.event == "status"
    ]
    assert statuses[-1] == "done", statuses


def csrf(client, path):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(path).text).group(1)


def api_token(client):
    token = csrf(client, "/account/tokens/")
    page = client.post("/account/tokens/new", data={"name": "ci", "csrfmiddlewaretoken": token})
    return re.search(r'value="(rvw_[^"]+)"', page.text).group(1)


def test_citations_are_verified_or_flagged_on_the_page_the_api_and_sarif(stack, llm):
    llm.script(answer(FIRST, chunk_size=40))
    client = stack.client("alice")
    project_id = create_project(client, "Findings shop")
    review_id = review_id_of(upload(client, project_id, spec=SPEC))
    finished(client, review_id)

    page = client.get(f"/reviews/{review_id}/").text
    # Findings: 2 of 5 (GOOD's line and page); the table: 2 of 2.
    assert "4 of 7 citations verified" in page
    assert "1 finding could not be structured" in page
    assert "not in the code that was sent" in page
    assert "line 40 is past the end of the file (5 lines)" in page
    assert "page 9 is beyond the specification&#x27;s 2 pages" in page
    assert f'href="/reviews/{review_id}/spec#page=1"' in page
    assert client.get(f"/reviews/{review_id}/spec").headers["content-type"] == "application/pdf"

    token = api_token(client)
    api = client.get(
        f"/api/reviews/{review_id}/findings", headers={"Authorization": f"Bearer {token}"}
    ).json()
    flags = {
        f["title"]: [(loc["verified"], loc["note"]) for loc in f["locations"]]
        for f in api["findings"]
    }
    assert flags["Helper module is unsafe"] == [(False, "not in the code that was sent")]
    assert flags["Order model has a stale field"] == [
        (False, "line 40 is past the end of the file (5 lines)")
    ]
    assert flags["Orders are listed without paging"] == [(True, None)]
    beyond = next(f for f in api["findings"] if f["title"] == "Paging rules ignored")
    assert beyond["spec"]["verified"] is False

    doc = client.get(f"/reviews/{review_id}/export.sarif").json()
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(doc)
    located = {
        r["message"]["text"].split("\n")[0]: [
            loc["physicalLocation"]["artifactLocation"]["uri"] for loc in r["locations"]
        ]
        for r in doc["runs"][0]["results"]
    }
    assert located["Orders are listed without paging"] == ["app/api.py"]
    assert located["Helper module is unsafe"] == []


def test_triage_survives_a_re_run_and_compare_shows_new_and_resolved(stack, llm):
    llm.script(answer(FIRST, chunk_size=40), answer(SECOND, chunk_size=40))
    client = stack.client("alice")
    project_id = create_project(client, "Triage shop")
    first = review_id_of(upload(client, project_id, spec=SPEC))
    finished(client, first)
    data = client.get(f"/reviews/{first}/findings.json").json()
    helper = next(f for f in data["findings"] if f["title"] == "Helper module is unsafe")
    response = client.post(
        f"/findings/{helper['id']}/triage",
        data={
            "state": "dismissed",
            "reason": "vendored code",
            "csrfmiddlewaretoken": csrf(client, f"/reviews/{first}/"),
        },
    )
    assert response.status_code == 200 and "vendored code" in response.text

    rerun = client.post(
        f"/reviews/{first}/retry", data={"csrfmiddlewaretoken": csrf(client, f"/reviews/{first}/")}
    )
    second = review_id_of(rerun)
    finished(client, second)
    prompt = json.dumps(llm.requests[-1]["body"])
    dismissed = prompt.index("## Findings the team has dismissed")
    assert dismissed > prompt.index("## Redactions")  # after the repository, at the end
    assert "Helper module is unsafe" in prompt[dismissed:]

    data = client.get(f"/reviews/{second}/findings.json").json()
    states = {f["title"]: (f["state"], f["change"]) for f in data["findings"]}
    assert states == {
        "Orders are listed without paging": ("open", "still open"),
        "Helper module is unsafe": ("dismissed", "still open"),
        "ORDERS is shared mutable state": ("open", "new"),
    }
    assert {f["title"] for f in data["resolved"]} == {
        "Order model has a stale field",
        "Paging rules ignored",
    }
    page = client.get(f"/reviews/{second}/").text
    assert f'1 new, 2 resolved since <a href="/reviews/{first}/">review {first}</a>' in page
    compare = client.get(f"/projects/{project_id}/compare?a={first}&b={second}").text
    assert '<span id="compare-new">1 new</span>' in compare
    assert '<span id="compare-resolved">2 resolved</span>' in compare
    project = client.get(f"/projects/{project_id}/").text
    assert "Findings by severity over the last 2 reviews" in project


def test_the_review_command_writes_sarif_and_fails_on_an_open_finding(stack, llm, tmp_path):
    archive, spec, out = tmp_path / "shop.zip", tmp_path / "spec.pdf", tmp_path / "out.sarif"
    archive.write_bytes(make_zip())
    spec.write_bytes(SPEC)
    client = stack.client()
    create_project(client, "CLI gate")
    low_only = "# Review report\n\n" + PAST_END
    llm.script(answer(FIRST, chunk_size=60), answer(low_only, chunk_size=60))
    args = ["review", str(archive), "--spec", str(spec), "--project", "CLI gate", "--json"]
    gated = stack.manage(*args, "--sarif", str(out), "--fail-on", "high", check=False)
    assert gated.returncode == 3, gated.stderr
    assert "2 open findings at or above high" in gated.stderr
    doc = json.loads(out.read_text())
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(doc)
    assert len(doc["runs"][0]["results"]) == 4
    summary = json.loads(gated.stdout.strip().splitlines()[-1])["findings"]
    assert summary == {
        "structured": 4,
        "unstructured": 1,
        "open": 4,
        "citations": 7,
        "citations_verified": 4,
    }
    passing = stack.manage(*args, "--fail-on", "high", check=False)
    assert passing.returncode == 0, passing.stderr
