"""Authorization helpers for projects and reviews: one per object type, 404 for others."""

from asgiref.sync import sync_to_async
from django.shortcuts import get_object_or_404

from reviewer.teams.access import require_role
from reviewer.teams.models import Role

from .models import Project, Review


def get_project_for_user(user, pk, role=Role.VIEWER):
    project = get_object_or_404(Project.objects.select_related("team"), pk=pk)
    require_role(user, project.team, role)
    return project


def get_review_for_user(user, pk, role=Role.VIEWER):
    review = get_object_or_404(Review.objects.select_related("project__team"), pk=pk)
    require_role(user, review.project.team, role)
    return review


aget_review_for_user = sync_to_async(get_review_for_user)
