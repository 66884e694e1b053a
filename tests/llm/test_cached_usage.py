"""Cached prompt tokens as each provider reports them, priced with the catalogue's cache
prices."""

import json
from decimal import Decimal

import pytest

from reviewer.llm import estimate_cost
from reviewer.llm.adapters import parse_openai
from tests.fakes.llm_server import answer
from tests.llm.conftest import endpoint_for, finished, model_for, run


@pytest.mark.parametrize("model_id", ["gpt-5", "gemini-2.5-flash"])
def test_cached_tokens_reported_by_the_provider_reach_finished(catalogue, server, model_id):
    model = model_for(catalogue, model_id)
    server.script(answer("ok", usage=(50_000, 700), cached_tokens=40_000))
    events, err = run(model, endpoint_for(server, model))
    assert err is None
    done = finished(events)
    assert (done.prompt_tokens, done.cached_tokens) == (50_000, 40_000)
    assert done.cache_write_tokens is None


def test_no_cache_figures_leave_cached_tokens_unknown(catalogue, server):
    model = model_for(catalogue, "gpt-4.1")
    events, _ = run(model, endpoint_for(server, model))
    assert finished(events).cached_tokens is None


def test_deepseek_cache_hit_tokens_count_as_cached():
    usage = {
        "prompt_tokens": 900,
        "completion_tokens": 5,
        "prompt_cache_hit_tokens": 800,
        "prompt_cache_miss_tokens": 100,
    }
    chunk = json.dumps({"choices": [], "usage": usage})
    assert parse_openai("message", chunk).cached == 800


def test_cached_tokens_are_priced_at_the_cached_input_price(catalogue):
    gpt5 = catalogue["gpt-5"]  # $1.25 input, $0.125 cached, $10 output
    assert estimate_cost(gpt5, 1_000_000, 0) == Decimal("1.25")
    assert estimate_cost(gpt5, 1_000_000, 0, cached_tokens=800_000) == Decimal("0.35")
    # Without a cache price in the catalogue, cached tokens cost ordinary input.
    generic = catalogue["openai-compatible"]
    assert generic.cached_input_price_per_mtok is None
    assert estimate_cost(generic, 10, 0, cached_tokens=10) == estimate_cost(generic, 10, 0)


def test_cache_prices_rise_with_the_long_context_tier(catalogue):
    pro = catalogue["gemini-2.5-pro"]  # above 200k: input 1.25 -> 2.50, cached 0.125 -> 0.25
    cost = estimate_cost(pro, 400_000, 0, cached_tokens=400_000)
    assert cost == Decimal("0.1")


def test_cache_writes_are_priced_at_the_write_price(catalogue):
    haiku = catalogue["claude-haiku-4.5"]  # $1 input, $1.25 write, $0.10 read
    assert estimate_cost(haiku, 100_000, 0, cache_write_tokens=100_000) == Decimal("0.125")
    assert estimate_cost(haiku, 100_000, 0, cached_tokens=100_000) == Decimal("0.01")
