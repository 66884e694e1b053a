"""The native Anthropic Messages API: request body, address and headers, stream events.

``POST {base}/v1/messages`` with ``x-api-key`` and ``anthropic-version``; the answer streams
as named server-sent events::

    message_start        {"message": {..., "usage": {"input_tokens", "cache_*_input_tokens"}}}
    content_block_start  {"index", "content_block": {"type": "text" | "thinking", ...}}
    content_block_delta  {"index", "delta": {"type": "text_delta", "text"}}  (or thinking_delta)
    content_block_stop   {"index"}
    message_delta        {"delta": {"stop_reason"}, "usage": {"output_tokens", ...}}
    message_stop
    ping                 (keep-alive, any time)
    error                {"error": {"type": "overloaded_error", "message"}}

Only ``text_delta`` is answer text; thinking and signature deltas are skipped. Event types this
module does not know are ignored, as Anthropic asks clients to do.

Prompt caching: the spec document and the repository text each carry a ``cache_control``
breakpoint. Everything up to a breakpoint (system prompt, then the spec, then the repository)
is cached for a few minutes, so a re-review or another request of the same review reads it
at the cache price. ``ReviewRequest.notes`` comes after the last breakpoint: it may change
without spoiling the cached prefix.
"""

from __future__ import annotations

import base64
from typing import Any

from .catalogue import ModelInfo
from .types import Endpoint, ReviewRequest

API_VERSION = "2023-06-01"
_CACHE = {"type": "ephemeral"}
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}
# Error types worth another attempt before the first token: the provider's side, not ours.
TRANSIENT_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})


def anthropic_body(model: ModelInfo, request: ReviewRequest, max_tokens: int) -> dict[str, Any]:
    """Instructions as the system prompt; the user turn holds the spec document, then the
    repository, then the per-review notes (if any), in that order for the cache."""
    content: list[dict[str, Any]] = []
    if request.spec_pdf is not None:
        data = base64.b64encode(request.spec_pdf).decode("ascii")
        content.append(
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": data},
                "cache_control": dict(_CACHE),
            }
        )
    content.append({"type": "text", "text": request.prompt, "cache_control": dict(_CACHE)})
    if request.notes:
        content.append({"type": "text", "text": request.notes})
    body: dict[str, Any] = {
        "model": model.api_model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": content}],
        "stream": True,
    }
    if request.instructions:
        body["system"] = request.instructions
    return body


def anthropic_http(endpoint: Endpoint) -> tuple[str, dict[str, str]]:
    """``{base}/v1/messages``; a base that already ends in ``/v1`` is taken as it is."""
    base = endpoint.base_url.rstrip("/")
    url = f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "anthropic-version": API_VERSION,
    }
    if endpoint.api_key:
        headers["x-api-key"] = endpoint.api_key
    return url, headers


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_usage(usage: Any, out: Any) -> None:
    """Anthropic's ``input_tokens`` leaves out the tokens read from or written to the cache;
    the prompt is all three. ``message_delta`` repeats the figures cumulatively."""
    if not isinstance(usage, dict):
        return
    fresh = _int(usage.get("input_tokens"))
    read = _int(usage.get("cache_read_input_tokens"))
    written = _int(usage.get("cache_creation_input_tokens"))
    prompt = None
    if fresh is not None:
        prompt = fresh + (read or 0) + (written or 0)
    completion = _int(usage.get("output_tokens"))
    if prompt is not None or completion is not None:
        out.usage = (prompt, completion)
    if read is not None:
        out.cached = read
    if written is not None:
        out.cache_write = written


def parse_event(event_type: str, obj: dict[str, Any], out: Any, set_finish: Any) -> None:
    """Fill ``out`` (an adapters.Parsed) from one decoded event."""
    kind = obj.get("type") or event_type
    if kind == "error" or event_type == "error":
        err = obj.get("error") if isinstance(obj.get("error"), dict) else {}
        etype = str(err.get("type") or "error")
        out.error = str(err.get("message") or etype)
        out.error_transient = etype in TRANSIENT_ERRORS
        return
    if kind == "message_start":
        message = obj.get("message")
        if isinstance(message, dict):
            read_usage(message.get("usage"), out)
    elif kind == "content_block_start":
        block = obj.get("content_block")
        if isinstance(block, dict) and block.get("type") == "text":
            text = block.get("text")
            out.text = text if isinstance(text, str) else ""
    elif kind == "content_block_delta":
        delta = obj.get("delta")
        if isinstance(delta, dict) and delta.get("type") == "text_delta":
            text = delta.get("text")
            out.text = text if isinstance(text, str) else ""
    elif kind == "message_delta":
        read_usage(obj.get("usage"), out)
        delta = obj.get("delta")
        reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        if reason:
            set_finish(out, str(reason), _FINISH)
    elif kind == "message_stop":
        out.done = True
