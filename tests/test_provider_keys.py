import pytest

from reviewer.reviews.models import ProviderKey
from reviewer.runs import library_settings

pytestmark = pytest.mark.django_db

TEAM_KEY = "sk-team-own-key-1234567890abcdef"


def test_owner_saves_a_key_that_is_stored_encrypted_and_never_shown(client, alice, team):
    client.force_login(alice)
    response = client.post(f"/teams/{team.pk}/keys", {"provider": "openai", "api_key": TEAM_KEY})
    assert response.status_code == 302
    stored = ProviderKey.objects.get(team=team, provider="openai")
    assert TEAM_KEY not in stored.encrypted_key
    assert stored.get_key() == TEAM_KEY
    page = client.get(f"/teams/{team.pk}/keys").content.decode()
    assert TEAM_KEY not in page and TEAM_KEY[-6:] not in page
    assert "set " in page


def test_team_key_wins_over_the_servers_key(settings, team):
    settings.LLM_API_KEY = "sk-server-key"
    model = library_settings.model_for("gpt-4.1")
    assert library_settings.endpoint_for(model, team).api_key == "sk-server-key"
    stored = ProviderKey(team=team, provider="openai")
    stored.set_key(TEAM_KEY)
    stored.save()
    assert library_settings.endpoint_for(model, team).api_key == TEAM_KEY
    # Neither the server's generic key nor the team's OpenAI key goes to Google.
    assert (
        library_settings.endpoint_for(library_settings.model_for("gemini-2.5-pro"), team).api_key
        is None
    )


def test_a_key_encrypted_under_another_secret_is_ignored(settings, team):
    stored = ProviderKey(team=team, provider="openai")
    stored.set_key(TEAM_KEY)
    stored.save()
    settings.KEY_ENCRYPTION_SECRET = "rotated"
    assert ProviderKey.objects.get(pk=stored.pk).get_key() is None


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_only_admins_reach_the_key_page(client, request, team, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(f"/teams/{team.pk}/keys").status_code == 404
    response = client.post(f"/teams/{team.pk}/keys", {"provider": "openai", "api_key": "x"})
    assert response.status_code == 404
    assert not ProviderKey.objects.exists()


def test_removing_a_key_falls_back_to_the_server(client, alice, team):
    stored = ProviderKey(team=team, provider="openai")
    stored.set_key(TEAM_KEY)
    stored.save()
    client.force_login(alice)
    client.post(f"/teams/{team.pk}/keys/openai/delete")
    assert not ProviderKey.objects.exists()


def test_a_team_key_that_cannot_be_decrypted_fails_instead_of_using_the_servers(
    team, settings, monkeypatch
):
    from reviewer import llm
    from reviewer.reviews import secrets_box

    monkeypatch.setenv("LLM_OPENAI_API_KEY", "sk-server-key")
    stored = ProviderKey(team=team, provider="openai")
    stored.set_key("sk-team-key")
    stored.save()
    settings.KEY_ENCRYPTION_SECRET = "another host's secret"
    secrets_box._fernet.cache_clear()
    model = library_settings.model_for("gpt-4.1")
    with pytest.raises(llm.LLMError) as raised:
        library_settings.endpoint_for(model, team)
    assert "cannot be decrypted" in raised.value.message
    assert "sk-" not in raised.value.message
