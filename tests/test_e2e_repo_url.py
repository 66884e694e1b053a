"""Repositories by URL end to end, on both profiles: the worker fetches from a real Git
server (git http-backend on 127.0.0.1), the preview shows what the commit holds, the
review runs and records the commit; a private repository with the team's token; a
missing branch and a fetch over its limit end in one sentence; re-running on the latest
commit records the new one."""

import re

import pytest

from tests.factories import make_pdf
from tests.fakes.git_server import GitServer
from tests.test_e2e_review import create_project, wait_until

pytestmark = pytest.mark.e2e

TOKEN = "glpat-E2eTokenNeverShown0000"  # noqa: S105 - the test server's own token
FILES = {
    "README.md": "# Shop\n",
    "app/api.py": "def list_orders(user):\n    return []\n",
}


@pytest.fixture(scope="module")
def git(tmp_path_factory):
    server = GitServer(tmp_path_factory.mktemp("git"))
    server.shas = {
        "shop": server.commit("shop", FILES),
        "secret": server.commit("secret", {"app/secret.py": "def rotate():\n    pass\n"}),
    }
    server.tokens["secret"] = TOKEN
    server.stalls.add("stalled")
    server.commit("stalled", FILES)
    with server:
        yield server


def _csrf(page):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def submit(client, project_id, url, ref="", preview=True):
    page = client.get(f"/projects/{project_id}/")
    data = {"csrfmiddlewaretoken": _csrf(page), "source": "url", "repo_url": url, "ref": ref}
    if preview:
        data["preview"] = "1"
    response = client.post(
        f"/projects/{project_id}/reviews",
        data=data,
        files={"spec": ("spec.pdf", make_pdf(), "application/pdf")},
    )
    match = re.search(r"/reviews/(\d+)/", str(response.url))
    assert match, f"not on a review's page: {response.url} {response.status_code}"
    return int(match.group(1)), response


def wait_for_status(stack, review_id, *statuses, timeout=120):
    wait_until(lambda: stack.review_field(review_id, "status") in statuses, timeout, 0.5)
    return stack.review_field(review_id, "status")


def test_a_public_repository_by_branch_is_fetched_previewed_reviewed_and_re_run(stack, llm, git):
    client = stack.client("alice")
    project_id = create_project(client, "By URL")
    review_id, response = submit(client, project_id, git.url("shop"), ref="main")
    assert str(response.url).endswith(f"/reviews/{review_id}/preview")

    wait_until(lambda: "Start review" in client.get(f"/reviews/{review_id}/preview").text, 120, 0.5)
    preview = client.get(f"/reviews/{review_id}/preview")
    assert "app/api.py" in preview.text
    sha = git.shas["shop"]
    assert sha[:12] in preview.text and git.url("shop") in preview.text

    started = client.post(
        f"/reviews/{review_id}/start", data={"csrfmiddlewaretoken": _csrf(preview)}
    )
    assert started.status_code == 200 and str(started.url).endswith(f"/reviews/{review_id}/")
    assert wait_for_status(stack, review_id, "done", "failed") == "done"
    assert stack.review_field(review_id, "commit_sha") == sha
    page = client.get(f"/reviews/{review_id}/")
    assert stack.review_field(review_id, "report") and "Re-run on the latest commit" in page.text
    history = client.get(f"/projects/{project_id}/")
    assert sha[:12] in history.text and git.url("shop") in history.text

    # A new commit on the branch, then "Re-run on the latest commit".
    newer = git.commit("shop", {"app/refunds.py": "def refund(order):\n    return order\n"})
    rerun = client.post(f"/reviews/{review_id}/refetch", data={"csrfmiddlewaretoken": _csrf(page)})
    rerun_id = int(re.search(r"/reviews/(\d+)/", str(rerun.url)).group(1))
    assert rerun_id != review_id
    assert wait_for_status(stack, rerun_id, "done", "failed") == "done"
    assert stack.review_field(rerun_id, "commit_sha") == newer
    assert stack.review_field(rerun_id, "repo_ref") == "main"
    history = client.get(f"/projects/{project_id}/")
    assert newer[:12] in history.text and sha[:12] in history.text


def test_a_private_repository_is_reviewed_with_the_team_token(stack, llm, git):
    client = stack.client("bob")
    project_id = create_project(client, "Private by URL")
    project_page = client.get(f"/projects/{project_id}/")
    team_id = re.search(r'href="/teams/(\d+)/"', project_page.text).group(1)

    refused_id, _ = submit(client, project_id, git.url("secret"), preview=False)
    assert wait_for_status(stack, refused_id, "done", "failed") == "failed"
    assert stack.review_field(refused_id, "error")

    token_page = client.get(f"/teams/{team_id}/git-token")
    saved = client.post(
        f"/teams/{team_id}/git-token",
        data={"csrfmiddlewaretoken": _csrf(token_page), "token": TOKEN},
    )
    assert "A token is stored, added by bob" in saved.text and TOKEN not in saved.text

    review_id, _ = submit(client, project_id, git.url("secret"), preview=False)
    assert wait_for_status(stack, review_id, "done", "failed") == "done"
    assert stack.review_field(review_id, "commit_sha") == git.shas["secret"]
    for path in (
        f"/reviews/{review_id}/",
        f"/projects/{project_id}/",
        f"/teams/{team_id}/git-token",
    ):
        assert TOKEN not in client.get(path).text
    logs = "".join(p.read_text(errors="replace") for p in stack.logs.glob("*"))
    assert TOKEN not in logs


def test_a_missing_branch_fails_the_draft_with_one_sentence(stack, llm, git):
    client = stack.client("alice")
    project_id = create_project(client, "Missing branch")
    review_id, _ = submit(client, project_id, git.url("shop"), ref="no-such-branch")
    assert wait_for_status(stack, review_id, "draft", "failed") == "failed"
    error = stack.review_field(review_id, "error")
    assert "no-such-branch" in error and "\n" not in error
    page = client.get(f"/reviews/{review_id}/preview")
    assert str(page.url).endswith(f"/reviews/{review_id}/")
    assert "no-such-branch" in page.text


def test_a_fetch_over_its_time_limit_fails_with_one_sentence_and_nothing_stuck(stack, llm, git):
    client = stack.client("alice")
    project_id = create_project(client, "Stalled")
    review_id, _ = submit(client, project_id, git.url("stalled"), preview=False)
    assert wait_for_status(stack, review_id, "done", "failed", timeout=90) == "failed"
    error = stack.review_field(review_id, "error")
    assert error and "\n" not in error
    assert stack.review_field(review_id, "lease_expires_at") is None
