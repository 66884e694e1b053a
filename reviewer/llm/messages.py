"""Plain sentences for failures shown to users (never containing the API key)."""

from __future__ import annotations

import json
import logging
import math
import re
from urllib.parse import urlsplit

import httpx

from .types import ClientSettings, redact

log = logging.getLogger("reviewer.llm")

PROVIDER_NAMES = {
    "openai": "OpenAI",
    "google": "Google",
    "anthropic": "Anthropic",
    "openrouter": "OpenRouter",
    "deepseek": "DeepSeek",
}
STATUS_SENTENCES = {
    400: "{who} rejected the request as invalid (400).",
    401: "{who} refused the key (401).",
    402: "{who} refused the request for billing reasons (402).",
    403: "{who} refused access with this key (403).",
    404: "{who} does not know this model or address (404).",
    413: "The request is too large for {who} (413).",
    422: "{who} could not process the request (422).",
}
# What users see of a provider's or gateway's error text; the rest goes to the log.
DETAIL_MAX_CHARS = 300


def host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def who_answers(provider: str, base_url: str, name: str | None = None) -> str:
    """The name sentences use for the other side: the caller's, the provider's, the host."""
    return name or PROVIDER_NAMES.get(provider) or host_of(base_url)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def seconds(value: float) -> str:
    return str(math.ceil(value)) if value >= 1 else f"{value:.1f}".rstrip("0").rstrip(".") or "0"


def status_sentence(status: int, who: str) -> str:
    sentence = STATUS_SENTENCES.get(status, "{who} refused the request with HTTP {status}.")
    return cap(sentence.format(who=who, status=status))


def time_limit_sentence(total_timeout: float) -> str:
    return f"The review could not finish within the {seconds(total_timeout)} s time limit."


def with_detail(sentence: str, detail: str, who: str) -> str:
    return f"{sentence} {cap(who)} said: {detail}" if detail else sentence


_EXCEPTION_PREFIX = re.compile(r"^(?:[\w.]*(?:Error|Exception)\s*[:\-]\s*)+")
_EMBEDDED_MESSAGE = re.compile(r"""['"]message['"]\s*:\s*(['"])(.+?)\1""")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def meaningful(text: str) -> str:
    """The first meaningful sentence of an error text. Gateways chain the upstream's error
    into theirs ("litellm.APIConnectionError: APIConnectionError: OpenAIException -
    Connection error.", then model groups and deployment dictionaries): exception names
    are dropped, an embedded upstream "message" is preferred, and only the first sentence
    of the first line is kept, at most DETAIL_MAX_CHARS characters."""
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    embedded = _EMBEDDED_MESSAGE.search(first)
    if embedded:
        first = embedded.group(2)
    first = _EXCEPTION_PREFIX.sub("", first).strip()
    first = re.sub(r"^Error code: \d+\s*-\s*", "", first)
    end = _SENTENCE_END.search(first)
    if end:
        first = first[: end.end()]
    first = " ".join(first.split())
    if len(first) > DETAIL_MAX_CHARS:
        first = first[: DETAIL_MAX_CHARS - 3] + "..."
    return first


def short_detail(text: str, secrets: tuple, who: str) -> str:
    """``meaningful(text)`` without secrets; the whole text goes to the log when cut."""
    text = redact(text, *secrets)
    short = meaningful(text)
    if short != " ".join(text.split()):
        log.warning("%s said (shortened for users): %s", who, text[:8000])
    return short


def provider_message(body: bytes, secrets: tuple, who: str = "the provider") -> str:
    """The provider's own error message from an error body (JSON or short text), shortened."""
    text = body.decode("utf-8", errors="replace").strip()
    message = ""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, list) and doc:
        doc = doc[0]
    if isinstance(doc, dict):
        err = doc.get("error", doc)
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("detail") or err.get("status") or "")
        elif isinstance(err, str):
            message = err
        if not message:
            message = str(doc.get("message") or doc.get("detail") or "")
    elif text and not text.lstrip().startswith("<"):
        message = text
    return short_detail(message, secrets, who)


def connection_sentence(exc: Exception, settings: ClientSettings, who: str, host: str) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Could not reach {host} within {seconds(settings.connect_timeout)} s."
    if isinstance(exc, httpx.ConnectError):
        return f"Could not reach {host}."
    if isinstance(exc, httpx.TimeoutException):
        return f"{cap(who)} stopped responding."
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return f"The connection to {who} broke."
    if isinstance(exc, httpx.HTTPError):
        return f"The request to {who} failed."
    return f"The request to {who} failed unexpectedly."
