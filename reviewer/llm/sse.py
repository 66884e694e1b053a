"""An incremental server-sent events parser following the WHATWG HTML specification.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

Feed it byte chunks as they arrive; a chunk may end in the middle of a line, in the middle of a
CRLF pair or in the middle of a UTF-8 character. It returns the events completed so far.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event. ``event`` defaults to ``"message"``; ``id`` is the last event id
    seen so far in the stream (the spec's "last event ID buffer"); ``retry`` is the reconnection
    time in milliseconds from a ``retry:`` field seen since the previous event, if any."""

    data: str
    event: str = "message"
    id: str = ""
    retry: int | None = None


class SSEParser:
    """Incremental parser: ``feed(bytes) -> list[SSEEvent]``, then ``close()`` at the end.

    Rules implemented (all from the spec):

    * lines end with CRLF, LF or CR (a CR at the end of one chunk followed by LF at the start of
      the next is one line ending);
    * input is UTF-8 (invalid bytes become U+FFFD); one leading BOM is dropped;
    * a line starting with ``:`` is a comment and is ignored;
    * ``field: value`` - a single space after the colon is stripped; a line with no colon is a
      field name with an empty value;
    * ``data`` values are joined with ``\\n``; ``event`` sets the type; ``id`` sets the last event
      id unless it contains NUL; ``retry`` is used only if it is all ASCII digits; other fields are
      ignored;
    * an empty line dispatches the event, unless the data buffer is empty (then it is dropped);
    * an event not terminated by an empty line when the stream ends is discarded.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""  # undecoded-to-lines text: the current unfinished line
        self._skip_lf = False  # the previous chunk ended with CR
        self._started = False  # BOM check done
        self._data: list[str] = []
        self._has_data = False
        self._event_type = ""
        self._last_id = ""
        self._retry: int | None = None
        self.last_event_id = ""
        self.retry: int | None = None  # the latest reconnection time seen, in ms
        self.comments = 0  # number of comment lines seen (keep-alives)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        text = self._decoder.decode(chunk)
        return self._feed_text(text)

    def close(self) -> list[SSEEvent]:
        """Flush the decoder at the end of the stream. An unterminated event is discarded."""
        text = self._decoder.decode(b"", final=True)
        events = self._feed_text(text)
        # A trailing line with no line ending is not a complete line; the spec discards
        # the pending event anyway, so there is nothing more to dispatch.
        self._buffer = ""
        self._data = []
        self._has_data = False
        self._event_type = ""
        return events

    def _feed_text(self, text: str) -> list[SSEEvent]:
        if not text:
            return []
        if not self._started:
            self._started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        if "\n" not in text and "\r" not in text:
            self._buffer += text  # no complete line yet: avoid rescanning the buffer
            return []
        events: list[SSEEvent] = []
        buf = self._buffer + text
        start = 0
        n = len(buf)
        while True:
            cr = buf.find("\r", start)
            lf = buf.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr == -1 or (lf != -1 and lf < cr):
                end, nxt = lf, lf + 1
            else:
                end = cr
                if cr + 1 < n:
                    nxt = cr + 2 if buf[cr + 1] == "\n" else cr + 1
                else:
                    nxt = cr + 1
                    self._skip_lf = True
            event = self._line(buf[start:end])
            if event is not None:
                events.append(event)
            start = nxt
        self._buffer = buf[start:]
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if line == "":
            return self._dispatch()
        if line[0] == ":":
            self.comments += 1
            return None
        colon = line.find(":")
        if colon == -1:
            name, value = line, ""
        else:
            name, value = line[:colon], line[colon + 1 :]
            if value.startswith(" "):
                value = value[1:]
        if name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\x00" not in value:
                self._last_id = value
        elif name == "retry":
            if value and value.isascii() and value.isdigit():
                self._retry = int(value)
                self.retry = self._retry
        return None

    def _dispatch(self) -> SSEEvent | None:
        self.last_event_id = self._last_id
        if not self._has_data:
            self._event_type = ""
            return None
        data = "\n".join(self._data)
        event = SSEEvent(
            data=data,
            event=self._event_type or "message",
            id=self._last_id,
            retry=self._retry,
        )
        self._data = []
        self._has_data = False
        self._event_type = ""
        self._retry = None
        return event


def parse_all(chunks: list[bytes]) -> list[SSEEvent]:
    """Parse a whole stream given as chunks (a convenience for tests and tools)."""
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events
