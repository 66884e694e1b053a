"""The preview of a draft review: what would be sent, before any money is spent."""

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from reviewer.intake.preview import abuild_preview
from reviewer.intake.services import astart_review
from reviewer.reviews.access import aget_review_for_user, get_review_for_user
from reviewer.teams.models import Role


@login_required
async def review_preview(request, pk):
    user = await request.auser()
    review = await aget_review_for_user(user, pk)
    # Patterns typed into the preview form apply at once, before they are saved.
    ignores = request.GET.get("ignore_patterns")
    includes = request.GET.get("include_patterns")
    preview = await abuild_preview(review, ignores, includes)
    template = "reviews/_preview_body.html" if request.htmx else "reviews/preview.html"
    return await _render(request, template, review, preview, ignores, includes)


async def _render(request, template, review, preview, ignores=None, includes=None, status=200):
    project = review.project
    context = {
        "review": review,
        "project": project,
        "preview": preview,
        "summary": preview.packed.summary() if preview.packed else None,
        "ignore_patterns": project.ignore_patterns if ignores is None else ignores,
        "include_patterns": project.include_patterns if includes is None else includes,
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
    return redirect("review_preview", review.pk)


@login_required
@require_POST
async def review_start(request, pk):
    user = await request.auser()
    review = await aget_review_for_user(user, pk, Role.MEMBER)
    refused = await astart_review(review)
    if refused is not None:
        # The preview page again, with the sentence and without the Start button.
        return await _render(request, "reviews/preview.html", review, refused, status=400)
    return redirect(review)
