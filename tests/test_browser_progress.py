"""Waiting, as a person sees it: upload progress with Cancel, streamed tokens and the
elapsed time on the review page, the state in the tab's title."""

import re
import threading

import pytest
from playwright.sync_api import expect

from tests import test_browser_review as browser_tests
from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import answer
from tests.stack import WORKER_SLOTS
from tests.test_browser_review import log_in, start_review
from tests.test_e2e_review import create_project, review_id_of, upload, wait_until

# The same Chromium and page (with its console-error check) as the other browser tests.
browser = browser_tests.browser
page = browser_tests.page

# htmx logs an aborted request to the console as an error, also one the user cancelled.
CANCEL_LOGS = {
    "htmx:afterRequest, [object HTMLDivElement]",
    "htmx:sendAbort, [object HTMLDivElement]",
}


@pytest.fixture
def cancel_page(browser):
    context = browser.new_context()
    tab = context.new_page()
    problems = []
    tab.on("console", lambda m: m.type == "error" and problems.append(m.text))
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    context.close()
    assert not [p for p in problems if p not in CANCEL_LOGS], problems


LONG_ANSWER = "## Conformance\n\n" + "The handlers follow the spec closely. " * 30


@pytest.mark.browser
@pytest.mark.e2e
def test_the_review_page_shows_tokens_elapsed_time_and_its_state_in_the_title(
    stack,
    llm,
    page,
    tmp_path,
):
    gate = threading.Event()
    llm.script(answer(LONG_ANSWER, chunk_size=6, delay=0.04, gate=gate, gate_after=60))
    log_in(page, stack)
    try:
        start_review(page, tmp_path, "Progress shop")
        review_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        progress = page.locator("#review-progress-text")
        expect(progress).to_contain_text("tokens streamed", timeout=20_000)
        expect(progress).to_contain_text("tokens/s")
        expect(page.locator("#review-elapsed")).to_contain_text("elapsed")
        expect(page).to_have_title(f"… streaming — Review {review_id} · Progress shop · reviewer")
    finally:
        gate.set()
    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)
    expect(page).to_have_title(f"✓ done — Review {review_id} · Progress shop · reviewer")
    expect(page.locator("#review-skeleton")).to_have_count(0)


def choose_files(tab, tmp_path):
    (tmp_path / "shop.zip").write_bytes(make_zip())
    (tmp_path / "spec.pdf").write_bytes(make_pdf())
    tab.get_by_label("Repository archive").set_input_files(tmp_path / "shop.zip")
    tab.get_by_label("Specification PDF").set_input_files(tmp_path / "spec.pdf")


@pytest.mark.browser
@pytest.mark.e2e
def test_an_upload_shows_its_progress_disables_the_buttons_and_can_be_cancelled(
    stack, llm, cancel_page, tmp_path
):
    tab = cancel_page
    log_in(tab, stack)
    tab.get_by_label("Name").fill("Upload shop")
    tab.get_by_role("button", name="Create project").click()
    choose_files(tab, tmp_path)
    held = []
    tab.route("**/projects/*/reviews", lambda route: held.append(route))
    tab.get_by_role("button", name="Start review").click()
    expect(tab.locator(".upload-progress")).to_contain_text("%")
    expect(tab.get_by_role("button", name="Start review")).to_be_disabled()
    expect(tab.get_by_role("button", name="Preview")).to_be_disabled()
    tab.get_by_role("button", name="Cancel upload").click()
    expect(tab.locator(".upload-progress")).to_have_count(0)
    expect(tab.get_by_role("button", name="Start review")).to_be_enabled()
    for route in held:
        route.abort()
    tab.unroute("**/projects/*/reviews")

    # Sent for real, the upload ends on the new review's tab.
    llm.script(answer("## Fine\n"))
    tab.get_by_role("button", name="Start review").click()
    tab.wait_for_url("**/reviews/*/")
    expect(tab.locator("#review-status")).to_have_text("done", timeout=20_000)


@pytest.mark.browser
@pytest.mark.e2e
def test_a_queued_review_shows_its_place_then_its_packing_counts(stack, llm, page, tmp_path):
    # Every worker slot busy with a held review: the next one waits in the queue.
    slots = WORKER_SLOTS
    gate = threading.Event()
    llm.script(*[answer("## Held\n", gate=gate, gate_after=1) for _ in range(slots)])
    client = stack.client("alice")
    project_id = create_project(client, "Queue shop")
    held = [review_id_of(upload(client, project_id)) for _ in range(slots)]
    try:
        wait_until(lambda: all(stack.review_field(r, "status") == "streaming" for r in held))
        log_in(page, stack)
        page.goto(f"{stack.url}/projects/{project_id}/")
        choose_files(page, tmp_path)
        llm.script(answer("## Fine\n"))
        page.get_by_role("button", name="Start review").click()
        page.wait_for_url("**/reviews/*/")
        expect(page.locator("#review-status")).to_have_text("queued")
        place = f"next in the queue · {slots} review{'s' if slots > 1 else ''} running"
        expect(page.locator("#review-progress-text")).to_have_text(place)
        expect(page.locator("#review-skeleton")).to_be_visible()
        # Every line the progress shows from now on, to look for the packing counts.
        page.evaluate(
            """() => {
                window.__progress = [];
                const el = document.getElementById("review-progress-text");
                new MutationObserver(() => window.__progress.push(el.textContent))
                    .observe(el, {childList: true, characterData: true, subtree: true});
            }"""
        )
    finally:
        gate.set()
    expect(page.locator("#review-status")).to_have_text("done", timeout=30_000)
    lines = page.evaluate("window.__progress")
    assert any(re.fullmatch(r"counted (\d+) of \1 files", line) for line in lines), lines


@pytest.mark.browser
@pytest.mark.e2e
def test_a_rerun_with_a_new_archive_is_sent_with_progress_and_opens_the_new_review(
    stack, llm, page, tmp_path
):
    llm.script(answer("## First\n"), answer("## Second\n"))
    log_in(page, stack)
    start_review(page, tmp_path, "Rerun shop")
    first_url = page.url
    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)
    page.get_by_role("link", name="Rerun shop").click()
    page.locator("summary", has_text="Actions").first.click()
    page.locator("summary", has_text="Retry with a new archive").first.click()
    page.get_by_label("Replacement archive").first.set_input_files(tmp_path / "shop.zip")
    held = []
    page.route("**/reviews/*/rerun", lambda route: held.append(route))
    page.get_by_role("button", name="Retry with this archive").first.click()
    expect(page.locator(".upload-progress")).to_contain_text("%")
    expect(page.get_by_role("button", name="Retry with this archive").first).to_be_disabled()
    for route in held:
        route.continue_()
    page.unroute("**/reviews/*/rerun")
    page.wait_for_url(lambda url: url != first_url and "/reviews/" in url)
    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)
    expect(page.locator("#review-report h2", has_text="Second")).to_be_visible()
