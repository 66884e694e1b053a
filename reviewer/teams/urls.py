from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from reviewer.security import (
    ThrottledAdminAuthenticationForm,
    ThrottledLoginView,
    ThrottledPasswordResetView,
)

from . import views

# The admin's login page would otherwise be a way around the login throttle.
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/password_reset/",
        ThrottledPasswordResetView.as_view(
            subject_template_name="registration/password_reset_subject.txt",
            email_template_name="registration/password_reset_email.html",
        ),
        name="password_reset",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("teams/", views.team_list, name="team_list"),
    path("teams/new", views.team_create, name="team_create"),
    path("teams/<int:pk>/", views.team_detail, name="team"),
    path("teams/<int:pk>/settings", views.team_settings, name="team_settings"),
    path("teams/<int:pk>/delete", views.team_delete, name="team_delete"),
    path("teams/<int:pk>/leave", views.team_leave, name="team_leave"),
    path("teams/<int:pk>/members/<int:member_pk>/role", views.member_role, name="member_role"),
    path(
        "teams/<int:pk>/members/<int:member_pk>/remove", views.member_remove, name="member_remove"
    ),
    path("teams/<int:pk>/invites", views.invite_create, name="invite_create"),
    path(
        "teams/<int:pk>/invites/<int:invite_pk>/revoke", views.invite_revoke, name="invite_revoke"
    ),
    path("invites/<str:token>", views.invite_accept, name="invite_accept"),
]
