"""MemoryState satisfies the SharedState contract (real clock and fake clock)."""

from reviewer.llm import MemoryState, SharedState
from tests.llm.conftest import FakeClock
from tests.llm.state_contract import SharedStateContract


class TestMemoryStateRealClock(SharedStateContract):
    def make_state(self):
        return MemoryState()


class TestMemoryStateFakeClock(SharedStateContract):
    def make_state(self):
        self.clock = FakeClock()
        return MemoryState(clock=self.clock)

    def wait(self, seconds):
        self.clock.advance(seconds)


def test_memory_state_is_a_shared_state():
    assert isinstance(MemoryState(), SharedState)
