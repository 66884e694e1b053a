"""Plain sentences for failures shown to users (never containing the API key)."""

from __future__ import annotations

import json
import math

import httpx

from .types import ClientSettings, redact

STATUS_SENTENCES = {
    400: "The provider rejected the request as invalid.",
    401: "The provider rejected the API key.",
    402: "The provider refused the request for billing reasons (payment required).",
    403: "The provider refused access with this API key.",
    404: "The provider does not know this model or address.",
    413: "The request is too large for the provider.",
    422: "The provider could not process the request.",
}


def seconds(value: float) -> str:
    return str(math.ceil(value)) if value >= 1 else f"{value:.1f}".rstrip("0").rstrip(".") or "0"


def status_sentence(status: int) -> str:
    return STATUS_SENTENCES.get(status, f"The provider refused the request with HTTP {status}.")


def time_limit_sentence(total_timeout: float) -> str:
    return f"The review could not finish within the {seconds(total_timeout)} s time limit."


def with_detail(sentence: str, detail: str) -> str:
    return f"{sentence} The provider said: {detail}" if detail else sentence


def provider_message(body: bytes, secrets: tuple) -> str:
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
    message = " ".join(message.split())
    if len(message) > 300:
        message = message[:297] + "..."
    return redact(message, *secrets)


def connection_sentence(exc: Exception, settings: ClientSettings) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Could not connect to the provider within {seconds(settings.connect_timeout)} s."
    if isinstance(exc, httpx.ConnectError):
        return "Could not connect to the provider."
    if isinstance(exc, httpx.TimeoutException):
        return "The provider stopped responding."
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return "The connection to the provider broke."
    if isinstance(exc, httpx.HTTPError):
        return "The request to the provider failed."
    return "The request to the provider failed unexpectedly."
