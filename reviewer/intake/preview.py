"""What a review would send, computed in the web process before any money is spent."""

import asyncio
from dataclasses import dataclass, replace

from asgiref.sync import sync_to_async

from reviewer import llm
from reviewer.packing import PackingError, pack
from reviewer.runs import library_settings


@dataclass
class Preview:
    packed: object = None
    error: str = ""
    model: object = None
    estimated_cost: object = None
    used_percent: float = 0.0

    @property
    def over_budget(self):
        return bool(self.packed) and any(e.reason == "over budget" for e in self.packed.excluded)


async def abuild_preview(review, ignore_patterns=None, include_patterns=None):
    # Packing a large archive takes seconds of CPU. Under ASGI every sync view and the
    # async ORM share one thread, so it runs on a thread of its own, touching no database.
    model, options = await sync_to_async(_inputs)(review, ignore_patterns, include_patterns)
    return await asyncio.to_thread(
        _pack_preview, review.archive.path, review.spec.path, model, options
    )


def _inputs(review, ignore_patterns, include_patterns):
    model = library_settings.model_for(review.model)
    options = library_settings.pack_options_for(review.project)
    if ignore_patterns is not None:
        options = replace(options, extra_ignores=library_settings.patterns(ignore_patterns))
    if include_patterns is not None:
        options = replace(options, force_includes=library_settings.patterns(include_patterns))
    return model, options


def _pack_preview(archive_path, spec_path, model, options):
    try:
        packed = pack(archive_path, spec_path, library_settings.budget_for(model), options)
    except PackingError as exc:
        return Preview(error=str(exc), model=model)
    input_tokens = packed.prompt_tokens + packed.spec_tokens
    usable = max(1, model.context_tokens - model.max_output_tokens)
    return Preview(
        packed=packed,
        model=model,
        estimated_cost=llm.estimate_cost(model, input_tokens, model.max_output_tokens),
        used_percent=min(100.0, 100.0 * input_tokens / usable),
    )
