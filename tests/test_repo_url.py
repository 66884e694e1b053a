"""Reviews of a repository by URL, in-process: the upload form's URL mode, the API and the
command line, the draft's fetch against a real Git server (git http-backend), the team's
Git token, and who may do what."""

import hashlib
import json
import logging

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models.functions import Now

from reviewer.api.models import ApiToken
from reviewer.intake.repository import FETCH_LOST, fetch_draft, reap_fetches
from reviewer.intake.services import clone_review
from reviewer.reviews.models import GitToken, Review, Status
from reviewer.teams.tokens import new_token
from tests.factories import make_pdf
from tests.fakes.git_server import GitServer

pytestmark = pytest.mark.django_db

TOKEN = "glpat-Secr3tT0kenNeverShown"  # noqa: S105 - the test's own token
FILES = {
    "README.md": "# Shop\n",
    "app/api.py": "def list_orders(user):\n    return []\n",
}


@pytest.fixture
def git(tmp_path, settings):
    settings.REPO_URL_ALLOW_PRIVATE = True
    server = GitServer(tmp_path / "git")
    server.shas = {"shop": server.commit("shop", FILES)}
    server.shas["secret"] = server.commit("secret", {"app/secret.py": "KEY = 1\n"})
    server.tokens["secret"] = TOKEN
    with server:
        yield server


@pytest.fixture
def sent(monkeypatch):
    """The task messages the app would send to the worker, instead of sending them."""
    messages = []
    monkeypatch.setattr(
        "reviewer.runs.tasks.run_review.delay", lambda i: messages.append(("run", i))
    )
    monkeypatch.setattr(
        "reviewer.runs.tasks.fetch_repository.delay", lambda i: messages.append(("fetch", i))
    )
    return messages


def _post(client, project, url, ref="", preview=True, **extra):
    data = {
        "source": "url",
        "repo_url": url,
        "ref": ref,
        "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
        **extra,
    }
    if preview:
        data["preview"] = "1"
    return client.post(f"/projects/{project.pk}/reviews", data)


def _api(client, user, project, **data):
    token, token_hash = new_token(ApiToken.PREFIX)
    ApiToken.objects.create(user=user, name="ci", token_hash=token_hash, hint=token[:8])
    if "spec" not in data:
        data["spec"] = SimpleUploadedFile("spec.pdf", make_pdf())
    return client.post(
        f"/api/projects/{project.pk}/reviews", data, HTTP_AUTHORIZATION=f"Bearer {token}"
    )


# -- the form ----------------------------------------------------------------------------
def test_a_url_draft_is_fetched_by_the_worker_then_previewed_with_its_commit(
    client, bob, project, git, sent, media_root, django_capture_on_commit_callbacks
):
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, project, git.url("shop"), ref="main")
    review = Review.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/reviews/{review.pk}/preview"
    assert (review.status, review.repo_url, review.repo_ref) == (
        "fetching",
        git.url("shop"),
        "main",
    )
    assert sent == [("fetch", review.pk)]

    page = client.get(f"/reviews/{review.pk}/preview").content.decode()
    assert "Fetching the repository" in page
    assert 'id="fetch-poll"' in page
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER": "fetch-poll"}
    waiting = client.get(f"/reviews/{review.pk}/preview", **poll)
    assert waiting.status_code == 200 and "HX-Refresh" not in waiting

    fetch_draft(review.pk)
    assert client.get(f"/reviews/{review.pk}/preview", **poll)["HX-Refresh"] == "true"
    review.refresh_from_db()
    assert review.status == Status.DRAFT
    assert review.commit_sha == git.shas["shop"]
    with default_storage.open(review.archive.name) as stored:
        content = stored.read()
    assert review.archive_sha256 == hashlib.sha256(content).hexdigest()
    assert review.archive_size == len(content)

    page = client.get(f"/reviews/{review.pk}/preview").content.decode()
    assert "app/api.py" in page
    assert git.shas["shop"][:12] in page
    assert "Start review" in page


def test_a_url_the_fetch_refuses_is_one_sentence_on_the_form_and_stores_nothing(
    client, bob, project, sent, settings
):
    settings.REPO_URL_ALLOW_PRIVATE = False
    client.force_login(bob)
    response = _post(client, project, "http://127.0.0.1:9/shop.git")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="errorlist"' in page
    assert Review.objects.count() == 0 and sent == []
    response = _post(client, project, "ftp://example.com/shop.git")
    assert response.status_code == 400
    assert Review.objects.count() == 0


def test_url_mode_without_a_url_asks_for_one(client, bob, project, sent):
    client.force_login(bob)
    response = _post(client, project, "")
    assert response.status_code == 400
    assert "Give the repository&#x27;s URL." in response.content.decode()
    assert Review.objects.count() == 0


def test_a_missing_ref_fails_the_draft_with_one_sentence_and_nothing_stuck(
    client, bob, project, git, sent, media_root
):
    client.force_login(bob)
    _post(client, project, git.url("shop"), ref="no-such-branch")
    review = Review.objects.get()
    fetch_draft(review.pk)
    review.refresh_from_db()
    assert review.status == Status.FAILED
    assert "no-such-branch" in review.error and review.error.count(".") == 1
    assert review.finished_at is not None and review.lease_expires_at is None
    assert not review.archive
    # The preview sends the visitor (and the waiting page's poller) to the review's page,
    # which says why.
    poll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER": "fetch-poll"}
    polled = client.get(f"/reviews/{review.pk}/preview", **poll)
    assert polled["HX-Redirect"] == f"/reviews/{review.pk}/"
    response = client.get(f"/reviews/{review.pk}/preview", follow=True)
    assert review.error in response.content.decode().replace("&#x27;", "'")


def test_a_repository_over_the_upload_limit_fails_with_one_sentence(
    client, bob, project, git, sent, media_root, settings
):
    settings.MAX_UPLOAD_BYTES = 10
    client.force_login(bob)
    _post(client, project, git.url("shop"))
    review = Review.objects.get()
    fetch_draft(review.pk)
    review.refresh_from_db()
    assert review.status == Status.FAILED
    assert review.error and "\n" not in review.error
    assert not review.archive


def test_a_url_review_started_at_once_is_queued_for_the_run_to_fetch(
    client, bob, project, git, sent, django_capture_on_commit_callbacks
):
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, project, git.url("shop"), preview=False)
    review = Review.objects.get()
    assert review.status == Status.QUEUED and not review.archive
    assert sent == [("run", review.pk)]


# -- the Git token -----------------------------------------------------------------------
def test_a_private_repository_is_fetched_with_the_team_token_never_shown_or_stored_plain(
    client, alice, bob, project, git, sent, media_root, caplog
):
    caplog.set_level(logging.DEBUG)
    client.force_login(bob)
    _post(client, project, git.url("secret"))
    without = Review.objects.get()
    fetch_draft(without.pk)
    without.refresh_from_db()
    assert without.status == Status.FAILED and without.error

    client.force_login(alice)
    response = client.post(f"/teams/{project.team.pk}/git-token", {"token": TOKEN})
    assert response.status_code == 302
    stored = GitToken.objects.get(team=project.team)
    assert TOKEN not in stored.encrypted_token and stored.get_token() == TOKEN

    client.force_login(bob)
    _post(client, project, git.url("secret"), ref="main")
    review = Review.objects.exclude(pk=without.pk).get()
    fetch_draft(review.pk)
    review.refresh_from_db()
    assert review.status == Status.DRAFT and review.commit_sha == git.shas["secret"]

    client.force_login(alice)
    pages = [
        f"/teams/{project.team.pk}/git-token",
        f"/reviews/{review.pk}/preview",
        f"/reviews/{without.pk}/",
        f"/projects/{project.pk}/",
    ]
    for path in pages:
        assert TOKEN not in client.get(path).content.decode(), path
    token_page = client.get(f"/teams/{project.team.pk}/git-token").content.decode()
    assert "A token is stored, added by alice" in token_page
    api = _api(client, alice, project, repo_url=git.url("secret"))
    assert api.status_code == 201
    detail = client.get(
        f"/api/reviews/{review.pk}", HTTP_AUTHORIZATION=api.request["HTTP_AUTHORIZATION"]
    )
    assert detail.status_code == 200, detail.content
    assert TOKEN not in api.content.decode() + detail.content.decode()
    for row in Review.objects.values():
        assert TOKEN not in json.dumps(row, default=str)
    assert TOKEN not in caplog.text


def test_the_git_token_is_replaced_and_deleted_by_admins_only(client, alice, bob, project):
    team = project.team
    client.force_login(bob)
    assert client.get(f"/teams/{team.pk}/git-token").status_code == 404
    assert client.post(f"/teams/{team.pk}/git-token", {"token": "x"}).status_code == 404
    assert not GitToken.objects.exists()
    client.force_login(alice)
    client.post(f"/teams/{team.pk}/git-token", {"token": "first"})
    client.post(f"/teams/{team.pk}/git-token", {"token": "second"})
    assert GitToken.objects.get().get_token() == "second"
    client.post(f"/teams/{team.pk}/git-token/delete")
    assert not GitToken.objects.exists()
    page = client.get(f"/teams/{team.pk}/git-token").content.decode()
    assert "No token is stored" in page


# -- who may ------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["charlie", "victor"])
def test_outsiders_and_viewers_cannot_create_url_reviews(client, request, project, git, sent, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert _post(client, project, git.url("shop")).status_code == 404
    assert _api(client, user, project, repo_url=git.url("shop")).status_code == 404
    assert Review.objects.count() == 0


# -- the API -----------------------------------------------------------------------------
def test_the_api_takes_a_repo_url_and_shows_it_with_the_ref_and_commit(
    client, bob, project, git, sent
):
    response = _api(client, bob, project, repo_url=git.url("shop"), ref="main")
    assert response.status_code == 201, response.content
    review = Review.objects.get()
    assert review.status == Status.QUEUED and review.repo_ref == "main"
    detail = client.get(
        response["Location"], HTTP_AUTHORIZATION=response.request["HTTP_AUTHORIZATION"]
    ).json()
    assert detail["repository"] == {"url": git.url("shop"), "ref": "main", "commit": None}


def test_the_api_refuses_both_or_neither_or_a_refused_url_with_one_sentence(
    client, bob, project, sent, settings
):
    both = _api(
        client,
        bob,
        project,
        repo_url="https://example.com/shop.git",
        archive=SimpleUploadedFile("shop.zip", b"PK"),
    )
    assert both.status_code == 400
    assert both.json() == {"error": "Give either an archive or a repository URL, not both."}
    neither = _api(client, bob, project)
    assert neither.status_code == 400 and set(neither.json()) == {"error"}
    settings.REPO_URL_ALLOW_PRIVATE = False
    private = _api(client, bob, project, repo_url="http://10.0.0.1/shop.git")
    assert private.status_code == 400 and set(private.json()) == {"error"}
    assert Review.objects.count() == 0


# -- re-running on the latest commit ---------------------------------------------------
def test_re_run_on_the_latest_commit_fetches_again_with_the_same_inputs(
    client, bob, project, git, make_review, sent
):
    done = make_review(
        repo_url=git.url("shop"),
        repo_ref="main",
        commit_sha=git.shas["shop"],
        pack_options={"model": "gpt-4.1", "ignore_patterns": ["docs/"], "include_patterns": []},
    )
    client.force_login(bob)
    page = client.get(f"/reviews/{done.pk}/").content.decode()
    assert "Re-run on the latest commit" in page
    response = client.post(f"/reviews/{done.pk}/refetch")
    rerun = Review.objects.exclude(pk=done.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/reviews/{rerun.pk}/"
    assert (rerun.repo_url, rerun.repo_ref, rerun.commit_sha) == (git.url("shop"), "main", "")
    assert not rerun.archive and rerun.status == Status.QUEUED
    assert rerun.pack_options["ignore_patterns"] == ["docs/"]
    assert rerun.spec.name == done.spec.name

    # Retry keeps the fetched archive and its commit.
    retry = clone_review(done, bob)
    assert retry.archive.name == done.archive.name and retry.commit_sha == done.commit_sha


def test_re_run_on_the_latest_commit_is_for_url_reviews_and_members(
    client, bob, victor, make_review, sent
):
    uploaded = make_review()
    client.force_login(bob)
    client.post(f"/reviews/{uploaded.pk}/refetch")
    assert Review.objects.count() == 1
    assert (
        "Re-run on the latest commit" not in client.get(f"/reviews/{uploaded.pk}/").content.decode()
    )
    by_url = make_review(repo_url="https://git.example.com/shop.git", commit_sha="a" * 40)
    client.force_login(victor)
    assert client.post(f"/reviews/{by_url.pk}/refetch").status_code == 404
    assert Review.objects.count() == 2


def test_history_and_exports_show_the_url_ref_and_short_commit(client, alice, make_review):
    review = make_review(
        repo_url="https://git.example.com/team/shop.git",
        repo_ref="v1.2",
        commit_sha="c0ffee" * 6 + "abcd",
    )
    client.force_login(alice)
    history = client.get(f"/projects/{review.project_id}/").content.decode()
    assert "https://git.example.com/team/shop.git" in history
    assert "c0ffeec0ffee" in history and "v1.2" in history
    markdown = client.get(f"/reviews/{review.pk}/export.md").content.decode()
    assert "Repository: https://git.example.com/team/shop.git (v1.2, commit `" in markdown
    assert '<a href="https://git.example.com' not in history


# -- the reaper ----------------------------------------------------------------------------
def test_the_reaper_resends_an_unclaimed_fetch_and_fails_a_lost_one(make_review):
    unclaimed = make_review(status="fetching", repo_url="https://g.example/a.git", attempts=0)
    lost = make_review(status="fetching", repo_url="https://g.example/b.git", attempts=1)
    Review.objects.update(lease_expires_at=Now())
    resent = []
    changed = reap_fetches(resent.append)
    assert resent == [unclaimed.pk] and set(changed) == {unclaimed.pk, lost.pk}
    lost.refresh_from_db()
    unclaimed.refresh_from_db()
    assert (lost.status, lost.error) == ("failed", FETCH_LOST)
    assert unclaimed.status == "fetching" and unclaimed.lease_expires_at is not None


# -- the command line --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["repo.zip", "--repo-url", "https://g.example/a.git"], "not both"),
        (["repo.zip", "--ref", "main"], "--ref goes with --repo-url"),
        (["--repo-url", "ftp://g.example/a.git"], None),
    ],
)
def test_the_cli_refuses_bad_url_arguments_with_exit_2_and_no_review(
    project, tmp_path, capsys, args, sentence, settings
):
    spec = tmp_path / "spec.pdf"
    spec.write_bytes(make_pdf())
    with pytest.raises(SystemExit) as exit_info:
        call_command("review", *args, "--spec", str(spec), "--project", project.name)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip()
    if sentence:
        assert sentence in err
    assert Review.objects.count() == 0


def test_the_cli_takes_repo_url_and_ref(project, tmp_path, git, sent, monkeypatch):
    spec = tmp_path / "spec.pdf"
    spec.write_bytes(make_pdf())
    monkeypatch.setattr(
        "reviewer.intake.management.commands.review.Command._finish", lambda self, r, o: None
    )
    call_command(
        "review",
        "--repo-url",
        git.url("shop"),
        "--ref",
        "main",
        "--spec",
        str(spec),
        "--project",
        project.name,
    )
    review = Review.objects.get()
    assert (review.repo_url, review.repo_ref, review.status) == (git.url("shop"), "main", "queued")
