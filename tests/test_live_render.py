"""The answer rendered while it streams: finished blocks as sanitised HTML, the
unfinished tail as escaped text, on the page and in the SSE stream."""

import html

import pytest
from asgiref.sync import async_to_sync

from reviewer.streams.live_render import LiveText, render_blocks, split_for_page, tail_html
from tests.sse_client import parse_lines


def _split(text, pieces=1):
    """(finished Markdown, tail) of `text` fed in `pieces` roughly equal deltas."""
    live, finished = LiveText(), []
    size = max(1, len(text) // pieces)
    for start in range(0, len(text), size):
        finished.append(live.feed(text[start : start + size]))
    return "".join(finished), live.tail


@pytest.mark.parametrize("pieces", [1, 3, 1000])
def test_a_block_is_finished_by_a_blank_line_wherever_the_deltas_cut(pieces):
    text = "## Heading\n\nFirst paragraph\nstill it\n\nHalf a para"
    assert _split(text, pieces) == ("## Heading\n\nFirst paragraph\nstill it\n\n", "Half a para")


def test_a_list_stays_in_the_tail_until_a_blank_line_follows_it():
    assert _split("- one\n- two\n") == ("", "- one\n- two\n")
    assert _split("- one\n- two\n\n") == ("- one\n- two\n\n", "")


def test_a_table_is_rendered_only_once_finished():
    table = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert _split(table) == ("", table)
    finished, _ = _split(table + "\n")
    assert "<table>" in render_blocks(finished)


def test_blank_lines_inside_an_open_fence_do_not_finish_it():
    text = "Intro\n\n```python\ndef f():\n\n    return 1\n"
    assert _split(text) == ("Intro\n\n", "```python\ndef f():\n\n    return 1\n")


def test_a_closed_fence_is_finished_at_once():
    text = "```\ncode\n\nmore\n```\nnext"
    finished, tail = _split(text, pieces=7)
    assert finished == "```\ncode\n\nmore\n```\n" and tail == "next"
    assert "<pre><code>code\n\nmore\n</code></pre>" in render_blocks(finished)


def test_a_fence_is_closed_only_by_the_same_character_at_least_as_long():
    text = "````\n```\n~~~~\n\n"
    assert _split(text) == ("", text)
    assert _split(text + "````\n")[1] == ""


def test_a_fence_never_closed_stays_text_to_the_end():
    text = "Before\n\n~~~\n<b>not closed</b>\n\n## not a heading\n"
    finished, tail = _split(text, pieces=5)
    assert finished == "Before\n\n"
    assert tail_html(tail) == html.escape(tail)
    assert "<h2>" not in tail_html(tail) and "&lt;b&gt;" in tail_html(tail)


def test_inline_code_with_three_backticks_does_not_open_a_fence():
    assert _split("```a``` text\n\nafter") == ("```a``` text\n\n", "after")


def test_hostile_markup_in_finished_blocks_is_sanitised_like_the_report():
    text = (
        "## Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[x](javascript:alert(3))\n\n"
    )
    rendered, tail = split_for_page(text)
    assert "<h2>Title</h2>" in rendered and tail == ""
    assert "<script" not in rendered and "<img" not in rendered
    assert "href" not in rendered and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered


def test_the_tail_is_escaped_text():
    escaped = "&lt;script&gt;x&lt;/script&gt; &amp; &quot;q&quot;"
    assert tail_html('<script>x</script> & "q"') == escaped


def _stream(client, user, review, last_event_id=0):
    async def read():
        from django.test import AsyncClient

        async_client = AsyncClient()
        await async_client.aforce_login(user)
        response = await async_client.get(
            f"/reviews/{review.pk}/events", headers={"Last-Event-ID": str(last_event_id)}
        )
        chunks = []
        async for chunk in response.streaming_content:
            chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if "event: done" in "".join(chunks):
                break
        return "".join(chunks)

    return list(parse_lines(async_to_sync(read)().split("\n")))


@pytest.mark.django_db
def test_the_stream_carries_rendered_blocks_and_the_escaped_tail(client, alice, make_review):
    from reviewer.streams.relay import get_relay

    review = make_review(status="streaming", report="")
    relay = get_relay()
    relay.append(review.pk, [("delta", "## Findings\n\nOne <script>x</script>")])
    relay.append(review.pk, [("delta", " two\n\n- a <b>")])
    relay.append(review.pk, [("done", "done")])
    review.status = "done"
    review.report = "## Findings\n\nOne <script>x</script> two\n\n- a <b>"
    review.save()

    messages = _stream(client, alice, review)
    blocks = "".join(m.data for m in messages if m.event == "block")
    assert "<h2>Findings</h2>" in blocks
    assert "<script" not in blocks and "&lt;script&gt;x&lt;/script&gt; two" in blocks
    tails = [m.data for m in messages if m.event == "tail"]
    assert tails[-1] == "- a &lt;b&gt;"
    # API clients still get the raw text in `delta` events.
    raw = "".join(html.unescape(m.data) for m in messages if m.event == "delta")
    assert raw == review.report

    # Resumed after the first delta: its heading is not sent again, and the paragraph it
    # left unfinished is completed, not cut in two.
    resumed = _stream(client, alice, review, last_event_id=1)
    again = "".join(m.data for m in resumed if m.event == "block")
    assert "<h2>" not in again
    assert again.startswith("<p>One &lt;script&gt;x&lt;/script&gt; two</p>")


@pytest.mark.django_db
def test_the_page_paints_the_text_so_far_rendered(client, alice, make_review):
    from reviewer.streams.relay import get_relay

    review = make_review(status="streaming", report="")
    get_relay().append(review.pk, [("delta", "## Heading\n\n<script>x</script> so far")])
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert 'sse-swap="block" hx-swap="beforeend"><h2>Heading</h2>' in page
    assert "&lt;script&gt;x&lt;/script&gt; so far</div>" in page
    assert "## Heading" not in page
