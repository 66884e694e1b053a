"""How each provider counts tokens relative to o200k, the encoding the packer counts in.

The packer counts every prompt in o200k. Providers count the same text with their own
tokenizers: Gemini about 19% more on code, Claude 20-50% more. A budget computed in o200k
alone fills a Gemini or Claude window past its end, so the budget is divided by the
provider's ratio (provider tokens per o200k token) before files are chosen.

Where the ratio comes from, in order of trust:

* ``counted``: the provider's own count endpoint for this very request (worker only);
* ``learned``: the provider's reported prompt tokens of earlier reviews on the model, divided
  by our count (see :func:`learned_ratio` for the rule);
* ``catalogue``: the model's ``count_ratio`` in models.json with its source, or, for entries
  that give none, the provider's default below.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue import ModelInfo

# Provider defaults for catalogue entries that give no ratio of their own (admin-added
# models, extra catalogue files). Conservative ends of the published figures.
PROVIDER_RATIOS: dict[str, tuple[float, str]] = {
    "openai": (1.0, "OpenAI's current models tokenize with o200k itself."),
    "google": (
        1.2,
        "Gemini counted 1,156,615 tokens for a repository o200k counts as 969,990 (1.19; "
        "measured usage reported in repomix issue 476), rounded up.",
    ),
    "anthropic": (
        1.5,
        "Claude's tokenizers count 1.2-1.5x o200k on code (published comparisons); the "
        "conservative end.",
    ),
}
# Tokenizers we have no figures for: most count code at 1.0-1.2x o200k; 1.25 leaves room.
DEFAULT_RATIO = 1.25
DEFAULT_SOURCE = "No published figure for this provider: conservative default of 1.25."

# The learned ratio: how many samples it needs, how many recent ones it looks at, the
# ceiling it never passes (a ratio above 2 means the figures are wrong, not the tokenizer).
MIN_SAMPLES = 3
RECENT_SAMPLES = 20
MAX_RATIO = 2.0

# Names the preview uses for "counted by ...".
PROVIDER_NAMES = {
    "google": "Google",
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "openrouter": "OpenRouter",
    "deepseek": "DeepSeek",
}


@dataclass(frozen=True)
class CountRatio:
    """Provider tokens per o200k token, and where that figure comes from.

    ``kind`` is ``catalogue``, ``learned`` or ``counted``; ``source`` is one sentence."""

    value: float
    kind: str
    source: str


def provider_name(model: ModelInfo) -> str:
    return PROVIDER_NAMES.get(model.provider, model.provider)


def catalogue_ratio(model: ModelInfo) -> CountRatio:
    """The catalogue entry's ratio, else its provider's default, else DEFAULT_RATIO."""
    value = getattr(model, "count_ratio", None)
    if value is not None:
        source = getattr(model, "count_ratio_source", "") or "catalogue entry"
        return CountRatio(float(value), "catalogue", source)
    value, source = PROVIDER_RATIOS.get(model.provider, (DEFAULT_RATIO, DEFAULT_SOURCE))
    return CountRatio(value, "catalogue", source)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-int(round(share * 100)) * len(ordered) // 100))
    return ordered[min(rank, len(ordered)) - 1]


def learned_ratio(model: ModelInfo, ratios: list[float]) -> CountRatio:
    """The ratio a budget uses, given observed ratios (oldest first) for the model.

    With fewer than MIN_SAMPLES observations: the catalogue's. Otherwise the 90th
    percentile of the last RECENT_SAMPLES observations, never below the catalogue's figure
    (a gateway that reports its own estimate without the PDF must not make budgets
    optimistic) and never above MAX_RATIO."""
    base = catalogue_ratio(model)
    recent = [r for r in ratios if r > 0][-RECENT_SAMPLES:]
    if len(recent) < MIN_SAMPLES:
        return base
    observed = percentile(recent, 0.9)
    value = round(min(MAX_RATIO, max(base.value, observed)), 3)
    return CountRatio(
        value,
        "learned",
        f"90th percentile of the last {len(recent)} reviews' reported prompt tokens over "
        f"our count ({observed:.3f}), bounded by the catalogue's {base.value:g} and "
        f"{MAX_RATIO:g}.",
    )


def refit_ratio(
    current: float,
    provider_tokens: int | None,
    our_tokens: int,
    limit: int | None = None,
    room: int | None = None,
) -> float:
    """The ratio for packing again after the provider counted ``provider_tokens`` for a
    request we counted as ``our_tokens`` (2% over what it counted, for the files whose
    ratio differs from the average). Without a count from the provider, a quarter more
    than before. When the provider names a ``limit`` below the ``room`` the budget assumed
    (an input cap under the advertised window), the ratio grows by room/limit as well.
    Never below ``current``: a refit only ever shrinks the request."""
    if provider_tokens and our_tokens > 0:
        value = max(current, provider_tokens / our_tokens) * 1.02
    else:
        value = current * 1.25
    if limit and room and limit < room:
        value *= room / limit
    return round(value, 4)
