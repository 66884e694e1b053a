"""Concurrent reviews: how many streaming reviews one worker host holds.

For each count N, starts N reviews at once through the JSON API on a whole stack
(tests.stack: migrated database, uvicorn, one Celery worker started the way the
command line given by --worker says, all on the run venv) against a paced fake model
in its own process (tests/fakes/paced_llm.py: --rate chunks/s for --seconds per
answer, a send-time marker every few chunks). One viewer per review follows the API's
event stream in this process and notes, for every marker, now - send time: the
latency of the whole path fake model -> worker -> relay -> web -> viewer.

Meanwhile the worker's and the web server's process trees are sampled every 0.5 s
(VmRSS and CPU from /proc). Per point it prints completed/failed, queue wait (POST
sent -> "packing"), how many reviews waited > 2 s while fewer than --slots were
running, time to first token, relay latency p50/p95/p99/max, peak RSS and CPU.

    .venv/bin/python -m bench.concurrent_reviews --profile services --counts 10,50,100 \
        --seconds 60

The worker starts as documented (`celery -A reviewer worker`: reviews on threads, as
many as the profile's REVIEW_SLOTS); --worker "--pool prefork --concurrency 2" --slots 2
measures the old way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.conc_probe import (  # noqa: E402
    Sampler,
    Viewer,
    free_slot_waits,
    percentile,
    queued_while_free,
)
from tests.factories import make_pdf, make_zip  # noqa: E402
from tests.stack import Stack  # noqa: E402
from tests.test_e2e_api import make_token  # noqa: E402
from tests.test_e2e_review import create_project  # noqa: E402

RUN_PYTHON = ROOT / ".venv-run" / "bin" / "python"
REDIS_DB = 13  # a database of its own: the tests flush 9, relay_latency 12
CREATE_AT_ONCE = 8  # API uploads in flight while starting the reviews


class BenchStack(Stack):
    """tests.stack.Stack on the run venv, with the worker command line from --worker
    and production timings instead of the tests' short ones."""

    def __init__(self, profile, base_dir, llm_url, worker_args, **extra_env):
        env = {
            "REVIEW_LEASE_SECONDS": "45",
            "REVIEW_REAP_SECONDS": "10",
            "REVIEW_CHECKPOINT_SECONDS": "2",
            "API_RATE_LIMIT_PER_MINUTE": "0",
            "LLM_RPM": "1000000",
            "LLM_TPM": "10000000000",
            "REDIS_DB": str(REDIS_DB),
            **extra_env,
        }
        super().__init__(profile, base_dir, llm_url, **env)
        self.python = str(RUN_PYTHON) if RUN_PYTHON.exists() else sys.executable
        self.worker_args = shlex.split(worker_args)

    def start_worker(self, name=None):
        index = len(self.workers)
        log = open(self.logs / f"worker-{index}.log", "ab")  # noqa: SIM115
        worker = subprocess.Popen(
            [self.python, "-m", "celery", "-A", "reviewer", "worker", *self.worker_args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        deadline = time.monotonic() + 90
        while "ready" not in (self.logs / f"worker-{index}.log").read_text(errors="replace"):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError("the worker did not start; see its log")
            time.sleep(0.2)
        return worker


def start_fake(args):
    command = [sys.executable, "-m", "tests.fakes.paced_llm", "--rate", str(args.rate)]
    command += ["--seconds", str(args.seconds), "--mark-every", str(args.mark_every)]
    fake = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = fake.stdout.readline().strip()
    if not line.startswith("FAKE_LLM_URL="):
        fake.kill()
        raise RuntimeError(f"the fake model did not start: {line!r}")
    return fake, line.split("=", 1)[1]


START_ALL = """
import sys, time
from reviewer.intake.services import start_review
from reviewer.reviews.models import Review
for review in Review.objects.filter(pk__in=[{ids}]).select_related("project"):
    start_review(review)
    print("started", review.pk, time.time())
"""


async def create_drafts(stack, project_id, n):
    """n uploads through the project page's form with "preview": drafts, not started."""
    session = stack.client("alice")
    cookies = dict(session.cookies)
    page = session.get(f"/projects/{project_id}/")
    session.close()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    archive, spec = make_zip(), make_pdf()
    gate = asyncio.Semaphore(CREATE_AT_ONCE)

    async def one(client):
        async with gate:
            response = await client.post(
                f"/projects/{project_id}/reviews",
                data={"csrfmiddlewaretoken": csrf, "preview": "1", "model": "gpt-4.1"},
                files={"archive": ("shop.zip", archive), "spec": ("spec.pdf", spec)},
                headers={"Referer": stack.url + "/"},
            )
        match = re.search(r"/reviews/(\d+)/preview", response.headers.get("location", ""))
        if not match:
            raise RuntimeError(f"no draft: HTTP {response.status_code} {response.text[:200]}")
        return int(match.group(1))

    async with httpx.AsyncClient(base_url=stack.url, cookies=cookies, timeout=120) as client:
        return await asyncio.gather(*(one(client) for _ in range(n)))


def start_all(stack, ids):
    """Starts the drafts one after another in one process, as fast as the queue takes
    them; the time each was queued, by review id."""
    out = stack.shell(START_ALL.format(ids=",".join(map(str, ids))))
    started = {}
    for line in out.splitlines():
        if line.startswith("started "):
            _, pk, when = line.split()
            started[int(pk)] = float(when)
    return started


async def run_point(stack, token, project_id, n, args, sampler):
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    headers = {"Authorization": f"Bearer {token}"}
    archive, spec = make_zip(), make_pdf()
    viewers = [Viewer(i) for i in range(n)]
    gate = asyncio.Semaphore(CREATE_AT_ONCE)
    lag = []

    async def ticker():
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.1)
            lag.append(time.monotonic() - before - 0.1)

    drafts = await create_drafts(stack, project_id, n) if args.start == "burst" else []
    async with httpx.AsyncClient(
        base_url=stack.url, headers=headers, limits=limits, timeout=httpx.Timeout(60, read=120)
    ) as client:
        tick = asyncio.create_task(ticker())

        async def create(viewer):
            async with gate:
                viewer.start = time.time()
                try:
                    created = await client.post(
                        f"/api/projects/{project_id}/reviews",
                        files={"archive": ("shop.zip", archive), "spec": ("spec.pdf", spec)},
                        data={"model": "gpt-4.1"},
                    )
                except httpx.HTTPError as exc:
                    viewer.errors.append(f"create: {type(exc).__name__}")
                    return
            if created.status_code != 201:
                viewer.errors.append(f"create: HTTP {created.status_code} {created.text[:80]}")
                return
            viewer.created_at = time.time()
            viewer.review_id = created.json()["id"]
            await viewer.follow(client, f"/api/reviews/{viewer.review_id}/events")

        def watch(viewer):
            return viewer.follow(client, f"/api/reviews/{viewer.review_id}/events")

        if args.start == "burst":
            for viewer, pk in zip(viewers, drafts, strict=True):
                viewer.review_id = pk
            tasks = [asyncio.create_task(watch(v)) for v in viewers]
            # Every viewer is following its draft before any starts.
            deadline = time.monotonic() + 120
            while not all(v.subscribed for v in viewers) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            sampler.mark_window_start()
            started = await asyncio.to_thread(start_all, stack, drafts)
            for viewer in viewers:
                viewer.start = viewer.created_at = started.get(viewer.review_id)
                if viewer.start is None:
                    viewer.errors.append("not started")
        else:
            sampler.mark_window_start()
            tasks = [asyncio.create_task(create(v)) for v in viewers]
        limit = args.timeout or (math.ceil(n / args.slots) * (args.seconds + 10) * 1.5 + 90)
        done, pending = await asyncio.wait(tasks, timeout=limit)
        for task in pending:
            task.cancel()
        for viewer, task in zip(viewers, tasks, strict=True):
            if task in pending:
                viewer.errors.append(f"not finished within {limit:.0f} s")
        sampler.mark_window_end()
        tick.cancel()
    return viewers, lag


def fake_stats(url):
    try:
        return httpx.get(url.rsplit("/v1", 1)[0] + "/_fake/stats", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return {}


def write_counts(stack):
    """Commands that write the relay and the database so far, as counters."""
    counts = {}
    if stack.profile == "services":
        import redis

        stats = redis.Redis.from_url(stack.env["REDIS_URL"]).info("commandstats")
        counts["xadd"] = stats.get("cmdstat_xadd", {}).get("calls", 0)
        # The database's name is the stack's own uuid-made one.
        sql = "select xact_commit, tup_inserted, tup_updated from pg_stat_database where datname = '%s'"  # noqa: S608,E501
        sql = sql % stack.database
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", sql],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if out:
            commits, inserted, updated = (int(x) for x in out.split("|"))
            counts.update(commits=commits, inserted=inserted, updated=updated)
    return counts


def summarise(profile, n, viewers, lag, sampler, fake, writes, args):
    ok = [v for v in viewers if v.final == "done" and not v.errors]
    latencies = sorted(ms for v in viewers for ms in v.latencies_ms)
    waits = sorted(v.queue_wait for v in viewers if v.queue_wait is not None)
    ttft = sorted(v.ttft for v in viewers if v.ttft is not None)
    events = sorted(v.last_id for v in ok)
    chunks = fake.get("chunks_per_answer") or 0
    return {
        "profile": profile,
        "n": n,
        "completed": len(ok),
        "failed": n - len(ok),
        "errors": [f"review {v.review_id}: {'; '.join(v.errors[:2])}" for v in viewers if v.errors][
            :5
        ],
        "queue_wait_p50_s": percentile(waits, 0.5),
        "queue_wait_p95_s": percentile(waits, 0.95),
        "queue_wait_max_s": waits[-1] if waits else math.nan,
        "queued_while_free": queued_while_free(viewers, args.slots),
        "free_slot_wait_max_s": max(free_slot_waits(viewers, args.slots), default=0),
        "peak_streaming": max_overlap(viewers),
        "ttft_p50_s": percentile(ttft, 0.5),
        "ttft_p95_s": percentile(ttft, 0.95),
        "latency_samples": len(latencies),
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p95_ms": percentile(latencies, 0.95),
        "latency_p99_ms": percentile(latencies, 0.99),
        "latency_max_ms": latencies[-1] if latencies else math.nan,
        "relay_events_per_review": events[len(events) // 2] if events else 0,
        "chunks_per_review": chunks,
        "bench_loop_lag_max_ms": max(lag, default=0) * 1000,
        "fake_peak_streams": fake.get("peak"),
        "fake_late_ms_max": fake.get("late_ms_max"),
        **sampler.summary(),
        "writes": writes,
        "reviews": [
            {
                "id": v.review_id,
                "times": [v.start, v.created_at, v.running_at, v.first_delta_at, v.done_at],
                "queue_wait_s": v.queue_wait,
                "ttft_s": v.ttft,
                "final": v.final,
                "relay_events": v.last_id,
                "latency_max_ms": max(v.latencies_ms, default=None),
            }
            for v in viewers
        ],
    }


def max_overlap(viewers):
    edges = []
    for v in viewers:
        if v.first_delta_at is not None:
            edges += [(v.first_delta_at, 1), (v.done_at or v.first_delta_at, -1)]
    peak = current = 0
    for _, step in sorted(edges):
        current += step
        peak = max(peak, current)
    return peak


HEADER = (
    f"{'profile':<8} {'N':>4} {'ok':>4} {'fail':>4} {'qwait p95':>9} {'q>2s free':>9} "
    f"{'peak str':>8} {'ttft p50/p95 s':>14} {'lat p50/p95/p99/max ms':>24} "
    f"{'wrk RSS MB':>10} {'web RSS MB':>10} {'cpu% wrk/web/fake/bench':>23} {'ev/rev':>6}"
)


def row(r):
    lat = (
        "/".join(f"{r[k]:.0f}" for k in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"))
        + f"/{r['latency_max_ms']:.0f}"
    )
    cpu = "/".join(f"{r['cpu_' + k]:.0f}" for k in ("worker", "web", "fake", "bench"))
    ttft = f"{r['ttft_p50_s']:.1f}/{r['ttft_p95_s']:.1f}"
    return (
        f"{r['profile']:<8} {r['n']:>4} {r['completed']:>4} {r['failed']:>4} "
        f"{r['queue_wait_p95_s']:>9.1f} {r['queued_while_free']:>9} {r['peak_streaming']:>8} "
        f"{ttft:>14} {lat:>24} "
        f"{r['worker_rss_peak_mb']:>10.0f} {r['web_rss_peak_mb']:>10.0f} {cpu:>23} "
        f"{r['relay_events_per_review']:>6}"
    )


def run_profile(profile, args):
    slots = args.slots or (100 if profile == "services" else 20)
    args = argparse.Namespace(**{**vars(args), "slots": slots})
    results = []
    fake, url = start_fake(args)
    with tempfile.TemporaryDirectory(prefix="conc-bench-") as tmp:
        extra = dict(item.split("=", 1) for item in args.env)
        stack = BenchStack(profile, tmp, url, args.worker, **extra)
        try:
            stack.start()
            session = stack.client("alice")
            token = make_token(session)
            project_id = create_project(session, "Concurrency")
            session.close()
            for n in args.counts:
                pids = {"worker": stack.workers[0].pid, "web": stack.server.pid}
                sampler = Sampler(pids, fake.pid, os.getpid(), database=stack.database).start()
                httpx.post(url.rsplit("/v1", 1)[0] + "/_fake/reset", timeout=5)
                before = write_counts(stack)
                load = os.getloadavg()[0]
                try:
                    viewers, lag = asyncio.run(
                        run_point(stack, token, project_id, n, args, sampler)
                    )
                except (httpx.HTTPError, RuntimeError, subprocess.SubprocessError) as exc:
                    # e.g. the shared PostgreSQL out of connections: say so, go on.
                    sampler.stop()
                    print(f"{profile:<8} {n:>4} point failed: {type(exc).__name__}: {exc}")
                    print(f"    pg_connections_peak {sampler.connections}", flush=True)
                    continue
                sampler.stop()
                after = write_counts(stack)
                writes = {k: after[k] - before.get(k, 0) for k in after}
                result = summarise(profile, n, viewers, lag, sampler, fake_stats(url), writes, args)
                result["load1_before"], result["load1_after"] = load, os.getloadavg()[0]
                results.append(result)
                print(row(result), flush=True)
                keys = ("free_slot_wait_max_s", "writes", "worker_rss_peak_by_process_mb")
                keys += ("pg_connections_peak",) if stack.database else ()
                keys += ("fake_peak_streams", "fake_late_ms_max", "bench_loop_lag_max_ms")
                detail = {k: result[k] for k in keys}
                print(f"    load {load:.2f}->{result['load1_after']:.2f} {json.dumps(detail)}")
                for line in result["errors"]:
                    print(f"    {line}", flush=True)
                time.sleep(args.pause)
        finally:
            stack.stop()
            fake.kill()
            fake.wait()
            if args.keep_logs:
                for log in (Path(tmp) / "logs").iterdir():
                    target = Path(args.keep_logs) / f"{profile}-{log.name}"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(log.read_bytes())
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=("embedded", "services", "both"), default="services")
    parser.add_argument("--counts", type=lambda s: [int(x) for x in s.split(",")], default=[10])
    parser.add_argument("--seconds", type=float, default=60, help="length of each answer")
    parser.add_argument("--rate", type=float, default=40, help="chunks per second per review")
    parser.add_argument("--mark-every", type=int, default=4, help="a time marker every N chunks")
    parser.add_argument(
        "--worker",
        default="--loglevel INFO",
        help="arguments after `celery -A reviewer worker` (default: as scripts/run.sh)",
    )
    parser.add_argument(
        "--env", action="append", default=[], help="KEY=VALUE for the stack (repeatable)"
    )
    parser.add_argument(
        "--start",
        choices=("burst", "api"),
        default="burst",
        help="burst: upload N drafts first, then start them all at once (default); "
        "api: create and start each through the JSON API, 8 uploads at a time",
    )
    parser.add_argument(
        "--slots",
        type=int,
        default=0,
        help="reviews the worker runs at once (default: 100 services, 20 embedded)",
    )
    parser.add_argument("--timeout", type=float, default=0, help="seconds per point (0: auto)")
    parser.add_argument("--pause", type=float, default=5, help="seconds between points")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep-logs", help="copy the stack's logs into this folder")
    args = parser.parse_args(argv)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 8 * max(args.counts) + 256))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    print(
        f"concurrent reviews: {args.rate:g} chunks/s for {args.seconds:g} s per review; "
        f"worker: {' '.join(args.env)} celery -A reviewer worker {args.worker}; "
        f"nproc={os.cpu_count()}; "
        f"python {platform.python_version()}; load {os.getloadavg()[0]:.2f}"
    )
    print(HEADER, flush=True)
    profiles = ("services", "embedded") if args.profile == "both" else (args.profile,)
    results = []
    for profile in profiles:
        results.extend(run_profile(profile, args))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0 if all(r["failed"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
