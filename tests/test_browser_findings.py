"""Triage in Chromium: a member dismisses a finding (a reason is required), and a cited
range opens highlighted in the source viewer with a way back to the finding."""

import pytest
from playwright.sync_api import expect

from tests.fakes.llm_server import answer
from tests.test_browser_review import browser, log_in, page, start_review  # noqa: F401
from tests.test_e2e_findings import FIRST

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_a_member_dismisses_a_finding_and_follows_a_citation(stack, llm, page, tmp_path):  # noqa: F811
    llm.script(answer(FIRST, chunk_size=50))
    log_in(page, stack)
    start_review(page, tmp_path, "Browser triage")
    findings = page.locator("#findings")
    expect(findings).to_be_visible(timeout=30_000)
    page.reload()  # the final view with the triage forms of a signed-in member
    expect(page.locator("#citations-verified")).to_have_text("4 of 7 citations verified")

    helper = page.locator("article.finding", has_text="Helper module is unsafe")
    expect(helper.locator(".flag")).to_have_text("not in the code that was sent")
    helper.get_by_role("button", name="Dismiss").click()
    expect(page.locator(".notices")).to_contain_text("Say why the finding is dismissed.")
    helper = page.locator("article.finding", has_text="Helper module is unsafe")
    helper.get_by_placeholder("Reason (needed to dismiss)").fill("vendored code")
    helper.get_by_role("button", name="Dismiss").click()
    helper = page.locator("article.finding", has_text="Helper module is unsafe")
    expect(helper.locator(".triage-state")).to_have_text("dismissed")
    expect(helper).to_contain_text("vendored code")
    expect(helper.get_by_role("button", name="Reopen")).to_be_visible()

    good = page.locator("article.finding", has_text="Orders are listed without paging")
    good.get_by_role("link", name="shop/app/api.py:1-3").click()
    page.wait_for_url("**/source/app/api.py?lines=1-3&finding=*")
    expect(page.locator("tr.cited")).to_have_count(3)
    page.get_by_role("link", name="← Back to the finding").click()
    expect(page.locator("article.finding:target")).to_contain_text("Orders are listed")


def test_a_page_at_phone_width_keeps_the_findings_readable(stack, llm, page, tmp_path):  # noqa: F811
    llm.script(answer(FIRST, chunk_size=50))
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, stack)
    start_review(page, tmp_path, "Phone triage")
    expect(page.locator("#findings")).to_be_visible(timeout=30_000)
    page.reload()
    # Wide tables scroll inside their own box; nothing else in the findings overflows.
    overflow = page.evaluate(
        "[...document.querySelectorAll('#findings *')]"
        ".filter(e => !e.closest('.table-scroll'))"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.tagName + '.' + e.className)"
    )
    assert overflow == []
