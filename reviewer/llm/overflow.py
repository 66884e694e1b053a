"""A request the provider refused as too long, read from its error body.

Each provider words it differently; all three come as HTTP 400 before any answer:

* OpenAI (and DeepSeek, OpenRouter, gateways that pass OpenAI's body on):
  ``{"error": {"message": "This model's maximum context length is 128000 tokens. However,
  your messages resulted in 130532 tokens. ...", "type": "invalid_request_error",
  "param": "messages", "code": "context_length_exceeded"}}``; newer models say only
  "Your input exceeds the context window of this model." (same code, no numbers).
* Anthropic: ``{"type": "error", "error": {"type": "invalid_request_error",
  "message": "prompt is too long: 208310 tokens > 200000 maximum"}}``, or "input length
  and `max_tokens` exceed context limit: 199759 + 8192 > 200000".
* Gemini: ``{"error": {"code": 400, "message": "The input token count (1156615) exceeds
  the maximum number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .types import LLMError

_PATTERNS = (
    # Gemini
    (
        re.compile(
            r"input token count \((?P<n>\d+)\) exceeds the maximum number of tokens "
            r"allowed \((?P<m>\d+)\)",
            re.I,
        ),
        False,
    ),
    # Anthropic
    (re.compile(r"prompt is too long: (?P<n>\d+) tokens > (?P<m>\d+)", re.I), False),
    (
        re.compile(
            r"input length and `?max_tokens`? exceed context limit: (?P<n>\d+) \+ "
            r"(?P<out>\d+) > (?P<m>\d+)",
            re.I,
        ),
        True,
    ),
    # OpenAI and compatible: "(X in the messages, Y in the completion)" names the prompt.
    (
        re.compile(
            r"maximum context length is (?P<m>\d+) tokens\. However, you requested (?:about )?"
            r"(?P<total>\d+) tokens \((?P<n>\d+) (?:in the messages|of text input)"
            r"(?:, (?P<out>\d+) in the completion)?",
            re.I,
        ),
        True,
    ),
    (
        re.compile(
            r"maximum context length is (?P<m>\d+) tokens\. However, (?:your messages "
            r"resulted in|you requested(?: about)?) (?P<n>\d+) tokens",
            re.I,
        ),
        False,
    ),
)
_NO_COUNT = re.compile(
    r"context_length_exceeded|exceeds the context window|context length exceeded|"
    r"prompt is too long|too many input tokens",
    re.I,
)


@dataclass(frozen=True)
class Overflow:
    """The provider's own count of the prompt and its limit for it, when it said them."""

    provider_tokens: int | None = None
    limit_tokens: int | None = None


class ContextOverflow(LLMError):
    """The provider refused the request as longer than the model accepts (before any
    answer). ``overflow`` holds what the provider counted, when it said."""

    def __init__(self, message: str, overflow: Overflow, *, status_code: int | None = None):
        super().__init__(message, status_code=status_code)
        self.overflow = overflow


def parse_message(message: str) -> Overflow | None:
    """The overflow a provider's error message describes, or None if it is another error."""
    for pattern, subtract_output in _PATTERNS:
        found = pattern.search(message)
        if not found:
            continue
        groups = found.groupdict()
        limit = int(groups["m"])
        if subtract_output and groups.get("out"):
            # The limit covers prompt and answer: the prompt's share is what is left.
            limit -= int(groups["out"])
        return Overflow(int(groups["n"]), limit)
    if _NO_COUNT.search(message):
        return Overflow()
    return None


def parse_body(body: bytes | str) -> Overflow | None:
    """The overflow an HTTP error body describes (any of the three shapes, also wrapped in
    a list as Gemini sometimes does), or None."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        doc = json.loads(text)
    except ValueError:
        return parse_message(text[:2000])
    if isinstance(doc, list) and doc:
        doc = doc[0]
    pieces: list[str] = []
    err = doc.get("error", doc) if isinstance(doc, dict) else doc
    if isinstance(err, dict):
        pieces += [str(err.get(k) or "") for k in ("message", "code", "type")]
    elif isinstance(err, str):
        pieces.append(err)
    return parse_message(" ".join(pieces)) if any(pieces) else parse_message(text[:2000])
