"""The shipped catalogue is complete and valid; extra files merge; costs use price tiers."""

import json
from decimal import Decimal

import pytest

from reviewer.llm import CatalogueError, estimate_cost, load_catalogue

EXPECTED = {
    "gemini-3.1-pro",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gpt-4.1",
    "gpt-5",
    "claude-sonnet-4.5",
    "claude-opus-5.5",
    "claude-sonnet-5.5",
    "claude-haiku-4.5",
    "deepseek-v3.2",
    "openai-compatible",
}


def test_shipped_catalogue_has_the_expected_models(catalogue):
    assert set(catalogue) == EXPECTED
    for m in catalogue.values():
        assert m.source and m.context_tokens > m.max_output_tokens
        assert isinstance(m.input_price_per_mtok, Decimal)
    assert catalogue["gemini-2.5-pro"].tier_threshold_tokens == 200_000
    assert catalogue["claude-sonnet-4.5"].tier_threshold_tokens == 200_000
    assert catalogue["gemini-2.5-flash"].tier_threshold_tokens is None
    assert catalogue["deepseek-v3.2"].pdf is False and catalogue["gpt-5"].pdf is True


def test_estimate_cost_flat():
    m = load_catalogue()["gpt-4.1"]
    assert estimate_cost(m, 1_000_000, 1_000_000) == Decimal("10.00")
    assert estimate_cost(m, 500_000, 2_000) == Decimal("1.016")


def test_estimate_cost_uses_the_higher_tier_above_the_threshold():
    m = load_catalogue()["gemini-2.5-pro"]
    assert estimate_cost(m, 200_000, 1_000) == Decimal("0.26")  # at the threshold: base price
    assert estimate_cost(m, 200_001, 1_000) == Decimal("0.5150025")
    c = load_catalogue()["claude-sonnet-4.5"]
    assert estimate_cost(c, 300_000, 10_000) == Decimal("2.025")


def test_estimate_cost_rejects_negative_counts(catalogue):
    with pytest.raises(ValueError):
        estimate_cost(catalogue["gpt-5"], -1, 0)


def _write(tmp_path, models):
    path = tmp_path / "extra.json"
    path.write_text(json.dumps({"models": models}))
    return str(path)


def test_extra_file_overrides_fields_and_adds_models(tmp_path):
    path = _write(
        tmp_path,
        [
            {"id": "gpt-4.1", "input_price_per_mtok": "1.50"},
            {
                "id": "local-llama",
                "label": "Local Llama",
                "adapter": "openai_text",
                "provider": "local",
                "api_model": "llama",
                "context_tokens": 131072,
                "max_output_tokens": 4096,
                "input_price_per_mtok": 0,
                "output_price_per_mtok": 0,
                "source": "our own server",
            },
        ],
    )
    cat = load_catalogue(path)
    assert cat["gpt-4.1"].input_price_per_mtok == Decimal("1.50")
    assert cat["gpt-4.1"].output_price_per_mtok == Decimal("8.00")
    assert cat["local-llama"].adapter == "openai_text"


def test_extra_file_from_the_environment(tmp_path, monkeypatch):
    path = _write(tmp_path, [{"id": "gpt-5", "rpm": 30}])
    monkeypatch.setenv("LLM_CATALOGUE_FILE", path)
    assert load_catalogue()["gpt-5"].rpm == 30


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"id": "gpt-5", "adapter": "telepathy"}, "adapter must be one of"),
        ({"id": "gpt-5", "context_tokens": -5}, "'context_tokens' must be a positive integer"),
        ({"id": "gpt-5", "input_price_per_mtok": "cheap"}, "must be a number"),
        ({"id": "gpt-5", "colour": "blue"}, "unknown field(s) colour"),
        ({"id": "new-model", "label": "x"}, "missing field(s)"),
        ({"id": "gpt-5", "tier_threshold_tokens": 1000}, "go together"),
        ({"id": "gpt-5", "adapter": "openai_text"}, "cannot send a PDF"),
    ],
)
def test_invalid_entries_give_clear_errors(tmp_path, entry, message):
    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, [entry]))
    assert message in str(info.value)
    assert repr(entry["id"]) in str(info.value) or "model" in str(info.value)


def test_unreadable_and_invalid_json_files(tmp_path):
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CatalogueError, match="not valid JSON"):
        load_catalogue(str(bad))
    bad.write_text('{"models": 3}')
    with pytest.raises(CatalogueError, match="expected"):
        load_catalogue(str(bad))
