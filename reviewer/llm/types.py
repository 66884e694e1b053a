"""Plain data types shared by the library: requests, endpoints, settings, events, errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# --- what the caller gives -----------------------------------------------------------------------


@dataclass
class ReviewRequest:
    """One review: system ``instructions``, the packed repository ``prompt`` and the spec.

    Give the spec as ``spec_pdf`` (bytes, for models that read PDFs) and/or ``spec_text`` (its
    extracted text, needed by text-only models). ``estimated_prompt_tokens`` (optional) is used
    for the tokens-per-minute limiter; without it a rough estimate from the sizes is used.
    ``max_output_tokens`` overrides the model's maximum; ``spec_pages`` (optional) is checked
    against the model's page limit. ``notes`` (optional) is per-review text sent after the
    repository: everything before it stays byte-identical across re-reviews, so the providers'
    prompt caches can reuse it."""

    instructions: str
    prompt: str
    spec_filename: str | None = None
    spec_pdf: bytes | None = None
    spec_text: str | None = None
    estimated_prompt_tokens: int | None = None
    max_output_tokens: int | None = None
    spec_pages: int | None = None
    notes: str = ""

    def __repr__(self) -> str:  # never dump megabytes of prompt into a log line
        pdf = f"{len(self.spec_pdf)} bytes" if self.spec_pdf is not None else None
        return (
            f"ReviewRequest(instructions={len(self.instructions)} chars, "
            f"prompt={len(self.prompt)} chars, spec_filename={self.spec_filename!r}, "
            f"spec_pdf={pdf}, spec_text={None if self.spec_text is None else len(self.spec_text)})"
        )

    def rough_prompt_tokens(self) -> int:
        """``estimated_prompt_tokens`` or a rough guess: 4 characters a token, and for a PDF
        about one token per 16 bytes (pages are billed as text plus an image)."""
        if self.estimated_prompt_tokens is not None:
            return self.estimated_prompt_tokens
        chars = len(self.instructions) + len(self.prompt) + len(self.spec_text or "")
        chars += len(self.notes)
        return chars // 4 + len(self.spec_pdf or b"") // 16 + 1


@dataclass
class Endpoint:
    """Where to send the request. The key is never logged, rendered or put in an error."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    # Who answers there, for sentences shown to users ("Google", "the gateway at x");
    # by default the model's provider.
    name: str | None = None

    def __repr__(self) -> str:
        return f"Endpoint(base_url={self.base_url!r}, api_key={'***' if self.api_key else None})"


@dataclass
class ClientSettings:
    """Timeouts in seconds, retry policy and optional rate limits.

    * ``connect_timeout``: TCP/TLS connect.
    * ``first_token_timeout``: from sending the request to the first piece of answer text
      (long-context prefill can take minutes; keep-alive comments do not count).
    * ``stall_timeout``: after the first text, the longest silence allowed between bytes.
    * ``total_timeout``: cap on the whole ``stream_review`` call, waits included.
    * ``max_retries``: retries before the first token (so up to ``max_retries + 1`` attempts).
    * backoff: full jitter, ``uniform(0, min(backoff_cap, backoff_base * 2**(attempt-1)))``;
      a ``Retry-After``/``retry-after-ms`` from the provider is used instead, up to
      ``retry_after_cap``.
    * ``rpm``/``tpm``: requests and tokens per minute per provider key (None: use the
      catalogue's figure, and None there means unlimited). Enforced only with a SharedState.
    * ``breaker_failures``/``breaker_open_seconds``: circuit breaker per provider.
    """

    connect_timeout: float = 10
    first_token_timeout: float = 600
    stall_timeout: float = 120
    total_timeout: float = 3600
    max_retries: int = 4
    backoff_base: float = 1.0
    backoff_cap: float = 60
    retry_after_cap: float = 120
    rpm: int | None = None
    tpm: int | None = None
    # The limits' window; a minute, as providers count. Shorter only to test the limiter.
    rate_window: float = 60.0
    breaker_failures: int = 5
    breaker_open_seconds: float = 60
    poll_interval: float = 0.1


# --- what stream_review yields -------------------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    """A piece of answer text, in order. Concatenate them all for the answer."""

    text: str


StatusState = Literal["retrying", "waiting", "streaming"]


@dataclass(frozen=True)
class Status:
    """Progress worth showing to a person, e.g. ``retrying in 4 s (attempt 2 of 5)``."""

    state: StatusState
    message: str


FinishReason = Literal["stop", "length", "content_filter"]


@dataclass(frozen=True)
class Finished:
    """The answer is complete. Always the last event of a successful stream.

    ``prompt_tokens`` is the whole prompt as the provider counted it; ``cached_tokens`` and
    ``cache_write_tokens`` are the parts of it read from and written to the provider's prompt
    cache (None: the provider did not say)."""

    finish_reason: FinishReason
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


Event = Delta | Status | Finished


# --- errors --------------------------------------------------------------------------------------


class LLMError(Exception):
    """The review could not be completed.

    ``message`` is one plain sentence for a person (no API key in it). ``after_first_token``
    says answer text had already been yielded (keep it: it is a partial answer).
    ``retryable`` says trying again later might work. ``status_code`` is the provider's HTTP
    status when there was one."""

    def __init__(
        self,
        message: str,
        *,
        after_first_token: bool = False,
        retryable: bool = False,
        status_code: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.after_first_token = after_first_token
        self.retryable = retryable
        self.status_code = status_code

    def __repr__(self) -> str:
        return (
            f"LLMError({self.message!r}, after_first_token={self.after_first_token}, "
            f"retryable={self.retryable}, status_code={self.status_code})"
        )


class Cancelled(Exception):
    """The caller's cancel event was set; the upstream request has been closed."""


_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_KEY_PARAM = re.compile(r"(?i)([?&](?:key|api_key|apikey)=)[^&\s]+")


def redact(text: str, *secrets: str | None) -> str:
    """Remove secrets from ``text``: each secret, any 8-character run of it (providers echo
    parts of a wrong key), bearer tokens and ``key=`` query parameters."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "[redacted]")
        if len(secret) >= 8:
            for i in range(len(secret) - 7):
                piece = secret[i : i + 8]
                if piece in text:
                    text = text.replace(piece, "[redacted]")
    text = _BEARER.sub(r"\1[redacted]", text)
    return _KEY_PARAM.sub(r"\1[redacted]", text)
