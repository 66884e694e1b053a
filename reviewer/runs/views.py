"""The page of one review while it runs and after: follow, cancel, retry."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from reviewer.intake.services import UploadRejected, clone_review
from reviewer.reports.rendering import report_context
from reviewer.reviews.access import get_review_for_user
from reviewer.reviews.models import Status
from reviewer.runs import library_settings
from reviewer.runs.lifecycle import request_cancel
from reviewer.runs.progress import page_context
from reviewer.streams.live_render import split_for_page
from reviewer.streams.relay import DELTA, DONE, get_relay
from reviewer.teams.access import role_flags
from reviewer.teams.models import Role


@login_required
def review_detail(request, pk):
    review = get_review_for_user(request.user, pk)
    if review.status in (Status.DRAFT, Status.FETCHING):
        return redirect("review_preview", review.pk)
    context = {"review": review, "project": review.project}
    context["unknown_model"] = library_settings.is_unknown(review.model)
    events = []
    if not review.is_final:
        # The text so far comes from the relay, and the stream resumes right after it.
        events = get_relay().read(review.pk)
        if any(e.kind == DONE for e in events):
            # It finished between reading the row and reading the relay.
            review.refresh_from_db()
        text = "".join(e.data for e in events if e.kind == DELTA)
        blocks, context["live_tail"] = split_for_page(text)
        # Sanitised by the report renderer.
        context["live_html"] = mark_safe(blocks)  # noqa: S308
        context["last_event_id"] = events[-1].id if events else 0
        context["relay_events"] = events  # a split review's parts resume from them too
    context.update(page_context(review, events if not review.is_final else []))
    if review.is_final:
        context.update(report_context(request.user, review))
    else:
        context.update(role_flags(request.user, review.project.team))
    return render(request, "reviews/review.html", context)


@login_required
@require_POST
def review_cancel(request, pk):
    review = get_review_for_user(request.user, pk, Role.MEMBER)
    request_cancel(review.pk)
    if request.htmx:
        return render(request, "reviews/_cancel_requested.html")
    messages.info(request, "Cancelling: the text so far is kept.")
    return redirect(review)


@login_required
@require_POST
def review_retry(request, pk):
    review = get_review_for_user(request.user, pk, Role.MEMBER)
    try:
        retry = clone_review(review, request.user)
    except UploadRejected as exc:
        messages.error(request, exc.html or exc.message)
        return redirect(review)
    messages.success(request, f"Retry of review {review.pk} started with the same inputs.")
    return redirect(retry)


@login_required
@require_POST
def review_refetch(request, pk):
    """A review by URL again, on the latest commit of the branch or tag it asked for."""
    review = get_review_for_user(request.user, pk, Role.MEMBER)
    if not review.repo_url:
        messages.error(request, "This review is of an uploaded archive; use Retry.")
        return redirect(review)
    try:
        rerun = clone_review(review, request.user, refetch=True)
    except UploadRejected as exc:
        messages.error(request, exc.html or exc.message)
        return redirect(review)
    messages.success(request, f"Review {review.pk} started again on the latest commit.")
    return redirect(rerun)
