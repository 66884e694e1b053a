"""A project's review history (filter, paginate), re-runs, side-by-side comparison of
two reports, and deleting reviews and projects with their files."""

import difflib
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from reviewer.findings.tracking import compare_findings_context
from reviewer.intake.forms import RerunForm
from reviewer.intake.services import UploadRejected, clone_review
from reviewer.reviews.access import get_project_for_user, get_review_for_user
from reviewer.reviews.models import ACTIVE_STATUSES, Status
from reviewer.reviews.retention import delete_draft, delete_project, delete_review, quota_error
from reviewer.teams.access import require_role, role_flags
from reviewer.teams.models import Role

PAGE_SIZE = 20


def history_context(request, project):
    """The history table's rows, filters and page for a project page or its partial."""
    reviews = project.reviews.select_related("created_by", "findings_info").exclude(
        status=Status.DRAFT
    )
    status = request.GET.get("status", "")
    model = request.GET.get("model", "")
    if status in Status.values:
        reviews = reviews.filter(status=status)
    else:
        status = ""
    models = sorted(set(project.reviews.values_list("model", flat=True)))
    if model in models:
        reviews = reviews.filter(model=model)
    else:
        model = ""
    page = Paginator(reviews, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {k: v for k, v in (("status", status), ("model", model)) if v}
    return {
        "page_obj": page,
        "history": page.object_list,
        "filter_status": status,
        "filter_model": model,
        "filter_query": urlencode(filters),
        "status_choices": [s for s in Status.values if s != Status.DRAFT],
        "model_choices": models,
        **role_flags(request.user, project.team),
    }


@login_required
@require_GET
def project_history(request, pk):
    """The history table alone, for htmx; a plain request gets the whole project page."""
    project = get_project_for_user(request.user, pk)
    if not request.htmx:
        query = request.GET.urlencode()
        return redirect(project.get_absolute_url() + (f"?{query}" if query else ""))
    context = {"project": project, **history_context(request, project)}
    return render(request, "history/_table.html", context)


@login_required
@require_POST
def review_rerun(request, pk):
    """A new review with a new archive and the same specification and model."""
    review = get_review_for_user(request.user, pk, Role.MEMBER)
    form = RerunForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["archive"]))
        return redirect(review.project)
    archive = form.cleaned_data["archive"]
    problem = quota_error(review.project.team, archive)
    if problem:
        messages.error(request, problem)
        return redirect(review.project)
    try:
        rerun = clone_review(review, request.user, archive=archive)
    except UploadRejected as exc:
        messages.error(request, exc.html or exc.message)
        return redirect(review.project)
    messages.success(request, f"Retry of review {review.pk} started with {rerun.archive_name}.")
    return redirect(rerun)


# -- compare ---------------------------------------------------------------------------
def diff_rows(old_text, new_text):
    """Side-by-side rows (kind, old line no, old line, new line no, new line) of two
    texts. The lines are plain text; the template escapes them."""
    old, new = (old_text or "").splitlines(), (new_text or "").splitlines()
    rows = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                rows.append(("equal", i1 + k + 1, old[i1 + k], j1 + k + 1, new[j1 + k]))
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            has_old, has_new = i1 + k < i2, j1 + k < j2
            kind = "replace" if has_old and has_new else ("delete" if has_old else "insert")
            rows.append(
                (
                    kind,
                    i1 + k + 1 if has_old else None,
                    old[i1 + k] if has_old else "",
                    j1 + k + 1 if has_new else None,
                    new[j1 + k] if has_new else "",
                )
            )
    return rows


def _delta(new, old):
    if new is None or old is None:
        return None
    return new - old


def _tokens(review):
    if review.prompt_tokens is None and review.completion_tokens is None:
        return None
    return (review.prompt_tokens or 0) + (review.completion_tokens or 0)


@login_required
@require_GET
def review_compare(request, pk):
    project = get_project_for_user(request.user, pk)
    choices = project.reviews.exclude(status=Status.DRAFT).order_by("-created_at", "-pk")
    context = {"project": project, "choices": choices[:200]}
    a, b = request.GET.get("a"), request.GET.get("b")
    if a and b:
        try:
            old = get_review_for_user(request.user, int(a))
            new = get_review_for_user(request.user, int(b))
        except ValueError:
            raise Http404("No such review.")
        if old.project_id != project.pk or new.project_id != project.pk:
            raise Http404("No such review.")
        rows = diff_rows(old.report, new.report)
        context.update(
            old=old,
            new=new,
            rows=rows,
            changed=sum(1 for row in rows if row[0] != "equal"),
            token_delta=_delta(_tokens(new), _tokens(old)),
            prompt_delta=_delta(new.prompt_tokens, old.prompt_tokens),
            completion_delta=_delta(new.completion_tokens, old.completion_tokens),
            cost_delta=_delta(new.cost_usd, old.cost_usd),
            old_tokens=_tokens(old),
            new_tokens=_tokens(new),
        )
        context.update(compare_findings_context(old, new))
    return render(request, "history/compare.html", context)


# -- delete ----------------------------------------------------------------------------
@login_required
def review_delete(request, pk):
    # Any member may throw a draft away (it holds uploads only, nothing run or spent);
    # deleting history takes an admin.
    review = get_review_for_user(request.user, pk, Role.MEMBER)
    if review.status != Status.DRAFT:
        require_role(request.user, review.project.team, Role.ADMIN)
    project = review.project
    if review.is_active:
        messages.error(request, "This review is still running; cancel it before deleting it.")
        return redirect(review)
    if request.method == "POST":
        if request.POST.get("confirm") != "delete":
            messages.error(request, "Confirm the deletion to delete the review.")
            return render(request, "history/delete_review.html", {"review": review}, status=400)
        if review.status == Status.DRAFT:
            if not delete_draft(review):
                messages.error(request, "This draft has just been started; it was not deleted.")
                return redirect(review)
            messages.success(request, f"The draft of {review.archive_name} was deleted.")
            return redirect(project)
        delete_review(review)
        messages.success(request, f"Review {pk} and its uploads were deleted.")
        return redirect(project)
    return render(request, "history/delete_review.html", {"review": review, "project": project})


@login_required
def project_delete(request, pk):
    project = get_project_for_user(request.user, pk, Role.ADMIN)
    context = {"project": project, "review_count": project.reviews.count()}
    if request.method == "POST":
        if project.reviews.filter(status__in=ACTIVE_STATUSES).exists():
            messages.error(request, "Reviews of this project are still running; cancel them first.")
            return render(request, "history/delete_project.html", context, status=400)
        if request.POST.get("confirm") != project.name:
            messages.error(request, "Type the project's name to confirm.")
            return render(request, "history/delete_project.html", context, status=400)
        name = project.name
        delete_project(project)
        messages.success(request, f"Project “{name}” and its reviews were deleted.")
        return redirect("home")
    return render(request, "history/delete_project.html", context)
