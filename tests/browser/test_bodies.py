"""In real Chromium: an organizer creates a body, adds two members (one found in
the registry by searching without diacritics), sees them listed, and makes the
meeting part of the body; its time shows on the meeting's clock."""

from __future__ import annotations

import pytest

from server.db import Store
from server.organization import register_person
from tests.browser.conftest import TABLET_LANDSCAPE

pytestmark = pytest.mark.browser


def register(live_server, name: str) -> None:
    store = Store(live_server.settings.resolved_database_url)
    try:
        store.write_sync(lambda s: register_person(s, name).id)
    finally:
        store.close()


def bodies_page(browser, live_server):
    # The device is in New York; the meeting is in Hà Nội.
    context = browser.new_context(
        viewport=TABLET_LANDSCAPE, locale="en-US", timezone_id="America/New_York"
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/login?code={live_server.meeting.code('organizer')}")
    page.goto(f"{live_server.url}/m/{live_server.meeting.id}/organize/bodies?lang=en")
    page.wait_for_selector("[data-body=create-form]:not([hidden])")
    return context, page


def test_organizer_creates_a_body_and_lists_two_members(
    browser, live_server, screenshot_dir
):
    register(live_server, "Nguyễn Văn Thành")
    context, page = bodies_page(browser, live_server)

    page.fill("#body-name", "Ban Thường vụ Thành ủy")
    page.fill("#body-key", "thuong-vu")
    page.select_option("#body-kind", "standing_committee")
    page.click("[data-body=create-form] button[type=submit]")
    page.wait_for_selector("[data-body=detail]:not([hidden])")

    page.fill("#member-search", "nguyen van")
    page.wait_for_selector("[data-body=found] button")
    page.fill("#member-role", "Bí thư")
    page.click("[data-body=found] button")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-body=members] tr').length === 1"
    )
    page.fill("#member-name", "Trần Thị Bình")
    page.fill("#member-role", "Ủy viên")
    page.click("[data-body=member-form] button[type=submit]")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-body=members] tr').length === 2"
    )
    page.click("[data-body=assign]")
    page.wait_for_selector("[data-body=meetings] li")

    rows = page.locator("[data-body=members] tr")
    assert rows.nth(0).locator("td").nth(0).inner_text() == "Trần Thị Bình"
    assert rows.nth(1).locator("td").nth(0).inner_text() == "Nguyễn Văn Thành"
    assert rows.nth(1).locator("td").nth(1).inner_text() == "Bí thư"
    # 14:00 on 16 November 2020 in Hà Nội; New York's clock says 02:00 that day
    assert "14:00" in page.inner_text("[data-body=meetings] li")
    assert "Ban Thường vụ Thành ủy" in page.inner_text("[data-body=meeting-body]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET_LANDSCAPE["width"]
    page.screenshot(path=str(screenshot_dir / "bodies.png"), full_page=False)
    context.close()
