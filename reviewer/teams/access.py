"""The one place that decides who may see or change what.

Every view reaches team-owned objects through these helpers, so that another team's
objects answer 404 (not 403: their existence is not disclosed).
"""

from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import ROLE_RANK, Invite, Membership, Role, Team
from .tokens import hash_token


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


def role_flags(user, team):
    """What the page may offer this user: running reviews, managing the project."""
    membership = membership_for(user, team) if user is not None else None
    return {
        "can_run": bool(membership and membership.allows(Role.MEMBER)),
        "can_manage": bool(membership and membership.allows(Role.ADMIN)),
    }


def require_role(user, team, role=Role.VIEWER):
    membership = membership_for(user, team)
    if membership is None or not membership.allows(role):
        raise Http404("No such object.")
    return membership


def teams_for(user):
    return Team.objects.filter(memberships__user=user).order_by("personal_for", "name")


def teams_where(user, role):
    """The user's teams in which they hold at least `role`."""
    roles = [r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[Role(role)]]
    return teams_for(user).filter(memberships__user=user, memberships__role__in=roles).distinct()


def get_team_for_user(user, pk, role=Role.VIEWER):
    """The team and the user's membership in it; 404 for non-members or a lower role."""
    team = get_object_or_404(Team, pk=pk)
    return team, require_role(user, team, role)


def get_membership_for_user(user, team_pk, membership_pk, role=Role.ADMIN):
    """Another membership of a team the user manages (the user's own one included)."""
    team, mine = get_team_for_user(user, team_pk, role)
    target = get_object_or_404(Membership.objects.select_related("user"), pk=membership_pk)
    if target.team_id != team.pk:
        raise Http404("No such object.")
    return team, mine, target


def get_invite_for_user(user, team_pk, invite_pk, role=Role.ADMIN):
    team, mine = get_team_for_user(user, team_pk, role)
    invite = get_object_or_404(Invite, pk=invite_pk, team=team)
    return team, mine, invite


def get_pending_invite(token):
    """The pending invite a token stands for; 404 when unknown, used, revoked or expired."""
    invite = (
        Invite.objects.select_related("team")
        .filter(
            token_hash=hash_token(token or ""),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if invite is None:
        raise Http404("No such invite.")
    return invite


def may_assign(membership, role):
    """Owners may grant any role; admins any role below owner."""
    if membership.role == Role.OWNER:
        return True
    return membership.allows(Role.ADMIN) and Role(role) != Role.OWNER


def other_owners(team, membership):
    return (
        Membership.objects.filter(team=team, role=Role.OWNER).filter(~Q(pk=membership.pk)).exists()
    )
