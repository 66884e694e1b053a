"""Choosing the model on the preview re-packs for it, in Debian's Chromium."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_pdf, make_zip
from tests.test_browser_review import browser, log_in, page  # noqa: F401
from tests.test_coverage_pages import big_repo


@pytest.mark.browser
@pytest.mark.e2e
def test_choosing_a_smaller_model_on_the_preview_shows_the_new_fit(stack, page, tmp_path):  # noqa: F811
    log_in(page, stack)
    page.get_by_label("Name").fill("Big shop")
    page.get_by_role("button", name="Create project").click()
    (tmp_path / "shop.zip").write_bytes(make_zip(big_repo()))
    (tmp_path / "spec.pdf").write_bytes(make_pdf())
    page.get_by_label("Repository archive").set_input_files(tmp_path / "shop.zip")
    page.get_by_label("Specification PDF").set_input_files(tmp_path / "spec.pdf")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**/preview")
    body = page.locator("#preview-body")
    expect(body).to_contain_text("69 of 69 files, 100% of the repository's tokens")
    page.get_by_label("Model").select_option("deepseek-v3.2")
    expect(body).to_contain_text("does not fit DeepSeek", timeout=15_000)
    expect(body).to_contain_text("What the model will not see")
    page.get_by_label("Model").select_option("gpt-4.1")
    expect(body).to_contain_text("69 of 69 files", timeout=15_000)
