"""Deleting a team: refused while any of its reviews runs, as for a project."""

import pytest
from django.core.files.storage import default_storage

from reviewer.reviews.models import ACTIVE_STATUSES, Project, Review
from reviewer.teams.models import Membership, Role, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(alice):
    team = Team.objects.create(name="Acme")
    Membership.objects.create(team=team, user=alice, role=Role.OWNER)
    return team


@pytest.fixture
def acme_project(acme, alice):
    return Project.objects.create(team=acme, name="Shop", created_by=alice)


@pytest.mark.parametrize("status", ACTIVE_STATUSES)
def test_a_team_is_deleted_only_once_its_reviews_have_stopped(
    client, alice, acme, acme_project, make_review, status, django_capture_on_commit_callbacks
):
    running = make_review(project=acme_project, status=status)
    draft = make_review(project=acme_project, status="draft")
    client.force_login(alice)
    response = client.post(f"/teams/{acme.pk}/delete", {"confirm": acme.name})
    assert response.status_code == 400
    assert "Reviews of this team are still running; cancel them first." in (
        response.content.decode()
    )
    assert Team.objects.filter(pk=acme.pk).exists()
    assert Review.objects.filter(pk=running.pk, status=status).exists()

    Review.objects.filter(pk=running.pk).update(status="cancelled")
    names = [n for r in (running, draft) for n in (r.archive.name, r.spec.name)]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/teams/{acme.pk}/delete", {"confirm": acme.name})
    assert response.status_code == 302
    assert not Team.objects.filter(pk=acme.pk).exists()
    assert not Review.objects.filter(pk__in=[running.pk, draft.pk]).exists()
    assert not any(default_storage.exists(name) for name in names)
