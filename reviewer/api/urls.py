from django.urls import path

from . import views

urlpatterns = [
    path("api/projects", views.projects, name="api_projects"),
    path("api/projects/<int:pk>/reviews", views.review_create, name="api_review_create"),
    path("api/reviews/<int:pk>", views.review_detail, name="api_review"),
    path("api/reviews/<int:pk>/refetch", views.review_refetch, name="api_review_refetch"),
    path("api/reviews/<int:pk>/events", views.review_events, name="api_review_events"),
    path("account/tokens/", views.tokens, name="api_tokens"),
    path("account/tokens/new", views.token_create, name="api_token_create"),
    path("account/tokens/<int:pk>/revoke", views.token_revoke, name="api_token_revoke"),
]
