"""RedisState satisfies the SharedState contract (db 15, its own key prefix)."""

import uuid

import pytest

from reviewer.llm import RedisState, SharedState
from tests.llm.state_contract import SharedStateContract
from tests.stack import redis_url

REDIS_URL = redis_url(15)


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason=f"Redis is not running at {REDIS_URL}")


class TestRedisState(SharedStateContract):
    @pytest.fixture
    def state(self):
        state = RedisState(REDIS_URL, prefix=f"test:llm:{uuid.uuid4().hex}:")
        yield state
        state.flush_prefix()


def test_redis_state_is_a_shared_state():
    state = RedisState(REDIS_URL, prefix=f"test:llm:{uuid.uuid4().hex}:")
    assert isinstance(state, SharedState)
