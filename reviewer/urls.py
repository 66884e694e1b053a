from django.contrib import admin
from django.urls import include, path

from reviewer.intake.views import git_token, preview, projects
from reviewer.reports.views import history, sharing, source
from reviewer.runs import provider_keys
from reviewer.runs import views as runs
from reviewer.splits import views as splits
from reviewer.streams import views as stream

urlpatterns = [
    path("", projects.home, name="home"),
    path("projects/new", projects.project_create, name="project_create"),
    path("projects/<int:pk>/", projects.project_detail, name="project"),
    path("projects/<int:pk>/settings", projects.project_settings, name="project_settings"),
    path("projects/<int:pk>/reviews", projects.review_create, name="review_create"),
    path("reviews/<int:pk>/", runs.review_detail, name="review"),
    path("reviews/<int:pk>/source/<path:path>", source.review_source, name="review_source"),
    path("reviews/<int:pk>/events", stream.review_events, name="review_events"),
    path("reviews/<int:pk>/preview", preview.review_preview, name="review_preview"),
    path(
        "reviews/<int:pk>/preview/patterns",
        preview.review_preview_save,
        name="review_preview_save",
    ),
    path("reviews/<int:pk>/start", preview.review_start, name="review_start"),
    path("reviews/<int:pk>/cancel", runs.review_cancel, name="review_cancel"),
    path("reviews/<int:pk>/retry", runs.review_retry, name="review_retry"),
    path("reviews/<int:pk>/refetch", runs.review_refetch, name="review_refetch"),
    path("reviews/<int:pk>/parts/<int:number>/retry", splits.part_retry, name="review_part_retry"),
    path(
        "reviews/<int:pk>/parts/<int:number>/cancel",
        splits.part_cancel,
        name="review_part_cancel",
    ),
    path("teams/<int:pk>/keys", provider_keys.provider_keys, name="provider_keys"),
    path(
        "teams/<int:pk>/keys/<slug:provider>/delete",
        provider_keys.provider_key_delete,
        name="provider_key_delete",
    ),
    path("teams/<int:pk>/git-token", git_token.git_token, name="git_token"),
    path("teams/<int:pk>/git-token/delete", git_token.git_token_delete, name="git_token_delete"),
    # History, comparison, re-runs and deletion.
    path("projects/<int:pk>/history", history.project_history, name="project_history"),
    path("projects/<int:pk>/compare", history.review_compare, name="review_compare"),
    path("projects/<int:pk>/delete", history.project_delete, name="project_delete"),
    path("reviews/<int:pk>/rerun", history.review_rerun, name="review_rerun"),
    path("reviews/<int:pk>/delete", history.review_delete, name="review_delete"),
    # Sharing and export.
    path("reviews/<int:pk>/share", sharing.review_share, name="review_share"),
    path(
        "reviews/<int:pk>/export.md", sharing.review_export_markdown, name="review_export_markdown"
    ),
    path("reviews/<int:pk>/export.html", sharing.review_export_html, name="review_export_html"),
    path("s/<str:token>", sharing.shared_review, name="shared_review"),
    # Accounts, teams and invites; the JSON API and API tokens.
    # (the accounts URLs, Django's auth views included, are in reviewer/teams/urls.py)
    path("", include("reviewer.teams.urls")),
    path("", include("reviewer.api.urls")),
    path("", include("reviewer.findings.urls")),
    path("", include("reviewer.notifications.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "reviewer.errors.page_not_found"
handler403 = "reviewer.errors.permission_denied"
