"""Where the Django side meets the two plain libraries: which model, which endpoint and
key, which limits. Settings are read here so that packing/ and llm/ never import Django."""

import dataclasses
from functools import cache

from django.conf import settings

from reviewer import llm
from reviewer.packing import Budget, PackOptions
from reviewer.packing.request import instructions_for_text_spec
from reviewer.runs import endpoints


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


def model_choices(team=None):
    """(id, label) pairs for a model select; a model no key can reach is marked."""
    choices = []
    stored = endpoints.stored_providers(team)
    for model in catalogue().values():
        label = model.label
        if endpoints.key_source(model, team, stored) is None:
            label = f"{label} (needs a key)"
        choices.append((model.id, label))
    return choices


def default_model_id():
    return settings.LLM_MODEL


def is_unknown(model_id):
    """Whether the catalogue lacks this id (it then runs with the generic profile)."""
    return model_id not in catalogue()


def model_for(model_id):
    models = catalogue()
    if model_id in models:
        return endpoints.gateway_model(models[model_id])
    # An id the catalogue does not know is taken as a model of the configured
    # OpenAI-compatible endpoint, with the generic entry's limits (pages say so).
    generic = models["openai-compatible"]
    model = dataclasses.replace(generic, id=model_id, label=model_id, api_model=model_id)
    return endpoints.gateway_model(model)


def endpoint_for(model, team=None):
    """The endpoint and key for this model and team (see endpoints.py)."""
    return endpoints.endpoint_for(model, team)


def review_request(packed, spec_name, model=None):
    """The provider-neutral request for a packed repository (for `model`: a text-only
    model is told the spec comes as text)."""
    instructions = packed.instructions
    if model is not None and not model.pdf:
        instructions = instructions_for_text_spec(instructions)
    return llm.ReviewRequest(
        instructions=instructions,
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
        workers=settings.PACK_WORKERS or None,
    )


def pack_options_for(project):
    return pack_options(patterns(project.ignore_patterns), patterns(project.include_patterns))


SPLIT = "split"


def snapshot_for(project, model_id, ignore_text=None, include_text=None, mode=None):
    """What a review packs with, as stored in `Review.pack_options`: the model and the
    patterns typed for it (None: the project's saved ones), and `"mode": "split"` for a
    review of the whole repository in several requests. The server's limits are not
    part of it: a re-run obeys the limits in force when it runs."""
    ignores = project.ignore_patterns if ignore_text is None else ignore_text
    includes = project.include_patterns if include_text is None else include_text
    snapshot = {
        "model": model_id,
        "ignore_patterns": patterns(ignores),
        "include_patterns": patterns(includes),
    }
    if mode == SPLIT:
        snapshot["mode"] = SPLIT
    return snapshot


def is_split(snapshot):
    return snapshot.get("mode") == SPLIT


def snapshot_of(review):
    """The review's snapshot; rows from before snapshots get the project's patterns."""
    stored = review.pack_options
    if not stored.get("model"):
        # A draft holds at most the mode chosen on the upload form.
        return snapshot_for(review.project, review.model, mode=stored.get("mode"))
    snapshot = {
        "model": stored.get("model") or review.model,
        "ignore_patterns": [str(p) for p in stored.get("ignore_patterns", [])],
        "include_patterns": [str(p) for p in stored.get("include_patterns", [])],
    }
    if is_split(stored):
        snapshot["mode"] = SPLIT
    return snapshot


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
