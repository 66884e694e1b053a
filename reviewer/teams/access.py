"""The one place that decides who may see or change what.

Every view reaches team-owned objects through these helpers, so that another team's
objects answer 404 (not 403: their existence is not disclosed).
"""

from django.http import Http404

from .models import Membership, Role, Team


def personal_team(user):
    team = Team.objects.filter(personal_for=user).first()
    if team is None:
        team = Team.objects.create(name=f"{user.get_username()}'s team", personal_for=user)
        Membership.objects.create(team=team, user=user, role=Role.OWNER)
    return team


def membership_for(user, team):
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(team=team, user=user).first()


def require_role(user, team, role=Role.VIEWER):
    membership = membership_for(user, team)
    if membership is None or not membership.allows(role):
        raise Http404("No such object.")
    return membership


def teams_for(user):
    return Team.objects.filter(memberships__user=user).order_by("personal_for", "name")
