"""Wire formats: how a request body is built and how stream events are read, per adapter.

* ``openai_file``: OpenAI-compatible chat completions, the PDF as a ``file`` content part.
* ``openai_image_url``: the same, the PDF as an ``image_url`` data URL (some gateways).
* ``openai_text``: the same, the spec as extracted text inside the prompt.
* ``gemini``: native ``streamGenerateContent?alt=sse``, the PDF as ``inline_data``.
* ``anthropic``: native Messages API, the PDF as a ``document`` block (see anthropic.py).

Every layout puts what repeats first and unchanged (instructions, spec, repository) and the
per-review ``notes`` last, so the providers' prompt caches can reuse the prefix.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from . import anthropic
from .catalogue import ModelInfo
from .types import Endpoint, LLMError, ReviewRequest

MB = 1024 * 1024


@dataclass
class Parsed:
    """What one stream event carried."""

    text: str = ""
    finish: str | None = None  # "stop" | "length" | "content_filter"
    usage: tuple[int | None, int | None] | None = None
    done: bool = False  # an explicit end marker ([DONE])
    error: str | None = None  # provider's error message inside the stream
    error_transient: bool = False
    unusual_finish: str | None = None  # provider finish reason we could not map
    cached: int | None = None  # prompt tokens read from the provider's cache
    cache_write: int | None = None  # prompt tokens written to it (billed extra by some)


class MalformedEvent(Exception):
    """A stream event whose data is not the JSON the format promises."""


# --- request bodies ------------------------------------------------------------------------------


def _check_spec(model: ModelInfo, request: ReviewRequest) -> None:
    if model.adapter == "openai_text":
        if request.spec_pdf is not None and request.spec_text is None:
            raise LLMError(
                f"{model.label} cannot read PDF files, and no extracted text of the spec was given."
            )
        return
    if request.spec_pdf is None:
        return
    if model.pdf_max_bytes is not None and len(request.spec_pdf) > model.pdf_max_bytes:
        raise LLMError(
            f"The spec PDF is {len(request.spec_pdf) / MB:.1f} MB but {model.label} accepts "
            f"at most {model.pdf_max_bytes / MB:.0f} MB."
        )
    if (
        model.pdf_max_pages is not None
        and request.spec_pages is not None
        and request.spec_pages > model.pdf_max_pages
    ):
        raise LLMError(
            f"The spec PDF has {request.spec_pages} pages but {model.label} accepts at most "
            f"{model.pdf_max_pages}."
        )


def _spec_as_text(request: ReviewRequest) -> str:
    name = request.spec_filename or "specification"
    return f'<specification filename="{name}">\n{request.spec_text}\n</specification>'


def _pdf_b64(request: ReviewRequest) -> str:
    return base64.b64encode(request.spec_pdf or b"").decode("ascii")


def _max_output(model: ModelInfo, request: ReviewRequest) -> int:
    if request.max_output_tokens is not None:
        return min(request.max_output_tokens, model.max_output_tokens)
    return model.max_output_tokens


def _notes(request: ReviewRequest) -> str:
    return f"\n\n{request.notes}" if request.notes else ""


def _openai_body(model: ModelInfo, request: ReviewRequest) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if model.adapter in ("openai_file", "openai_image_url") and request.spec_pdf is not None:
        data_url = f"data:application/pdf;base64,{_pdf_b64(request)}"
        if model.adapter == "openai_file":
            filename = request.spec_filename or "specification.pdf"
            parts.append({"type": "file", "file": {"filename": filename, "file_data": data_url}})
        else:
            parts.append({"type": "image_url", "image_url": {"url": data_url}})
        user_content: Any = [*parts, {"type": "text", "text": request.prompt}]
        if request.notes:
            user_content.append({"type": "text", "text": request.notes})
    elif request.spec_text is not None:
        user_content = f"{_spec_as_text(request)}\n\n{request.prompt}{_notes(request)}"
    else:
        user_content = f"{request.prompt}{_notes(request)}"
    messages = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    messages.append({"role": "user", "content": user_content})
    return {
        "model": model.api_model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        model.max_tokens_param: _max_output(model, request),
    }


def _gemini_body(model: ModelInfo, request: ReviewRequest) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if request.spec_pdf is not None:
        # Google recommends the document before the text prompt.
        parts.append({"inline_data": {"mime_type": "application/pdf", "data": _pdf_b64(request)}})
    elif request.spec_text is not None:
        parts.append({"text": _spec_as_text(request)})
    parts.append({"text": request.prompt})
    if request.notes:
        parts.append({"text": request.notes})
    body: dict[str, Any] = {
        "contents": [{"role": "user", "parts": parts}],
        "generationConfig": {"maxOutputTokens": _max_output(model, request)},
    }
    if request.instructions:
        body["system_instruction"] = {"parts": [{"text": request.instructions}]}
    return body


def build_body(model: ModelInfo, request: ReviewRequest) -> dict[str, Any]:
    """The exact JSON body the model's adapter sends (a CLI writes it out as the request file).

    Raises LLMError when the spec cannot go to this model (PDF too big, text needed)."""
    _check_spec(model, request)
    if model.adapter == "gemini":
        return _gemini_body(model, request)
    if model.adapter == "anthropic":
        return anthropic.anthropic_body(model, request, _max_output(model, request))
    return _openai_body(model, request)


def build_http(model: ModelInfo, endpoint: Endpoint) -> tuple[str, dict[str, str]]:
    """URL and headers for the streaming request (the headers hold the key: never log them)."""
    if model.adapter == "anthropic":
        return anthropic.anthropic_http(endpoint)
    base = endpoint.base_url.rstrip("/")
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if model.adapter == "gemini":
        url = f"{base}/models/{model.api_model}:streamGenerateContent?alt=sse"
        if endpoint.api_key:
            headers["x-goog-api-key"] = endpoint.api_key
    else:
        url = f"{base}/chat/completions"
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
    return url, headers


# --- stream events -------------------------------------------------------------------------------

_OPENAI_FINISH = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_calls": "stop",
    "function_call": "stop",
    "length": "length",
    "max_tokens": "length",
    "content_filter": "content_filter",
    "safety": "content_filter",
}
_GEMINI_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "LANGUAGE": "content_filter",
}
_TRANSIENT_WORDS = (
    "overload",
    "server_error",
    "internal",
    "unavailable",
    "timeout",
    "rate_limit",
    "resource_exhausted",
    "try again",
    "connection error",
)


def _error_info(err: Any) -> tuple[str, bool]:
    if isinstance(err, dict):
        message = str(err.get("message") or err.get("status") or err.get("type") or "unknown")
        code = err.get("code")
        if isinstance(code, str) and code.strip().isdigit():
            # Gateways pass the upstream's HTTP status on as a string ("500", "429").
            code = int(code)
        kind = f"{err.get('type', '')} {err.get('status', '')} {message}".lower()
    else:
        message, code, kind = str(err), None, str(err).lower()
    transient = (isinstance(code, int) and (code in (408, 409, 429) or code >= 500)) or any(
        w in kind for w in _TRANSIENT_WORDS
    )
    return message, transient


def _load(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise MalformedEvent(data[:80])


def parse_openai(event_type: str, data: str) -> Parsed:
    if data.strip() == "[DONE]":
        return Parsed(done=True)
    obj = _load(data)
    if not isinstance(obj, dict):
        raise MalformedEvent(data[:80])
    out = Parsed()
    if obj.get("error") or event_type == "error":
        out.error, out.error_transient = _error_info(obj.get("error") or obj)
        return out
    usage = obj.get("usage")
    if isinstance(usage, dict):
        out.usage = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
        _openai_cached(usage, out)
    choices = obj.get("choices") or []
    if not isinstance(choices, list):
        raise MalformedEvent(data[:80])
    for choice in choices:
        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str):
            out.text += content
        reason = choice.get("finish_reason")
        if reason:
            _set_finish(out, str(reason), _OPENAI_FINISH)
    return out


def _openai_cached(usage: dict[str, Any], out: Parsed) -> None:
    """OpenAI (and OpenRouter) report ``prompt_tokens_details.cached_tokens``; DeepSeek
    ``prompt_cache_hit_tokens``. Both are part of ``prompt_tokens``."""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if cached is None:
        cached = usage.get("prompt_cache_hit_tokens")
    if isinstance(cached, int) and not isinstance(cached, bool):
        out.cached = cached


def _set_finish(out: Parsed, reason: str, known: dict[str, str]) -> None:
    # A reason we cannot map is kept as is: the client fails the review with it.
    mapped = known.get(reason)
    if mapped is None:
        out.unusual_finish = reason
    else:
        out.finish = mapped


def parse_gemini(event_type: str, data: str) -> Parsed:
    obj = _load(data)
    if isinstance(obj, list):  # alt=json style arrays; take each element's parts
        obj = obj[0] if obj else {}
    if not isinstance(obj, dict):
        raise MalformedEvent(data[:80])
    out = Parsed()
    if obj.get("error"):
        out.error, out.error_transient = _error_info(obj["error"])
        return out
    meta = obj.get("usageMetadata")
    if isinstance(meta, dict):
        completion = meta.get("candidatesTokenCount")
        thoughts = meta.get("thoughtsTokenCount")
        if completion is not None or thoughts is not None:
            completion = (completion or 0) + (thoughts or 0)
        out.usage = (meta.get("promptTokenCount"), completion)
        cached = meta.get("cachedContentTokenCount")  # part of promptTokenCount
        if isinstance(cached, int) and not isinstance(cached, bool):
            out.cached = cached
    feedback = obj.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        out.finish = "content_filter"
        return out
    candidates = obj.get("candidates") or []
    if candidates and isinstance(candidates[0], dict):
        cand = candidates[0]
        content = cand.get("content") or {}
        for part in content.get("parts") or []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                if not part.get("thought"):
                    out.text += part["text"]
        reason = cand.get("finishReason")
        if reason and reason != "FINISH_REASON_UNSPECIFIED":
            _set_finish(out, str(reason), _GEMINI_FINISH)
    return out


def parse_anthropic(event_type: str, data: str) -> Parsed:
    obj = _load(data)
    if not isinstance(obj, dict):
        raise MalformedEvent(data[:80])
    out = Parsed()
    anthropic.parse_event(event_type, obj, out, _set_finish)
    return out


def parser_for(model: ModelInfo):
    if model.adapter == "anthropic":
        return parse_anthropic
    return parse_gemini if model.adapter == "gemini" else parse_openai
