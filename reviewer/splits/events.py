"""Relay events of split reviews and their SSE names.

In the relay a part's event is `part-delta`, `part-status`, `part-note` or `part-reset`
with data "<index>:<payload>"; the SSE stream names it `part<N>-delta` and so on, N the
part's number as the page shows it (index + 1), so that each part's section swaps its
own events. The index is ours, never model text: no text can choose an event's name.
`parts` (no payload) tells the page to draw the parts' sections.
"""

PART_DELTA, PART_STATUS, PART_NOTE, PART_RESET, PARTS = (
    "part-delta",
    "part-status",
    "part-note",
    "part-reset",
    "parts",
)
PART_KINDS = (PART_DELTA, PART_STATUS, PART_NOTE, PART_RESET)


def part_event(kind, index, payload=""):
    return (kind, f"{int(index)}:{payload}")


def parse(event_data):
    """(index, payload) of a part event's data."""
    head, _, payload = event_data.partition(":")
    return int(head), payload


def sse_name(kind, index):
    return f"part{int(index) + 1}-{kind.removeprefix('part-')}"


def texts_since_reset(events):
    """Each part's text in relay events (what it streamed since its last reset), and
    its last status word, by index."""
    texts, statuses = {}, {}
    for e in events:
        if e.kind not in PART_KINDS:
            continue
        index, payload = parse(e.data)
        if e.kind == PART_RESET:
            texts[index] = []
        elif e.kind == PART_DELTA:
            texts.setdefault(index, []).append(payload)
        elif e.kind == PART_STATUS:
            statuses[index] = payload
    return {i: "".join(t) for i, t in texts.items()}, statuses
