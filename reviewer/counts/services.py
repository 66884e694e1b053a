"""The ratio a model's budget uses, and learning it from what providers report."""

import logging

from django.db import transaction
from django.utils import timezone

from reviewer import llm
from reviewer.counts.models import KEEP_SAMPLES, ObservedRatio

log = logging.getLogger(__name__)

# Smaller prompts say little about code: the fixed parts (instructions, PDF pages) dominate.
MIN_PROMPT_TOKENS = 1000


def ratio_for(model):
    """The CountRatio a budget for `model` uses: learned from usage once there are enough
    samples (bounded, see llm.counting.learned_ratio), else the catalogue's."""
    row = ObservedRatio.objects.filter(model_id=model.id).first()
    return llm.learned_ratio(model, row.ratios() if row else [])


def record(model, our_tokens, reported_tokens, review_id=None):
    """Store one review's reported prompt tokens against our count. Never raises: learning
    must not fail a finished review."""
    if not our_tokens or not reported_tokens or our_tokens < MIN_PROMPT_TOKENS:
        return
    sample = {
        "ours": int(our_tokens),
        "reported": int(reported_tokens),
        "review": review_id,
        "at": timezone.now().isoformat(timespec="seconds"),
    }
    try:
        with transaction.atomic():
            row, _ = ObservedRatio.objects.select_for_update().get_or_create(
                model_id=model.id, defaults={"provider": model.provider}
            )
            row.samples = [*row.samples, sample][-KEEP_SAMPLES:]
            row.provider = model.provider
            row.save(update_fields=["samples", "provider", "updated_at"])
    except Exception:
        log.warning("could not record the token counts of review %s", review_id, exc_info=True)
