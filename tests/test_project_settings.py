import pytest

pytestmark = pytest.mark.django_db


def test_admin_sets_the_default_model_and_the_upload_form_preselects_it(client, alice, project):
    client.force_login(alice)
    response = client.post(
        f"/projects/{project.pk}/settings",
        {"name": "Shop", "model": "gemini-2.5-pro", "ignore_patterns": "docs/\n"},
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.model == "gemini-2.5-pro" and project.ignore_patterns.strip() == "docs/"
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert '<option value="gemini-2.5-pro" selected>' in page


def test_a_model_outside_the_catalogue_is_refused(client, alice, project):
    client.force_login(alice)
    response = client.post(f"/projects/{project.pk}/settings", {"name": "Shop", "model": "gpt-9"})
    assert response.status_code == 400
    project.refresh_from_db()
    assert project.model == "gpt-4.1"


def test_a_model_added_in_the_admin_becomes_choosable(client, alice, project):
    from reviewer.reviews.models import CatalogueEntry

    CatalogueEntry.objects.create(
        model_id="local-qwen", label="Qwen on our vLLM", api_model="Qwen/Qwen3-32B"
    )
    client.force_login(alice)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert '<option value="local-qwen">Qwen on our vLLM</option>' in page
    response = client.post(
        f"/projects/{project.pk}/settings", {"name": "Shop", "model": "local-qwen"}
    )
    assert response.status_code == 302
