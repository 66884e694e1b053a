"""Where a model's requests go, with which key. A key goes only to the endpoint it was
given for:

- `LLM_BASE_URL` + `LLM_API_KEY` are one OpenAI-compatible endpoint. OpenAI's models use
  it (unless `LLM_OPENAI_BASE_URL`/`LLM_OPENAI_API_KEY` give them their own), and so do
  models without a base URL of their own and ids the catalogue does not know.
- Every other provider goes to `LLM_<PROVIDER>_BASE_URL` (default: the catalogue's) with
  `LLM_<PROVIDER>_API_KEY`, never with `LLM_API_KEY`.
- A team's stored key for the provider replaces the server's key on the same route.
- `LLM_GATEWAY=1`: every model goes to `LLM_BASE_URL` with `LLM_API_KEY`; teams' provider
  keys are not used there (they belong to the providers, not to the gateway).
"""

import dataclasses
import os
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html

from reviewer import llm
from reviewer.llm.messages import PROVIDER_NAMES, host_of

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Route:
    base_url: str
    server_key: str | None
    # Whose team key applies here (None behind a gateway).
    provider: str | None
    # The deployment named this URL itself: a local server that takes no key is allowed.
    configured: bool
    # Who answers there, for sentences ("Google", "the gateway at proxy:4000").
    name: str


def provider_name(provider):
    return PROVIDER_NAMES.get(provider, provider)


def _env(provider, what):
    return os.environ.get(f"LLM_{provider.upper().replace('-', '_')}_{what}") or None


def route_for(model):
    if settings.LLM_GATEWAY:
        name = f"the gateway at {host_of(settings.LLM_BASE_URL)}"
        return Route(settings.LLM_BASE_URL, settings.LLM_API_KEY or None, None, True, name)
    own_url, own_key = _env(model.provider, "BASE_URL"), _env(model.provider, "API_KEY")
    home = own_url or model.default_base_url
    if home and (own_url or own_key or model.provider != "openai"):
        name = provider_name(model.provider)
        return Route(home, own_key, model.provider, bool(own_url), name)
    generic = settings.LLM_BASE_URL
    official = host_of(generic) == host_of(OPENAI_BASE_URL)
    name = "OpenAI" if official else host_of(generic)
    configured = generic.rstrip("/") != OPENAI_BASE_URL
    return Route(generic, settings.LLM_API_KEY or None, model.provider, configured, name)


def gateway_model(model):
    """The model as the gateway takes it: its name there, in the OpenAI-compatible format
    (a native adapter's PDF goes as a file part, which gateways pass through)."""
    if not settings.LLM_GATEWAY:
        return model
    name = settings.LLM_GATEWAY_MODELS.get(model.id) or model.gateway_model or model.id
    adapter = model.adapter
    if not adapter.startswith("openai_"):
        adapter = "openai_file" if model.pdf else "openai_text"
    return dataclasses.replace(model, adapter=adapter, api_model=name)


def _stored(team, provider):
    from reviewer.reviews.models import ProviderKey

    if team is None or provider is None:
        return None
    return ProviderKey.objects.filter(team=team, provider=provider).first()


def team_key(team, provider):
    stored = _stored(team, provider)
    if stored is None:
        return None
    key = stored.get_key()
    if key is None:
        # Encrypted under another secret (a host with a different SECRET_KEY or
        # KEY_ENCRYPTION_SECRET). Falling back to the server's key would bill the wrong
        # account, so the review fails instead.
        raise llm.LLMError(
            f"The team's {provider_name(provider)} key cannot be decrypted on this server; "
            "an admin should enter it again under Provider keys."
        )
    return key


def endpoint_for(model, team=None):
    route = route_for(model)
    key = team_key(team, route.provider) or route.server_key
    return llm.Endpoint(base_url=route.base_url, api_key=key, name=route.name)


def stored_providers(team):
    """The providers the team has stored a key for, in one query."""
    from reviewer.reviews.models import ProviderKey

    if team is None:
        return set()
    return set(ProviderKey.objects.filter(team=team).values_list("provider", flat=True))


def key_source(model, team=None, stored=None):
    """ "team", "server", "none" (a configured endpoint used without a key) or None: no
    usable key, the model cannot run. `stored` (stored_providers) saves the query when
    asking for many models."""
    route = route_for(model)
    if stored is None:
        has_team_key = _stored(team, route.provider) is not None
    else:
        has_team_key = route.provider in stored
    if has_team_key:
        return "team"
    if route.server_key:
        return "server"
    return "none" if route.configured else None


def provider_status(provider, models, team):
    """How the team's reviews reach `provider`, for the Provider keys page."""
    if settings.LLM_GATEWAY:
        return "gateway"
    model = next((m for m in models if m.provider == provider), None)
    source = key_source(model, team) if model is not None else None
    return {"team": "team key", "server": "server key", "none": "server endpoint, no key"}.get(
        source, "not configured"
    )


@dataclass(frozen=True)
class KeyNeeded:
    """A model that cannot run for this team: no key for its provider."""

    label: str
    provider: str
    keys_path: str

    @property
    def needs(self):
        article = "an" if self.provider[:1].lower() in "aeiou" else "a"
        return f"{self.label} needs {article} {self.provider} API key"

    @property
    def sentence(self):
        return f"{self.needs}: add one under Provider keys."

    def html(self):
        link = '<a href="{}">Provider keys</a>'
        return format_html("{}: add one under " + link + ".", self.needs, self.keys_path)

    def for_api(self):
        url = settings.SITE_URL.rstrip("/") + self.keys_path
        return f"{self.needs}: add one under Provider keys ({url})."


def key_needed(model, team):
    """KeyNeeded when no key can reach the model's provider for this team, else None."""
    if key_source(model, team) is not None:
        return None
    path = reverse("provider_keys", args=[team.pk]) if team is not None else "/"
    return KeyNeeded(model.label, route_for(model).name, path)
