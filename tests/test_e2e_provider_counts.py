"""Requests that fit by the provider's count, end to end: upload over HTTP, the real Celery
worker, the fake provider counting with its own ratio and refusing over-long prompts."""

import pytest

from tests.factories import make_zip
from tests.fakes.llm_server import answer
from tests.fakes.provider_counts import CountRules
from tests.sse_client import read_events
from tests.test_e2e_review import create_project, review_id_of, upload

CONTEXT, OUTPUT = 20_000, 1_000
REPO = {
    f"shop/app/module_{i:02d}.py": "".join(
        f"def handler_{i}_{j}(request):\n    return respond(request, {j} * {i})\n"
        for j in range(30)
    )
    for i in range(40)
}


def add_small_model(stack, model_id, adapter, provider):
    stack.shell(
        "from reviewer.reviews.models import CatalogueEntry\n"
        f"CatalogueEntry.objects.get_or_create(model_id={model_id!r}, defaults=dict("
        f"label={model_id!r}, adapter={adapter!r}, provider={provider!r}, "
        f"api_model={model_id!r}, context_tokens={CONTEXT}, max_output_tokens={OUTPUT}, "
        "pdf=True, source='test entry'))\n"
    )


@pytest.mark.e2e
def test_a_prompt_the_provider_refuses_as_too_long_is_refitted_and_sent_once_more(stack, llm):
    add_small_model(stack, "small-gpt", "openai_file", "openai")
    llm.counting = CountRules(ratio=1.6, context_limit=CONTEXT - OUTPUT)
    llm.script(answer("## Summary\n\nFine.\n", usage=(15_000, 6)))
    client = stack.client("alice")
    project_id = create_project(client, "Counts")
    review_id = review_id_of(upload(client, project_id, make_zip(REPO), model="small-gpt"))

    messages = list(read_events(client, f"/reviews/{review_id}/events"))
    assert [m.data for m in messages if m.event == "status"][-1] == "done"
    notes = [m.data for m in messages if m.event == "note"]
    resend = [n for n in notes if n.startswith("the provider counted ")]
    assert resend and resend[0].endswith(" tokens; resending with fewer files")
    sent = llm.requests
    assert len(sent) == 2 and sent[1]["raw_size"] < sent[0]["raw_size"]
    assert stack.review_field(review_id, "report") == "## Summary\n\nFine.\n"
    # The page and its preview describe the request that was answered.
    summary = stack.review_field(review_id, "pack_summary")
    assert summary["count"]["kind"] == "refused"
    over = [e["path"] for e in summary["excluded"] if e["reason"] == "over budget"]
    assert over and not set(over) & set(summary["included_paths"])
    preview = client.get(f"/reviews/{review_id}/preview").text
    assert f"Included files ({summary['included_count']})" in preview


@pytest.mark.e2e
def test_googles_count_refits_before_sending_and_the_preview_says_counted_by_google(stack, llm):
    add_small_model(stack, "small-gemini", "gemini", "google")
    llm.counting = CountRules(ratio=1.6, context_limit=CONTEXT - OUTPUT)
    llm.script(answer("## Summary\n\nFine.\n", usage=(15_000, 6)))
    client = stack.client("alice")
    project_id = create_project(client, "Counted")
    review_id = review_id_of(upload(client, project_id, make_zip(REPO), model="small-gemini"))

    messages = list(read_events(client, f"/reviews/{review_id}/events"))
    assert [m.data for m in messages if m.event == "status"][-1] == "done"
    assert any(m.data.startswith("Google counted ") for m in messages if m.event == "note")
    assert len(llm.requests) == 1 and len(llm.count_requests) == 2
    assert llm.count_requests[0]["tokens"] > CONTEXT - OUTPUT >= llm.count_requests[1]["tokens"]
    preview = client.get(f"/reviews/{review_id}/preview").text
    assert "Counted by Google:" in preview
