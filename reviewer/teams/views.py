"""Accounts (sign up), teams, members and invites."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from reviewer.security import refused, signup_refusal

from .access import (
    get_invite_for_user,
    get_membership_for_user,
    get_pending_invite,
    get_team_for_user,
    may_assign,
    membership_for,
    other_owners,
    personal_team,
)
from .forms import InviteForm, RoleForm, SignupForm, TeamForm
from .models import Invite, Membership, Role
from .tokens import new_token

NEW_INVITE_KEY = "new_invite"


def _safe_next(request, fallback="/"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def signup(request):
    if not settings.SIGNUP_ENABLED:
        raise Http404("Sign-up is closed.")
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    refusal = signup_refusal(request) if request.method == "POST" else None
    if refusal:
        # Not validated: the form's "already exists" answers are what a refused client
        # must not get.
        seconds, sentence = refusal
        initial = {name: request.POST.get(name, "") for name in ("username", "email")}
        context = {"form": SignupForm(initial=initial), "next": _safe_next(request, "")}
        response = render(request, "registration/signup.html", {**context, "refusal": sentence})
        return refused(response, seconds)
    # An invitation's link passes the invited address along.
    initial = {"email": request.GET.get("email", "")[:254]}
    form = SignupForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        personal_team(user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}: your account is ready.")
        return redirect(_safe_next(request))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "next": _safe_next(request, "")}
    return render(request, "registration/signup.html", context, status=status)


# -- teams ------------------------------------------------------------------------------
def _assignable(membership):
    return [role for role in Role if may_assign(membership, role)]


@login_required
@require_GET
def team_list(request):
    personal_team(request.user)
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .order_by("team__personal_for", "team__name")
    )
    form = TeamForm()
    return render(request, "teams/list.html", {"memberships": memberships, "form": form})


@login_required
@require_POST
def team_create(request):
    form = TeamForm(request.POST)
    if not form.is_valid():
        memberships = Membership.objects.filter(user=request.user).select_related("team")
        context = {"memberships": memberships, "form": form}
        return render(request, "teams/list.html", context, status=400)
    with transaction.atomic():
        team = form.save()
        Membership.objects.create(team=team, user=request.user, role=Role.OWNER)
    messages.success(request, f"Team “{team.name}” created.")
    return redirect("team", team.pk)


def _team_context(request, team, membership, **extra):
    from reviewer.reviews.retention import team_storage

    is_admin = membership.allows(Role.ADMIN)
    used, quota = team_storage(team)
    owners = team.memberships.filter(role=Role.OWNER).count()
    context = {
        "team": team,
        "membership": membership,
        "is_admin": is_admin,
        "is_owner": membership.role == Role.OWNER,
        # Controls that would be refused are not offered: a team keeps at least one owner.
        "owner_count": owners,
        "may_leave": not team.personal_for_id
        and not (membership.role == Role.OWNER and owners == 1),
        "members": team.memberships.select_related("user").order_by("user__username"),
        "projects": team.projects.order_by("name"),
        "storage_used": used,
        "storage_quota": quota,
        "storage_percent": min(100, round(100 * used / quota)) if quota else 0,
        "assignable": _assignable(membership),
        "rename_form": TeamForm(instance=team),
    }
    if is_admin:
        context["invites"] = team.invites.filter(accepted_at__isnull=True).select_related(
            "created_by"
        )
        context["invite_form"] = InviteForm(assignable=context["assignable"])
    context.update(extra)
    return context


@login_required
@require_GET
def team_detail(request, pk):
    team, membership = get_team_for_user(request.user, pk)
    extra = {}
    shown = request.session.pop(NEW_INVITE_KEY, None)
    if shown and shown.get("team") == team.pk and membership.allows(Role.ADMIN):
        invite = Invite.objects.filter(pk=shown["invite"], team=team).first()
        if invite is not None:
            extra = {"new_invite": invite, "new_invite_link": shown["link"]}
    context = _team_context(request, team, membership, **extra)
    return render(request, "teams/detail.html", context)


@login_required
@require_POST
def team_settings(request, pk):
    team, membership = get_team_for_user(request.user, pk, Role.ADMIN)
    form = TeamForm(request.POST, instance=team)
    if not form.is_valid():
        context = _team_context(request, team, membership, rename_form=form)
        return render(request, "teams/detail.html", context, status=400)
    form.save()
    messages.success(request, "Team renamed.")
    return redirect("team", team.pk)


@login_required
def team_delete(request, pk):
    team, membership = get_team_for_user(request.user, pk, Role.OWNER)
    if team.personal_for_id:
        messages.error(request, "A personal team cannot be deleted.")
        return redirect("team", team.pk)
    if request.method == "POST":
        from reviewer.reviews.retention import delete_team, team_has_running_reviews

        # As for a project: a running review is cancelled by a person, not deleted under
        # its worker.
        if team_has_running_reviews(team):
            messages.error(request, "Reviews of this team are still running; cancel them first.")
            return render(request, "teams/delete.html", {"team": team}, status=400)
        if request.POST.get("confirm") != team.name:
            messages.error(request, "Type the team's name to confirm.")
            return render(request, "teams/delete.html", {"team": team}, status=400)

        name = team.name
        delete_team(team)
        messages.success(request, f"Team “{name}” and its projects were deleted.")
        return redirect("team_list")
    return render(request, "teams/delete.html", {"team": team})


# -- members ----------------------------------------------------------------------------
@login_required
@require_POST
def member_role(request, pk, member_pk):
    team, mine, target = get_membership_for_user(request.user, pk, member_pk)
    form = RoleForm(request.POST, assignable=_assignable(mine))
    if not form.is_valid():
        messages.error(request, "Choose a role you may assign.")
        return redirect("team", team.pk)
    role = form.cleaned_data["role"]
    if target.role == Role.OWNER and mine.role != Role.OWNER:
        messages.error(request, "Only an owner can change an owner's role.")
    elif target.role == Role.OWNER and role != Role.OWNER and not other_owners(team, target):
        messages.error(request, "A team needs at least one owner; make someone else owner first.")
    else:
        target.role = role
        target.save(update_fields=["role"])
        messages.success(
            request, f"{target.user.get_username()} is now {target.get_role_display()}."
        )
    return redirect("team", team.pk)


@login_required
@require_POST
def member_remove(request, pk, member_pk):
    team, mine, target = get_membership_for_user(request.user, pk, member_pk)
    if target.role == Role.OWNER and mine.role != Role.OWNER:
        messages.error(request, "Only an owner can remove an owner.")
    elif target.role == Role.OWNER and not other_owners(team, target):
        messages.error(request, "A team needs at least one owner.")
    else:
        target.delete()
        messages.success(request, f"{target.user.get_username()} was removed from the team.")
        if target.user_id == request.user.pk:
            return redirect("team_list")
    return redirect("team", team.pk)


@login_required
@require_POST
def team_leave(request, pk):
    team, mine = get_team_for_user(request.user, pk)
    if team.personal_for_id == request.user.pk:
        messages.error(request, "You cannot leave your personal team.")
        return redirect("team", team.pk)
    if mine.role == Role.OWNER and not other_owners(team, mine):
        messages.error(request, "You are the last owner; make someone else owner first.")
        return redirect("team", team.pk)
    mine.delete()
    messages.success(request, f"You left “{team.name}”.")
    return redirect("team_list")


# -- invites ----------------------------------------------------------------------------
@login_required
@require_POST
def invite_create(request, pk):
    team, mine = get_team_for_user(request.user, pk, Role.ADMIN)
    form = InviteForm(request.POST, assignable=_assignable(mine))
    if not form.is_valid():
        context = _team_context(request, team, mine, invite_form=form)
        return render(request, "teams/detail.html", context, status=400)
    token, token_hash = new_token()
    invite = form.save(commit=False)
    invite.team = team
    invite.created_by = request.user
    invite.token_hash = token_hash
    invite.expires_at = timezone.now() + timedelta(days=settings.INVITE_EXPIRY_DAYS)
    invite.save()
    # SITE_URL, not the request's Host: this link goes into email.
    link = settings.SITE_URL.rstrip("/") + reverse("invite_accept", args=[token])
    if invite.email:
        send_mail(
            f"You are invited to {team.name} on reviewer",
            (
                f"{request.user.get_username()} invited you to join the team “{team.name}” "
                f"as {invite.get_role_display().lower()} on reviewer.\n\n"
                f"Accept the invitation: {link}\n\n"
                f"The link expires in {settings.INVITE_EXPIRY_DAYS} days and works once."
            ),
            None,
            [invite.email],
        )
    # The link is shown once, on the page this redirects to; only its hash is kept.
    request.session[NEW_INVITE_KEY] = {"team": team.pk, "invite": invite.pk, "link": link}
    messages.success(request, "Invite created.")
    return redirect("team", team.pk)


@login_required
@require_POST
def invite_revoke(request, pk, invite_pk):
    team, _mine, invite = get_invite_for_user(request.user, pk, invite_pk)
    Invite.objects.filter(pk=invite.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    messages.success(request, "Invite revoked.")
    return redirect("team", team.pk)


def invite_accept(request, token):
    invite = get_pending_invite(token)
    team = invite.team
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path())
        # The token is the authority to see whom it invites, as it is to join.
        context = {"invite": invite, "team": team, "next": request.path}
        context["signup_enabled"] = settings.SIGNUP_ENABLED
        return render(request, "teams/invite.html", context)
    already = membership_for(request.user, team)
    wrong_email = bool(invite.email) and invite.email.lower() != (request.user.email or "").lower()
    context = {"invite": invite, "team": team, "already": already, "wrong_email": wrong_email}
    if request.method != "POST":
        return render(request, "teams/invite.html", context)
    if already or wrong_email:
        return render(request, "teams/invite.html", context, status=400)
    with transaction.atomic():
        taken = Invite.objects.filter(
            pk=invite.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(accepted_at=timezone.now(), accepted_by=request.user)
        if not taken:
            raise Http404("No such invite.")
        Membership.objects.create(team=team, user=request.user, role=invite.role)
    messages.success(request, f"You joined “{team.name}” as {invite.get_role_display().lower()}.")
    return redirect("team", team.pk)
