"""Requests/minute and tokens/minute per provider key, shared across threads and processes."""

import multiprocessing
import uuid

import pytest

from reviewer.llm import (
    ClientSettings,
    Endpoint,
    MemoryState,
    RateLimiter,
    RedisState,
    Status,
    limiter_key,
    stream_review,
)
from reviewer.llm.limits import parse_duration, retry_after_seconds
from tests.fakes.llm_server import FakeLLMServer, answer, status
from tests.llm.conftest import (
    API_KEY,
    FAST,
    FakeClock,
    Sleeper,
    endpoint_for,
    make_request,
    model_for,
    run,
    text_of,
)
from tests.llm.test_state_redis import REDIS_URL, _redis_up


def settings(**kw):
    return ClientSettings(**{**FAST.__dict__, "total_timeout": 999, **kw})


def waits(events):
    return [e.message for e in events if isinstance(e, Status) and e.state == "waiting"]


def test_requests_per_minute_makes_the_third_request_wait(catalogue, server):
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    sleeper = Sleeper(clock)
    model = model_for(catalogue)
    ep = endpoint_for(server, model)
    for _ in range(2):
        events, err = run(
            model, ep, settings=settings(rpm=2), shared=shared, sleep=sleeper, clock=clock
        )
        assert err is None and waits(events) == []
    events, err = run(
        model, ep, settings=settings(rpm=2), shared=shared, sleep=sleeper, clock=clock
    )
    assert err is None and text_of(events)
    assert waits(events) == ["waiting for rate limit, about 60 s"]
    assert sleeper.waits == [pytest.approx(60)]


def test_tokens_per_minute_counts_the_prompt_estimate(catalogue, server):
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    sleeper = Sleeper(clock)
    model = model_for(catalogue)
    ep = endpoint_for(server, model)
    req = make_request(estimated_prompt_tokens=600)
    s = settings(tpm=1000)
    events, _ = run(model, ep, req, settings=s, shared=shared, sleep=sleeper, clock=clock)
    assert waits(events) == []
    events, _ = run(model, ep, req, settings=s, shared=shared, sleep=sleeper, clock=clock)
    assert waits(events) == ["waiting for rate limit, about 60 s"]


def test_limits_come_from_the_catalogue_when_settings_leave_them_unset(catalogue, server):
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    model = model_for(catalogue, rpm=1)
    ep = endpoint_for(server, model)
    run(model, ep, settings=settings(), shared=shared, sleep=Sleeper(clock), clock=clock)
    events, _ = run(
        model, ep, settings=settings(), shared=shared, sleep=Sleeper(clock), clock=clock
    )
    assert len(waits(events)) == 1


def test_different_keys_have_separate_budgets(catalogue, server):
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    model = model_for(catalogue)
    s = settings(rpm=1)
    for key in ("key-one-aaaaaaaa", "key-two-bbbbbbbb"):
        events, _ = run(
            model, endpoint_for(server, model, key=key), settings=s, shared=shared, clock=clock
        )
        assert waits(events) == []


def test_limiter_key_never_contains_the_api_key():
    key = limiter_key("openai", API_KEY)
    assert (
        API_KEY not in key and key.startswith("rl:openai:") and len(key) == len("rl:openai:") + 16
    )


def test_remaining_zero_header_blocks_until_reset(catalogue, server):
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    sleeper = Sleeper(clock)
    model = model_for(catalogue)
    ep = endpoint_for(server, model)
    hdrs = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s"}
    server.script(answer("first", headers=hdrs), answer("second"))
    s = settings(rpm=100)
    run(model, ep, settings=s, shared=shared, sleep=sleeper, clock=clock)
    events, err = run(model, ep, settings=s, shared=shared, sleep=sleeper, clock=clock)
    assert err is None and text_of(events) == "second"
    assert waits(events) == ["waiting for rate limit, about 20 s"]


def test_429_retry_after_blocks_every_worker_sharing_the_key(catalogue, server):
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    model = model_for(catalogue)
    ep = endpoint_for(server, model)
    server.script(
        status(429, headers={"Retry-After": "15"}), status(429, headers={"Retry-After": "15"})
    )
    run(model, ep, settings=settings(rpm=100, max_retries=0), shared=shared, clock=clock)
    other = RateLimiter(shared, limiter_key("openai", API_KEY), 100, None, clock)
    assert other.acquire(1) == pytest.approx(15)


@pytest.mark.parametrize(
    "text,seconds",
    [("1s", 1), ("6m0s", 360), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("12", 12), ("x", None)],
)
def test_parse_reset_durations(text, seconds):
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_retry_after_parsing():
    assert retry_after_seconds({"Retry-After": "3"}) == 3
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert (
        retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470) == 10
    )
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


# --- two processes sharing one RedisState ---------------------------------------------------------


class _MustWait(Exception):
    pass


def _refuse_to_wait(seconds):
    raise _MustWait(seconds)


def _worker(url, prefix, attempts, barrier, results):
    """Run in a separate process: how many reviews go through before the limiter says wait?"""
    from reviewer.llm import load_catalogue

    model = load_catalogue()["gpt-4.1"]
    shared = RedisState(REDIS_URL, prefix=prefix)
    barrier.wait()
    done = 0
    for _ in range(attempts):
        try:
            for _ev in stream_review(
                model,
                Endpoint(url, "sk-shared-key-123456789"),
                make_request(),
                settings=ClientSettings(rpm=5, first_token_timeout=10, stall_timeout=10),
                shared=shared,
                sleep=_refuse_to_wait,
            ):
                pass
            done += 1
        except _MustWait:
            break
    results.put(done)


@pytest.mark.skipif(not _redis_up(), reason=f"Redis is not running at {REDIS_URL}")
def test_two_processes_sharing_a_redis_rate_limit_never_exceed_it():
    prefix = f"test:llm:{uuid.uuid4().hex}:"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    with FakeLLMServer() as server:
        procs = [
            ctx.Process(target=_worker, args=(server.url, prefix, 5, barrier, results))
            for _ in range(2)
        ]
        try:
            for p in procs:
                p.start()
            counts = [results.get(timeout=60) for _ in procs]
            for p in procs:
                p.join(10)
        finally:
            for p in procs:
                if p.is_alive():
                    p.kill()
            RedisState(REDIS_URL, prefix=prefix).flush_prefix()
        assert sum(counts) == 5  # the 5-per-minute limit held across both processes
        assert len(server.requests) == 5


def test_the_window_length_is_configurable():
    clock = FakeClock()
    limiter = RateLimiter(MemoryState(clock), "rl:test", rpm=1, tpm=None, clock=clock, window=5)
    assert limiter.acquire(10) == 0.0
    clock.advance(2)
    # The second request waits for what is left of the 5 s window.
    assert limiter.acquire(10) == pytest.approx(3.0)
    clock.advance(3)
    assert limiter.acquire(10) == 0.0
