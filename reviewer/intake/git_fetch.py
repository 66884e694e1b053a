"""Fetching a repository by URL into a .tar.gz, without letting the URL, the server or the
repository reach anything but one public https server and the work directory.

check_url refuses every transport but https (http too when private addresses are
allowed, for tests and closed networks), user names and passwords in the URL, and hosts
that resolve to private, loopback, link-local, multicast, reserved or unspecified
addresses. fetch resolves the host once more, checks it, and pins git's connection to
that address (http.curloptResolve), never follows redirects, sends the token only as an
HTTP header set through the environment, makes a depth-1 fetch of one ref into a bare
repository, and writes the commit's tree with `git archive` — so no file of the
repository is ever checked out, no hook or filter runs, and submodules and LFS objects
are never fetched. Time and bytes are watched while git runs. Plain Python, no Django.
"""

import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from reviewer import netcheck
from reviewer.intake import git_errors, git_urls
from reviewer.intake.git_process import Runner, Stopped, config_args, environment
from reviewer.intake.git_urls import FetchError, check_url, display_url
from reviewer.packing.archive import human
from reviewer.packing.models import PackOptions

# check_url, display_url and FetchError live with the other URL checks; callers take the
# whole interface from here.
__all__ = [
    "FetchError",
    "FetchLimits",
    "Fetched",
    "check_url",
    "display_url",
    "fetch",
    "limits_from_settings",
]

log = logging.getLogger(__name__)

ARCHIVE_NAME = "repository.tar.gz"
FETCHED_REF = "refs/reviewer/fetched"
FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
SHORT_SHA = re.compile(r"[0-9a-f]{7,39}")


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int  # bounds the download, the files of the commit together, and the archive
    max_members: int  # files (and symlinks) in the commit
    timeout_seconds: float  # the whole fetch, from the DNS lookup to the archive
    allow_private: bool  # private addresses and plain http (tests, closed networks)
    allow_submodules: bool = False  # False: refuse a repository with submodules
    allow_lfs: bool = False  # False: refuse a repository whose files are LFS pointers


@dataclass(frozen=True)
class Fetched:
    commit_sha: str
    archive_path: Path
    ref: str  # the branch or tag name, or the commit sha that was asked for
    notes: tuple[str, ...] = ()  # sentences for the user: what was left out and why


def limits_from_settings(settings) -> FetchLimits:
    """The server's limits for a fetch: those of an uploaded archive (its size and member
    count) and the fetch's own time limit. `settings` is django.conf.settings or alike."""
    return FetchLimits(
        max_bytes=settings.MAX_UPLOAD_BYTES,
        max_members=PackOptions().max_members,
        timeout_seconds=settings.REPO_FETCH_TIMEOUT_SECONDS,
        allow_private=settings.REPO_URL_ALLOW_PRIVATE,
        allow_submodules=settings.REPO_URL_ALLOW_SUBMODULES,
        allow_lfs=settings.REPO_URL_ALLOW_LFS,
    )


def fetch(url: str, ref: str | None, token: str | None, work_dir: Path, limits: FetchLimits):
    """Fetches `ref` (a branch, tag or full commit sha; the remote's HEAD when None) into
    work_dir/repository.tar.gz and returns Fetched. Raises FetchError; nothing but the
    archive is left under work_dir, and nothing at all after an error."""
    deadline = time.monotonic() + limits.timeout_seconds
    scheme, host, port, path = git_urls.parse(url, limits.allow_private)
    address = git_urls.checked_address(host, port, limits.allow_private, limits.timeout_seconds)
    clean_url = git_urls.join(scheme, host, port, path)
    ref = git_urls.check_ref(ref)
    git_urls.check_token(token)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    archive = work_dir / ARCHIVE_NAME
    scratch = Path(tempfile.mkdtemp(prefix="git-", dir=work_dir))
    pin = None if netcheck.ip_literal(host) else git_urls.pin(host, port, address)
    runner = Runner(
        environment(scratch, limits.allow_private, token),
        config_args(limits.allow_private, pin),
        deadline,
        scratch,
        limits.max_bytes,
        scratch,
    )
    log.info("fetching %s at %s", display_url(clean_url), ref or "HEAD")
    try:
        return _fetch(runner, clean_url, ref, token, scratch, archive, limits)
    except Stopped as exc:
        archive.unlink(missing_ok=True)
        if exc.reason == "time":
            raise FetchError(
                f"Fetching the repository took longer than {limits.timeout_seconds:g} seconds."
            )
        raise FetchError(f"The repository is larger than the {human(limits.max_bytes)} limit.")
    except BaseException:
        archive.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _fetch(runner, url, ref, token, scratch, archive, limits):
    repo = scratch / "repo.git"
    code, _, err = runner.run("init", "--bare", "--quiet", "--template=", str(repo))
    if code:
        raise FetchError("A repository could not be prepared in the work directory.")
    wanted, shown = _resolve_ref(runner, repo, url, ref, token)
    code, _, err = runner.run(
        "fetch",
        "--depth=1",
        "--no-tags",
        "--no-recurse-submodules",
        "--no-write-fetch-head",
        "--quiet",
        "--",
        url,
        f"+{wanted}:{FETCHED_REF}",
        cwd=repo,
    )
    if code:
        raise FetchError(git_errors.sentence(err, token, sha=wanted if wanted == ref else None))
    code, out, _ = runner.run(
        "rev-parse", "--verify", "--quiet", f"{FETCHED_REF}^{{commit}}", cwd=repo
    )
    if code:
        raise FetchError(f"'{shown}' does not name a commit.")
    sha = out.decode().strip()
    notes = _check_tree(runner, repo, sha, limits)
    # Attributes of the repository may not hide files from the archive or rewrite them.
    (repo / "info").mkdir(exist_ok=True)
    (repo / "info" / "attributes").write_text("* -export-ignore -export-subst\n")
    partial = scratch / ARCHIVE_NAME
    code, _, err = runner.run("archive", "--format=tar.gz", "-o", str(partial), sha, cwd=repo)
    if code:
        raise FetchError(git_errors.sentence(err, token))
    if partial.stat().st_size > limits.max_bytes:
        raise FetchError(f"The repository is larger than the {human(limits.max_bytes)} limit.")
    partial.replace(archive)
    log.info("fetched %s at %s: commit %s", display_url(url), shown, sha)
    return Fetched(commit_sha=sha, archive_path=archive, ref=shown, notes=tuple(notes))


def _resolve_ref(runner, repo, url, ref, token):
    """(what to fetch, the name to show): a full ref name, or a sha given as the ref."""
    if ref is None:
        code, out, err = runner.run("ls-remote", "--symref", "--", url, "HEAD", cwd=repo)
        if code:
            raise FetchError(git_errors.sentence(err, token))
        target = None
        for line in out.decode("utf-8", "replace").splitlines():
            if line.startswith("ref: ") and line.endswith("\tHEAD"):
                target = line[5:-5]
        if not target:
            raise FetchError("The repository has no default branch (it may be empty).")
        return target, target.removeprefix("refs/heads/")
    names = [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    code, out, err = runner.run("ls-remote", "--", url, *names, cwd=repo)
    if code:
        raise FetchError(git_errors.sentence(err, token))
    found = {
        line.split("\t", 1)[1]
        for line in out.decode("utf-8", "replace").splitlines()
        if "\t" in line
    }
    for name in names:
        if name in found:
            return name, ref
    if FULL_SHA.fullmatch(ref):
        return ref, ref
    if SHORT_SHA.fullmatch(ref):
        raise FetchError(
            f"The branch or tag '{ref}' does not exist in the repository; "
            "a commit needs its full 40-character sha."
        )
    raise FetchError(f"The branch or tag '{ref}' does not exist in the repository.")


def _check_tree(runner, repo, sha, limits):
    """Counts the commit's files and their bytes before anything is written from them;
    returns the notes for the user."""
    code, out, _ = runner.run("ls-tree", "-r", "-l", "-z", "--full-tree", sha, cwd=repo)
    if code:
        raise FetchError("The commit's files could not be listed.")
    members = total = 0
    gitlinks, lfs = [], False
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, _object, size = meta.split()
        path = name.decode("utf-8", "replace")
        if kind == b"commit":
            gitlinks.append(path)
            continue
        members += 1
        total += int(size) if size.isdigit() else 0
        if path == ".gitattributes" or path.endswith("/.gitattributes"):
            lfs = lfs or _mentions_lfs(runner, repo, sha, path)
    if members > limits.max_members:
        raise FetchError(f"The repository has more than {limits.max_members:,} files.")
    if total > limits.max_bytes:
        raise FetchError(
            f"The repository's files add up to more than the {human(limits.max_bytes)} limit."
        )
    notes = []
    if gitlinks:
        shown = ", ".join(sorted(gitlinks)[:3]) + (" and others" if len(gitlinks) > 3 else "")
        if not limits.allow_submodules:
            raise FetchError(
                f"The repository uses Git submodules ({shown}), which are not fetched."
            )
        notes.append(f"Git submodules are not fetched; {shown} is left empty.")
    if lfs:
        if not limits.allow_lfs:
            raise FetchError("The repository stores files in Git LFS, which is not fetched.")
        notes.append("Files stored in Git LFS are reviewed as their pointer files.")
    return notes


def _mentions_lfs(runner, repo, sha, path):
    code, out, _ = runner.run("cat-file", "blob", f"{sha}:{path}", cwd=repo)
    return code == 0 and b"filter=lfs" in out
