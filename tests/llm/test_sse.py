"""The SSE parser follows the WHATWG event-stream rules, whatever the chunking."""

import random

import pytest

from reviewer.llm.sse import SSEEvent, SSEParser, parse_all


def events(text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return parse_all([data])


def test_data_lines_are_joined_with_newline():
    assert events("data: a\ndata: b\n\n") == [SSEEvent("a\nb")]


def test_single_leading_space_is_stripped_only_once():
    assert events("data:  two spaces\n\n")[0].data == " two spaces"
    assert events("data:nospace\n\n")[0].data == "nospace"


def test_comments_are_ignored_and_counted():
    p = SSEParser()
    assert p.feed(b": keep-alive\n\n: another\ndata: x\n\n") == [SSEEvent("x")]
    assert p.comments == 2


@pytest.mark.parametrize("eol", ["\n", "\r", "\r\n"])
def test_cr_lf_and_crlf_line_endings(eol):
    text = f"event: upd{eol}data: 1{eol}data: 2{eol}{eol}data: 3{eol}{eol}"
    assert events(text) == [SSEEvent("1\n2", event="upd"), SSEEvent("3")]


def test_mixed_line_endings():
    assert events("data: a\r\ndata: b\rdata: c\n\r\n") == [SSEEvent("a\nb\nc")]


def test_event_without_data_is_not_dispatched():
    assert events("event: ping\n\nid: 7\n\n") == []


def test_empty_data_field_dispatches_an_empty_event():
    assert events("data\n\n") == [SSEEvent("")]
    assert events("data:\n\n") == [SSEEvent("")]


def test_id_and_retry_fields():
    p = SSEParser()
    out = p.feed(b"id: 42\nretry: 1500\ndata: x\n\ndata: y\n\n")
    assert out[0] == SSEEvent("x", id="42", retry=1500)
    assert out[1] == SSEEvent("y", id="42", retry=None)
    assert p.last_event_id == "42" and p.retry == 1500


def test_invalid_retry_and_id_with_nul_are_ignored():
    out = events("retry: 12a\nid: a\x00b\ndata: x\n\n")
    assert out == [SSEEvent("x", id="", retry=None)]


def test_unknown_fields_and_lines_without_colon_are_ignored():
    assert events("foo: bar\ngarbage\ndata: x\n\n") == [SSEEvent("x")]


def test_field_without_colon_is_a_name_with_empty_value():
    assert events("data\ndata\n\n") == [SSEEvent("\n")]


def test_unterminated_event_at_end_is_discarded():
    assert events("data: complete\n\ndata: incomplete\n") == [SSEEvent("complete")]
    assert events("data: no newline at all") == []


def test_leading_bom_is_dropped():
    assert events(b"\xef\xbb\xbfdata: x\n\n") == [SSEEvent("x")]


def test_value_keeps_later_colons():
    assert events('data: {"a": "b:c"}\n\n')[0].data == '{"a": "b:c"}'


def test_utf8_character_split_across_chunks():
    raw = "data: héllo ✓ 🎉\n\n".encode()
    for cut in range(1, len(raw)):
        assert parse_all([raw[:cut], raw[cut:]]) == [SSEEvent("héllo ✓ 🎉")], cut


def test_crlf_split_across_chunks_is_one_line_ending():
    assert parse_all([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]) == [SSEEvent("a\nb")]


def test_cr_at_chunk_end_followed_by_other_text():
    assert parse_all([b"data: a\r", b"data: b\r", b"\r"]) == [SSEEvent("a\nb")]


def test_invalid_utf8_becomes_replacement_character():
    assert events(b"data: \xff\n\n") == [SSEEvent("\ufffd")]


STREAM = (
    "\ufeff: keep-alive\r\n\r\n"
    'event: message\nid: 1\ndata: {"x": "héllo"}\n\n'
    "data: first\r\ndata: second\r\r"
    "retry: 3000\ndata:  spaced\n\n"
    ": comment\ndata\n\n"
    "id: 2\nevent: done\ndata: [DONE]\r\n\r\n"
    "data: 🎉 emoji ✓\r\n\n"
    "event: ignored-no-data\n\n"
    "data: trailing incomplete"
).encode()


def _random_chunks(data: bytes, rng: random.Random) -> list[bytes]:
    chunks, i = [], 0
    while i < len(data):
        n = rng.randint(1, 9)
        chunks.append(data[i : i + n])
        i += n
    return chunks


def test_any_chunking_gives_the_same_events():
    expected = parse_all([STREAM])
    assert [e.data for e in expected] == [
        '{"x": "héllo"}',
        "first\nsecond",
        " spaced",
        "",
        "[DONE]",
        "🎉 emoji ✓",
    ]
    assert expected[4].event == "done" and expected[4].id == "2"
    rng = random.Random(1234)
    for _ in range(500):
        assert parse_all(_random_chunks(STREAM, rng)) == expected
    # and byte by byte
    assert parse_all([STREAM[i : i + 1] for i in range(len(STREAM))]) == expected
    # and every split into two pieces
    for cut in range(len(STREAM)):
        assert parse_all([STREAM[:cut], STREAM[cut:]]) == expected


def test_long_line_fed_in_tiny_chunks_is_not_quadratic():
    payload = b"data: " + b"x" * 200_000 + b"\n\n"
    out = parse_all([payload[i : i + 16] for i in range(0, len(payload), 16)])
    assert len(out[0].data) == 200_000
