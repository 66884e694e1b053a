"""The per-provider circuit breaker opens after N failures, waits, then probes once."""

import threading

from reviewer.llm import CircuitBreaker, ClientSettings, MemoryState, Status
from tests.fakes.llm_server import answer, status
from tests.llm.conftest import FAST, FakeClock, Sleeper, endpoint_for, model_for, run, text_of


def settings(**kw):
    base = {
        **FAST.__dict__,
        "breaker_failures": 3,
        "breaker_open_seconds": 30,
        "total_timeout": 999,
    }
    return ClientSettings(**{**base, **kw})


def test_breaker_opens_after_consecutive_failures_then_half_open_probe_closes_it(catalogue, server):
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    sleeper = Sleeper(clock)
    model = model_for(catalogue)
    ep = endpoint_for(server, model)
    server.script(status(503), status(503), status(503))
    _, err = run(
        model, ep, settings=settings(max_retries=2), shared=shared, sleep=sleeper, clock=clock
    )
    assert err.status_code == 503
    breaker = CircuitBreaker(shared, "openai", failures=3, open_seconds=30, clock=clock)
    assert breaker.is_open()

    # The next review does not fail: it waits for the breaker, then probes once.
    server.script(answer("Provider is back."))
    sleeper.waits.clear()
    events, err = run(model, ep, settings=settings(), shared=shared, sleep=sleeper, clock=clock)
    assert err is None and text_of(events) == "Provider is back."
    waiting = [e for e in events if isinstance(e, Status) and e.state == "waiting"]
    assert waiting[0].message == "waiting: OpenAI is failing, trying again in about 30 s"
    assert sleeper.waits[0] == 30
    assert len(server.requests) == 4
    assert not breaker.is_open()


def test_failed_probe_reopens_the_breaker(catalogue, server):
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    sleeper = Sleeper(clock)
    model = model_for(catalogue)
    ep = endpoint_for(server, model)
    breaker = CircuitBreaker(shared, "openai", failures=3, open_seconds=30, clock=clock)
    for _ in range(3):
        breaker.failure()
    assert breaker.is_open()
    # probe fails (503), breaker reopens for 30 s, the next probe succeeds
    server.script(status(503), answer("second probe works"))
    events, err = run(model, ep, settings=settings(), shared=shared, sleep=sleeper, clock=clock)
    assert err is None and text_of(events) == "second probe works"
    waiting = [e.message for e in events if isinstance(e, Status) and e.state == "waiting"]
    assert len(waiting) == 2  # before the first probe and again after it failed
    assert len(server.requests) == 2
    assert not breaker.is_open()


def test_half_open_lets_exactly_one_probe_through():
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    a = CircuitBreaker(shared, "google", failures=2, open_seconds=10, clock=clock)
    b = CircuitBreaker(shared, "google", failures=2, open_seconds=10, clock=clock)
    a.failure()
    assert a.before() == (0.0, False)  # still closed after one failure
    b.failure()
    wait, probe = a.before()
    assert 9.9 < wait <= 10 and not probe
    clock.advance(10)
    results = []
    barrier = threading.Barrier(6)

    def go(br):
        barrier.wait()
        results.append(br.before())

    threads = [threading.Thread(target=go, args=(a if i % 2 else b,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for _, probe in results if probe) == 1
    assert all(w > 0 for w, probe in results if not probe)
    a.success()
    assert b.before() == (0.0, False)


def test_success_resets_the_consecutive_count():
    shared = MemoryState()
    br = CircuitBreaker(shared, "x", failures=3, open_seconds=10)
    br.failure()
    br.failure()
    br.success()
    br.failure()
    br.failure()
    assert not br.is_open()
    br.failure()
    assert br.is_open()


def test_dead_probe_frees_the_slot_after_its_lease():
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    br = CircuitBreaker(shared, "x", failures=1, open_seconds=5, probe_lease=50, clock=clock)
    br.failure()
    clock.advance(5)
    assert br.before() == (0.0, True)  # this probe "crashes" and never reports
    assert br.before()[1] is False
    clock.advance(51)
    assert br.before() == (0.0, True)


def test_rate_limit_429_does_not_count_as_a_provider_failure(catalogue, server):
    clock = FakeClock()
    shared = MemoryState(clock=clock)
    model = model_for(catalogue)
    server.script(*[status(429)] * 3)
    run(
        model,
        endpoint_for(server, model),
        settings=settings(max_retries=2),
        shared=shared,
        sleep=Sleeper(clock),
        clock=clock,
    )
    assert not CircuitBreaker(shared, "openai", clock=clock).is_open()
