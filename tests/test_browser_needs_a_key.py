"""A model without a key, as a person sees it in Chromium: marked in the select, refused
on start with a link to Provider keys, explained on the preview without a Start button."""

import os
import re

import pytest
from playwright.sync_api import expect

from tests.factories import make_pdf, make_zip
from tests.test_browser_review import browser, log_in, page  # noqa: F401 - fixtures

NEEDS = "DeepSeek V3.2 (text only) needs a DeepSeek API key: add one under Provider keys."


@pytest.mark.browser
@pytest.mark.e2e
def test_browser_shows_needs_a_key_and_refuses_to_start(stack, llm, page, tmp_path):  # noqa: F811
    log_in(page, stack)
    page.get_by_label("Name").fill("Keyless shop")
    page.get_by_role("button", name="Create project").click()
    project_url = page.url
    model = page.locator("#upload-form select[name=model]")
    expect(model.locator('option[value="deepseek-v3.2"]')).to_have_text(
        "DeepSeek V3.2 (text only) (needs a key)"
    )
    expect(model.locator('option[value="gpt-4.1"]')).to_have_text("GPT-4.1")
    (tmp_path / "shop.zip").write_bytes(make_zip())
    (tmp_path / "spec.pdf").write_bytes(make_pdf())
    page.get_by_label("Repository archive").set_input_files(tmp_path / "shop.zip")
    page.get_by_label("Specification PDF").set_input_files(tmp_path / "spec.pdf")
    model.select_option("deepseek-v3.2")

    page.get_by_role("button", name="Start review").click()
    errors = page.locator("#upload-errors")
    expect(errors).to_contain_text(NEEDS)
    link = errors.get_by_role("link", name="Provider keys")
    expect(link).to_have_attribute("href", re.compile(r"^/teams/\d+/keys$"))
    assert page.url == project_url and llm.requests == []

    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**/preview")
    expect(page.locator("#key-needed")).to_have_text(NEEDS)
    expect(page.get_by_role("button", name="Start review")).to_have_count(0)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        shots = os.environ.get("SCREENSHOT_DIR")
        if shots:
            page.screenshot(path=f"{shots}/needs-a-key-{width}.png", full_page=True)

    page.locator("#key-needed").get_by_role("link", name="Provider keys").click()
    page.wait_for_url("**/keys")
    expect(page.locator("tr", has_text="deepseek").locator(".key-status")).to_have_text(
        "not configured"
    )
    assert llm.requests == []
