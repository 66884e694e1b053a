import math
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from reviewer.findings.tracking import project_findings_context
from reviewer.intake.forms import ProjectForm, ProjectSettingsForm
from reviewer.intake.services import (
    UploadRejected,
    asubmit_review,
    asubmit_url_review,
    bound_upload_form,
    upload_form,
)
from reviewer.reports.views.history import history_context
from reviewer.reviews.access import get_project_for_user
from reviewer.reviews.models import Project
from reviewer.reviews.retention import draft_expires_at, live_drafts
from reviewer.runs import library_settings
from reviewer.teams.access import personal_team, require_role, teams_for, teams_where
from reviewer.teams.models import Role


@login_required
def home(request):
    personal_team(request.user)
    projects = Project.objects.filter(team__in=teams_for(request.user)).select_related("team")
    context = {"projects": projects, "form": ProjectForm()}
    context["teams"] = teams_where(request.user, Role.MEMBER)
    return render(request, "reviews/home.html", context)


@login_required
@require_POST
def project_create(request):
    # The team is any of the user's teams where they may run reviews; personal by default.
    team = personal_team(request.user)
    team_id = request.POST.get("team", "")
    if team_id:
        eligible = teams_where(request.user, Role.MEMBER)
        team = eligible.filter(pk=team_id).first() if team_id.isdigit() else None
    form = ProjectForm(request.POST)
    if team is None or not form.is_valid():
        projects = Project.objects.filter(team__in=teams_for(request.user))
        context = {"projects": projects, "form": form}
        context["teams"] = teams_where(request.user, Role.MEMBER)
        context["selected_team"] = int(team_id) if team_id.isdigit() else None
        if team is None:
            context["team_error"] = "Choose a team in which you are at least a member."
        return render(request, "reviews/home.html", context, status=400)
    require_role(request.user, team, Role.MEMBER)
    project = form.save(commit=False)
    project.team = team
    project.created_by = request.user
    project.model = library_settings.default_model_id()
    project.save()
    messages.success(request, f"Project “{project.name}” created in {team.name}.")
    return redirect(project)


@login_required
def project_detail(request, pk):
    project = get_project_for_user(request.user, pk)
    return _render_project(request, project, upload_form(project))


def settings_form(project, data=None):
    # Its own ids: the upload form on the same page has a `model` field too.
    return ProjectSettingsForm(data, instance=project, auto_id="settings-%s")


def _drafts(project):
    """The project's unexpired drafts, oldest first, each with its expiry and days left."""
    now = timezone.now()
    drafts = live_drafts(project.reviews.all(), now).select_related("created_by")
    drafts = list(drafts.order_by("created_at", "pk"))
    for draft in drafts:
        draft.expires_at = draft_expires_at(draft)
        draft.days_left = math.ceil((draft.expires_at - now) / timedelta(days=1))
    return drafts


def _render_project(request, project, form, status=200, **extra):
    context = {
        "project": project,
        "upload_form": form,
        "settings_form": settings_form(project),
        **history_context(request, project),
    }
    if context["can_run"]:
        context["drafts"] = _drafts(project)
    context.update(project_findings_context(project, request.user))
    context.update(extra)
    return render(request, "reviews/project.html", context, status=status)


def _upload_refused(request, project, form, status):
    if request.htmx:
        # Only the form's error area is replaced, so the chosen files stay chosen; htmx
        # swaps successful answers only, hence 200.
        return render(request, "reviews/_upload_errors.html", {"upload_form": form})
    return _render_project(request, project, form, status=status)


@login_required
@require_POST
async def review_create(request, pk):
    user = await request.auser()
    # request.POST/FILES may still have to parse (and write out) the body: not on the loop.
    project, form = await sync_to_async(
        lambda: bound_upload_form(user, pk, request.POST, request.FILES)
    )()
    status = 400
    if form.is_valid():
        preview = "preview" in request.POST
        data = form.cleaned_data
        options = {"start": not preview, "mode": data.get("mode")}
        try:
            if form.by_url:
                review = await asubmit_url_review(
                    project,
                    user,
                    data["repo_url"],
                    data["ref"],
                    data["spec"],
                    data.get("model"),
                    **options,
                )
            else:
                review = await asubmit_review(
                    project, user, data["archive"], data["spec"], data.get("model"), **options
                )
        except UploadRejected as exc:
            form.add_error(exc.field, exc.html or exc.message)
            status = exc.status
        else:
            target = review.get_absolute_url()
            if preview:
                target = reverse("review_preview", args=[review.pk])
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    return await sync_to_async(_upload_refused)(request, project, form, status)


@login_required
@require_POST
def project_settings(request, pk):
    project = get_project_for_user(request.user, pk, Role.ADMIN)
    form = settings_form(project, request.POST)
    if form.is_valid():
        form.save()
        messages.success(request, "Project settings saved.")
        return redirect(project)
    return _render_project(request, project, upload_form(project), 400, settings_form=form)
