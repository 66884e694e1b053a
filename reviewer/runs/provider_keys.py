"""A team's own provider API keys. They are write-only: no page ever shows one back."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reviewer.reviews.models import ProviderKey
from reviewer.runs import endpoints, library_settings
from reviewer.teams.access import require_role
from reviewer.teams.models import Role, Team


def _get_team_for_admin(user, pk):
    team = get_object_or_404(Team, pk=pk)
    require_role(user, team, Role.ADMIN)
    return team


def _providers():
    return sorted({m.provider for m in library_settings.catalogue().values()})


@login_required
def provider_keys(request, pk):
    team = _get_team_for_admin(request.user, pk)
    if request.method == "POST":
        provider = request.POST.get("provider", "")
        key = request.POST.get("api_key", "").strip()
        if provider not in _providers() or not key:
            messages.error(request, "Choose a provider and paste its API key.")
        else:
            stored, _ = ProviderKey.objects.get_or_create(
                team=team, provider=provider, defaults={"created_by": request.user}
            )
            stored.set_key(key)
            stored.save()
            messages.success(request, f"The {provider} key is saved.")
        return redirect("provider_keys", team.pk)
    stored = {k.provider: k for k in team.provider_keys.all()}
    models = library_settings.catalogue().values()
    rows = [
        (provider, stored.get(provider), endpoints.provider_status(provider, models, team))
        for provider in _providers()
    ]
    context = {"team": team, "rows": rows, "gateway": settings.LLM_GATEWAY}
    return render(request, "reviews/provider_keys.html", context)


@login_required
@require_POST
def provider_key_delete(request, pk, provider):
    team = _get_team_for_admin(request.user, pk)
    ProviderKey.objects.filter(team=team, provider=provider).delete()
    messages.success(request, f"The {provider} key is removed.")
    return redirect("provider_keys", team.pk)
