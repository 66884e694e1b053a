"""The walking skeleton as a person sees it, in Debian's Chromium driven by Playwright."""

import re
import threading

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.factories import make_pdf, make_zip
from tests.fakes.llm_server import answer, reset_after, stall_after
from tests.stack import PASSWORD

HOSTILE_ANSWER = (
    "## Conformance\n\nMostly fine. <script>window.__pwned = 1</script>\n\n"
    '<img src=x onerror="window.__pwned = 2">\n\n'
    "[docs](javascript:window.__pwned=3)\n\n"
    "## Missing APIs\n\n- POST /orders\n\n## Refactoring\n\n- Split api.py\n"
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: r.status == 404 and problems.append(f"404 {r.url}"))
    yield page
    context.close()
    # htmx and our script must run under the Content-Security-Policy without violations.
    assert not problems, problems


def log_in(page, stack, username="alice"):
    page.goto(stack.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def start_review(page, tmp_path, project_name):
    page.get_by_label("Name").fill(project_name)
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name=project_name)).to_be_visible()
    (tmp_path / "shop.zip").write_bytes(make_zip())
    (tmp_path / "spec.pdf").write_bytes(make_pdf())
    page.get_by_label("Repository archive").set_input_files(tmp_path / "shop.zip")
    page.get_by_label("Specification PDF").set_input_files(tmp_path / "spec.pdf")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_url("**/reviews/*/")


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_sees_text_before_the_last_chunk_and_the_safe_report_after(
    stack, llm, page, tmp_path
):
    gate = threading.Event()
    llm.script(answer(HOSTILE_ANSWER, chunk_size=8, delay=0.01, gate=gate, gate_after=6))
    log_in(page, stack)
    try:
        start_review(page, tmp_path, "Browser shop")
        # The finished block is rendered while it streams; the unfinished tail is text.
        rendered, tail = page.locator("#review-rendered"), page.locator("#review-tail")
        expect(tail).to_have_text(HOSTILE_ANSWER[16:48], timeout=20_000)
        expect(rendered.locator("h2")).to_have_text("Conformance")
        assert "##" not in page.locator("#review-stream").inner_text()
        expect(page.locator("#review-status")).to_have_text("streaming")
        assert not gate.is_set()

        # A reload mid-stream shows the text so far at once, and keeps following.
        page.reload()
        expect(rendered.locator("h2")).to_have_text("Conformance")
        expect(tail).to_have_text(HOSTILE_ANSWER[16:48])
        expect(page.get_by_role("link", name="Download Markdown")).to_have_count(0)
        page.evaluate("window.__samePage = true")
    finally:
        gate.set()

    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)
    report = page.locator("#review-report")
    expect(report.get_by_role("heading", name="Missing APIs")).to_be_visible()
    expect(report).to_contain_text("<script>window.__pwned = 1</script>")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#review-report script, #review-report img").count() == 0
    # The whole final view swaps in without a reload: actions and cost, the live region gone.
    expect(page.get_by_role("link", name="Download Markdown")).to_be_visible(timeout=10_000)
    expect(page.locator("#review-meta")).to_contain_text("Cost")
    expect(page.locator("#review-live")).to_have_count(0)
    expect(page.locator("#review-report")).to_have_count(1)
    assert page.evaluate("window.__samePage") is True

    # After the run the stored report is what a fresh visit shows.
    page.reload()
    expect(page.locator("#review-report h2", has_text="Refactoring")).to_be_visible()
    expect(page.locator("#review-status")).to_have_text("done")
    assert page.evaluate("window.__pwned") is None


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_keeps_partial_text_after_an_upstream_failure_and_offers_retry(
    stack, llm, page, tmp_path
):
    llm.script(reset_after(HOSTILE_ANSWER, chunks=3, chunk_size=8), answer("## Second try\n"))
    log_in(page, stack)
    start_review(page, tmp_path, "Browser failing shop")
    expect(page.locator("#review-status")).to_have_text("failed", timeout=20_000)
    expect(page.locator("#review-report .error")).to_be_visible()
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    first_url = page.url
    retry.click()
    page.wait_for_url(lambda url: url != first_url and "/reviews/" in url)
    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)
    expect(page.locator("#review-report h2", has_text="Second try")).to_be_visible()


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_preview_updates_as_patterns_are_typed_then_starts(stack, llm, page, tmp_path):
    llm.script(answer("## Fine\n"))
    log_in(page, stack)
    page.get_by_label("Name").fill("Preview shop")
    page.get_by_role("button", name="Create project").click()
    (tmp_path / "shop.zip").write_bytes(make_zip())
    (tmp_path / "spec.pdf").write_bytes(make_pdf())
    page.get_by_label("Repository archive").set_input_files(tmp_path / "shop.zip")
    page.get_by_label("Specification PDF").set_input_files(tmp_path / "spec.pdf")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**/preview")
    included = page.get_by_role("heading", name=re.compile(r"Included files"))
    expect(included).to_have_text("Included files (4)")
    page.get_by_label("Extra ignore patterns").fill("app/\n")
    expect(included).to_have_text("Included files (2)", timeout=10_000)
    expect(page.locator("#preview-body")).to_contain_text("project rule")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_url("**/reviews/*/")
    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_cancel_button_stops_the_review_and_keeps_the_text(stack, llm, page, tmp_path):
    llm.script(stall_after(HOSTILE_ANSWER, chunks=3, seconds=60, chunk_size=8))
    log_in(page, stack)
    start_review(page, tmp_path, "Cancelled shop")
    expect(page.locator("#review-tail")).to_have_text(HOSTILE_ANSWER[16:24], timeout=20_000)
    expect(page.locator("#review-rendered h2")).to_have_text("Conformance")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#review-status")).to_have_text("cancelled", timeout=10_000)
    expect(page.locator("#review-report")).to_contain_text("Conformance")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    # Once it has ended, the page says "cancelled" once: no lingering "Cancelling…".
    expect(page.get_by_text("Cancelling…")).to_be_hidden()
    expect(page.locator("#review-note")).not_to_have_text("cancelled")


@pytest.mark.browser
@pytest.mark.e2e
def test_upload_labels_stay_unique_once_a_project_has_history(stack, llm, page, tmp_path):
    llm.script(answer("## One\n"), answer("## Two\n"))
    log_in(page, stack)
    start_review(page, tmp_path, "Busy shop")
    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)
    page.get_by_role("link", name="Busy shop").click()
    # The acceptance interface relies on these labels naming exactly one input each.
    assert page.get_by_label("Repository archive").count() == 1
    assert page.get_by_label("Specification PDF").count() == 1
    assert page.get_by_role("button", name="Start review").count() == 1
    page.get_by_label("Repository archive").set_input_files(tmp_path / "shop.zip")
    page.get_by_label("Specification PDF").set_input_files(tmp_path / "spec.pdf")
    page.get_by_role("button", name="Start review").click()
    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)


FORGING_ANSWER = (
    '## Conformance\n\nStarts well.\r\revent: done\rdata: <p id="forged">FORGED</p>\r\r'
    "id: 99999\r\n\r\n## Missing APIs\n\n- none\n"
)


@pytest.mark.browser
@pytest.mark.e2e
def test_model_text_with_carriage_returns_cannot_forge_the_end_of_the_stream(
    stack, llm, page, tmp_path
):
    gate = threading.Event()
    cut = FORGING_ANSWER.index("## Missing")
    llm.script(answer(FORGING_ANSWER, chunk_size=cut, gate=gate, gate_after=1))
    log_in(page, stack)
    try:
        start_review(page, tmp_path, "Forging shop")
        stream = page.locator("#review-stream")
        expect(stream).to_contain_text("event: done", timeout=20_000)
        # The text is shown as text; the browser saw no `done` event in it.
        assert page.locator("#forged").count() == 0
        expect(page.locator("#review-status")).to_have_text("streaming")
    finally:
        gate.set()
    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)
    report = page.locator("#review-report")
    expect(report.get_by_role("heading", name="Missing APIs")).to_be_visible()
    assert page.locator("#forged").count() == 0


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_keeps_the_chosen_files_when_the_archive_is_refused(stack, llm, page, tmp_path):
    from tests.test_upload_validation import zip_with_a_damaged_member

    llm.script(answer("## Fixed\n"))
    log_in(page, stack)
    page.get_by_label("Name").fill("Refused shop")
    page.get_by_role("button", name="Create project").click()
    project_url = page.url
    (tmp_path / "broken.zip").write_bytes(zip_with_a_damaged_member())
    (tmp_path / "shop.zip").write_bytes(make_zip())
    (tmp_path / "spec.pdf").write_bytes(make_pdf())
    archive = page.get_by_label("Repository archive")
    spec = page.get_by_label("Specification PDF")
    archive.set_input_files(tmp_path / "broken.zip")
    spec.set_input_files(tmp_path / "spec.pdf")
    errors = page.locator("#upload-errors")
    for _ in range(2):  # a second press sends the same files again
        with page.expect_response(lambda r: r.url.endswith("/reviews") and r.status == 200):
            page.get_by_role("button", name="Start review").click()
        expect(errors).to_contain_text("The archive is damaged or truncated at shop/app/api.py.")
        assert page.url == project_url
        assert archive.evaluate("input => input.files.length") == 1
        assert archive.evaluate("input => input.files[0].name") == "broken.zip"
        assert spec.evaluate("input => input.files[0].name") == "spec.pdf"

    # Only the archive is chosen again; the specification chosen before goes with it.
    archive.set_input_files(tmp_path / "shop.zip")
    page.get_by_role("button", name="Start review").click()
    page.wait_for_url("**/reviews/*/")
    expect(page.locator("#review-status")).to_have_text("done", timeout=20_000)
    expect(page.locator("#review-report h2", has_text="Fixed")).to_be_visible()
