"""Shared fixtures for the LLM library tests (no Django needed)."""

from __future__ import annotations

import dataclasses

import pytest

from reviewer.llm import (
    ClientSettings,
    Delta,
    Endpoint,
    Finished,
    LLMError,
    ReviewRequest,
    Status,
    load_catalogue,
    stream_review,
)
from tests.fakes.llm_server import FakeLLMServer

API_KEY = "sk-test-9f8e7d6c5b4a3210-SECRET"
PDF = b"%PDF-1.4\n% fake spec\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue()


@pytest.fixture
def server():
    with FakeLLMServer() as s:
        yield s


def model_for(catalogue, model_id="gpt-4.1", **changes):
    return dataclasses.replace(catalogue[model_id], **changes)


def endpoint_for(server, model, key=API_KEY):
    base = server.gemini_url if model.adapter == "gemini" else server.url
    return Endpoint(base_url=base, api_key=key)


def make_request(**changes):
    values = dict(
        instructions="You review code against its specification.",
        prompt="## repo\nfile a.py\nprint('hi')\n",
        spec_filename="spec.pdf",
        spec_pdf=PDF,
        spec_text="The program shall say hi.",
    )
    values.update(changes)
    return ReviewRequest(**values)


FAST = ClientSettings(
    connect_timeout=2,
    first_token_timeout=5,
    stall_timeout=2,
    total_timeout=30,
    max_retries=4,
    backoff_base=0.01,
    backoff_cap=0.05,
)


class Sleeper:
    """Records requested waits instead of sleeping (optionally advancing a fake clock)."""

    def __init__(self, clock=None):
        self.waits: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


class FakeClock:
    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run(model, endpoint, request=None, **kw):
    """Collect every event; returns (events, error)."""
    kw.setdefault("settings", FAST)
    kw.setdefault("sleep", Sleeper())
    events = []
    try:
        for ev in stream_review(model, endpoint, request or make_request(), **kw):
            events.append(ev)
    except LLMError as exc:
        return events, exc
    return events, None


def text_of(events):
    return "".join(e.text for e in events if isinstance(e, Delta))


def statuses(events, state=None):
    return [e for e in events if isinstance(e, Status) and (state is None or e.state == state)]


def finished(events):
    done = [e for e in events if isinstance(e, Finished)]
    assert len(done) <= 1
    return done[0] if done else None
