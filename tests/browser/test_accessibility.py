"""axe-core in Chromium: no serious or critical violation on the meeting pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import TABLET_PORTRAIT

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js"


def run_axe(page) -> list[dict]:
    # axe is test tooling, not part of the page: load it past the page's CSP
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} at "
                     f"{[n['target'] for n in v['nodes']][:3]}" for v in violations)


def logged_in_page(browser, url: str, code: str, path: str):
    page = browser.new_page(viewport=TABLET_PORTRAIT)
    page.goto(f"{url}/login?code={code}")
    page.goto(f"{url}{path}")
    page.wait_for_selector(".conn-online", timeout=10000)
    return page


@pytest.mark.parametrize("role, path", [
    ("delegate", "/m/{id}"), ("chair", "/m/{id}/chair"),
    ("secretary", "/m/{id}/secretary"), ("organizer", "/m/{id}/organizer")])
def test_meeting_pages_have_no_serious_accessibility_violations(browser, live_server, role, path):
    page = logged_in_page(browser, live_server.url, live_server.meeting.code(role),
                          path.format(id=live_server.meeting.id))

    violations = run_axe(page)

    assert not violations, describe(violations)


def test_projector_and_login_have_no_serious_accessibility_violations(browser, live_server):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{live_server.url}/m/{live_server.meeting.id}/projector?key={live_server.projector_key}")
    page.wait_for_selector(".conn-online")
    login = browser.new_page(viewport=TABLET_PORTRAIT)
    login.goto(f"{live_server.url}/login")

    found = run_axe(page) + run_axe(login)

    assert not found, describe(found)


def test_touch_targets_are_at_least_44_pixels(browser, live_server):
    page = logged_in_page(browser, live_server.url, live_server.meeting.code("chair"),
                          f"/m/{live_server.meeting.id}/chair")

    small = page.evaluate("""() => [...document.querySelectorAll('button, a, input')]
        .filter(el => el.offsetParent !== null)
        .map(el => ({text: el.textContent.trim().slice(0, 30), w: el.getBoundingClientRect().width,
                     h: el.getBoundingClientRect().height}))
        .filter(box => box.w < 44 || box.h < 44)""")

    assert not small, small


def test_delegate_page_stays_usable_at_200_percent_text(browser, live_server, screenshot_dir):
    page = logged_in_page(browser, live_server.url, live_server.meeting.code("delegate"),
                          f"/m/{live_server.meeting.id}")

    page.evaluate("document.documentElement.style.fontSize = '36px'")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    page.screenshot(path=screenshot_dir / "delegate-200-percent.png")

    assert overflow <= 0
    assert page.is_visible("[data-bind=connection]")


def test_the_organizer_page_fits_a_1280_pixel_screen(browser, live_server):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/login?code={live_server.meeting.code('organizer')}")
    page.goto(f"{live_server.url}/m/{live_server.meeting.id}/organizer")
    page.wait_for_selector(".conn-online", timeout=10000)
    page.wait_for_selector("[data-bind=participants] tr")

    width = page.evaluate("() => document.documentElement.scrollWidth")
    too_wide = page.evaluate("""() => [...document.querySelectorAll('.panel')]
        .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.className)""")

    assert width <= 1280
    assert too_wide == []
