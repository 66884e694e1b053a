"""Split mode in the web app: choosing it (upload, preview, API), the preview's parts and
total cost, the parts on the review page and in the history, part events on the stream,
and retrying or cancelling one part."""

import asyncio
import re
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewer.intake.forms import UploadForm
from reviewer.intake.services import clone_review
from reviewer.llm.sse import SSEParser
from reviewer.reviews.models import CatalogueEntry, Review
from reviewer.splits import events as ev
from reviewer.splits.lifecycle import CHANGED, WORKER_LOST, cancel_part, reconcile, retry_part
from reviewer.splits.models import ReviewPart
from reviewer.splits.views import frame
from reviewer.streams.relay import Event
from reviewer.streams.views import _sse
from tests.factories import make_pdf, make_zip

pytestmark = pytest.mark.django_db


def _module(name, lines):
    return "".join(f"{name}_{i} = helper({i}, '{name}')\n" for i in range(lines))


REPO = {f"shop/{d}/m.py": _module(d, 140) for d in ("api", "core", "web")}


@pytest.fixture
def tiny(db):
    return CatalogueEntry.objects.create(
        model_id="tiny",
        label="Tiny",
        adapter="openai_text",
        api_model="tiny",
        context_tokens=9000,
        max_output_tokens=1000,
        input_price_per_mtok=2,
        output_price_per_mtok=8,
    )


@pytest.fixture
def no_worker(monkeypatch):
    monkeypatch.setattr("reviewer.runs.tasks.run_review.delay", lambda review_id: None)


def _upload(client, project, **extra):
    return client.post(
        f"/projects/{project.pk}/reviews",
        {
            "archive": SimpleUploadedFile("shop.zip", make_zip(REPO)),
            "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
            "model": "tiny",
            **extra,
        },
    )


def test_the_upload_form_offers_the_mode_and_refuses_an_unknown_one(client, alice, project):
    client.force_login(alice)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "Cover the whole repository in several requests" in page
    form = UploadForm({"mode": "everything"}, {}, model_choices=[])
    form.is_valid()
    assert form.errors["mode"] == ["Unknown mode “everything”; use single or split."]


def test_a_split_upload_stores_the_mode_and_re_runs_keep_it(
    client, alice, project, media_root, tiny, no_worker
):
    client.force_login(alice)
    assert _upload(client, project, mode="split").status_code == 302
    review = Review.objects.get()
    assert review.pack_options["mode"] == "split"
    assert clone_review(review, alice).pack_options["mode"] == "split"
    _upload(client, project)
    assert "mode" not in Review.objects.latest("pk").pack_options


def test_the_preview_shows_the_parts_and_the_total_cost(client, alice, project, media_root, tiny):
    client.force_login(alice)
    _upload(client, project, preview="1", mode="split")
    draft = Review.objects.get()
    assert draft.status == "draft" and draft.pack_options == {"mode": "split"}
    page = client.get(f"/reviews/{draft.pk}/preview").content.decode()
    count = int(re.search(r"Several requests: (\d+) parts and a merge", page).group(1))
    assert count >= 2
    assert re.search(r"Estimated total cost: <strong>up to \$[\d.]+</strong>", page)
    assert 'name="mode" value="split" checked' in page
    # Unticked, the same draft is one request that leaves files out, and the choice stays.
    single = client.get(f"/reviews/{draft.pk}/preview", {"model": "tiny"}).content.decode()
    assert "Several requests" not in single
    assert 'name="mode" value="split">' in single
    assert "To send every file instead" in single


def test_starting_from_the_preview_keeps_the_choice(client, alice, project, media_root, tiny):
    client.force_login(alice)
    _upload(client, project, preview="1")
    draft = Review.objects.get()
    client.post(f"/reviews/{draft.pk}/start", {"model": "tiny", "mode": "split"})
    draft.refresh_from_db()
    assert draft.status == "queued" and draft.pack_options["mode"] == "split"


def _parts(review, statuses):
    for i, status in enumerate(statuses):
        ReviewPart.objects.create(
            review=review,
            index=i,
            status=status,
            is_synthesis=i == len(statuses) - 1,
            files=[] if i == len(statuses) - 1 else [f"pkg{i}/m.py"],
            text=f"Report of part {i + 1}.",
            error="The provider rejected the request as invalid." if status == "failed" else "",
        )


def test_a_failed_part_is_retried_alone_by_queueing_the_review_again(make_review, no_worker):
    review = make_review(status="failed", cancel_requested=True, error="Part 2 failed: …")
    _parts(review, ["done", "failed", "queued"])
    assert retry_part(review, 1)
    review.refresh_from_db()
    assert (review.status, review.cancel_requested, review.error) == ("queued", False, "")
    statuses = list(ReviewPart.objects.filter(review=review).values_list("status", flat=True))
    assert statuses == ["done", "queued", "queued"]
    assert ReviewPart.objects.get(review=review, index=0).text == "Report of part 1."
    assert not retry_part(review, 0)  # a finished part is never sent twice


def test_cancel_one_part_only_while_the_review_runs(make_review):
    running = make_review(status="streaming")
    _parts(running, ["streaming", "queued", "queued"])
    assert cancel_part(running, 0)
    flags = ReviewPart.objects.filter(review=running).values_list("cancel_requested", flat=True)
    assert list(flags) == [True, False, False]
    ended = make_review(status="failed")
    _parts(ended, ["failed", "queued"])
    assert not cancel_part(ended, 0)


def test_a_lost_runs_parts_are_settled_without_paying_twice(make_review):
    review = make_review(status="packing", attempts=2)
    _parts(review, ["streaming", "waiting", "done", "queued"])
    ReviewPart.objects.filter(review=review, index=1).update(text="")
    split = SimpleNamespace(
        parts=[SimpleNamespace(files=[f"pkg{i}/m.py"]) for i in range(3)], spec_tokens=0
    )
    assert reconcile(review, 2, split) == ""
    rows = ReviewPart.objects.filter(review=review).order_by("index")
    assert [(r.status, r.error) for r in rows] == [
        ("failed", WORKER_LOST),  # it had answered: sending it again would pay twice
        ("queued", ""),  # nothing answered yet: sent again
        ("done", ""),
        ("queued", ""),
    ]
    split.parts[0].files = ["elsewhere.py"]
    assert reconcile(review, 2, split) == CHANGED


def test_part_events_are_named_by_index_and_cannot_forge_framing():
    forged = "x\r\nevent: done\rdata: <b>forged</b>\n\nid: 99\n"
    framed = asyncio.run(frame(7, Event(12, ev.PART_DELTA, f"1:{forged}"), _sse))
    events = SSEParser().feed(framed.encode())
    assert [(e.event, e.id) for e in events] == [("part2-delta", "12")]
    assert "<b>" not in events[0].data and "&lt;b&gt;forged" in events[0].data
    status = asyncio.run(frame(7, Event(13, ev.PART_STATUS, "0:failed"), _sse))
    assert status == "id: 13\nevent: part1-status\ndata: failed\n\n"


def test_a_finished_split_review_shows_which_part_saw_which_file(client, alice, make_review):
    review = make_review(status="failed", report="", pack_summary={"split": {"parts": [{}] * 2}})
    _parts(review, ["done", "failed", "queued"])
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "Files this part saw (1)" in page and "<code>pkg0/m.py</code>" in page
    assert f'action="/reviews/{review.pk}/parts/2/retry"' in page
    assert f'action="/reviews/{review.pk}/parts/1/retry"' not in page
    project_page = client.get(f"/projects/{review.project_id}/").content.decode()
    assert "2 parts + merge" in project_page


def test_a_running_split_review_has_a_section_per_part(client, alice, make_review):
    review = make_review(status="streaming", report="", pack_options={"mode": "split"})
    _parts(review, ["streaming", "queued", "queued"])
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    for n in (1, 2, 3):
        assert f'sse-swap="part{n}-delta"' in page and f'sse-swap="part{n}-status"' in page
    assert 'sse-swap="parts"' in page


def test_part_writes_are_fenced_by_the_reviews_token(make_review):
    from reviewer.splits.lifecycle import fenced_part_update
    from reviewer.streams.relay import FenceLost

    review = make_review(status="streaming", attempts=3)
    _parts(review, ["streaming", "queued"])
    fenced_part_update(review.pk, 3, 0, status_note="still ours")
    with pytest.raises(FenceLost):
        fenced_part_update(review.pk, 2, 0, status_note="a lost run")
    Review.objects.filter(pk=review.pk).update(status="failed")
    with pytest.raises(FenceLost):
        fenced_part_update(review.pk, 3, 0, status_note="after the reaper")
    assert ReviewPart.objects.get(review=review, index=0).status_note == "still ours"
