"""Cached prompt tokens appear next to the cost: on the review page, in the project's
history, in the API's JSON and in the exported report."""

from decimal import Decimal

import pytest

from reviewer.api.views import review_json
from reviewer.reports.exports import _usage_line


@pytest.mark.django_db
def test_review_page_and_history_say_how_much_of_the_prompt_was_cached(client, alice, make_review):
    review = make_review(prompt_tokens=120000, cached_prompt_tokens=100000)
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "120,000 prompt, of which 100,000 cached, + 50 completion tokens" in page
    assert "120,000 prompt (of which 100,000 cached)" in page.replace("\u202f", ",")
    history = client.get(f"/projects/{review.project.pk}/").content.decode()
    assert "120,000 + 50<br><small" in history and "of which 100,000 cached</small>" in history


@pytest.mark.django_db
def test_api_and_export_carry_the_cached_tokens(make_review):
    review = make_review(prompt_tokens=1000, cached_prompt_tokens=800)
    review.refresh_from_db()
    assert review_json(review)["usage"]["cached_prompt_tokens"] == 800
    assert _usage_line(review).startswith("1000 prompt (of which 800 cached) + 50 completion")


@pytest.mark.django_db
def test_without_cache_figures_the_cost_line_is_unchanged(client, alice, make_review):
    review = make_review()
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "cached" not in page
    assert review_json(review)["usage"]["cached_prompt_tokens"] is None


@pytest.mark.django_db
def test_models_added_in_the_admin_carry_cache_prices_and_may_be_native_anthropic():
    from reviewer.llm import estimate_cost
    from reviewer.reviews.models import CatalogueEntry

    entry = CatalogueEntry.objects.create(
        model_id="claude-house",
        label="Claude (house)",
        adapter="anthropic",
        provider="anthropic",
        api_model="claude-house-1",
        input_price_per_mtok="2",
        output_price_per_mtok="10",
        cached_input_price_per_mtok="0.2",
        cache_write_price_per_mtok="2.5",
        pdf=True,
    )
    entry.full_clean()
    model = entry.to_model_info()
    assert model.adapter == "anthropic"
    assert estimate_cost(model, 1_000_000, 0, cached_tokens=1_000_000) == Decimal("0.2")
