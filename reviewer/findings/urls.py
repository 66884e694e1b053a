from django.urls import path

from . import api, views

urlpatterns = [
    path("findings/<int:pk>/triage", views.finding_triage, name="finding_triage"),
    path("reviews/<int:pk>/spec", views.review_spec, name="review_spec"),
    path("reviews/<int:pk>/export.sarif", views.review_export_sarif, name="review_export_sarif"),
    path(
        "reviews/<int:pk>/findings.json",
        views.review_export_findings,
        name="review_export_findings",
    ),
    path("api/reviews/<int:pk>/findings", api.review_findings, name="api_review_findings"),
    path("api/findings/<int:pk>/triage", api.finding_triage, name="api_finding_triage"),
]
