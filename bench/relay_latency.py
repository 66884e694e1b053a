"""Relay latency: how long a chunk takes from the model to the browsers watching it.

Starts a whole stack (tests.stack.Stack: migrated database, uvicorn, a real Celery
worker) in each profile, points it at an in-process fake OpenAI-compatible server, and
for each viewer count opens that many SSE streams on ONE review before the model
starts answering. Every chunk the fake model sends carries a marker ``[c0001]``; the
server notes the wall-clock time it sends each chunk, every viewer notes when the
marker arrives, and the difference is the latency of the whole real path:

    fake model -> Celery worker (llm client, RunWriter) -> relay (database rows or
    Redis Streams) -> hub reader in the ASGI process -> SSE view -> httpx client

Everything runs on this machine and talks to 127.0.0.1 only; each run has a chunk
count and time limits, so the benchmark always ends by itself.

    .venv/bin/python -m bench.relay_latency --profile both
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import math
import os
import platform
import re
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.conc_probe import sse_block  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer, answer  # noqa: E402
from tests.stack import Stack  # noqa: E402
from tests.test_e2e_review import create_project, review_id_of, upload  # noqa: E402

MARKER = re.compile(r"\[c(\d{4})\]")
# Characters the SSE view must HTML-escape, so that the check of the text covers it.
FILLER = " a<b & c>d 'e' \"f\" lorem ipsum dolor sit amet"
# A Redis database of its own so the benchmark never flushes the tests' database (9).
REDIS_DB = 12


# -- the fake model, with send times ---------------------------------------------------
class _TimedWire:
    """Wraps the fake server's wire format and notes when each marked chunk is sent."""

    def __init__(self, wire, record):
        self._wire = wire
        self._record = record

    def __getattr__(self, name):
        return getattr(self._wire, name)

    def delta(self, text):
        data = self._wire.delta(text)
        # The server writes these bytes right after this returns.
        self._record(text, time.time())
        return data


class TimedLLMServer(FakeLLMServer):
    """FakeLLMServer that records time.time() when each ``[cNNNN]`` chunk is sent."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent = {}

    def _record(self, text, when):
        for match in MARKER.finditer(text):
            self.sent[int(match.group(1))] = when

    def _stream(self, h, sc, wire, stream):
        return super()._stream(h, sc, _TimedWire(wire, self._record), stream)


def marked_text(chunks, chunk_size):
    """`chunks` pieces of exactly `chunk_size` characters, each starting with its marker."""
    pieces = []
    for i in range(1, chunks + 1):
        marker = f"[c{i:04d}]"
        room = chunk_size - len(marker) - 1
        filler = (FILLER * (room // len(FILLER) + 1))[:room]
        pieces.append(marker + filler + "\n")
    return "".join(pieces)


# -- the viewers -----------------------------------------------------------------------
@dataclass
class Viewer:
    index: int
    subscribed: bool = False
    finished: bool = False
    arrivals: list = field(default_factory=list)  # (chunk number, time.time())
    text: list = field(default_factory=list)
    done_at: float | None = None
    errors: list = field(default_factory=list)
    last_id: int = 0
    _scan: str = ""

    async def run(self, client, url):
        try:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    self.errors.append(f"HTTP {response.status_code}")
                    return
                buffer = b""
                async for data in response.aiter_bytes():
                    now = time.time()
                    buffer += data
                    while b"\n\n" in buffer:
                        block, buffer = buffer.split(b"\n\n", 1)
                        self._event(block.decode(), now)
                    if self.done_at is not None:
                        break
        except (httpx.HTTPError, OSError) as exc:
            self.errors.append(f"connection: {type(exc).__name__}: {exc}")
        finally:
            self.finished = True
            if self.done_at is None and not self.errors:
                self.errors.append("stream ended without a done event")

    def _event(self, block, now):
        kind, data, event_id = sse_block(block)
        if event_id is not None:
            if event_id <= self.last_id:
                self.errors.append(f"event id {event_id} after {self.last_id}")
            self.last_id = event_id
        if kind == "status":
            self.subscribed = True
        elif kind == "delta":
            piece = html.unescape(data)
            self.text.append(piece)
            # A marker may in principle be split across deltas: scan the unmatched tail.
            self._scan += piece
            end = 0
            for match in MARKER.finditer(self._scan):
                self.arrivals.append((int(match.group(1)), now))
                end = match.end()
            self._scan = self._scan[end:][-16:]
        elif kind == "done":
            self.done_at = now


@dataclass
class Result:
    profile: str
    viewers: int
    chunks: int
    samples: int = 0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    max_ms: float = math.nan
    errors: int = 0
    error_examples: list = field(default_factory=list)
    subscribe_s: float = math.nan
    done_after_last_ms: float = math.nan
    # CPU used while the chunks streamed, as % of one core: the ASGI server, the
    # Celery worker, and this process (viewers + fake model); and the load average.
    cpu_server: float = math.nan
    cpu_worker: float = math.nan
    cpu_bench: float = math.nan
    load1: float = math.nan


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(ordered, q):
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def watch(stack, llm, gate, cookies, review_id, n, limit):
    """Opens `n` streams, opens the gate once all are subscribed, reads to the end."""
    url = f"/reviews/{review_id}/events"
    viewers = [Viewer(i) for i in range(n)]
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(30, read=60)
    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=stack.url, cookies=cookies, limits=limits, timeout=timeout
    ) as client:
        tasks = [asyncio.create_task(v.run(client, url)) for v in viewers]
        try:
            # Subscribed = has seen a status event; the worker is held at the gate once
            # the model has its request.
            while time.monotonic() - started < 60:
                if llm.requests and all(v.subscribed or v.finished for v in viewers):
                    break
                await asyncio.sleep(0.02)
            subscribe_s = time.monotonic() - started
        finally:
            pids = {
                "server": stack.server.pid,
                "worker": stack.workers[0].pid,
                "bench": os.getpid(),
            }
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            cpu_started = time.monotonic()
            gate.set()
        done, pending = await asyncio.wait(tasks, timeout=limit)
        elapsed = time.monotonic() - cpu_started
        cpu = {
            name: 100 * (cpu_seconds(pid) - cpu_before[name]) / elapsed
            for name, pid in pids.items()
        }
        for task in pending:
            task.cancel()
        for viewer, task in zip(viewers, tasks, strict=True):
            if task in pending:
                viewer.errors.append(f"no done event within {limit:.0f} s")
    return viewers, subscribe_s, cpu


def measure(stack, llm, profile, n, args):
    chunks = args.chunks
    expected = marked_text(chunks, args.chunk_size)
    client = stack.client("alice")
    project_id = create_project(client, f"Bench {n}")
    gate = threading.Event()
    llm.reset()
    llm.sent = {}
    llm.script(
        answer(
            expected,
            chunk_size=args.chunk_size,
            delay=args.interval,
            gate=gate,
            gate_after=0,
        )
    )
    try:
        review_id = review_id_of(upload(client, project_id))
        limit = 60 + chunks * args.interval * 3
        viewers, subscribe_s, cpu = asyncio.run(
            watch(stack, llm, gate, client.cookies, review_id, n, limit)
        )
    finally:
        gate.set()
        client.close()

    result = Result(
        profile,
        n,
        chunks,
        subscribe_s=subscribe_s,
        cpu_server=cpu["server"],
        cpu_worker=cpu["worker"],
        cpu_bench=cpu["bench"],
        load1=os.getloadavg()[0],
    )
    latencies = []
    problems = []
    for viewer in viewers:
        errors = list(viewer.errors)
        numbers = [number for number, _ in viewer.arrivals]
        if numbers != list(range(1, len(numbers) + 1)):
            errors.append("chunks missing or out of order")
        elif len(numbers) != chunks:
            errors.append(f"{chunks - len(numbers)} chunks missing")
        if viewer.done_at is not None and "".join(viewer.text) != expected:
            errors.append("wrong text")
        for number, arrived in viewer.arrivals:
            if number in llm.sent:
                latencies.append((arrived - llm.sent[number]) * 1000)
            else:
                errors.append(f"chunk {number} arrived but was never sent")
        if errors:
            problems.append((viewer.index, errors))
    latencies.sort()
    last_sent = max(llm.sent.values(), default=math.nan)
    done = [v.done_at for v in viewers if v.done_at is not None]
    result.samples = len(latencies)
    result.p50_ms = percentile(latencies, 0.50)
    result.p95_ms = percentile(latencies, 0.95)
    result.max_ms = latencies[-1] if latencies else math.nan
    result.errors = sum(len(e) for _, e in problems)
    result.error_examples = [f"viewer {i}: {'; '.join(e[:3])}" for i, e in problems[:5]]
    result.done_after_last_ms = (max(done) - last_sent) * 1000 if done else math.nan
    return result


def run_profile(profile, args):
    results = []
    with TimedLLMServer() as llm, tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        stack = Stack(profile, tmp, llm.url, REDIS_DB=str(REDIS_DB))
        try:
            stack.start()
            for n in args.viewers:
                result = measure(stack, llm, profile, n, args)
                results.append(result)
                print(_row(result), flush=True)
                for line in result.error_examples:
                    print(f"    {line}", flush=True)
        finally:
            stack.stop()
            if any(r.errors for r in results):
                log = Path(tmp) / "logs" / "server.log"
                if log.exists():
                    tail = log.read_text(errors="replace").splitlines()[-20:]
                    print("  server.log (tail):", *tail, sep="\n    ")
    return results


HEADER = (
    f"{'profile':<9} {'viewers':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
    f"{'chunks':>7} {'errors':>6} {'subscribe s':>11} {'done +ms':>9} "
    f"{'cpu% srv/wrk/bench':>18} {'load1':>5}"
)


def _row(r):
    return (
        f"{r.profile:<9} {r.viewers:>7} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.max_ms:>8.1f} "
        f"{r.samples:>7} {r.errors:>6} {r.subscribe_s:>11.2f} {r.done_after_last_ms:>9.0f} "
        f"{f'{r.cpu_server:.0f}/{r.cpu_worker:.0f}/{r.cpu_bench:.0f}':>18} {r.load1:>5.2f}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=("embedded", "services", "both"), default="both")
    parser.add_argument(
        "--viewers",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 50, 200],
        help="comma-separated viewer counts (default 1,50,200)",
    )
    parser.add_argument("--chunks", type=int, default=200, help="chunks per run (max 9999)")
    parser.add_argument("--interval", type=float, default=0.03, help="seconds between chunks")
    parser.add_argument("--chunk-size", type=int, default=32, help="characters per chunk")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.chunks <= 9999 or args.chunk_size < 8:
        parser.error("--chunks must be 1..9999 and --chunk-size at least 8")

    # Each viewer is a socket in this process and one in the server.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * max(args.viewers) + 256))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    profiles = ("embedded", "services") if args.profile == "both" else (args.profile,)
    print(
        f"relay latency: {args.chunks} chunks of {args.chunk_size} chars every "
        f"{args.interval * 1000:.0f} ms; nproc={os.cpu_count()}; "
        f"python {platform.python_version()}; {platform.platform()}"
    )
    print(HEADER, flush=True)
    results = []
    for profile in profiles:
        results.extend(run_profile(profile, args))
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in results], indent=2))
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
