"""Send a packed repository and its spec to a long-context LLM and stream the answer.

Plain Python (httpx); no Django. See ``stream_review`` for the main entry point.
"""

from .adapters import build_body, build_http
from .catalogue import (
    ADAPTERS,
    CatalogueError,
    ModelInfo,
    estimate_cost,
    load_catalogue,
)
from .client import stream_review
from .limits import CircuitBreaker, RateLimiter, limiter_key
from .sse import SSEEvent, SSEParser
from .state import MemoryState, RedisState, SharedState
from .types import (
    Cancelled,
    ClientSettings,
    Delta,
    Endpoint,
    Event,
    Finished,
    LLMError,
    ReviewRequest,
    Status,
    redact,
)

__all__ = [
    "ADAPTERS",
    "CatalogueError",
    "Cancelled",
    "CircuitBreaker",
    "ClientSettings",
    "Delta",
    "Endpoint",
    "Event",
    "Finished",
    "LLMError",
    "MemoryState",
    "ModelInfo",
    "RateLimiter",
    "RedisState",
    "ReviewRequest",
    "SSEEvent",
    "SSEParser",
    "SharedState",
    "Status",
    "build_body",
    "build_http",
    "estimate_cost",
    "limiter_key",
    "load_catalogue",
    "redact",
    "stream_review",
]
