"""The database-backed SharedState keeps the llm library's contract."""

import pytest

from reviewer.runs.shared_state import DatabaseState
from tests.llm.state_contract import SharedStateContract

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def state(clock):
    return DatabaseState(clock=clock)


def test_take_admits_up_to_the_limit_then_says_how_long_to_wait(state, clock):
    assert state.take("rpm", 1, 2, 60) == 0.0
    assert state.take("rpm", 1, 2, 60) == 0.0
    clock.now += 15
    assert state.take("rpm", 1, 2, 60) == pytest.approx(45)
    clock.now += 45
    assert state.take("rpm", 1, 2, 60) == 0.0


def test_take_lets_one_oversized_request_through_an_empty_window(state):
    assert state.take("tpm", 5000, 1000, 60) == 0.0
    assert state.take("tpm", 1, 1000, 60) > 0


def test_refund_gives_budget_back_without_moving_the_window(state, clock):
    state.take("tpm", 900, 1000, 60)
    assert state.take("tpm", 200, 1000, 60) > 0
    state.refund("tpm", 500)
    assert state.take("tpm", 200, 1000, 60) == 0.0
    clock.now += 61
    state.refund("tpm", 10)
    assert state.get("tpm") is None


def test_add_stores_only_when_absent_or_expired(state, clock):
    assert state.add("probe", "1", 10) is True
    assert state.add("probe", "2", 10) is False
    assert state.get("probe") == "1"
    clock.now += 10
    assert state.add("probe", "3", 10) is True


def test_incr_starts_at_one_and_keeps_its_expiry(state, clock):
    assert state.incr("fails", 30) == 1
    clock.now += 20
    assert state.incr("fails", 30) == 2
    clock.now += 10
    assert state.incr("fails", 30) == 1


def test_set_get_and_delete(state, clock):
    state.set("open", "until", 5)
    assert state.get("open") == "until"
    state.delete("open", "never-there")
    assert state.get("open") is None


class TestDatabaseStateContract(SharedStateContract):
    """The llm library's own contract suite, run against the database implementation."""

    @pytest.fixture(autouse=True)
    def _db(self, transactional_db):
        pass

    def make_state(self):
        return DatabaseState()
