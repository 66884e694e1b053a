"""The upload form's URL mode in Chromium: choosing "Repository URL" shows the URL and
branch fields instead of the archive, a refused URL is one sentence under the form with
what was typed kept, and a preview waits on "Fetching the repository…" until the worker
has fetched it, at 390 and 1280 px without sideways scrolling."""

import os

import pytest
from playwright.sync_api import expect

from tests.factories import make_pdf
from tests.fakes.git_server import GitServer
from tests.test_browser_review import browser, log_in, page  # noqa: F401 - fixtures

FILES = {"README.md": "# Shop\n", "app/api.py": "def list_orders(user):\n    return []\n"}


@pytest.fixture(scope="module")
def git(tmp_path_factory):
    server = GitServer(tmp_path_factory.mktemp("git"))
    server.sha = server.commit("shop", FILES)
    with server:
        yield server


def _fits(tab):
    return tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _shot(tab, name):
    shots = os.environ.get("SCREENSHOT_DIR")
    if shots:
        width = tab.viewport_size["width"]
        tab.screenshot(path=f"{shots}/{name}-{width}.png", full_page=True)


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.parametrize("width", [390, 1280])
def test_url_mode_previews_a_repository_fetched_by_the_worker(
    stack,
    llm,
    page,  # noqa: F811
    tmp_path,
    git,
    width,
):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, stack)
    page.get_by_label("Name").fill(f"URL mode {width}")
    page.get_by_role("button", name="Create project").click()
    form = page.locator("#upload-form")
    url_field = form.get_by_label("Clone URL")
    archive_field = form.get_by_label("Repository archive")
    expect(archive_field).to_be_visible()
    expect(url_field).to_be_hidden()

    form.get_by_role("radio", name="Repository URL").check()
    expect(url_field).to_be_visible()
    expect(archive_field).to_be_hidden()
    assert _fits(page)
    _shot(page, "url-form")

    (tmp_path / "spec.pdf").write_bytes(make_pdf())
    form.get_by_label("Specification PDF").set_input_files(tmp_path / "spec.pdf")
    url_field.fill("ftp://example.com/shop.git")
    form.get_by_role("button", name="Start review").click()
    expect(page.locator("#upload-errors li")).to_have_count(1)
    expect(url_field).to_have_value("ftp://example.com/shop.git")
    expect(url_field).to_be_visible()
    _shot(page, "url-form-refused")

    url_field.fill(git.url("shop"))
    form.get_by_label("Branch, tag or commit").fill("main")
    form.get_by_role("button", name="Preview").click()
    page.wait_for_url("**/preview")
    # The page refreshes itself until the worker has fetched the repository.
    expect(page.get_by_role("button", name="Start review")).to_be_visible(timeout=60_000)
    expect(page.locator("#repository")).to_contain_text(git.sha[:12])
    expect(page.locator("#repository")).to_contain_text(git.url("shop"))
    assert _fits(page)
    _shot(page, "url-preview")
