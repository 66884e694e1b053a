"""The preview of a review: what would be sent (a draft, with the model and patterns
typed on the page), or what was sent (a started review, from its snapshot)."""

from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from reviewer.intake.forms import PackChoicesForm
from reviewer.intake.preview import Preview, Superseded, abuild_preview, newest_request
from reviewer.intake.services import start_review
from reviewer.reviews.access import aget_review_for_user, get_review_for_user
from reviewer.reviews.models import Review, Status
from reviewer.reviews.retention import live_drafts
from reviewer.runs import endpoints, library_settings
from reviewer.teams.access import role_flags
from reviewer.teams.models import Role


def _page_inputs(request, user, review):
    """The snapshot to preview, the form (drafts only) and the user's role flags."""
    if review.status != Status.DRAFT:
        flags = role_flags(user, review.project.team)
        return library_settings.snapshot_of(review), None, flags
    return _choices(request.GET, user, review)


def _choices(data, user, review):
    """The snapshot typed into a draft's form (None when invalid), the form, the flags."""
    flags = role_flags(user, review.project.team)
    form = PackChoicesForm(data, review=review)
    if not form.is_valid():
        return None, form, flags
    return form.snapshot(), form, flags


@login_required
async def review_preview(request, pk):
    user = await request.auser()
    review = await aget_review_for_user(user, pk)
    if not review.archive:
        return await _not_fetched(request, review)
    if request.htmx and request.htmx.trigger == FETCH_POLL:
        return HttpResponse(headers={"HX-Refresh": "true"})  # fetched: show the preview
    snapshot, form, flags = await sync_to_async(_page_inputs)(request, user, review)
    editable = form is not None
    invalid = editable and snapshot is None
    if invalid:
        preview = Preview(error=form.first_error())
        snapshot = library_settings.snapshot_for(review.project, review.model)
    elif editable and request.htmx:
        # Typing re-packs: a request overtaken while it waited for a slot is dropped.
        with newest_request((review.pk, user.pk)) as superseded:
            try:
                preview = await abuild_preview(review, snapshot, superseded)
            except Superseded:
                return HttpResponse(status=204, headers={"HX-Reswap": "none"})
    else:
        preview = await abuild_preview(review, snapshot)
    template = "reviews/_preview_body.html" if request.htmx else "reviews/preview.html"
    # htmx swaps only successful answers; the fragment carries the error sentence.
    status = 400 if invalid and not request.htmx else 200
    return await _render(request, template, (review, preview, snapshot, form, flags), status)


FETCH_POLL = "fetch-poll"  # the id of the fetching page's poller


async def _not_fetched(request, review):
    """A review by URL whose repository is not fetched (yet): the page says so and, while
    the draft's fetch runs, asks again every few seconds; the page is reloaded once
    there is a preview to show, or sent to the review's page when the fetch failed."""
    if request.htmx and request.htmx.trigger == FETCH_POLL:
        if review.status == Status.FETCHING:
            return HttpResponse()
        return HttpResponse(headers={"HX-Redirect": review.get_absolute_url()})
    if review.is_final:
        return redirect(review)  # its page says why
    context = {"review": review, "project": review.project}
    return await sync_to_async(render)(request, "reviews/fetching.html", context)


def _model_notes(review, snapshot):
    """What the page says about the model: no key for it, or not in the catalogue."""
    model_id = snapshot["model"]
    model = library_settings.model_for(model_id)
    return {
        "key_needed": endpoints.key_needed(model, review.project.team),
        "unknown_model": library_settings.is_unknown(model_id),
    }


async def _render(request, template, page, status=200):
    review, preview, snapshot, form, flags = page
    editable = form is not None
    notes = await sync_to_async(_model_notes)(review, snapshot)
    context = {
        **notes,
        "review": review,
        "project": review.project,
        "preview": preview,
        "summary": preview.summary,
        "editable": editable,
        "model_choices": form.fields["model"].choices if editable else [],
        "snapshot": snapshot,
        "ignore_patterns": "\n".join(snapshot["ignore_patterns"]),
        "include_patterns": "\n".join(snapshot["include_patterns"]),
        **flags,
    }
    return await sync_to_async(render)(request, template, context, status=status)


@login_required
@require_POST
def review_preview_save(request, pk):
    review = get_review_for_user(request.user, pk, Role.ADMIN)
    project = review.project
    project.ignore_patterns = request.POST.get("ignore_patterns", "")
    project.include_patterns = request.POST.get("include_patterns", "")
    project.save(update_fields=["ignore_patterns", "include_patterns"])
    messages.success(request, f"Patterns saved to {project.name}: new reviews start with them.")
    url = reverse("review_preview", args=[review.pk])
    model = request.POST.get("model")
    if model and model != review.model:
        # The model chosen on the page is not saved; it stays chosen.
        url += "?" + urlencode({"model": model})
    return redirect(url)


@login_required
@require_POST
async def review_start(request, pk):
    """Starts a draft with the model and patterns the preview showed, only if the
    archive and spec can be packed with them."""
    user = await request.auser()
    review = await aget_review_for_user(user, pk, Role.MEMBER)
    snapshot, form, flags = await sync_to_async(_choices)(request.POST, user, review)
    if snapshot is None:
        await sync_to_async(messages.error)(request, form.first_error())
        return redirect("review_preview", review.pk)
    if review.status == Status.DRAFT and not await _is_live_draft(review):
        return await _expired(request, review)
    if review.status == Status.DRAFT:
        preview = await abuild_preview(review, snapshot)
        notes = await sync_to_async(_model_notes)(review, snapshot)
        if preview.error or notes["key_needed"]:
            # The preview page again, with the sentence and without the Start button.
            page = (review, preview, snapshot, form, flags)
            return await _render(request, "reviews/preview.html", page, status=400)
    started = await sync_to_async(start_review)(review, snapshot)
    if not started and review.status == Status.DRAFT:
        return await _expired(request, review)
    return redirect(review)


async def _is_live_draft(review):
    return await live_drafts(Review.objects.filter(pk=review.pk)).aexists()


async def _expired(request, review):
    await sync_to_async(messages.error)(request, "This draft has expired; upload the files again.")
    return redirect(review.project)
