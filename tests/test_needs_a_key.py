"""A model no key can reach is marked in every select, explained on the preview and
refused on start (pages and API) with one sentence naming the provider; the Provider keys
page says what each provider uses. Models the catalogue lacks are named as such."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewer.reviews.models import ProviderKey, Review
from tests.factories import make_pdf, make_zip

pytestmark = pytest.mark.django_db

SENTENCE = "Gemini 2.5 Pro needs a Google API key: add one under Provider keys"
NEEDS = "Gemini 2.5 Pro needs a Google API key: add one under <a href="


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    monkeypatch.setattr("reviewer.runs.tasks.run_review.delay", lambda review_id: None)


def _files(**extra):
    return {
        "archive": SimpleUploadedFile("shop.zip", make_zip(), "application/zip"),
        "spec": SimpleUploadedFile("spec.pdf", make_pdf(), "application/pdf"),
        **extra,
    }


def _option(page, model_id):
    return re.search(rf'<option value="{re.escape(model_id)}"[^>]*>([^<]*)</option>', page)[1]


def _draft(client, project, model):
    client.post(f"/projects/{project.pk}/reviews", _files(model=model, preview="1"))
    return Review.objects.latest("pk")


def test_every_model_select_marks_the_models_without_a_key(client, alice, project, media_root):
    client.force_login(alice)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    # The upload form and the project settings both offer the models.
    assert page.count("Gemini 2.5 Pro (needs a key)") == 2
    assert _option(page, "gpt-4.1") == "GPT-4.1"
    draft = _draft(client, project, "gpt-4.1")
    preview = client.get(f"/reviews/{draft.pk}/preview").content.decode()
    assert _option(preview, "gemini-2.5-pro") == "Gemini 2.5 Pro (needs a key)"


def test_a_teams_own_key_clears_the_mark(client, alice, project, team, media_root):
    stored = ProviderKey(team=team, provider="google")
    stored.set_key("team-google-key")
    stored.save()
    client.force_login(alice)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert _option(page, "gemini-2.5-pro") == "Gemini 2.5 Pro"


def test_the_preview_says_so_and_start_is_refused(client, alice, project, team, media_root):
    client.force_login(alice)
    draft = _draft(client, project, "gemini-2.5-pro")
    page = client.get(f"/reviews/{draft.pk}/preview").content.decode()
    assert NEEDS in page and f'<a href="/teams/{team.pk}/keys">Provider keys</a>' in page
    assert ">Start review</button>" not in page
    response = client.post(f"/reviews/{draft.pk}/start", {"model": "gemini-2.5-pro"})
    assert response.status_code == 400 and NEEDS in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_starting_from_the_upload_form_is_refused_with_a_link(client, alice, project, team):
    client.force_login(alice)
    response = client.post(f"/projects/{project.pk}/reviews", _files(model="gemini-2.5-pro"))
    page = response.content.decode()
    assert response.status_code == 400 and NEEDS in page
    assert f'<a href="/teams/{team.pk}/keys">Provider keys</a>' in page
    assert not Review.objects.exists()


def test_the_api_answers_400_with_the_sentence(client, alice, project, team, media_root):
    client.force_login(alice)
    token = re.search(
        r'value="(rvw_[^"]+)"',
        client.post("/account/tokens/new", {"name": "CI"}, follow=True).content.decode(),
    )[1]
    response = client.post(
        f"/api/projects/{project.pk}/reviews",
        _files(model="gemini-2.5-pro"),
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert response.json() == {"error": f"{SENTENCE} (http://127.0.0.1:8000/teams/{team.pk}/keys)."}
    assert not Review.objects.exists()


def test_retry_is_refused_when_the_key_is_gone(client, alice, make_review):
    review = make_review(model="gemini-2.5-pro", status="failed")
    client.force_login(alice)
    response = client.post(f"/reviews/{review.pk}/retry", follow=True)
    assert NEEDS in response.content.decode()
    assert Review.objects.count() == 1


def test_the_provider_keys_page_says_what_each_provider_uses(
    client, alice, team, settings, monkeypatch
):
    monkeypatch.setenv("LLM_DEEPSEEK_API_KEY", "ds-server-key")
    stored = ProviderKey(team=team, provider="google")
    stored.set_key("team-google-key")
    stored.save()
    client.force_login(alice)
    page = client.get(f"/teams/{team.pk}/keys").content.decode()
    status = dict(re.findall(r"<td>(\w+)</td>\s*<td class=\"key-status\">(.*?)</td>", page))
    assert status["google"] == "team key"
    assert status["deepseek"] == "server key"
    assert status["openai"] == "server key"
    assert "not configured" in status["openrouter"]
    settings.LLM_GATEWAY = True
    page = client.get(f"/teams/{team.pk}/keys").content.decode()
    assert "through the gateway" in page and "not configured" not in page


def test_a_model_unknown_to_the_catalogue_is_named_with_a_link_for_staff(
    client, alice, project, media_root, make_review
):
    client.force_login(alice)
    draft = _draft(client, project, "gpt-4.1")
    page = client.get(f"/reviews/{draft.pk}/preview", {"model": "llama3.1:8b"})
    # The preview only offers catalogue models: an unknown id comes from the project.
    assert page.status_code == 400
    review = make_review(model="llama3.1:8b")
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "“llama3.1:8b” is not in the catalogue" in page
    assert "catalogueentry/add/" not in page
    sent = client.get(f"/reviews/{review.pk}/preview").content.decode()
    assert "“llama3.1:8b” is not in the catalogue" in sent

    alice.is_staff = alice.is_superuser = True
    alice.save()
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    add = re.search(r'href="(/admin/reviews/catalogueentry/add/\?[^"]+)"', page)[1]
    assert "model_id=llama3.1%3A8b" in add
    form = client.get(add.replace("&amp;", "&")).content.decode()
    assert 'value="llama3.1:8b"' in form
    entry = {
        "model_id": "llama3.1:8b",
        "label": "Llama 3.1 8B",
        "adapter": "openai_text",
        "provider": "custom",
        "api_model": "llama3.1:8b",
        "context_tokens": 131072,
        "max_output_tokens": 8192,
        "input_price_per_mtok": "0",
        "output_price_per_mtok": "0",
        "source": "local server",
    }
    response = client.post("/admin/reviews/catalogueentry/add/", entry)
    assert response.status_code == 302, response.content.decode()[-2000:]
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "not in the catalogue" not in page


def test_the_review_command_refuses_a_model_without_a_key(project, tmp_path, capsys):
    from django.core.management import call_command

    archive, spec = tmp_path / "shop.zip", tmp_path / "spec.pdf"
    archive.write_bytes(make_zip())
    spec.write_bytes(make_pdf())
    with pytest.raises(SystemExit) as exited:
        call_command("review", str(archive), spec=str(spec), project="Shop", model="gemini-2.5-pro")
    assert exited.value.code == 2
    assert SENTENCE in capsys.readouterr().err
    assert not Review.objects.exists()
