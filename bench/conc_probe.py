"""The measuring parts of bench/concurrent_reviews.py: a viewer of one review's event
stream, a sampler of process trees' memory and CPU from /proc, and the figures made
from them. Plain Python; the viewer needs httpx."""

from __future__ import annotations

import html
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.paced_llm import MARKER

RUNNING = ("packing", "waiting", "streaming")
FINAL = ("done", "failed", "cancelled")
TICK = os.sysconf("SC_CLK_TCK")


def percentile(ordered, q):
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# -- one viewer per review ---------------------------------------------------------------
@dataclass
class Viewer:
    index: int
    review_id: int | None = None
    start: float | None = None  # time.time() when the review's POST was sent
    created_at: float | None = None  # its 201 arrived: queued from here on
    running_at: float | None = None  # first status past "queued"
    first_delta_at: float | None = None
    done_at: float | None = None
    final: str | None = None
    last_id: int = 0
    subscribed: bool = False
    latencies_ms: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    _tail: str = ""

    @property
    def queue_wait(self):
        return None if self.running_at is None else self.running_at - self.start

    @property
    def ttft(self):
        return None if self.first_delta_at is None else self.first_delta_at - self.start

    async def follow(self, client, url):
        import httpx

        try:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    self.errors.append(f"stream: HTTP {response.status_code}")
                    return
                buffer = b""
                async for data in response.aiter_bytes():
                    self.subscribed = True  # the view has begun its answer
                    buffer += data
                    if b"\n\n" not in buffer:
                        continue
                    now = time.time()
                    *blocks, buffer = buffer.split(b"\n\n")
                    for block in blocks:
                        self.event(block.decode(), now)
                    if self.done_at is not None:
                        break
        except (httpx.HTTPError, OSError) as exc:
            self.errors.append(f"stream: {type(exc).__name__}: {exc}")
        if self.final is None and self.done_at is not None:
            # The stream's done event came without its status: ask the review itself.
            answer = await client.get(url.rsplit("/events", 1)[0])
            self.final = answer.json().get("status") if answer.status_code == 200 else None
        if self.done_at is None and not self.errors:
            self.errors.append("stream ended without a done event")
        elif self.final not in (None, "done"):
            self.errors.append(f"ended {self.final}")

    def event(self, block, now):
        """One SSE block (without its blank line) that arrived at `now`."""
        kind, text, event_id = sse_block(block)
        if event_id is not None:
            self.last_id = max(self.last_id, event_id)
        if kind == "status":
            if text in RUNNING and self.running_at is None:
                self.running_at = now
            if text in FINAL:
                self.final = text
        elif kind == "delta":
            if self.first_delta_at is None:
                self.first_delta_at = now
                self.running_at = self.running_at or now
            # A marker split between two deltas is found once both have arrived.
            scan = self._tail + html.unescape(text)
            end = 0
            for match in MARKER.finditer(scan):
                self.latencies_ms.append((now - float(match.group(1))) * 1000)
                end = match.end()
            self._tail = scan[end:][-24:]
        elif kind == "done":
            self.done_at = now


def sse_block(block):
    """(event, data, id or None) of one SSE block without its blank line."""
    kind, data, event_id = "message", [], None
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            kind = value
        elif name == "id" and value.isdigit():
            event_id = int(value)
    return kind, "\n".join(data), event_id


def free_slot_waits(viewers, slots):
    """Per review, the seconds it spent queued while fewer than `slots` reviews were
    running (between "packing" and done): time a free slot was not used for it."""
    edges = []
    for v in viewers:
        if v.running_at is not None:
            edges += [(v.running_at, 1), (v.done_at or math.inf, -1)]
    edges.sort()
    # (from, to, reviews running) segments of the run count over time.
    segments, running, since = [], 0, -math.inf
    for when, step in edges:
        segments.append((since, when, running))
        running, since = running + step, when
    segments.append((since, math.inf, running))
    last = max((s for s, step in edges if step == 1), default=0)
    waits = []
    for v in viewers:
        if v.created_at is None:
            continue
        end = v.running_at if v.running_at is not None else last
        begin = v.created_at
        idle = sum(
            max(0.0, min(b, end) - max(a, begin)) for a, b, count in segments if count < slots
        )
        waits.append(idle)
    return waits


def queued_while_free(viewers, slots, grace=2.0):
    """How many reviews spent more than `grace` seconds in the queue (from the API's
    answer on) while a slot was free (the worker's pick-up and a finished run's
    hand-over take some)."""
    return sum(1 for idle in free_slot_waits(viewers, slots) if idle > grace)


# -- process trees from /proc ------------------------------------------------------------
def _stat(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def process_tree(root, parents):
    """`root` and all its descendants, from a {pid: ppid} map."""
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return tree


class Sampler(threading.Thread):
    """Every `interval` s: RSS of each named process tree (peak total and the processes
    at that peak), and CPU seconds of each process, for CPU % over the window."""

    def __init__(self, roots, fake_pid, bench_pid, interval=0.5, database=None):
        super().__init__(daemon=True)
        # PostgreSQL connections: the stack's database and the whole server (shared).
        self.database = database
        self.connections = {"stack": 0, "server": 0}
        self._db = None
        self.roots = dict(roots)
        self.singles = {"fake": fake_pid, "bench": bench_pid}
        self.interval = interval
        self.peak = {name: (0.0, {}) for name in self.roots}
        self.cpu_first, self.cpu_last = {}, {}
        self.window = [None, None]
        self._halt = threading.Event()

    def mark_window_start(self):
        self.window[0] = time.monotonic()

    def mark_window_end(self):
        self.window[1] = time.monotonic()

    def start(self):
        super().start()
        return self

    def stop(self):
        self._halt.set()
        self.join(5)

    def run(self):
        while not self._halt.wait(self.interval):
            self.sample()
            if self.database:
                self.count_connections()
        if self._db is not None:
            self._db.close()

    def count_connections(self):
        import psycopg

        try:
            if self._db is None:
                self._db = psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres")
                self._db.autocommit = True
            row = self._db.execute(
                "select count(*) filter (where datname = %s), count(*) from pg_stat_activity"
                " where backend_type = 'client backend'",
                (self.database,),
            ).fetchone()
        except psycopg.Error:
            self._db = None
            return
        self.connections["stack"] = max(self.connections["stack"], row[0])
        self.connections["server"] = max(self.connections["server"], row[1])

    def sample(self):
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _stat(int(entry))
                if stat:
                    stats[int(entry)] = stat
        parents = {pid: ppid for pid, (ppid, _) in stats.items()}
        in_window = self.window[0] is not None and self.window[1] is None
        for name, root in self.roots.items():
            tree = process_tree(root, parents)
            rss = {pid: _rss_mb(pid) for pid in tree}
            total = sum(rss.values())
            if total > self.peak[name][0]:
                self.peak[name] = (total, rss)
            if in_window:
                self._cpu(name, {pid: stats[pid][1] for pid in tree if pid in stats})
        if in_window:
            for name, pid in self.singles.items():
                if pid in stats:
                    self._cpu(name, {pid: stats[pid][1]})

    def _cpu(self, name, seconds):
        first = self.cpu_first.setdefault(name, {})
        last = self.cpu_last.setdefault(name, {})
        for pid, value in seconds.items():
            first.setdefault(pid, value)
            last[pid] = value

    def summary(self):
        start, end = self.window
        elapsed = (end or time.monotonic()) - (start or time.monotonic()) or math.nan
        out = {}
        for name in (*self.roots, *self.singles):
            first, last = self.cpu_first.get(name, {}), self.cpu_last.get(name, {})
            used = sum(last[pid] - first[pid] for pid in last)
            out[f"cpu_{name}"] = 100 * used / elapsed
        for name, (total, _rss) in self.peak.items():
            out[f"{name}_rss_peak_mb"] = total
        out["worker_rss_peak_by_process_mb"] = sorted(
            (round(v) for v in self.peak.get("worker", (0, {}))[1].values()), reverse=True
        )
        out["window_s"] = elapsed
        if self.database:
            out["pg_connections_peak"] = dict(self.connections)
        return out
