import pytest

from reviewer.reviews.models import Review

pytestmark = pytest.mark.django_db


@pytest.fixture
def review(project, alice, media_root):
    return Review.objects.create(
        project=project,
        created_by=alice,
        archive="a",
        archive_name="a.zip",
        spec="s",
        spec_name="s.pdf",
        model="gpt-4.1",
        status="done",
        report="# Fine",
    )


@pytest.mark.parametrize("url_name", ["project", "review"])
def test_outsider_gets_404_for_another_teams_pages(client, charlie, project, review, url_name):
    client.force_login(charlie)
    pk = project.pk if url_name == "project" else review.pk
    assert (
        client.get(f"/{'projects' if url_name == 'project' else 'reviews'}/{pk}/").status_code
        == 404
    )


def test_member_sees_the_project_and_its_reviews(client, bob, project, review):
    client.force_login(bob)
    page = client.get(f"/projects/{project.pk}/")
    assert page.status_code == 200
    assert f"/reviews/{review.pk}/" in page.content.decode()


def test_anonymous_visitor_is_sent_to_login(client, project):
    response = client.get(f"/projects/{project.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_outsider_cannot_upload_to_another_teams_project(client, charlie, project):
    client.force_login(charlie)
    assert client.post(f"/projects/{project.pk}/reviews").status_code == 404


def test_finished_review_page_shows_sanitized_report(client, alice, review):
    Review.objects.filter(pk=review.pk).update(report="# Title\n\n<script>alert(1)</script>")
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "<h1>Title</h1>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_a_viewer_sees_no_upload_form_or_settings(client, victor, project):
    client.force_login(victor)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "Repository archive" not in page and "Project settings" not in page
    assert "a member of the team can start new ones" in page


def test_a_member_can_upload_but_not_change_settings(client, bob, project):
    client.force_login(bob)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "Repository archive" in page and "Project settings" not in page
