"""The providers' own token counts for a request, asked before it is sent.

* Gemini: ``POST {base}/models/{model}:countTokens`` with ``{"generateContentRequest": ...}``
  (the same contents, system instruction and PDF as the real request) -> ``totalTokens``.
* Anthropic: ``POST {base}/v1/messages/count_tokens`` with the Messages body less the fields
  that only steer the answer -> ``input_tokens``.

Both are free and quick; a short timeout keeps a slow one from holding the review. Any
failure returns None and the caller keeps its estimate.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from .adapters import build_body
from .catalogue import ModelInfo
from .types import Endpoint, LLMError, ReviewRequest

log = logging.getLogger(__name__)

ANTHROPIC_VERSION = "2023-06-01"
# The fields of a Messages body the count endpoint accepts.
_ANTHROPIC_COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")


def has_count_endpoint(model: ModelInfo, endpoint: Endpoint | None = None) -> bool:
    """Whether the provider offers a count for this model's requests (and a key to ask)."""
    if model.adapter not in ("gemini", "anthropic"):
        return False
    return endpoint is None or bool(endpoint.api_key)


def count_tokens(
    model: ModelInfo, endpoint: Endpoint, request: ReviewRequest, timeout: float = 10.0
) -> int | None:
    """The provider's count of the request's input tokens, or None (no endpoint, no key,
    or any failure, which is logged without the key)."""
    if not has_count_endpoint(model, endpoint):
        return None
    try:
        url, headers, body = _count_call(model, endpoint, request)
        response = httpx.post(url, json=body, headers=headers, timeout=timeout)
        if response.status_code != 200:
            log.warning(
                "token count for %s: HTTP %s; using the estimate", model.id, response.status_code
            )
            return None
        return _read_count(model, response.json())
    except (httpx.HTTPError, ValueError, LLMError, KeyError, TypeError) as exc:
        reason = type(exc).__name__
        log.warning("token count for %s failed (%s); using the estimate", model.id, reason)
        return None


def _count_call(
    model: ModelInfo, endpoint: Endpoint, request: ReviewRequest
) -> tuple[str, dict[str, str], dict[str, Any]]:
    base = endpoint.base_url.rstrip("/")
    body = build_body(model, request)
    headers = {"Content-Type": "application/json"}
    if model.adapter == "gemini":
        headers["x-goog-api-key"] = endpoint.api_key or ""
        inner = {k: v for k, v in body.items() if k != "generationConfig"}
        inner["model"] = f"models/{model.api_model}"
        return (
            f"{base}/models/{model.api_model}:countTokens",
            headers,
            {"generateContentRequest": inner},
        )
    headers["x-api-key"] = endpoint.api_key or ""
    headers["anthropic-version"] = ANTHROPIC_VERSION
    counted = {k: body[k] for k in _ANTHROPIC_COUNT_FIELDS if k in body}
    # As the Messages adapter: a base that already ends in /v1 is taken as it is.
    root = base if base.endswith("/v1") else f"{base}/v1"
    return f"{root}/messages/count_tokens", headers, counted


def _read_count(model: ModelInfo, doc: dict[str, Any]) -> int | None:
    key = "totalTokens" if model.adapter == "gemini" else "input_tokens"
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        log.warning("token count for %s: no %s in the answer; using the estimate", model.id, key)
        return None
    return value
