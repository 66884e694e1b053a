"""Reusable contract tests for any ``reviewer.llm.SharedState`` implementation.

Use it by subclassing in a ``test_*.py`` module::

    from tests.llm.state_contract import SharedStateContract

    class TestMyState(SharedStateContract):
        def make_state(self):
            return MyState(...)           # a fresh, empty namespace for each test

        # optional: def wait(self, seconds): advance a fake clock instead of sleeping

Expiry tests use windows of a few tenths of a second and really sleep by default, so they
also exercise the backend's own clock. No Django or Redis is needed by this module.
"""

from __future__ import annotations

import threading
import time

import pytest

TTL = 0.4  # seconds; long enough to be safe on a loaded CI machine, short enough to be quick


class SharedStateContract:
    """Subclass and implement :meth:`make_state`."""

    def make_state(self):  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    @pytest.fixture
    def state(self):
        return self.make_state()

    # get / set ----------------------------------------------------------------------------------
    def test_get_missing_key_is_none(self, state):
        assert state.get("missing") is None

    def test_set_then_get_returns_the_string(self, state):
        state.set("k", "v1", 60)
        assert state.get("k") == "v1"
        state.set("k", "v2", 60)
        assert state.get("k") == "v2"

    def test_set_value_expires_after_ttl(self, state):
        state.set("k", "v", TTL)
        assert state.get("k") == "v"
        self.wait(TTL + 0.3)
        assert state.get("k") is None

    def test_set_replaces_the_ttl(self, state):
        state.set("k", "v", TTL)
        state.set("k", "v", 60)
        self.wait(TTL + 0.3)
        assert state.get("k") == "v"

    def test_keys_are_independent(self, state):
        state.set("a", "1", 60)
        state.set("b", "2", 60)
        assert (state.get("a"), state.get("b")) == ("1", "2")

    # add ----------------------------------------------------------------------------------------
    def test_add_only_when_absent(self, state):
        assert state.add("k", "first", 60) is True
        assert state.add("k", "second", 60) is False
        assert state.get("k") == "first"

    def test_add_succeeds_again_after_expiry(self, state):
        assert state.add("k", "1", TTL) is True
        self.wait(TTL + 0.3)
        assert state.add("k", "2", 60) is True
        assert state.get("k") == "2"

    def test_add_has_exactly_one_winner_under_contention(self, state):
        wins = []
        barrier = threading.Barrier(8)

        def go(i):
            barrier.wait()
            if state.add("probe", str(i), 60):
                wins.append(i)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1

    # incr ---------------------------------------------------------------------------------------
    def test_incr_counts_from_one(self, state):
        assert [state.incr("n", 60) for _ in range(3)] == [1, 2, 3]
        assert state.get("n") == "3"

    def test_incr_ttl_is_set_on_creation_and_not_extended(self, state):
        state.incr("n", TTL)
        self.wait(TTL / 2)
        state.incr("n", 60)  # must not extend the first TTL
        self.wait(TTL / 2 + 0.3)
        assert state.get("n") is None
        assert state.incr("n", 60) == 1

    def test_incr_is_atomic(self, state):
        def go():
            for _ in range(50):
                state.incr("n", 60)

        threads = [threading.Thread(target=go) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert state.get("n") == "200"

    # delete -------------------------------------------------------------------------------------
    def test_delete_many_and_missing(self, state):
        state.set("a", "1", 60)
        state.set("b", "1", 60)
        state.delete("a", "b", "never-existed")
        assert state.get("a") is None and state.get("b") is None
        state.delete()

    # take / refund ------------------------------------------------------------------------------
    def test_take_within_limit_returns_zero(self, state):
        assert state.take("w", 3, 10, 60) == 0
        assert state.take("w", 7, 10, 60) == 0

    def test_take_over_limit_returns_time_left_and_changes_nothing(self, state):
        assert state.take("w", 8, 10, 5) == 0
        wait = state.take("w", 3, 10, 5)
        assert 0 < wait <= 5
        assert state.take("w", 2, 10, 5) == 0  # the refused 3 were not counted
        assert state.take("w", 1, 10, 5) > 0

    def test_take_oversize_request_goes_alone_in_an_empty_window(self, state):
        assert state.take("w", 50, 10, 5) == 0
        assert state.take("w", 1, 10, 5) > 0

    def test_take_window_resets_after_window_seconds(self, state):
        assert state.take("w", 10, 10, TTL) == 0
        assert state.take("w", 1, 10, TTL) > 0
        self.wait(TTL + 0.3)
        assert state.take("w", 10, 10, TTL) == 0

    def test_take_window_does_not_slide_on_each_take(self, state):
        assert state.take("w", 1, 10, TTL) == 0
        self.wait(TTL / 2)
        assert state.take("w", 1, 10, TTL) == 0
        self.wait(TTL / 2 + 0.3)
        assert state.take("w", 10, 10, TTL) == 0  # a fresh window: usage back to 0

    def test_take_is_atomic_under_contention(self, state):
        granted = []
        barrier = threading.Barrier(10)

        def go():
            barrier.wait()
            for _ in range(5):
                if state.take("w", 1, 20, 60) == 0:
                    granted.append(1)

        threads = [threading.Thread(target=go) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(granted) == 20

    def test_refund_gives_budget_back_but_never_below_zero(self, state):
        assert state.take("w", 10, 10, 60) == 0
        state.refund("w", 4)
        assert state.take("w", 4, 10, 60) == 0
        assert state.take("w", 1, 10, 60) > 0
        state.refund("w", 1000)
        assert state.take("w", 10, 10, 60) == 0
        assert state.take("w", 1, 10, 60) > 0

    def test_refund_without_a_window_does_nothing(self, state):
        state.refund("nothing", 5)
        assert state.take("nothing", 10, 10, 60) == 0
        assert state.take("nothing", 1, 10, 60) > 0
