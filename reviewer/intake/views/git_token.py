"""A team's Git token, for repositories by URL that need one. Write-only, like the
provider keys: after saving, pages say only that a token is stored, by whom and when."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reviewer.reviews.models import GitToken
from reviewer.teams.access import require_role
from reviewer.teams.models import Role, Team

MAX_TOKEN_CHARS = 1000


def _get_team_for_admin(user, pk):
    team = get_object_or_404(Team, pk=pk)
    require_role(user, team, Role.ADMIN)
    return team


@login_required
def git_token(request, pk):
    team = _get_team_for_admin(request.user, pk)
    if request.method == "POST":
        token = request.POST.get("token", "").strip()
        if not token or len(token) > MAX_TOKEN_CHARS or any(c.isspace() for c in token):
            messages.error(request, "Paste the token: one line, without spaces.")
        else:
            stored, _ = GitToken.objects.get_or_create(
                team=team, defaults={"created_by": request.user}
            )
            stored.created_by = request.user
            stored.set_token(token)
            stored.save()
            messages.success(request, "The Git token is saved.")
        return redirect("git_token", team.pk)
    stored = GitToken.objects.filter(team=team).select_related("created_by").first()
    return render(request, "reviews/git_token.html", {"team": team, "stored": stored})


@login_required
@require_POST
def git_token_delete(request, pk):
    team = _get_team_for_admin(request.user, pk)
    GitToken.objects.filter(team=team).delete()
    messages.success(request, "The Git token is removed.")
    return redirect("git_token", team.pk)
