import math
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from reviewer.intake.forms import ProjectForm, ProjectSettingsForm, UploadForm
from reviewer.intake.services import create_review
from reviewer.reports.views.history import history_context
from reviewer.reviews.access import get_project_for_user
from reviewer.reviews.models import Project
from reviewer.reviews.retention import draft_expires_at, live_drafts, quota_error
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
        if team is None:
            context["team_error"] = "Choose a team in which you are at least a member."
        return render(request, "reviews/home.html", context, status=400)
    require_role(request.user, team, Role.MEMBER)
    project = form.save(commit=False)
    project.team = team
    project.created_by = request.user
    project.model = library_settings.default_model_id()
    project.save()
    return redirect(project)


def _upload_form(project, data=None, files=None):
    return UploadForm(
        data,
        files,
        model_choices=library_settings.model_choices(),
        initial={"model": project.model or library_settings.default_model_id()},
    )


@login_required
def project_detail(request, pk):
    project = get_project_for_user(request.user, pk)
    return _render_project(request, project, _upload_form(project))


def _drafts(project):
    """The project's unexpired drafts, oldest first, each with its expiry and days left."""
    now = timezone.now()
    drafts = live_drafts(project.reviews.all(), now).select_related("created_by")
    drafts = list(drafts.order_by("created_at", "pk"))
    for draft in drafts:
        draft.expires_at = draft_expires_at(draft)
        draft.days_left = math.ceil((draft.expires_at - now) / timedelta(days=1))
    return drafts


def _render_project(request, project, upload_form, status=200, **extra):
    context = {
        "project": project,
        "upload_form": upload_form,
        "settings_form": ProjectSettingsForm(instance=project),
        **history_context(request, project),
    }
    if context["can_run"]:
        context["drafts"] = _drafts(project)
    context.update(extra)
    return render(request, "reviews/project.html", context, status=status)


@login_required
@require_POST
def review_create(request, pk):
    project = get_project_for_user(request.user, pk, Role.MEMBER)
    form = _upload_form(project, request.POST, request.FILES)
    if not form.is_valid():
        return _render_project(request, project, form, status=400)
    problem = quota_error(project.team, form.cleaned_data["archive"], form.cleaned_data["spec"])
    if problem:
        form.add_error(None, problem)
        return _render_project(request, project, form, status=413)
    model_id = (
        form.cleaned_data.get("model") or project.model or library_settings.default_model_id()
    )
    review = create_review(
        project,
        request.user,
        form.cleaned_data["archive"],
        form.cleaned_data["spec"],
        model_id,
        start="preview" not in request.POST,
    )
    if "preview" in request.POST:
        return redirect("review_preview", review.pk)
    return redirect(review)


@login_required
@require_POST
def project_settings(request, pk):
    project = get_project_for_user(request.user, pk, Role.ADMIN)
    form = ProjectSettingsForm(request.POST, instance=project)
    if form.is_valid():
        form.save()
        return redirect(project)
    return _render_project(request, project, _upload_form(project), 400, settings_form=form)
