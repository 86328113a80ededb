"""In real Chromium: tablets follow the chair live, and catch up after being offline."""

from __future__ import annotations

import pytest

from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT

pytestmark = pytest.mark.browser


def open_as(browser, url: str, code: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="vi-VN",
                                  timezone_id="Europe/London", has_touch=True)
    page = context.new_page()
    page.goto(f"{url}/login?code={code}")
    page.wait_for_selector(".conn-online", timeout=10000)
    return context, page


def current_title(page) -> str:
    return page.inner_text("[data-bind=current] .item-title")


def test_chair_moves_and_two_tablets_and_projector_follow(browser, live_server, screenshot_dir):
    meeting = live_server.meeting
    _, chair = open_as(browser, live_server.url, meeting.code("chair"), TABLET_LANDSCAPE)
    _, tablet_a = open_as(browser, live_server.url, meeting.code("delegate", 0), TABLET_PORTRAIT)
    _, tablet_b = open_as(browser, live_server.url, meeting.code("delegate", 1), TABLET_LANDSCAPE)
    projector = browser.new_page(viewport={"width": 1920, "height": 1080})
    projector.goto(f"{live_server.url}/m/{meeting.id}/projector?key={live_server.projector_key}")
    projector.wait_for_selector(".conn-online")
    marker = "window.__notReloaded = true"
    for page in (tablet_a, tablet_b, projector):
        page.evaluate(marker)

    chair.click("[data-command='meeting.start']")
    chair.click("[data-command='agenda.next']")
    for page in (tablet_a, tablet_b, projector):
        page.wait_for_function("() => document.querySelector('[data-bind=current] .item-title')?.textContent === 'Khai mạc cuộc họp'")
    chair.click(".agenda-item >> text=Kết luận cuộc họp")

    for page in (tablet_a, tablet_b, projector):
        page.wait_for_function("() => document.querySelector('[data-bind=current] .item-title')?.textContent === 'Kết luận cuộc họp'")
        assert page.evaluate("window.__notReloaded") is True
    assert tablet_a.inner_text(".agenda-item.is-current") .startswith("4")
    assert "Hoàn thiện dự thảo" not in tablet_a.inner_text("[data-bind=agenda]")  # internal item
    assert "Hoàn thiện dự thảo" in chair.inner_text("[data-bind=agenda]")
    chair.screenshot(path=screenshot_dir / "chair-console.png")
    tablet_a.screenshot(path=screenshot_dir / "delegate-portrait.png")
    tablet_b.screenshot(path=screenshot_dir / "delegate-landscape.png")
    projector.screenshot(path=screenshot_dir / "projector.png")


def test_offline_tablet_shows_it_and_catches_up_on_its_own(browser, live_server, screenshot_dir):
    meeting = live_server.meeting
    _, chair = open_as(browser, live_server.url, meeting.code("chair"), TABLET_LANDSCAPE)
    context, tablet = open_as(browser, live_server.url, meeting.code("delegate"), TABLET_PORTRAIT)
    chair.click("[data-command='meeting.start']")
    chair.click("[data-command='agenda.next']")
    tablet.wait_for_function("() => document.querySelector('[data-bind=current] .item-title')?.textContent === 'Khai mạc cuộc họp'")
    tablet.evaluate("window.__notReloaded = true")

    context.set_offline(True)
    tablet.wait_for_selector(".conn-offline", timeout=10000)
    assert tablet.is_visible("[data-bind=offline-banner]")
    tablet.screenshot(path=screenshot_dir / "delegate-offline.png")
    for _ in range(3):
        chair.click("[data-command='agenda.next']")
        chair.wait_for_timeout(150)
    chair.wait_for_function("() => document.querySelector('[data-bind=current] .item-number')?.textContent === '2'")
    assert current_title(tablet) == "Khai mạc cuộc họp"  # still the old state while offline

    context.set_offline(False)

    tablet.wait_for_selector(".conn-online", timeout=30000)
    tablet.wait_for_function("() => document.querySelector('[data-bind=current] .item-number')?.textContent === '2'")
    assert tablet.is_hidden("[data-bind=offline-banner]")
    assert tablet.evaluate("window.__notReloaded") is True
    assert tablet.evaluate("window.plenaryClient.caughtUp") == 3
    tablet.screenshot(path=screenshot_dir / "delegate-caught-up.png")
