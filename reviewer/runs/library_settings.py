"""Where the Django side meets the two plain libraries: which model, which endpoint and
key, which limits. Settings are read here so that packing/ and llm/ never import Django."""

import dataclasses
import os
from functools import cache

from django.conf import settings

from reviewer import llm
from reviewer.packing import Budget, PackOptions


@cache
def _file_catalogue():
    return llm.load_catalogue(settings.LLM_CATALOGUE_FILE or None)


def catalogue():
    """The shipped catalogue, the env-pointed file, then models added in the admin."""
    from reviewer.reviews.models import CatalogueEntry

    models = dict(_file_catalogue())
    for entry in CatalogueEntry.objects.all():
        models[entry.model_id] = entry.to_model_info()
    return models


def model_choices():
    return [(m.id, m.label) for m in catalogue().values()]


def default_model_id():
    return settings.LLM_MODEL


def model_for(model_id):
    models = catalogue()
    if model_id in models:
        return models[model_id]
    # An id the catalogue does not know is taken as a model of the configured
    # OpenAI-compatible endpoint, with the generic entry's limits.
    generic = models["openai-compatible"]
    return dataclasses.replace(generic, id=model_id, label=model_id, api_model=model_id)


def endpoint_for(model, team=None):
    """`LLM_<PROVIDER>_*` first; then `LLM_BASE_URL` for the default model and for models
    without a home of their own; then the catalogue's base URL. A team's own key for the
    provider wins over the server's."""
    provider = model.provider.upper().replace("-", "_")
    base_url = os.environ.get(f"LLM_{provider}_BASE_URL")
    if not base_url and (model.id == settings.LLM_MODEL or not model.default_base_url):
        base_url = settings.LLM_BASE_URL
    api_key = _team_key(team, model.provider)
    api_key = api_key or os.environ.get(f"LLM_{provider}_API_KEY") or settings.LLM_API_KEY
    return llm.Endpoint(base_url=base_url or model.default_base_url, api_key=api_key or None)


def _team_key(team, provider):
    from reviewer.reviews.models import ProviderKey

    if team is None:
        return None
    stored = ProviderKey.objects.filter(team=team, provider=provider).first()
    if stored is None:
        return None
    key = stored.get_key()
    if key is None:
        # Encrypted under another secret (a host with a different SECRET_KEY or
        # KEY_ENCRYPTION_SECRET). Falling back to the server's key would bill the wrong
        # account, so the review fails instead.
        raise llm.LLMError(
            f"The team's {provider} key cannot be decrypted on this server; an admin "
            "should enter it again under Provider keys."
        )
    return key


def review_request(packed, spec_name, model=None):
    """The provider-neutral request for a packed repository."""
    return llm.ReviewRequest(
        instructions=packed.instructions,
        prompt=packed.prompt,
        spec_filename=spec_name,
        spec_pdf=packed.spec.read_bytes() if packed.spec else None,  # read only to send
        spec_text=packed.spec.text if packed.spec else None,
        estimated_prompt_tokens=packed.prompt_tokens + packed.spec_tokens,
        spec_pages=packed.spec.page_count if packed.spec else None,
    )


def count_ratio_for(model):
    """How the model's provider counts against o200k (llm.CountRatio): learned from
    earlier reviews when there are enough, else the catalogue's figure."""
    from reviewer.counts.services import ratio_for

    return ratio_for(model)


def budget_for(model, ratio=None):
    """The model's limits; `ratio` (provider tokens per o200k token) defaults to
    count_ratio_for(model), which reads the database."""
    if ratio is None:
        ratio = count_ratio_for(model).value
    return Budget(
        context_tokens=model.context_tokens,
        max_output_tokens=model.max_output_tokens,
        pdf_max_pages=model.pdf_max_pages,
        pdf_max_bytes=model.pdf_max_bytes,
        count_ratio=ratio,
    )


def patterns(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def pack_options(ignores=(), includes=()):
    """The server's limits and token-count cache, with these patterns."""
    return PackOptions(
        max_upload_bytes=settings.MAX_UPLOAD_BYTES,
        extra_ignores=list(ignores),
        force_includes=list(includes),
        cache_dir=settings.PACK_CACHE_DIR,
    )


def pack_options_for(project):
    return pack_options(patterns(project.ignore_patterns), patterns(project.include_patterns))


def snapshot_for(project, model_id, ignore_text=None, include_text=None):
    """What a review packs with, as stored in `Review.pack_options`: the model and the
    patterns typed for it (None: the project's saved ones). The server's limits are not
    part of it: a re-run obeys the limits in force when it runs."""
    ignores = project.ignore_patterns if ignore_text is None else ignore_text
    includes = project.include_patterns if include_text is None else include_text
    return {
        "model": model_id,
        "ignore_patterns": patterns(ignores),
        "include_patterns": patterns(includes),
    }


def snapshot_of(review):
    """The review's snapshot; rows from before snapshots get the project's patterns."""
    stored = review.pack_options
    if not stored:
        return snapshot_for(review.project, review.model)
    return {
        "model": stored.get("model") or review.model,
        "ignore_patterns": [str(p) for p in stored.get("ignore_patterns", [])],
        "include_patterns": [str(p) for p in stored.get("include_patterns", [])],
    }


def options_from_snapshot(snapshot):
    return pack_options(snapshot["ignore_patterns"], snapshot["include_patterns"])


def pack_options_for_review(review):
    """The PackOptions a review's run packs with: those of its snapshot, and the names the
    user gave the files (never the storage names) for the prompt."""
    return with_upload_names(options_from_snapshot(snapshot_of(review)), review)


def with_upload_names(options, review):
    return dataclasses.replace(
        options, archive_name=review.archive_name, spec_name=review.spec_name
    )


def model_id_for_review(review):
    return snapshot_of(review)["model"]


def client_settings():
    return llm.ClientSettings(
        connect_timeout=settings.LLM_CONNECT_TIMEOUT,
        first_token_timeout=settings.LLM_FIRST_TOKEN_TIMEOUT,
        stall_timeout=settings.LLM_STALL_TIMEOUT,
        total_timeout=settings.LLM_TOTAL_TIMEOUT,
        max_retries=settings.LLM_MAX_RETRIES,
        rpm=settings.LLM_RPM,
        tpm=settings.LLM_TPM,
        rate_window=settings.LLM_RATE_WINDOW_SECONDS,
        breaker_failures=settings.LLM_BREAKER_FAILURES,
        breaker_open_seconds=settings.LLM_BREAKER_OPEN_SECONDS,
    )


def shared_state():
    """Rate limits and the breaker hold across all worker processes."""
    if settings.REDIS_URL:
        return llm.RedisState(settings.REDIS_URL)
    from reviewer.runs.shared_state import DatabaseState

    return DatabaseState()
