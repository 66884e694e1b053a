"""Reviews of a repository by URL, on the app's side: the URL checked when it is typed,
the team's Git token, and the fetch on the worker into the review's archive, which
is then packed like an uploaded one. How a URL is judged safe and how Git is run are
`git_fetch`'s business.

A draft (preview first) is fetched by its own task: it is `fetching` until the archive
is stored, then a `draft`, or `failed` with the fetch's sentence. A review started at
once is fetched by its run, under `packing` ("fetching the repository"), so that the
run's lease, keeper and reaper cover the fetch as they cover packing."""

import hashlib
import logging
import re
import tempfile
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models.functions import Now

from reviewer.intake import git_fetch
from reviewer.reviews.models import GitToken, Review, Status
from reviewer.reviews.retention import team_storage

log = logging.getLogger(__name__)

FETCHING_NOTE = "fetching the repository"
FETCH_LOST = "The worker fetching this repository stopped; try again."


class RepositoryRefused(Exception):
    """A URL or fetch refused, with one plain sentence for the user."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def allow_private():
    return settings.REPO_URL_ALLOW_PRIVATE


def checked_url(url):
    """The URL as it may be shown and stored (no credentials), or RepositoryRefused
    with git_fetch's sentence (scheme, host, private address)."""
    url = (url or "").strip()
    try:
        normalised = git_fetch.check_url(url, allow_private())
    except git_fetch.FetchError as exc:
        raise RepositoryRefused(exc.message) from None
    # check_url refuses credentials in the URL: what is stored is what may be shown.
    return git_fetch.display_url(normalised)


def checked_ref(ref):
    ref = (ref or "").strip()
    if len(ref) > 255:
        raise RepositoryRefused("The branch, tag or commit is longer than 255 characters.")
    return ref


def repository_name(url):
    """The last part of the URL's path, for names shown in lists ("shop" for
    https://git.example.com/team/shop.git)."""
    last = url.rstrip("/").rsplit("/", 1)[-1]
    last = re.sub(r"\.git$", "", last)
    return re.sub(r"[^A-Za-z0-9._-]", "_", last)[:80] or "repository"


def team_token(team):
    stored = GitToken.objects.filter(team=team).first()
    return stored.get_token() if stored else None


def fetch_limits(team=None):
    """The upload limits, for archives the worker makes itself; no larger than what is
    left of the team's storage quota."""
    max_bytes = settings.MAX_UPLOAD_BYTES
    if team is not None:
        used, quota = team_storage(team)
        if quota:
            if used >= quota:
                raise RepositoryRefused(
                    f"Your team's storage quota of {settings.TEAM_STORAGE_QUOTA_MB} MB is "
                    "used up; delete old reviews first."
                )
            max_bytes = min(max_bytes, quota - used)
    limits = git_fetch.limits_from_settings(settings)
    return replace(limits, max_bytes=min(limits.max_bytes, max_bytes))


def _without_token(message, token):
    # git_fetch never puts the token in its sentences; this holds even if it did.
    return message.replace(token, "[token]") if token else message


def fetch_into(review):
    """Fetches the review's repository and stores the archive in storage. Returns the
    fields to write to the row (archive, its name, sha256, size, commit), or raises
    RepositoryRefused. The caller deletes `fields["archive"]` if it cannot write them."""
    limits = fetch_limits(review.project.team)
    token = team_token(review.project.team)
    work_dir = Path(settings.WORK_DIR)
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="fetch-") as work:
        try:
            fetched = git_fetch.fetch(
                review.repo_url, review.repo_ref or None, token, Path(work), limits
            )
        except git_fetch.FetchError as exc:
            raise RepositoryRefused(_without_token(exc.message, token)) from None
        fields = _store(review, Path(fetched.archive_path), fetched.commit_sha)
    # What the fetch left out (submodules, LFS objects), said on the review's page.
    fields["repo_note"] = " ".join(fetched.notes)[:300]
    return fields


def _store(review, archive_path, commit_sha):
    digest = hashlib.sha256()
    with archive_path.open("rb") as archive:
        for chunk in iter(lambda: archive.read(1024 * 1024), b""):
            digest.update(chunk)
        archive.seek(0)
        name = f"{repository_name(review.repo_url)}-{commit_sha[:12]}.tar.gz"
        # Through the field, so that any storage backend takes it.
        review.archive.save(name, File(archive, name=name), save=False)
    return {
        "archive": review.archive.name,
        "archive_name": name[:255],
        "archive_sha256": digest.hexdigest(),
        "archive_size": archive_path.stat().st_size,
        "commit_sha": commit_sha,
    }


# -- a draft's fetch (its own task) --------------------------------------------------------
def claim_fetch(review_id):
    """The fetch's token, once: a duplicate message finds the draft claimed already."""
    from reviewer.runs.lifecycle import seconds_from_now

    claimed = Review.objects.filter(pk=review_id, status=Status.FETCHING, attempts=0).update(
        attempts=1, lease_expires_at=seconds_from_now(settings.REPO_FETCH_TIMEOUT_SECONDS + 60)
    )
    return 1 if claimed else None


def fetch_draft(review_id):
    """Fetches a `fetching` draft: a draft to preview once stored, failed otherwise."""
    token = claim_fetch(review_id)
    if token is None:
        return
    review = Review.objects.select_related("project__team").filter(pk=review_id).first()
    if review is None:
        return  # deleted meanwhile
    mine = Review.objects.filter(pk=review_id, status=Status.FETCHING, attempts=token)
    try:
        fields = fetch_into(review)
    except RepositoryRefused as exc:
        log.info("review %s: fetch refused: %s", review_id, exc.message)
        mine.update(
            status=Status.FAILED,
            status_note=exc.message[:300],
            error=exc.message,
            lease_expires_at=None,
            finished_at=Now(),
        )
        return
    except Exception as exc:
        log.exception("review %s: fetch crashed", review_id)
        sentence = f"The repository could not be fetched ({type(exc).__name__})."
        mine.update(
            status=Status.FAILED,
            status_note=sentence,
            error=sentence,
            lease_expires_at=None,
            finished_at=Now(),
        )
        return
    if not mine.update(status=Status.DRAFT, lease_expires_at=None, **fields):
        # Failed by the reaper meanwhile: the archive belongs to no review.
        default_storage.delete(fields["archive"])


def reap_fetches(send):
    """Drafts whose fetch was never claimed (its message lost) are sent again; those
    whose fetch stopped renewing nothing past its deadline are failed. Returns their ids."""
    from reviewer.runs.lifecycle import queue_deadline

    changed = []
    stale = Review.objects.filter(status=Status.FETCHING, lease_expires_at__lt=Now())
    for review_id, attempts in stale.values_list("pk", "attempts"):
        review = Review.objects.filter(pk=review_id, status=Status.FETCHING, attempts=attempts)
        review = review.filter(lease_expires_at__lt=Now())
        if attempts == 0:
            if review.update(lease_expires_at=queue_deadline()):
                send(review_id)
                changed.append(review_id)
        elif review.update(
            status=Status.FAILED,
            status_note=FETCH_LOST,
            error=FETCH_LOST,
            lease_expires_at=None,
            finished_at=Now(),
        ):
            changed.append(review_id)
    return changed
