"""A paced fake OpenAI-compatible model for load benchmarks: one asyncio server that
streams many answers at once, each at a steady rate, with send times in the text.

``POST .../chat/completions`` with ``"stream": true`` answers ``--seconds`` of chunks at
``--rate`` chunks per second (about one token each). Every ``--mark-every``-th chunk is
a marker ``⟨t=1732800000.123⟩`` holding ``time.time()`` at the moment it is written, so
a viewer of the review can tell how long the chunk took to reach it through the worker,
the relay and the web server. Chunks are sent on a fixed schedule from the start of the
answer: a late chunk (the fake starved of CPU) is sent as soon as possible with its own
late time, so its marker never hides a delay.

``GET /_fake/stats`` answers ``{"active", "peak", "started", "finished", "late_ms_max"}``:
streams open now, the most open at once, answers begun and finished, and how far behind
its schedule the fake fell at worst. ``POST /_fake/reset`` zeroes them.

A separate process from the worker and from the viewers, so its own work shares no GIL::

    python -m tests.fakes.paced_llm --rate 40 --seconds 60   # prints FAKE_LLM_URL=<url>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time

from tests.fakes.llm_server import _OpenAIWire

MARKER = re.compile(r"⟨t=(\d+\.\d{3})⟩")
WORDS = ("lorem ", "ipsum ", "dolor ", "sit ", "amet, ", "consectetur ", "adipiscing ", "elit. ")


def marker(now: float) -> str:
    return f"⟨t={now:.3f}⟩"


def marker_times(text: str) -> list[float]:
    """The send times of the markers in `text`, in order."""
    return [float(m.group(1)) for m in MARKER.finditer(text)]


class PacedModel:
    def __init__(self, rate: float, seconds: float, mark_every: int):
        self.rate = rate
        self.chunks = max(1, round(rate * seconds))
        self.mark_every = max(1, mark_every)
        self.active = self.peak = self.started = self.finished = 0
        self.late_max = 0.0

    def stats(self) -> dict:
        return {
            "active": self.active,
            "peak": self.peak,
            "started": self.started,
            "finished": self.finished,
            "late_ms_max": round(self.late_max * 1000, 1),
            "chunks_per_answer": self.chunks,
        }

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _one_request(self, reader, writer) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        raw = await reader.readexactly(length) if length else b""
        if method == "GET" and path.startswith("/_fake/stats"):
            await _plain(writer, 200, json.dumps(self.stats()).encode())
        elif method == "POST" and path.startswith("/_fake/reset"):
            self.peak = self.started = self.finished = 0
            self.late_max = 0.0
            await _plain(writer, 200, b'{"ok": true}')
        elif method == "POST" and path.endswith("/chat/completions"):
            body = json.loads(raw or b"{}")
            await self._answer(writer, body)
        else:
            await _plain(writer, 404, b'{"error": {"message": "Unknown path."}}')
        return headers.get("connection", "").lower() != "close"

    async def _answer(self, writer, body: dict) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        wire = _OpenAIWire(body.get("model", "fake-model"), include_usage)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        self.started += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            _chunk(writer, wire.first())
            await writer.drain()
            loop = asyncio.get_running_loop()
            begin = loop.time()
            for i in range(self.chunks):
                due = begin + i / self.rate
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                else:
                    self.late_max = max(self.late_max, -wait)
                if i % self.mark_every == 0:
                    text = marker(time.time())
                else:
                    text = WORDS[i % len(WORDS)]
                _chunk(writer, wire.delta(text))
                await writer.drain()
            for event in wire.finish("stop", (1000, self.chunks)):
                _chunk(writer, event)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            self.finished += 1
        finally:
            self.active -= 1


def _chunk(writer, data: bytes) -> None:
    if data:
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


async def _plain(writer, code: int, body: bytes) -> None:
    reason = {200: "OK", 404: "Not Found"}.get(code, "Error")
    writer.write(
        f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()


async def _main(args) -> None:
    model = PacedModel(args.rate, args.seconds, args.mark_every)
    server = await asyncio.start_server(model.serve, args.host, args.port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"FAKE_LLM_URL=http://{args.host}:{port}/v1", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Paced fake OpenAI-compatible model.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--rate", type=float, default=40.0, help="chunks per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each answer")
    parser.add_argument("--mark-every", type=int, default=4, help="a time marker every N chunks")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_main(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
