"""One attempt of a review request: from sending it to ``Finished``.

An attempt raises ``Retry`` for a failure that may be retried (only possible before any answer
text was yielded) and ``LLMError`` for everything else; ``client.py`` decides about retrying.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from .adapters import MalformedEvent, parser_for
from .messages import (
    cap,
    connection_sentence,
    provider_message,
    seconds,
    short_detail,
    status_sentence,
    time_limit_sentence,
    with_detail,
)
from .overflow import ContextOverflow, Overflow, parse_body, parse_message
from .sse import SSEParser
from .transport import Body, Chunk, End, Failed, Head, Item, Stream
from .types import Delta, Finished, LLMError, Status, redact

if TYPE_CHECKING:
    from .adapters import Parsed
    from .client import _Review

RETRY_STATUSES = frozenset({408, 409, 429})
BREAKER_STATUSES = frozenset({408})  # plus every 5xx
# Waiting for an error body is capped: the status alone already decides what happens.
_ERROR_BODY_WAIT = 30


class Retry(Exception):
    """A failure before the first token that may be retried."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        breaker_failure: bool = True,
        detail: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.status = status
        self.headers = dict(headers or {})
        self.breaker_failure = breaker_failure


class Attempt:
    """Reads one ``Stream`` and turns it into ``Status``, ``Delta`` and ``Finished`` events."""

    # Set when the provider refused the request as too long (overflow.py): the error raised
    # is then a ContextOverflow, which the caller may answer by packing again, and never a
    # retry of the same request.
    refused_as_too_long: Overflow | None = None

    def __init__(self, review: _Review, stream: Stream, probe: bool):
        self.review, self.stream, self.probe = review, stream, probe
        self.settings, self.breaker, self.secrets = review.settings, review.breaker, review.secrets
        self.who, self.host = review.who, review.host
        self.got_text = False
        self.finish: str | None = None
        self.usage: list[int | None] = [None, None]
        self.cache: list[int | None] = [None, None]  # read from, written to the prompt cache
        self.breaker_noted = False
        self.first_deadline = 0.0

    def run(self) -> Iterator[Delta | Status | Finished]:
        clean = False
        try:
            self._check_head(self._open())
            yield Status("streaming", f"{self.who} accepted the request; waiting for the answer")
            yield from self._read_events()
            if not self.got_text and self.finish == "stop":
                # A "stop" with no text (gateways end a failed upstream call this way) is
                # not an answer: retried like any failure before the first token.
                raise self._fail(f"{cap(self.who)} sent an empty answer.", breaker_failure=False)
            clean = True
            yield self._finished()
        finally:
            if not clean or self.stream.running:
                self.stream.abort()

    # steps

    def _open(self) -> Head:
        """Wait for the response head; connection failures are retried unless they are ours."""
        s = self.settings
        self.first_deadline = min(time.monotonic() + s.first_token_timeout, self._total_deadline)
        item = self._next(self.first_deadline)
        if item is None:
            raise Retry(
                f"{cap(self.who)} did not start answering within "
                f"{seconds(s.first_token_timeout)} s."
            )
        if isinstance(item, Failed):
            exc = item.exc
            if not isinstance(exc, httpx.TransportError) or isinstance(
                exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)
            ):
                sentence = connection_sentence(exc, s, self.who, self.host)
                raise self._error(f"{sentence} ({type(exc).__name__}: {exc})")
            raise Retry(connection_sentence(exc, s, self.who, self.host))
        assert isinstance(item, Head)  # the transport sends the head (or a failure) first
        return item

    def _check_head(self, head: Head) -> None:
        """Return for HTTP 200; otherwise raise ``Retry`` or, for a refused request, LLMError."""
        if self.review.limiter is not None:
            self.review.limiter.observe(head.headers)
        status = head.status
        if status == 200:
            return
        item = self._next(min(time.monotonic() + _ERROR_BODY_WAIT, self._total_deadline))
        body = item.data if isinstance(item, Body) else b""
        detail = provider_message(body, self.secrets, self.who)
        if status in RETRY_STATUSES or 500 <= status <= 599:
            raise Retry(
                f"{cap(self.who)} answered HTTP {status}.",
                status=status,
                headers=head.headers,
                breaker_failure=status in BREAKER_STATUSES or status >= 500,
                detail=detail,
            )
        self.refused_as_too_long = _overflow_in(status, item)
        self._note_success()  # the provider is up; the request itself is wrong
        sentence = with_detail(status_sentence(status, self.who), detail, self.who)
        raise self._error(sentence, status_code=status)

    def _read_events(self) -> Iterator[Delta]:
        """Yield the answer text; return once the answer is complete, raise on any failure."""
        parser = SSEParser()
        parse = parser_for(self.review.model)
        last = time.monotonic()
        while True:
            item = self._next(self._read_deadline(last))
            if item is None or isinstance(item, Failed):
                if self.finish is not None:
                    return  # the answer was complete; a missing "[DONE]" does not matter
                raise self._silence() if item is None else self._connection_broke(item)
            events = parser.feed(item.data) if isinstance(item, Chunk) else parser.close()
            last = time.monotonic()
            for event in events:
                if not event.data:
                    continue
                try:
                    parsed = parse(event.event, event.data)
                except MalformedEvent:
                    raise self._fail(f"{cap(self.who)} sent a malformed stream event.")
                yield from self._apply(parsed)
                if parsed.done:
                    return
            if isinstance(item, End):
                if self.finish is not None:
                    return
                raise self._fail(f"{cap(self.who)}'s stream ended before the answer was complete.")

    def _apply(self, parsed: Parsed) -> Iterator[Delta]:
        """Take one parsed event: error, usage, text and finish reason, in that order."""
        if parsed.error is not None:
            detail = short_detail(parsed.error, self.secrets, self.who)
            raise self._fail(
                with_detail(f"{cap(self.who)} reported an error in the stream.", detail, self.who),
                retryable=parsed.error_transient,
                breaker_failure=parsed.error_transient,
            )
        if parsed.usage is not None:
            prompt, completion = parsed.usage
            self.usage[0] = prompt if prompt is not None else self.usage[0]
            self.usage[1] = completion if completion is not None else self.usage[1]
        if parsed.cached is not None:
            self.cache[0] = parsed.cached
        if parsed.cache_write is not None:
            self.cache[1] = parsed.cache_write
        if parsed.text:
            if not self.got_text:
                self.got_text = True
                self._note_success()
            yield Delta(parsed.text)
        if parsed.unusual_finish is not None:
            raise self._fail(
                f"{cap(self.who)} ended the answer abnormally (reason: {parsed.unusual_finish}).",
                retryable=False,
                breaker_failure=False,
            )
        if parsed.finish is not None:
            self.finish = parsed.finish

    # helpers

    @property
    def _total_deadline(self) -> float:
        return self.review.total_deadline

    def _next(self, deadline: float) -> Item | None:
        return self.stream.get(deadline, self.review.cancel, self.settings.poll_interval)

    def _read_deadline(self, last: float) -> float:
        """First-token deadline until text flows, then the stall deadline since the last bytes."""
        if self.got_text:
            return min(last + self.settings.stall_timeout, self._total_deadline)
        return self.first_deadline

    def _silence(self) -> Exception:
        s = self.settings
        if time.monotonic() >= self._total_deadline:
            return self._error(
                time_limit_sentence(s.total_timeout),
                after_first_token=self.got_text,
                retryable=True,
            )
        if self.got_text:
            return self._fail(
                f"{cap(self.who)} stopped sending the answer for {seconds(s.stall_timeout)} s."
            )
        return self._fail(
            f"{cap(self.who)} did not start answering within {seconds(s.first_token_timeout)} s."
        )

    def _connection_broke(self, item: Failed) -> Exception:
        return self._fail(connection_sentence(item.exc, self.settings, self.who, self.host))

    def _fail(
        self, message: str, retryable: bool = True, breaker_failure: bool = True
    ) -> Exception:
        """Failure in the stream: retry before the first token, LLMError after it."""
        if not self.got_text and self.refused_as_too_long is None:
            self.refused_as_too_long = parse_message(message)  # "input exceeds the context…"
        if self.refused_as_too_long is not None:
            retryable = breaker_failure = False  # "…and try again" is not meant for us
        if self.got_text:
            if self.breaker is not None and breaker_failure:
                self.breaker.failure()
            return self._error(message, after_first_token=True, retryable=retryable)
        if retryable:
            return Retry(redact(message, *self.secrets), breaker_failure=breaker_failure)
        if self.breaker is not None:
            self.breaker.release(self.probe)
        return self._error(message, retryable=False)

    def _note_success(self) -> None:
        """Tell the breaker the provider works, once per attempt."""
        if not self.breaker_noted and self.breaker is not None:
            self.breaker.success()
        self.breaker_noted = True

    def _finished(self) -> Finished:
        self._note_success()
        return Finished(
            self.finish or "stop", self.usage[0], self.usage[1], self.cache[0], self.cache[1]
        )

    def _error(self, message: str, **kw: Any) -> LLMError:
        if self.refused_as_too_long is not None and not kw.get("after_first_token"):
            overflow = self.refused_as_too_long
            # The provider's error text is cut to its first sentence, which may not hold
            # the count; the user is told it in our words.
            if overflow.provider_tokens and f"{overflow.provider_tokens:,}" not in message:
                message += f" It counted {overflow.provider_tokens:,} tokens"
                if overflow.limit_tokens:
                    message += f" against a limit of {overflow.limit_tokens:,}"
                message += "."
            return ContextOverflow(
                redact(message, *self.secrets), overflow, status_code=kw.get("status_code")
            )
        return LLMError(redact(message, *self.secrets), **kw)


def _overflow_in(status: int, item: object) -> Overflow | None:
    """What a refusal's body says about a prompt that is too long (400 or 413 only)."""
    if status not in (400, 413) or not isinstance(item, Body):
        return None
    return parse_body(item.data)
