from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from reviewer.teams.access import personal_team, require_role, teams_for
from reviewer.teams.models import Role

from .. import endpoints
from ..access import get_project_for_user
from ..forms import ProjectForm, ProjectSettingsForm, UploadForm
from ..models import Project
from .uploads import create_review


@login_required
def home(request):
    personal_team(request.user)
    projects = Project.objects.filter(team__in=teams_for(request.user)).select_related("team")
    return render(request, "reviews/home.html", {"projects": projects, "form": ProjectForm()})


@login_required
@require_POST
def project_create(request):
    team = personal_team(request.user)
    require_role(request.user, team, Role.MEMBER)
    form = ProjectForm(request.POST)
    if not form.is_valid():
        projects = Project.objects.filter(team__in=teams_for(request.user))
        return render(
            request, "reviews/home.html", {"projects": projects, "form": form}, status=400
        )
    project = form.save(commit=False)
    project.team = team
    project.created_by = request.user
    project.model = endpoints.default_model_id()
    project.save()
    return redirect(project)


def _upload_form(project, data=None, files=None):
    return UploadForm(
        data,
        files,
        model_choices=endpoints.model_choices(),
        initial={"model": project.model or endpoints.default_model_id()},
    )


@login_required
def project_detail(request, pk):
    project = get_project_for_user(request.user, pk)
    return _render_project(request, project, _upload_form(project))


def _render_project(request, project, upload_form, status=200):
    context = {
        "project": project,
        "upload_form": upload_form,
        "reviews": project.reviews.select_related("created_by")[:50],
        "settings_form": ProjectSettingsForm(instance=project),
    }
    return render(request, "reviews/project.html", context, status=status)


@login_required
@require_POST
def review_create(request, pk):
    project = get_project_for_user(request.user, pk, Role.MEMBER)
    form = _upload_form(project, request.POST, request.FILES)
    if not form.is_valid():
        return _render_project(request, project, form, status=400)
    model_id = form.cleaned_data.get("model") or project.model or endpoints.default_model_id()
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
    context = {"project": project, "upload_form": _upload_form(project), "settings_form": form}
    context["reviews"] = project.reviews.all()[:50]
    return render(request, "reviews/project.html", context, status=400)
