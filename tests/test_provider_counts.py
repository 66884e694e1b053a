"""Requests that fit by the provider's count, through the worker's real run code (in
process) against the fake provider: the provider's count endpoint before sending, one
refit after a refusal as too long, never a loop, the stored request and preview follow
the refit, and the reported prompt tokens are learned per model."""

import zipfile
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from reviewer.counts.models import ObservedRatio
from reviewer.counts.services import ratio_for
from reviewer.llm import ADAPTERS
from reviewer.reviews.models import CatalogueEntry, Review
from reviewer.runs import library_settings, lifecycle
from reviewer.runs.run import ReviewRun
from reviewer.streams.relay import NOTE, get_relay
from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import FakeLLMServer, answer
from tests.fakes.provider_counts import CountRules, fake_count

pytestmark = pytest.mark.django_db(transaction=True)

CONTEXT, OUTPUT = 20_000, 1_000
LIMIT = CONTEXT - OUTPUT  # the fake's prompt limit, in its own count


def _module(i):
    body = "".join(
        f"def handler_{i}_{j}(request):\n    return respond(request, {j} * {i})\n"
        for j in range(30)
    )
    return f"shop/app/module_{i:02d}.py", body


REPO = dict(_module(i) for i in range(40))


@pytest.fixture
def fake():
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def wired(fake, settings, monkeypatch):
    settings.LLM_BASE_URL = fake.url
    settings.LLM_API_KEY = "sk-test-counts-0000"
    settings.LLM_MAX_RETRIES = 0
    monkeypatch.setenv("LLM_GOOGLE_BASE_URL", fake.gemini_url)
    monkeypatch.setenv("LLM_ANTHROPIC_BASE_URL", fake.root)
    for provider in ("OPENAI", "GOOGLE", "ANTHROPIC"):
        monkeypatch.setenv(f"LLM_{provider}_API_KEY", "sk-test-counts-0000")
    library_settings._file_catalogue.cache_clear()
    return fake


def small_model(model_id, adapter, provider):
    CatalogueEntry.objects.create(
        model_id=model_id,
        label=model_id,
        adapter=adapter,
        provider=provider,
        api_model=model_id,
        context_tokens=CONTEXT,
        max_output_tokens=OUTPUT,
        pdf=adapter != "openai_text",
        source="test entry",
    )
    return model_id


def run_review(make_review, model_id):
    review = make_review(
        status="queued",
        report="",
        prompt_tokens=None,
        completion_tokens=None,
        cost_usd=None,
        model=model_id,
        pack_options={"model": model_id, "ignore_patterns": [], "include_patterns": []},
        archive=ContentFile(make_zip(REPO), name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
    )
    token = lifecycle.claim(review.pk)
    ReviewRun(review.pk, token).run()
    return Review.objects.get(pk=review.pk)


def notes(review):
    # Through the relay: in the services profile the events live in Redis.
    return [e.data for e in get_relay().read(review.pk) if e.kind == NOTE]


def sent_paths(review):
    with zipfile.ZipFile(review.sent_files.path) as z:
        return {n for n in z.namelist()}


def generation_requests(fake):
    return [r for r in fake.requests if not r["path"].startswith("/_fake")]


NATIVE_ANTHROPIC = pytest.mark.skipif(
    "anthropic" not in ADAPTERS, reason="the native Anthropic adapter is not in this build"
)


# The fake counts more than each catalogue ratio assumes (Claude's is already 1.5).
@pytest.mark.parametrize(
    ("adapter", "provider", "ratio"),
    [
        ("openai_file", "openai", 1.6),
        ("gemini", "google", 1.6),
        pytest.param("anthropic", "anthropic", 2.2, marks=NATIVE_ANTHROPIC),
    ],
)
def test_a_refusal_as_too_long_is_refitted_by_the_providers_count_and_sent_once_more(
    wired, make_review, adapter, provider, ratio
):
    # Gemini and Anthropic ask their count endpoint first, which here counts lower than
    # the check the generation request meets (as real ones sometimes do).
    wired.counting = CountRules(ratio=ratio, context_limit=LIMIT, count_ratio=1.0)
    model_id = small_model(f"small-{adapter}", adapter, provider)
    review = run_review(make_review, model_id)

    assert review.status == "done", review.error
    sent = generation_requests(wired)
    assert len(sent) == 2, "one refusal, one resend"
    resend = [n for n in notes(review) if n.startswith("the provider counted")]
    assert resend and resend[0].endswith("tokens; resending with fewer files")
    # The second request is smaller and fits the fake's own count.
    assert sent[1]["raw_size"] < sent[0]["raw_size"]
    assert review.pack_summary["count"]["kind"] == "refused"
    assert fake_count(sent[0]["body"], ratio) > LIMIT >= fake_count(sent[1]["body"], ratio)
    # What is stored is what the second request carried.
    included = set(review.pack_summary["included_paths"])
    over = {e["path"] for e in review.pack_summary["excluded"] if e["reason"] == "over budget"}
    assert over and not included & over
    assert sent_paths(review) == included
    body = str(sent[1]["body"])
    assert all(f"app/{p.rsplit('/', 1)[-1]}" in body for p in included)
    # Only the refitted request's files were kept: the refused one's copy is gone.
    assert len(list((Path(review.sent_files.path).parent).iterdir())) == 1


def test_a_second_refusal_fails_the_review_with_one_sentence_and_no_third_request(
    wired, make_review
):
    # Without a count in the refusal the refit is a quarter smaller: not enough here.
    wired.counting = CountRules(ratio=2.0, context_limit=LIMIT, openai_style="no_count")
    model_id = small_model("small-openai", "openai_file", "openai")
    review = run_review(make_review, model_id)
    assert review.status == "failed"
    assert "exceeds the context window of this model" in review.error
    assert len(generation_requests(wired)) == 2


@pytest.mark.parametrize(
    ("adapter", "provider", "name", "ratio"),
    [
        ("gemini", "google", "Google", 1.6),
        pytest.param("anthropic", "anthropic", "Anthropic", 2.2, marks=NATIVE_ANTHROPIC),
    ],
)
def test_the_providers_count_before_sending_refits_and_the_preview_says_counted_by_it(
    wired, make_review, client, alice, adapter, provider, name, ratio
):
    wired.counting = CountRules(ratio=ratio, context_limit=LIMIT)
    model_id = small_model(f"small-{adapter}", adapter, provider)
    review = run_review(make_review, model_id)

    assert review.status == "done", review.error
    assert len(generation_requests(wired)) == 1, "the count refitted it before sending"
    assert len(wired.count_requests) == 2  # the first pack, then the refitted one
    first, second = (c["tokens"] for c in wired.count_requests)
    assert first > LIMIT >= second
    count = review.pack_summary["count"]
    assert count["method"] == "counted" and count["provider_tokens"] == second
    assert any(n.startswith(f"{name} counted ") for n in notes(review))

    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/preview")
    assert page.status_code == 200
    assert f"Counted by {name}:" in page.content.decode()
    # The preview re-packs with the refitted ratio: the same files as were sent.
    included = review.pack_summary["included_count"]
    assert f"Included files ({included})" in page.content.decode()
    left_out = len(review.omitted_files)
    assert left_out and included + left_out == len(REPO)
    report = client.get(f"/reviews/{review.pk}/").content.decode()
    assert f"{left_out} files left out for the budget" in report


def test_without_a_key_the_count_is_estimated_and_the_preview_says_so(
    wired, make_review, settings, client, alice, monkeypatch
):
    settings.LLM_API_KEY = ""
    monkeypatch.delenv("LLM_GOOGLE_API_KEY")
    model_id = small_model("small-gemini", "gemini", "google")
    draft = make_review(
        status="draft",
        model=model_id,
        archive=ContentFile(make_zip(REPO), name="shop.zip"),
        spec=ContentFile(make_pdf(), name="spec.pdf"),
    )
    client.force_login(alice)
    page = client.get(f"/reviews/{draft.pk}/preview?model={model_id}").content.decode()
    assert "Estimated</strong> in Google" in page
    assert "1.2 × our count, catalogue ratio" in page


def test_reported_prompt_tokens_are_learned_and_later_budgets_use_them(wired, make_review):
    model_id = small_model("small-openai", "openai_file", "custom")
    model = library_settings.model_for(model_id)
    assert ratio_for(model).value == 1.25
    for _ in range(3):
        wired.script(answer("Fine.", usage=(17_000, 10)))
        review = run_review(make_review, model_id)
        assert review.status == "done"
    row = ObservedRatio.objects.get(model_id=model_id)
    assert len(row.samples) == 3 and row.samples[0]["reported"] == 17_000
    learned = ratio_for(model)
    assert learned.kind == "learned" and learned.value > 1.25
    # The next review packs with the learned ratio: fewer files.
    before = review.pack_summary["included_count"]
    wired.script(answer("Fine.", usage=(17_000, 10)))
    after = run_review(make_review, model_id)
    assert after.pack_summary["count"]["kind"] == "learned"
    assert after.pack_summary["included_count"] < before


def test_the_admin_shows_the_observed_ratio_on_the_models_page(wired, admin_client):
    model_id = small_model("small-openai", "openai_file", "custom")
    ObservedRatio.objects.create(
        model_id=model_id,
        provider="custom",
        samples=[{"ours": 10_000, "reported": 15_000, "review": i, "at": ""} for i in range(3)],
    )
    row = ObservedRatio.objects.get(model_id=model_id)
    page = admin_client.get(f"/admin/counts/observedratio/{row.pk}/change/").content.decode()
    assert "1.5 (learned)" in page
    assert "15000 / 10000 = 1.500" in page
    listing = admin_client.get("/admin/counts/observedratio/").content.decode()
    assert model_id in listing
    entry = CatalogueEntry.objects.get(model_id=model_id)
    catalogue_page = admin_client.get(f"/admin/reviews/catalogueentry/{entry.pk}/change/")
    assert "1.5 (learned)" in catalogue_page.content.decode()
