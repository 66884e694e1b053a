"""A key goes only to the provider it belongs to; one setting sends everything through a
gateway. Checked on what real HTTP servers (the fakes) received."""

import json

import pytest

from reviewer import llm
from reviewer.reviews.models import ProviderKey
from reviewer.runs import endpoints, library_settings
from tests.factories import make_zip
from tests.fakes.llm_server import FakeLLMServer, status

pytestmark = pytest.mark.django_db

OPENAI_KEY = "sk-generic-endpoint-key-0001"
GOOGLE_KEY = "goog-own-key-0002"
DEEPSEEK_KEY = "ds-own-key-0003"
PDF = b"%PDF-1.4\n% spec\n%%EOF\n"


@pytest.fixture
def hosts(settings, monkeypatch):
    """Three providers on three servers: the generic endpoint, Google and DeepSeek."""
    with FakeLLMServer() as generic, FakeLLMServer() as google, FakeLLMServer() as deepseek:
        settings.LLM_BASE_URL = generic.url
        settings.LLM_API_KEY = OPENAI_KEY
        monkeypatch.setenv("LLM_GOOGLE_BASE_URL", google.gemini_url)
        monkeypatch.setenv("LLM_GOOGLE_API_KEY", GOOGLE_KEY)
        monkeypatch.setenv("LLM_DEEPSEEK_BASE_URL", deepseek.url)
        monkeypatch.setenv("LLM_DEEPSEEK_API_KEY", DEEPSEEK_KEY)
        yield {"generic": generic, "google": google, "deepseek": deepseek}


def _review(model_id, team=None):
    model = library_settings.model_for(model_id)
    endpoint = library_settings.endpoint_for(model, team)
    request = llm.ReviewRequest(
        instructions="Review.", prompt="code", spec_pdf=PDF, spec_text="The spec."
    )
    events = list(llm.stream_review(model, endpoint, request))
    return "".join(e.text for e in events if isinstance(e, llm.Delta))


def _rh(server):
    return [r["headers"] for r in server.requests]


def _headers(server):
    return [json.dumps(r["headers"]) for r in server.requests]


def test_each_model_goes_to_its_own_host_with_its_own_key(hosts):
    for model_id in ("gpt-4.1", "gemini-2.5-pro", "deepseek-v3.2", "some-local-model"):
        assert _review(model_id)
    generic, google, deepseek = hosts["generic"], hosts["google"], hosts["deepseek"]
    assert [r["body"]["model"] for r in generic.requests] == ["gpt-4.1", "some-local-model"]
    assert all(h["authorization"] == f"Bearer {OPENAI_KEY}" for h in _rh(generic))
    assert [r["headers"]["x-goog-api-key"] for r in google.requests] == [GOOGLE_KEY]
    assert [r["headers"]["authorization"] for r in deepseek.requests] == [f"Bearer {DEEPSEEK_KEY}"]
    for other in (google, deepseek):
        assert len(other.requests) == 1
        assert not any(OPENAI_KEY in h for h in _headers(other))


def test_without_its_own_key_a_provider_gets_no_key_at_all(hosts, monkeypatch):
    monkeypatch.delenv("LLM_GOOGLE_API_KEY")
    _review("gemini-2.5-pro")
    request = hosts["google"].requests[0]
    assert "x-goog-api-key" not in request["headers"]
    assert not any(OPENAI_KEY in h for h in _headers(hosts["google"]))


def test_the_default_model_setting_does_not_move_a_model_to_the_generic_host(hosts, settings):
    settings.LLM_MODEL = "gemini-2.5-pro"
    _review(library_settings.default_model_id())
    assert len(hosts["google"].requests) == 1 and hosts["generic"].requests == []


def test_a_teams_key_goes_to_its_provider_only(hosts, team):
    stored = ProviderKey(team=team, provider="openai")
    stored.set_key("sk-team-openai-0004")
    stored.save()
    _review("gpt-4.1", team)
    _review("gemini-2.5-pro", team)
    assert hosts["generic"].requests[0]["headers"]["authorization"] == "Bearer sk-team-openai-0004"
    assert not any("sk-team-openai" in h for h in _headers(hosts["google"]))


def test_behind_a_gateway_every_model_goes_to_it_under_the_gateways_name(hosts, settings, team):
    settings.LLM_GATEWAY = True
    settings.LLM_GATEWAY_MODELS = {"gemini-2.5-pro": "vertex-gemini-pro"}
    stored = ProviderKey(team=team, provider="google")
    stored.set_key("team-google-0005")
    stored.save()
    for model_id in ("gemini-2.5-pro", "deepseek-v3.2", "gpt-4.1"):
        _review(model_id, team)
    generic = hosts["generic"]
    assert hosts["google"].requests == [] and hosts["deepseek"].requests == []
    assert [r["body"]["model"] for r in generic.requests] == [
        "vertex-gemini-pro",
        "deepseek-v3.2",
        "gpt-4.1",
    ]
    assert all(r["path"].endswith("/chat/completions") for r in generic.requests)
    assert all(h["authorization"] == f"Bearer {OPENAI_KEY}" for h in _rh(generic))
    # Gemini's PDF goes as an OpenAI file part, which gateways pass through.
    parts = generic.requests[0]["body"]["messages"][-1]["content"]
    assert parts[0]["type"] == "file"
    assert library_settings.model_for("deepseek-v3.2").adapter == "openai_text"


def test_key_sources_say_where_each_key_comes_from(settings, team, monkeypatch):
    gpt, gemini = (library_settings.model_for(m) for m in ("gpt-4.1", "gemini-2.5-pro"))
    settings.LLM_API_KEY = ""
    assert endpoints.key_source(gpt, team) is None and endpoints.key_source(gemini) is None
    settings.LLM_API_KEY = OPENAI_KEY
    assert endpoints.key_source(gpt, team) == "server"
    assert endpoints.key_source(gemini, team) is None
    stored = ProviderKey(team=team, provider="google")
    stored.set_key("team-google")
    stored.save()
    assert endpoints.key_source(gemini, team) == "team"
    # A local server the deployment points at may take no key.
    settings.LLM_API_KEY = ""
    settings.LLM_BASE_URL = "http://127.0.0.1:11434/v1"
    assert endpoints.key_source(gpt, team) == "none"


def test_text_only_models_are_told_the_spec_comes_as_text(tmp_path):
    from django.core.management import call_command

    from tests.factories import make_pdf

    archive, spec = tmp_path / "shop.zip", tmp_path / "spec.pdf"
    archive.write_bytes(make_zip())
    spec.write_bytes(make_pdf())
    bodies = {}
    for model_id in ("gpt-4.1", "deepseek-v3.2"):
        out = tmp_path / f"{model_id}.json"
        call_command("pack", str(archive), spec=str(spec), model=model_id, output=str(out))
        bodies[model_id] = json.loads(out.read_text())
    pdf_system = bodies["gpt-4.1"]["messages"][0]["content"]
    text_system = bodies["deepseek-v3.2"]["messages"][0]["content"]
    assert "attached PDF" in pdf_system and "<specification> tags" not in pdf_system
    assert "attached PDF" not in text_system and "<specification> tags" in text_system
    assert bodies["deepseek-v3.2"]["messages"][1]["content"].startswith("<specification ")


def test_a_refused_key_is_named_with_its_provider(hosts):
    body = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key."}}
    hosts["google"].script(status(401, body=body))
    with pytest.raises(llm.LLMError) as raised:
        _review("gemini-2.5-pro")
    assert raised.value.message == "Google refused the key (401). Google said: API key not valid."
    assert GOOGLE_KEY not in raised.value.message
