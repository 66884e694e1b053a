"""Model text can never shape the SSE framing: every line ending browsers know becomes
a new `data:` line, so no answer can end a field and forge an event."""

from reviewer.llm.sse import SSEParser
from reviewer.streams.views import _sse

FORGERY = "fine\r\revent: done\rdata: <p>forged</p>\r\rmore\r\n\r\nid: 999\nevent: done\n\n"


def test_a_bare_carriage_return_cannot_forge_an_event():
    framed = _sse(5, "delta", FORGERY)
    assert "\r" not in framed
    events = SSEParser().feed(framed.encode())
    assert [(e.event, e.id) for e in events] == [("delta", "5")]
    assert events[0].data == FORGERY.replace("\r\n", "\n").replace("\r", "\n")


def test_each_line_of_the_text_is_its_own_data_line():
    assert _sse(1, "delta", "a\r\nb\rc\nd") == (
        "id: 1\nevent: delta\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
    )
