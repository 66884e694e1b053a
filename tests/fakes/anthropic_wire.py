"""The Anthropic Messages API as the fake server speaks it: ``POST .../v1/messages``.

A streamed answer is the real event sequence (named events, JSON data)::

    message_start, content_block_start, ping, content_block_delta x N, content_block_stop,
    message_delta (stop_reason, usage), message_stop

with ``error`` events (``overloaded_error`` by default) and Anthropic's error bodies for HTTP
failures (``anthropic_status``). Usage follows Anthropic's accounting: ``input_tokens`` leaves
out the tokens read from (``cache_read_input_tokens``) or written to
(``cache_creation_input_tokens``) the prompt cache.
"""

from __future__ import annotations

import json
import time
from typing import Any

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal"}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _event(name: str, obj: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


def error_body(status: int, message: str | None = None, error_type: str | None = None) -> dict:
    etype = error_type or ERROR_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": etype, "message": message or f"Fake Anthropic {etype}."},
        "request_id": "req_fake0123456789",
    }


class AnthropicWire:
    """Same interface as the fake's other wires (first, delta, finish, error, whole)."""

    def __init__(
        self,
        model: str,
        usage: tuple[int, int] | None,
        cached: int | None,
        written: int | None,
        error_type: str,
    ):
        self.model = model
        self.usage = usage
        self.cached = cached
        self.written = written
        self.error_type = error_type
        self.id = f"msg_fake{int(time.time() * 1000)}"

    def _usage(self, usage: tuple[int, int] | None, output: int) -> dict[str, int]:
        prompt = usage[0] if usage else 0
        read, written = self.cached or 0, self.written or 0
        return {
            "input_tokens": max(prompt - read - written, 0),
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "output_tokens": output,
        }

    def first(self) -> bytes:
        message = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": self.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self._usage(self.usage, 1),
        }
        return (
            _event("message_start", {"type": "message_start", "message": message})
            + _event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            + _event("ping", {"type": "ping"})
        )

    def delta(self, text: str) -> bytes:
        return _event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
        )

    def finish(
        self, reason: str, usage: tuple[int, int] | None, gateway: bool = False
    ) -> list[bytes]:
        # ``gateway`` (LiteLLM's chunk shapes) applies to the OpenAI wire only.
        out = [_event("content_block_stop", {"type": "content_block_stop", "index": 0})]
        delta = {"stop_reason": STOP_REASONS.get(reason, reason), "stop_sequence": None}
        final = self._usage(usage, usage[1] if usage else 0)
        out.append(
            _event("message_delta", {"type": "message_delta", "delta": delta, "usage": final})
        )
        out.append(_event("message_stop", {"type": "message_stop"}))
        return out

    def error(self, message: str, code: str | int | None = None, gateway: bool = False) -> bytes:
        return _event(
            "error", {"type": "error", "error": {"type": self.error_type, "message": message}}
        )

    def whole(self, text: str, reason: str, usage: tuple[int, int] | None) -> bytes:
        return json.dumps(
            {
                "id": self.id,
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": STOP_REASONS.get(reason, reason),
                "stop_sequence": None,
                "usage": self._usage(usage, usage[1] if usage else 0),
            }
        ).encode()
