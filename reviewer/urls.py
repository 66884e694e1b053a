from django.contrib import admin
from django.urls import include, path

from reviewer.reviews.views import keys, projects, review_pages, stream

urlpatterns = [
    path("", projects.home, name="home"),
    path("projects/new", projects.project_create, name="project_create"),
    path("projects/<int:pk>/", projects.project_detail, name="project"),
    path("projects/<int:pk>/settings", projects.project_settings, name="project_settings"),
    path("projects/<int:pk>/reviews", projects.review_create, name="review_create"),
    path("reviews/<int:pk>/", review_pages.review_detail, name="review"),
    path("reviews/<int:pk>/events", stream.review_events, name="review_events"),
    path("reviews/<int:pk>/preview", review_pages.review_preview, name="review_preview"),
    path(
        "reviews/<int:pk>/preview/patterns",
        review_pages.review_preview_save,
        name="review_preview_save",
    ),
    path("reviews/<int:pk>/start", review_pages.review_start, name="review_start"),
    path("reviews/<int:pk>/cancel", review_pages.review_cancel, name="review_cancel"),
    path("reviews/<int:pk>/retry", review_pages.review_retry, name="review_retry"),
    path("teams/<int:pk>/keys", keys.provider_keys, name="provider_keys"),
    path(
        "teams/<int:pk>/keys/<slug:provider>/delete",
        keys.provider_key_delete,
        name="provider_key_delete",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
