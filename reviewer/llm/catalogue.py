"""The model catalogue (``models.json``) and cost estimates."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

ADAPTERS = ("openai_file", "openai_image_url", "openai_text", "gemini", "anthropic")
CATALOGUE_PATH = Path(__file__).with_name("models.json")
ENV_VAR = "LLM_CATALOGUE_FILE"
MILLION = Decimal(1_000_000)


class CatalogueError(ValueError):
    """The catalogue file is not valid; the message says which file, model and field."""


@dataclass(frozen=True)
class ModelInfo:
    """One model a review can run on. Prices are US dollars per million tokens.

    ``tier_threshold_tokens``: when the prompt is larger than this, the whole request is billed
    at ``input_price_above``/``output_price_above`` (Gemini 2.5/3 Pro, Claude long context).
    ``max_tokens_param`` is the name of the output limit field for OpenAI-compatible bodies.
    ``rpm``/``tpm`` are default rate limits per key (None: unlimited).
    ``default_base_url`` is the provider's usual base URL (the caller may use another).
    ``cached_input_price_per_mtok``: prompt tokens read from the provider's prompt cache;
    ``cache_write_price_per_mtok``: prompt tokens written to it (Anthropic bills writes above
    the input price). None: billed as ordinary input."""

    id: str
    label: str
    adapter: str
    provider: str
    api_model: str
    context_tokens: int
    max_output_tokens: int
    input_price_per_mtok: Decimal
    output_price_per_mtok: Decimal
    tier_threshold_tokens: int | None = None
    input_price_above: Decimal | None = None
    output_price_above: Decimal | None = None
    pdf: bool = False
    pdf_max_pages: int | None = None
    pdf_max_bytes: int | None = None
    source: str = ""
    # Provider tokens per o200k token on code, and where the figure comes from (see
    # counting.py; None: the provider's default there).
    count_ratio: float | None = None
    count_ratio_source: str = ""
    max_tokens_param: str = "max_tokens"
    rpm: int | None = None
    tpm: int | None = None
    default_base_url: str | None = None
    notes: str = ""
    # The model's name behind a gateway (LLM_GATEWAY), when it differs from ``id``.
    gateway_model: str | None = None
    cached_input_price_per_mtok: Decimal | None = None
    cache_write_price_per_mtok: Decimal | None = None


_REQUIRED = (
    "id",
    "label",
    "adapter",
    "provider",
    "api_model",
    "context_tokens",
    "max_output_tokens",
    "input_price_per_mtok",
    "output_price_per_mtok",
)
_INTS = ("context_tokens", "max_output_tokens")
_OPT_INTS = ("tier_threshold_tokens", "pdf_max_pages", "pdf_max_bytes", "rpm", "tpm")
_PRICES = ("input_price_per_mtok", "output_price_per_mtok")
_OPT_PRICES = ("input_price_above", "output_price_above")
_CACHE_PRICES = ("cached_input_price_per_mtok", "cache_write_price_per_mtok")
_STRS = ("id", "label", "adapter", "provider", "api_model")
_OPT_STRS = ("source", "notes", "default_base_url", "max_tokens_param", "gateway_model")
_FIELDS = {f.name for f in fields(ModelInfo)}


def _price(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CatalogueError(f"{where} must be a number or a decimal string")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise CatalogueError(f"{where} must be a number or a decimal string, not {value!r}")
    if not price.is_finite() or price < 0:
        raise CatalogueError(f"{where} must be zero or more")
    return price


def _model(data: dict[str, Any], origin: str) -> ModelInfo:
    mid = data.get("id", "?")
    where = f"{origin}: model {mid!r}:"
    unknown = set(data) - _FIELDS
    if unknown:
        raise CatalogueError(f"{where} unknown field(s) {', '.join(sorted(unknown))}")
    missing = [k for k in _REQUIRED if data.get(k) in (None, "")]
    if missing:
        raise CatalogueError(f"{where} missing field(s) {', '.join(missing)}")
    values = dict(data)
    for k in _STRS:
        if not isinstance(values[k], str):
            raise CatalogueError(f"{where} field {k!r} must be a string")
    for k in _OPT_STRS:
        if values.get(k) is not None and not isinstance(values[k], str):
            raise CatalogueError(f"{where} field {k!r} must be a string")
    for k in _INTS:
        v = values[k]
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise CatalogueError(f"{where} field {k!r} must be a positive integer")
    for k in _OPT_INTS:
        v = values.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            raise CatalogueError(f"{where} field {k!r} must be a positive integer or null")
    for k in _PRICES:
        values[k] = _price(values[k], f"{where} field {k!r}")
    for k in (*_OPT_PRICES, *_CACHE_PRICES):
        if values.get(k) is not None:
            values[k] = _price(values[k], f"{where} field {k!r}")
    _check_count_ratio(values, where)
    if values["adapter"] not in ADAPTERS:
        raise CatalogueError(f"{where} adapter must be one of {', '.join(ADAPTERS)}")
    if values.get("max_tokens_param", "max_tokens") not in ("max_tokens", "max_completion_tokens"):
        raise CatalogueError(
            f"{where} max_tokens_param must be max_tokens or max_completion_tokens"
        )
    if "pdf" in values and not isinstance(values["pdf"], bool):
        raise CatalogueError(f"{where} field 'pdf' must be true or false")
    if values.get("pdf") and values["adapter"] == "openai_text":
        raise CatalogueError(f"{where} adapter openai_text cannot send a PDF; set pdf to false")
    if not values.get("pdf") and values["adapter"] != "openai_text":
        raise CatalogueError(f"{where} adapter {values['adapter']} sends a PDF; set pdf to true")
    tiered = [values.get(k) is not None for k in ("tier_threshold_tokens", *_OPT_PRICES)]
    if any(tiered) and not all(tiered):
        raise CatalogueError(
            f"{where} tier_threshold_tokens, input_price_above and output_price_above "
            "go together: give all three or none"
        )
    if values.get("source") in (None, ""):
        raise CatalogueError(f"{where} field 'source' must say where the figures come from")
    return ModelInfo(**values)


def _check_count_ratio(values: dict[str, Any], where: str) -> None:
    ratio = values.get("count_ratio")
    if ratio is None:
        return
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.5 <= ratio <= 4:
        raise CatalogueError(f"{where} count_ratio must be a number from 0.5 to 4")
    if not isinstance(values.get("count_ratio_source"), str) or not values["count_ratio_source"]:
        raise CatalogueError(f"{where} count_ratio needs a count_ratio_source (where it is from)")
    values["count_ratio"] = float(ratio)


def _read(path: Path | str, origin: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise CatalogueError(f"{origin}: cannot read the file ({exc.strerror})")
    except ValueError as exc:
        raise CatalogueError(f"{origin}: not valid JSON ({exc})")
    models = doc.get("models") if isinstance(doc, dict) else doc
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise CatalogueError(f'{origin}: expected {{"models": [ {{...}}, ... ]}}')
    return models


def load_catalogue(extra_path: str | None = None) -> dict[str, ModelInfo]:
    """The shipped ``models.json`` merged with an extra JSON file, keyed by model id.

    The extra file is ``extra_path`` or, when that is None, the file named by the
    ``LLM_CATALOGUE_FILE`` environment variable (if set). It has the same form
    (``{"models": [...]}``). An entry whose id is already known overrides only the fields it
    gives (e.g. new prices); a new id must be complete. Raises CatalogueError with a clear
    message on any problem."""
    raw: dict[str, dict[str, Any]] = {}
    for entry in _read(CATALOGUE_PATH, "models.json"):
        mid = entry.get("id")
        if not isinstance(mid, str) or not mid:
            raise CatalogueError("models.json: every model needs a string id")
        if mid in raw:
            raise CatalogueError(f"models.json: model id {mid!r} appears twice")
        raw[mid] = entry
    extra = extra_path if extra_path is not None else os.environ.get(ENV_VAR) or None
    if extra:
        origin = str(extra)
        for entry in _read(extra, origin):
            mid = entry.get("id")
            if not isinstance(mid, str) or not mid:
                raise CatalogueError(f"{origin}: every model needs a string id")
            raw[mid] = {**raw.get(mid, {}), **entry}
    result = {}
    for mid, entry in raw.items():
        origin = "models.json" if extra is None else f"models.json + {extra}"
        result[mid] = _model(entry, origin)
    return result


def estimate_cost(
    model: ModelInfo,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> Decimal:
    """Cost in US dollars. ``prompt_tokens`` is the whole prompt; ``cached_tokens`` and
    ``cache_write_tokens`` are the parts of it read from and written to the prompt cache,
    priced at the catalogue's cache prices (ordinary input when it gives none).

    When the prompt is larger than the model's tier threshold, the higher prices apply to the
    whole request (input and output), as Google and Anthropic bill long-context requests; the
    cache prices then rise by the same factor as the input price (as both providers list)."""
    if min(prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens) < 0:
        raise ValueError("token counts cannot be negative")
    base = model.input_price_per_mtok
    inp, out = base, model.output_price_per_mtok
    threshold = model.tier_threshold_tokens
    if threshold is not None and prompt_tokens > threshold:
        inp = model.input_price_above if model.input_price_above is not None else inp
        out = model.output_price_above if model.output_price_above is not None else out
    factor = inp / base if base else Decimal(1)
    read = model.cached_input_price_per_mtok
    write = model.cache_write_price_per_mtok
    read = inp if read is None else read * factor
    write = inp if write is None else write * factor
    # A provider's cache figures never exceed its prompt; if they seem to, trust the prompt.
    cached = min(cached_tokens, prompt_tokens)
    written = min(cache_write_tokens, prompt_tokens - cached)
    fresh = prompt_tokens - cached - written
    total = fresh * inp + cached * read + written * write + completion_tokens * out
    return Decimal(total) / MILLION
