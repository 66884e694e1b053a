"""Every way to create or start a review goes through here, so that each started review
carries the snapshot of what it packs with (`Review.pack_options`)."""

import asyncio
import hashlib
from pathlib import Path

from asgiref.sync import sync_to_async
from django.db import transaction

from reviewer.intake.forms import UploadForm
from reviewer.packing import PackingError, check_archive, check_pdf
from reviewer.reviews.access import get_project_for_user
from reviewer.reviews.models import Review, Status
from reviewer.reviews.retention import live_drafts, quota_error
from reviewer.runs import endpoints, library_settings
from reviewer.runs.lifecycle import queue_deadline
from reviewer.runs.tasks import enqueue_fetch, enqueue_review
from reviewer.teams.models import Role


class UploadRejected(Exception):
    """An upload refused with one plain sentence, before any Review row exists."""

    def __init__(self, message, field=None, status=400, html=None):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status
        # The same sentence for pages, with its link (None: the message as text).
        self.html = html


def check_key(team, model_id):
    """UploadRejected when no key reaches the model's provider: a review that cannot
    run is never queued."""
    needed = endpoints.key_needed(library_settings.model_for(model_id), team)
    if needed is not None:
        raise UploadRejected(needed.for_api(), "model", html=needed.html())


def upload_form(project, data=None, files=None):
    return UploadForm(
        data,
        files,
        model_choices=library_settings.model_choices(project.team),
        initial={"model": project.model or library_settings.default_model_id()},
    )


def bound_upload_form(user, project_pk, data, files):
    """The project (for a member) and its upload form, validated."""
    project = get_project_for_user(user, project_pk, Role.MEMBER)
    form = upload_form(project, data, files)
    form.is_valid()
    return project, form


# -- what packing would refuse, checked before anything is stored ------------------------
def upload_limits(project, model_id):
    """The packing limits for this project and model (the catalogue is in the database)."""
    model = library_settings.model_for(model_id)
    return library_settings.pack_options_for(project), library_settings.budget_for(model)


def check_uploads(archive, spec, options, budget):
    """Reads the whole archive as packing would and opens the spec, keeping nothing.
    `archive` and `spec` are paths or files (uploads); files are left rewound."""
    try:
        check_archive(_readable(archive), options)
    except PackingError as exc:
        raise UploadRejected(str(exc), "archive") from None
    finally:
        _rewind(archive)
    check_spec(spec, budget)


def check_spec(spec, budget):
    try:
        check_pdf(_pdf_source(spec), budget.pdf_max_pages, budget.pdf_max_bytes)
    except PackingError as exc:
        raise UploadRejected(str(exc), "spec") from None
    finally:
        _rewind(spec)


def validate_uploads(project, archive, spec, model_id):
    """Everything packing would refuse about these files when reading them, as
    UploadRejected; run before a Review row (and so its id) exists."""
    check_uploads(archive, spec, *upload_limits(project, model_id))


async def avalidate_uploads(project, archive, spec, model_id):
    limits = await sync_to_async(upload_limits)(project, model_id)
    # Seconds of CPU for a large archive: off the one thread sync views and the ORM share.
    await asyncio.to_thread(check_uploads, archive, spec, *limits)


def _readable(upload):
    if isinstance(upload, str | Path):
        return upload
    if hasattr(upload, "temporary_file_path"):
        return upload.temporary_file_path()
    return upload


def _pdf_source(upload):
    if isinstance(upload, str | Path):
        return upload
    upload.seek(0)
    return upload.read()


def _rewind(upload):
    if hasattr(upload, "seek"):
        upload.seek(0)


async def asubmit_review(project, user, archive, spec, model_id=None, start=True, mode=None):
    """Quota, then the files' contents, then the row: a refused upload leaves nothing."""
    model_id = model_id or project.model or library_settings.default_model_id()
    if start:
        await sync_to_async(check_key)(project.team, model_id)
    problem = await sync_to_async(quota_error)(project.team, archive, spec)
    if problem:
        raise UploadRejected(problem, status=413)
    await avalidate_uploads(project, archive, spec, model_id)
    return await sync_to_async(create_review)(project, user, archive, spec, model_id, start, mode)


def checked_repository(repo_url, ref):
    """The URL to store (display form) and the ref, or UploadRejected with the sentence."""
    from reviewer.intake.repository import RepositoryRefused, checked_ref, checked_url

    try:
        return checked_url(repo_url), checked_ref(ref)
    except RepositoryRefused as exc:
        raise UploadRejected(exc.message, "repo_url") from None


def submit_url_review(project, user, repo_url, ref, spec, model_id=None, start=True, mode=None):
    """A review of the repository at `repo_url`: the URL and the spec are checked here,
    the repository is fetched on the worker (see reviewer/intake/repository.py)."""
    model_id = model_id or project.model or library_settings.default_model_id()
    repo_url, ref = checked_repository(repo_url, ref)
    if start:
        check_key(project.team, model_id)
    problem = quota_error(project.team, spec)
    if problem:
        raise UploadRejected(problem, status=413)
    check_spec(spec, upload_limits(project, model_id)[1])
    return create_url_review(project, user, repo_url, ref, spec, model_id, start, mode)


async def asubmit_url_review(project, user, repo_url, ref, spec, model_id=None, **kwargs):
    return await sync_to_async(submit_url_review)(
        project, user, repo_url, ref, spec, model_id, **kwargs
    )


# -- storing and starting ------------------------------------------------------------------
def _sha256(uploaded):
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def create_review(project, user, archive, spec, model_id, start=True, mode=None):
    """Stores the uploads and, when `start`, queues the run once the row is committed,
    packing with the project's saved patterns. A draft gets its snapshot when started
    (until then it holds only the mode chosen with the upload, as its preview's default)."""
    snapshot = library_settings.snapshot_for(project, model_id, mode=mode)
    with transaction.atomic():
        review = Review.objects.create(
            project=project,
            created_by=user,
            archive=archive,
            archive_name=archive.name[:255],
            archive_sha256=_sha256(archive),
            archive_size=archive.size,
            spec=spec,
            spec_name=spec.name[:255],
            model=model_id,
            pack_options=snapshot if start else {k: v for k, v in snapshot.items() if k == "mode"},
            status=Status.QUEUED if start else Status.DRAFT,
            lease_expires_at=queue_deadline() if start else None,
        )
        if start:
            enqueue_review(review.pk)
    return review


def create_url_review(project, user, repo_url, ref, spec, model_id, start=True, mode=None):
    """Like create_review, with the archive still to be fetched: by the run when `start`,
    otherwise by a fetch task, after which the draft can be previewed."""
    from reviewer.intake.repository import repository_name

    snapshot = library_settings.snapshot_for(project, model_id, mode=mode)
    with transaction.atomic():
        review = Review.objects.create(
            project=project,
            created_by=user,
            archive_name=repository_name(repo_url),
            repo_url=repo_url,
            repo_ref=ref,
            spec=spec,
            spec_name=spec.name[:255],
            model=model_id,
            pack_options=snapshot if start else {k: v for k, v in snapshot.items() if k == "mode"},
            status=Status.QUEUED if start else Status.FETCHING,
            lease_expires_at=queue_deadline(),
        )
        if start:
            enqueue_review(review.pk)
        else:
            enqueue_fetch(review.pk)
    return review


def start_review(review, snapshot=None):
    """Queues a draft with `snapshot` (see library_settings.snapshot_for; by default the
    draft's model and the project's patterns). False when it is no longer a draft or has
    expired (its uploads no longer count against the quota and are about to be deleted)."""
    if snapshot is None:
        snapshot = library_settings.snapshot_for(review.project, review.model)
    with transaction.atomic():
        started = live_drafts(Review.objects.filter(pk=review.pk)).update(
            status=Status.QUEUED,
            lease_expires_at=queue_deadline(),
            model=snapshot["model"],
            pack_options=snapshot,
        )
        if started:
            enqueue_review(review.pk)
    return bool(started)


def clone_review(review, user, archive=None, refetch=False):
    """A new queued review with the same inputs, packed as the original was (its
    snapshot), optionally with a new archive. A review by URL keeps its fetched
    archive (the same commit), unless `refetch` (the latest commit of the same ref) or
    it has none (its fetch failed): then the run fetches the repository again."""
    snapshot = library_settings.snapshot_of(review)
    check_key(review.project.team, snapshot["model"])
    source = _clone_source(review, archive, refetch)
    with transaction.atomic():
        clone = Review.objects.create(
            project=review.project,
            created_by=user,
            **source,
            spec=review.spec.name,
            spec_name=review.spec_name,
            spec_pages=review.spec_pages,
            model=snapshot["model"],
            pack_options=snapshot,
            status=Status.QUEUED,
            lease_expires_at=queue_deadline(),
        )
        enqueue_review(clone.pk)
    return clone


def _clone_source(review, archive, refetch):
    """The archive fields of a clone: a new upload, the same archive, or none yet."""
    if archive:
        return {
            "archive": archive,
            "archive_name": archive.name[:255],
            "archive_sha256": _sha256(archive),
            "archive_size": archive.size,
        }
    repository = {"repo_url": review.repo_url, "repo_ref": review.repo_ref}
    if review.repo_url and (refetch or not review.archive):
        from reviewer.intake.repository import repository_name

        return {**repository, "archive_name": repository_name(review.repo_url)}
    return {
        **repository,
        "archive": review.archive.name,
        "archive_name": review.archive_name,
        "archive_sha256": review.archive_sha256,
        "archive_size": review.archive_size,
        "commit_sha": review.commit_sha,
    }
