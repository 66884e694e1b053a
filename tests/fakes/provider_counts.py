"""The fake provider's own token count: its count endpoints and its context limit.

Real providers count with their own tokenizers, not o200k; so does the fake: ``ratio``
tokens per o200k token of every text in the request, plus one token per ``blob_bytes``
characters of base64 data (the PDF). With ``context_limit`` set, a generation request
whose count is over it is refused with that provider's real error body:

* OpenAI-compatible (``…/chat/completions``): 400 ``context_length_exceeded``, with the
  counts in the message (``openai_style="counted"``) or without (``"no_count"``, as newer
  OpenAI models answer);
* Gemini (``…:streamGenerateContent``): 400 ``INVALID_ARGUMENT`` "The input token count (N)
  exceeds the maximum number of tokens allowed (M).";
* Anthropic (``…/v1/messages``): 400 ``invalid_request_error`` "prompt is too long: N tokens
  > M maximum".

Count endpoints: Gemini ``…/models/{m}:countTokens`` -> ``{"totalTokens": N}``; Anthropic
``…/v1/messages/count_tokens`` -> ``{"input_tokens": N}``. ``count_ratio`` (when set) makes
the count endpoints count differently from the generation check, as real ones sometimes do.
Count calls are recorded in ``server.count_requests``, not in ``server.requests``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from reviewer.packing.tokens import count_tokens

_GEMINI_COUNT = re.compile(r"/models/[^/:]+:countTokens$")
_GEMINI_GENERATE = re.compile(r"/models/[^/:]+:(?:streamGenerateContent|generateContent)$")
_BLOB_KEYS = ("data", "file_data", "url")


@dataclass
class CountRules:
    ratio: float = 1.3
    context_limit: int | None = None
    blob_bytes: int = 100
    count_ratio: float | None = None
    openai_style: str = "counted"  # or "no_count"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CountRules:
        return cls(**data)


def fake_count(body: Any, ratio: float, blob_bytes: int = 100) -> int:
    """The fake provider's count of a request body (any of the three formats)."""
    texts: list[str] = []
    blobs = 0

    def walk(node: Any, key: str = "") -> None:
        nonlocal blobs
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str):
            if key in _BLOB_KEYS and (len(node) > 256 or node.startswith("data:")):
                blobs += len(node) // blob_bytes + 1
            elif key in ("text", "content", "system"):
                texts.append(node)

    walk(body)
    return round(sum(count_tokens(t) for t in texts) * ratio) + blobs


def answer_count(fake: Any, h: Any, path: str, body: Any) -> bool:
    """Answer a count request (True) or leave the request to the server (False)."""
    gemini = _GEMINI_COUNT.search(path) is not None
    if not gemini and not path.endswith("/messages/count_tokens"):
        return False
    rules: CountRules = fake.counting
    n = fake_count(body, rules.count_ratio or rules.ratio, rules.blob_bytes)
    with fake._lock:
        fake.count_requests.append(
            {
                "path": path,
                "headers": {k.lower(): v for k, v in h.headers.items()},
                "body": body,
                "tokens": n,
            }
        )
    if gemini:
        doc = {"totalTokens": n, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n}]}
    else:
        doc = {"input_tokens": n}
    fake._send_plain(h, 200, json.dumps(doc).encode())
    return True


def refuse_overflow(fake: Any, h: Any, path: str, body: Any) -> bool:
    """Refuse a generation request over the context limit (True), as the provider would."""
    rules: CountRules = fake.counting
    if rules.context_limit is None or not isinstance(body, dict):
        return False
    kind = _kind(path)
    if kind is None:
        return False
    n = fake_count(body, rules.ratio, rules.blob_bytes)
    if n <= rules.context_limit:
        return False
    fake._send_plain(h, 400, json.dumps(error_body(kind, n, rules)).encode())
    return True


def _kind(path: str) -> str | None:
    if _GEMINI_GENERATE.search(path):
        return "gemini"
    if path.endswith("/chat/completions"):
        return "openai"
    if path.endswith("/v1/messages"):
        return "anthropic"
    return None


def error_body(kind: str, n: int, rules: CountRules) -> dict[str, Any]:
    """Each provider's real answer to an over-long prompt."""
    limit = rules.context_limit
    if kind == "gemini":
        message = (
            f"The input token count ({n}) exceeds the maximum number of tokens allowed ({limit})."
        )
        return {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}
    if kind == "anthropic":
        return {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": f"prompt is too long: {n} tokens > {limit} maximum",
            },
            "request_id": f"req_fake{int(time.time() * 1000)}",
        }
    if rules.openai_style == "no_count":
        message = (
            "Your input exceeds the context window of this model. "
            "Please adjust your input and try again."
        )
    else:
        message = (
            f"This model's maximum context length is {limit} tokens. However, your messages "
            f"resulted in {n} tokens. Please reduce the length of the messages."
        )
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    }
