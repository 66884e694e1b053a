"""Every page a person reaches, at a phone's width (390 px) and a desktop's (1280 px), in
Debian's Chromium: no sideways scrolling, no console errors, no serious or critical
accessibility violations (axe-core, bundled with axe-playwright-python: nothing is fetched
at run time).

With SCREENSHOTS=/some/dir set, a full-page PNG of every page at both widths is written
there (scripts/screenshots.sh does that into a fresh temporary folder)."""

import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from tests import pages
from tests.test_authz_matrix import MATRIX
from tests.test_browser_review import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": 390, "desktop": 1280}
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; the database work these
    # tests do here (fixtures, logins) is still plain synchronous code.
    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    if allowed is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE")


@pytest.fixture
def site(live_server, alice, bob, victor, charlie, project, make_review, settings):
    settings.ALLOWED_HOSTS = ["*"]
    users = {"alice": alice, "bob": bob, "victor": victor, "charlie": charlie}
    return live_server.url, users, pages.build(users, project, make_review)


def _session_cookie(user, base_url):
    client = Client()
    client.force_login(user)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": value, "url": base_url}


def _visit(browser, base_url, users, page_spec, width):
    """Opens one page as its user; returns (page, context, problems) with console errors."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    if page_spec.who != "anonymous":
        context.add_cookies([_session_cookie(users[page_spec.who], base_url)])
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    response = page.goto(base_url + page_spec.path)
    page.wait_for_load_state("load")
    if response.status != page_spec.status:
        problems.append(f"status {response.status}, expected {page_spec.status}")
    if page_spec.status != 200:
        # The browser reports the page's own status as a failed load; that one is expected.
        problems[:] = [p for p in problems if f"status of {page_spec.status}" not in p]
    return page, context, problems


def _slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def test_the_sweep_covers_every_page_of_the_authorization_matrix(
    alice, bob, victor, charlie, project, make_review
):
    users = {"alice": alice, "bob": bob, "victor": victor, "charlie": charlie}
    covered = {p.name.split()[0] for p in pages.build(users, project, make_review)}
    reachable = {
        name
        for name, entry in MATRIX.items()
        if entry.get.kind not in ("none", "token")
        and entry.get.ok == 200
        and not name.startswith("api_")
        and name not in pages.NOT_PAGES
    }
    assert reachable - covered == set()


def _overflow(page, width):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width <= page.evaluate("window.innerWidth"):
        return None
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > w + 1)
            .slice(0, 4).map(e => e.tagName + '.' + e.className + '#' + e.id)""",
        width,
    )
    return f"{scroll_width} px wide: {wide}"


def _serious_violations(axe, page):
    results = axe.run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_every_page_fits_with_no_console_errors_or_serious_accessibility_violations(
    browser, site, width
):
    """One visit per page checks all three: no sideways scrolling, no console errors, and
    no serious or critical axe-core violation."""
    base_url, users, all_pages = site
    shots = os.environ.get("SCREENSHOTS")
    axe = Axe()
    failures = {}
    for spec in all_pages:
        page, context, problems = _visit(browser, base_url, users, spec, width)
        overflow = _overflow(page, width)
        if overflow:
            problems.append(overflow)
        if shots:
            out = Path(shots) / f"{width}-{_slug(spec.name)}.png"
            page.screenshot(path=str(out), full_page=True)
        problems.extend(_serious_violations(axe, page))
        context.close()
        if problems:
            failures[f"{spec.name} ({spec.who})"] = problems
    if failures:
        pytest.fail("\n".join(f"{name}: {problems}" for name, problems in failures.items()))


def _shot(page, name):
    shots = os.environ.get("SCREENSHOTS")
    if shots:
        width = page.viewport_size["width"]
        page.screenshot(path=str(Path(shots) / f"{width}-{_slug(name)}.png"), full_page=True)


def _keyboard_page(browser, base_url, user, width=390):
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    context.add_cookies([_session_cookie(user, base_url)])
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    return context, page, problems


def _focused(page):
    return page.evaluate(
        "(document.activeElement.getAttribute('aria-label') || "
        "document.activeElement.textContent).trim()"
    )


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_keyboard_alone_skips_to_content_and_works_the_menus(browser, site, project, width):
    base_url, users, _ = site
    context, page, problems = _keyboard_page(browser, base_url, users["alice"], width)
    page.goto(f"{base_url}/projects/{project.pk}/")
    page.keyboard.press("Tab")
    assert _focused(page) == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # The first Tab stops after the skip link are the account menu's and the history's.
    actions = page.locator("#review-history summary").first
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY" and _focused(
            page
        ).startswith("Actions"):
            break
    page.keyboard.press("Enter")
    assert actions.evaluate("s => s.parentElement.open")
    page.keyboard.press("Tab")
    assert _focused(page) == "Open"
    _shot(page, "project actions menu open")
    page.keyboard.press("Escape")
    assert not actions.evaluate("s => s.parentElement.open")
    assert _focused(page).startswith("Actions")
    context.close()
    assert not problems, problems


def test_keyboard_creates_a_token_and_copies_it_with_the_copy_button(browser, site):
    base_url, users, _ = site
    context, page, problems = _keyboard_page(browser, base_url, users["alice"])
    page.goto(f"{base_url}/account/tokens/")
    page.get_by_label("Token name").focus()
    page.keyboard.type("CI")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/account/tokens/")
    token = page.get_by_label("New API token", exact=True).input_value()
    assert token.startswith("rvw_")
    assert "Token “CI” created." in page.locator(".notices").inner_text()
    copy = page.get_by_role("button", name="Copy new API token")
    copy.focus()
    page.keyboard.press("Enter")
    expect(copy).to_have_text("Copied")  # the clipboard answers asynchronously
    assert page.evaluate("navigator.clipboard.readText()") == token
    _shot(page, "api tokens new token")
    # A reload neither shows it again nor makes another.
    page.reload()
    assert page.get_by_label("New API token", exact=True).count() == 0
    context.close()
    assert not problems, problems


def test_an_invite_link_is_copied_and_opens_the_sign_up_for_a_visitor(browser, site, project):
    base_url, users, _ = site
    team = project.team
    context, page, problems = _keyboard_page(browser, base_url, users["alice"])
    page.goto(f"{base_url}/teams/{team.pk}/")
    page.get_by_label("Email (optional)").fill("dora@example.com")
    page.get_by_role("button", name="Create invite").click()
    copy = page.get_by_role("button", name="Copy invite link")
    copy.click()
    expect(copy).to_have_text("Copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert "/invites/" in link
    _shot(page, "team new invite")
    context.close()
    assert not problems, problems

    visitor = browser.new_context(viewport={"width": 390, "height": 800})
    page = visitor.new_page()
    page.goto(base_url + "/invites/" + link.rsplit("/invites/", 1)[1])
    assert "alice invites you to join the team" in page.locator("main").inner_text()
    page.get_by_role("link", name="Sign up to accept").click()
    assert page.get_by_label("Email").input_value() == "dora@example.com"
    _shot(page, "signup from invite")
    visitor.close()
