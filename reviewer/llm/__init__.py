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
from .count_api import count_tokens, has_count_endpoint
from .counting import CountRatio, catalogue_ratio, learned_ratio, provider_name, refit_ratio
from .limits import CircuitBreaker, RateLimiter, limiter_key
from .overflow import ContextOverflow, Overflow
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
    "ContextOverflow",
    "CountRatio",
    "Delta",
    "Endpoint",
    "Event",
    "Finished",
    "LLMError",
    "MemoryState",
    "ModelInfo",
    "Overflow",
    "RateLimiter",
    "RedisState",
    "ReviewRequest",
    "SSEEvent",
    "SSEParser",
    "SharedState",
    "Status",
    "build_body",
    "build_http",
    "catalogue_ratio",
    "count_tokens",
    "estimate_cost",
    "has_count_endpoint",
    "learned_ratio",
    "limiter_key",
    "load_catalogue",
    "provider_name",
    "redact",
    "refit_ratio",
    "stream_review",
]
