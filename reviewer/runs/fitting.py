"""Requests that fit by the provider's count: which ratio a pack uses, the provider's count
before sending, and what the preview and the report say about it.

The worker packs with the model's ratio (learned or catalogue). Where the provider has a
count endpoint and a key is present, it asks for the count of the packed request; if that
is over the model's prompt room, it packs once more with the counted/estimated ratio. The
summary stored with the review says which count the request was fitted by.
"""

import logging

from django.conf import settings

from reviewer import llm
from reviewer.packing import PackOptions

log = logging.getLogger(__name__)


def prompt_room(model):
    """The prompt tokens the provider accepts beside the reserved answer."""
    return model.context_tokens - model.max_output_tokens


def our_tokens(packed):
    return packed.prompt_tokens + packed.spec_tokens


def count_summary(model, ratio, packed_tokens, counted=None):
    """What the preview and the review show about the count (stored in pack_summary)."""
    by = llm.provider_name(model)
    summary = {
        "method": "counted" if counted is not None else "estimated",
        "by": by,
        "ratio": ratio.value,
        "ratio_shown": f"{ratio.value:.3g}",
        "kind": ratio.kind,
        "source": ratio.source,
        "our_tokens": packed_tokens,
        "provider_tokens": counted if counted is not None else round(packed_tokens * ratio.value),
        # The worker asks the provider itself before sending (when a key is present).
        "provider_counts": llm.has_count_endpoint(model),
    }
    if counted is not None:
        summary["label"] = f"counted by {by}"
    else:
        summary["label"] = f"estimated ({ratio.value:g} × our count, {ratio.kind} ratio)"
    return summary


def stored_ratio(review):
    """The ratio a started review was packed with, so its preview shows what was sent."""
    count = (review.pack_summary or {}).get("count") or {}
    if not count.get("ratio"):
        return None
    return llm.CountRatio(float(count["ratio"]), count.get("kind", ""), count.get("source", ""))


def provider_count(model, endpoint, request):
    """The provider's count of `request`, or None (no endpoint, no key, a failure)."""
    if not llm.has_count_endpoint(model, endpoint):
        return None
    return llm.count_tokens(model, endpoint, request, timeout=settings.LLM_COUNT_TIMEOUT)


def counted_refit(model, ratio, packed, counted):
    """The ratio to pack with again when the provider counted more than the model takes,
    else None."""
    if counted is None or counted <= prompt_room(model):
        return None
    value = llm.refit_ratio(ratio.value, counted, our_tokens(packed))
    log.info(
        "%s counted %s tokens for a request we counted as %s; packing again with ratio %s",
        llm.provider_name(model),
        counted,
        our_tokens(packed),
        value,
    )
    return llm.CountRatio(
        value,
        "counted",
        f"{llm.provider_name(model)} counted {counted:,} tokens for {our_tokens(packed):,} "
        "of ours; packed again with that ratio.",
    )


def overflow_refit(model, ratio, packed, overflow):
    """The ratio to pack with after the provider refused the request as too long."""
    room = prompt_room(model) - int(model.context_tokens * PackOptions.margin)
    value = llm.refit_ratio(
        ratio.value, overflow.provider_tokens, our_tokens(packed), overflow.limit_tokens, room
    )
    if overflow.provider_tokens:
        source = (
            f"The provider counted {overflow.provider_tokens:,} tokens for "
            f"{our_tokens(packed):,} of ours and refused them; packed again with that ratio."
        )
    else:
        source = "The provider refused the request as too long; packed again a quarter smaller."
    return llm.CountRatio(value, "refused", source)


def overflow_note(overflow):
    if overflow.provider_tokens:
        counted = f"{overflow.provider_tokens:,}"
        return f"the provider counted {counted} tokens; resending with fewer files"
    return "the provider found the request too long; resending with fewer files"
