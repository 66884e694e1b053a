"""A deliberately simple SSE reader for tests, independent of the product's own parser."""

import threading
from dataclasses import dataclass

import httpx


@dataclass
class Message:
    id: str
    event: str
    data: str


def parse_lines(lines):
    """Yields the messages in a sequence of SSE lines (without their line endings)."""
    event, data, last_id = "message", [], ""
    for line in lines:
        if line == "":
            if data:
                yield Message(last_id, event, "\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                last_id = value


def read_events(client, url, headers=None, timeout=60):
    """Yields messages until the server closes the stream."""
    with client.stream("GET", url, headers=headers or {}, timeout=timeout) as response:
        response.raise_for_status()
        yield from parse_lines(response.iter_lines())


class Collector(threading.Thread):
    """Reads a stream in the background so a test can check it mid-flight."""

    def __init__(self, client, url, headers=None):
        super().__init__(daemon=True)
        self.client, self.url, self.headers = client, url, headers
        self.messages = []
        self.error = None

    def run(self):
        try:
            for message in read_events(self.client, self.url, self.headers):
                self.messages.append(message)
        except httpx.HTTPError as exc:
            self.error = exc

    def text(self):
        import html

        return "".join(html.unescape(m.data) for m in self.messages if m.event == "delta")

    def events(self, kind):
        return [m for m in self.messages if m.event == kind]
