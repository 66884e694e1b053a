from django.urls import path

from . import views

urlpatterns = [
    path("findings/<int:pk>/triage", views.finding_triage, name="finding_triage"),
    path("reviews/<int:pk>/spec", views.review_spec, name="review_spec"),
]
