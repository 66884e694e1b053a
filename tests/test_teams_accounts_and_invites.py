"""Accounts (sign-up, login throttling, password reset), teams, roles and invites."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from reviewer.reviews.models import Project
from reviewer.teams.models import Invite, Membership, Role, Team
from reviewer.teams.tokens import hash_token

pytestmark = pytest.mark.django_db


def _invite_link(response):
    match = re.search(r'value="(https?://[^"]+/invites/([^"]+))"', response.content.decode())
    assert match, "the invite link is shown once after creation"
    return match.group(1), match.group(2)


def test_signup_creates_the_account_its_personal_team_and_logs_in(client, django_user_model):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "dora",
            "email": "dora@example.com",
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
        },
    )
    assert response.status_code == 302
    dora = django_user_model.objects.get(username="dora")
    assert Team.objects.get(personal_for=dora).memberships.get().role == Role.OWNER
    assert client.get("/").status_code == 200


def test_signup_refuses_a_duplicate_email(client, alice):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "alice2",
            "email": "ALICE@example.com",
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
        },
    )
    assert response.status_code == 400
    assert "An account with this email exists already." in response.content.decode()


def test_login_page_keeps_its_labels_and_button(client):
    page = client.get("/accounts/login/").content.decode()
    assert ">Username</label>" in page and ">Password</label>" in page
    assert ">Log in</button>" in page


def test_login_is_throttled_after_repeated_failures(client, alice, password, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert "didn&#x27;t match" in response.content.decode()
    # Even the right password is refused while locked.
    response = client.post("/accounts/login/", {"username": "alice", "password": password})
    assert response.status_code == 429
    assert "Too many failed attempts; try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_throttle_is_per_username(client, alice, bob, password, settings):
    settings.LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "bob", "password": password})
    assert response.status_code == 302


def test_successful_login_clears_earlier_failures(client, alice, password, settings):
    settings.LOGIN_MAX_FAILURES = 2
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert (
        client.post("/accounts/login/", {"username": "alice", "password": password}).status_code
        == 302
    )
    client.logout()
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert (
        client.post("/accounts/login/", {"username": "alice", "password": password}).status_code
        == 302
    )


def test_password_reset_mails_a_working_link(client, alice):
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert "Set a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {
            "new_password1": "another-long-passphrase-7",
            "new_password2": "another-long-passphrase-7",
        },
    )
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("another-long-passphrase-7")


def test_user_creates_a_team_and_owns_it(client, alice):
    client.force_login(alice)
    response = client.post("/teams/new", {"name": "Platform"})
    team = Team.objects.get(name="Platform")
    assert response["Location"] == f"/teams/{team.pk}/"
    assert team.memberships.get(user=alice).role == Role.OWNER


def test_admin_creates_a_link_invite_that_stores_only_a_hash(client, alice, team):
    client.force_login(alice)
    response = client.post(
        f"/teams/{team.pk}/invites", {"email": "", "role": "viewer"}, follow=True
    )
    assert response.redirect_chain == [(f"/teams/{team.pk}/", 302)]
    link, token = _invite_link(response)
    invite = Invite.objects.get(team=team)
    assert len(token) >= 43  # 256 bits, url-safe base64
    assert invite.token_hash == hash_token(token)
    assert token not in str(Invite.objects.values().get())
    # The link is not shown again.
    assert token not in client.get(f"/teams/{team.pk}/").content.decode()


def test_invite_link_adds_the_user_with_its_role_once(client, alice, charlie, team):
    client.force_login(alice)
    _, token = _invite_link(
        client.post(f"/teams/{team.pk}/invites", {"role": "viewer"}, follow=True)
    )
    client.force_login(charlie)
    page = client.get(f"/invites/{token}")
    assert "You are invited to join" in page.content.decode()
    assert client.post(f"/invites/{token}").status_code == 302
    assert Membership.objects.get(team=team, user=charlie).role == Role.VIEWER
    # Used: a second use answers 404.
    assert client.get(f"/invites/{token}").status_code == 404


def test_anonymous_invitee_sees_the_team_and_signs_up_with_the_address_prefilled(
    client, alice, team
):
    client.force_login(alice)
    client.post(
        f"/teams/{team.pk}/invites", {"email": "dora@example.com", "role": "member"}, follow=True
    )
    token = re.search(r"/invites/(\S+)", mail.outbox[0].body).group(1)
    client.logout()
    page = client.get(f"/invites/{token}")
    assert page.status_code == 200
    body = page.content.decode()
    assert "alice invites you to join the team <strong>alice&#x27;s team</strong>" in body
    assert "dora@example.com" in body
    signup = re.search(r'href="(/accounts/signup/\?[^"]+)"', body).group(1).replace("&amp;", "&")
    assert f"next=/invites/{token}" in signup
    form = client.get(signup).content.decode()
    assert 'value="dora@example.com"' in form
    # Accepting still needs an account: a POST goes to the login page.
    accept = client.post(f"/invites/{token}")
    assert accept["Location"].startswith("/accounts/login/?next=/invites/")
    created = client.post(
        signup,
        {
            "username": "dora",
            "email": "dora@example.com",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
            "next": f"/invites/{token}",
        },
    )
    assert created["Location"] == f"/invites/{token}"
    assert client.post(f"/invites/{token}").status_code == 302
    assert Membership.objects.get(team=team, user__username="dora").role == Role.MEMBER


def test_expired_invite_answers_404(client, alice, charlie, team):
    client.force_login(alice)
    _, token = _invite_link(
        client.post(f"/teams/{team.pk}/invites", {"role": "member"}, follow=True)
    )
    Invite.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(charlie)
    assert client.get(f"/invites/{token}").status_code == 404
    assert client.post(f"/invites/{token}").status_code == 404
    assert not Membership.objects.filter(user=charlie, team=team).exists()


def test_invite_expiry_follows_the_setting(client, alice, team, settings):
    settings.INVITE_EXPIRY_DAYS = 2
    client.force_login(alice)
    client.post(f"/teams/{team.pk}/invites", {"role": "member"})
    invite = Invite.objects.get()
    assert timedelta(days=2) - (invite.expires_at - timezone.now()) < timedelta(minutes=1)


def test_revoked_invite_answers_404(client, alice, charlie, team):
    client.force_login(alice)
    _, token = _invite_link(
        client.post(f"/teams/{team.pk}/invites", {"role": "member"}, follow=True)
    )
    invite = Invite.objects.get()
    assert client.post(f"/teams/{team.pk}/invites/{invite.pk}/revoke").status_code == 302
    client.force_login(charlie)
    assert client.get(f"/invites/{token}").status_code == 404


def test_email_invite_is_mailed_and_only_that_address_can_accept(
    client, alice, charlie, django_user_model, password, team
):
    client.force_login(alice)
    client.post(f"/teams/{team.pk}/invites", {"email": "dora@example.com", "role": "member"})
    assert mail.outbox[0].to == ["dora@example.com"]
    token = re.search(r"/invites/(\S+)", mail.outbox[0].body).group(1)
    client.force_login(charlie)
    assert client.post(f"/invites/{token}").status_code == 400
    dora = django_user_model.objects.create_user("dora", "Dora@Example.com", password)
    client.force_login(dora)
    assert client.post(f"/invites/{token}").status_code == 302
    assert Membership.objects.get(team=team, user=dora).role == Role.MEMBER


def test_member_cannot_invite_or_manage_members(client, bob, alice, team):
    client.force_login(bob)
    assert client.post(f"/teams/{team.pk}/invites", {"role": "owner"}).status_code == 404
    mine = Membership.objects.get(team=team, user=alice)
    assert client.post(f"/teams/{team.pk}/members/{mine.pk}/remove").status_code == 404
    assert Invite.objects.count() == 0


def test_admin_cannot_grant_owner_or_touch_owners(client, alice, bob, team):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    client.force_login(bob)
    response = client.post(f"/teams/{team.pk}/invites", {"role": "owner"})
    assert response.status_code == 400
    owner = Membership.objects.get(team=team, user=alice)
    client.post(f"/teams/{team.pk}/members/{owner.pk}/role", {"role": "viewer"})
    client.post(f"/teams/{team.pk}/members/{owner.pk}/remove")
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_owner_changes_a_role_and_removes_a_member(client, alice, bob, team):
    client.force_login(alice)
    member = Membership.objects.get(team=team, user=bob)
    client.post(f"/teams/{team.pk}/members/{member.pk}/role", {"role": "viewer"})
    member.refresh_from_db()
    assert member.role == Role.VIEWER
    client.post(f"/teams/{team.pk}/members/{member.pk}/remove")
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_the_last_owner_cannot_be_demoted(client, alice, team):
    client.force_login(alice)
    mine = Membership.objects.get(team=team, user=alice)
    client.post(f"/teams/{team.pk}/members/{mine.pk}/role", {"role": "member"}, follow=True)
    mine.refresh_from_db()
    assert mine.role == Role.OWNER


def test_membership_of_another_team_answers_404(client, alice, charlie, team):
    from reviewer.teams.access import personal_team

    other = personal_team(charlie)
    theirs = Membership.objects.get(team=other)
    client.force_login(alice)
    url = f"/teams/{team.pk}/members/{theirs.pk}/remove"
    assert client.post(url).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_project_is_created_in_a_chosen_team(client, alice, bob, team):
    other = Team.objects.create(name="Platform")
    Membership.objects.create(team=other, user=bob, role=Role.MEMBER)
    client.force_login(bob)
    assert ">Create project</button>" in client.get("/").content.decode()
    client.post("/projects/new", {"name": "Infra", "team": other.pk})
    assert Project.objects.get(name="Infra").team == other


def test_viewer_cannot_create_a_project_in_the_team(client, victor, team):
    client.force_login(victor)
    response = client.post("/projects/new", {"name": "Sneaky", "team": team.pk})
    assert response.status_code == 400
    assert not Project.objects.filter(name="Sneaky").exists()


def test_team_page_shows_storage_use_against_the_quota(client, alice, team, settings):
    settings.TEAM_STORAGE_QUOTA_MB = 10
    client.force_login(alice)
    page = client.get(f"/teams/{team.pk}/").content.decode()
    assert "0\xa0bytes of 10.0\xa0MB used" in page
