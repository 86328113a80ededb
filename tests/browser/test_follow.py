"""In real Chromium: the presenter turns to page 3 and the tablets follow with PDF.js.

The pages are in Vietnamese (the tablets' locale), so the tests find the reader's
buttons by class, not by their translated labels; and PDF.js must draw under the
Content Security Policy without a single violation.
"""

from __future__ import annotations

import pytest

from tests._library_fixtures import DECREE
from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT

pytestmark = pytest.mark.browser
READER = "document.querySelector('[data-bind=reader]')"
NEXT = ".reader-bar .reader-next"
ERRORS: list[str] = []  # console errors of every page (CSP violations are reported there)


@pytest.fixture
def console_errors(live_server):
    """This test's console errors: pages of earlier tests still try their old server."""
    ERRORS.clear()
    return lambda: [e for e in ERRORS if live_server.url in e and "/favicon.ico" not in e]


def on_error(message) -> None:
    if message.type == "error":
        ERRORS.append(f"{message.text} ({message.location.get('url')})")


def open_as(browser, url: str, code: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="vi-VN", has_touch=True)
    page = context.new_page()
    page.on("console", on_error)
    page.on("pageerror", lambda error: ERRORS.append(str(error)))
    page.goto(f"{url}/login?code={code}")
    page.wait_for_selector(".conn-online", timeout=10000)
    return page


def upload_decree(browser, live_server) -> int:
    organizer = open_as(browser, live_server.url, live_server.meeting.code("organizer"), TABLET_LANDSCAPE)
    response = organizer.request.post(
        f"{live_server.url}/api/meetings/{live_server.meeting.id}/documents?filename=nghi-dinh-47.pdf&title=Ngh%E1%BB%8B%20%C4%91%E1%BB%8Bnh%2047",
        data=DECREE.read_bytes(), headers={"content-type": "application/pdf"})
    assert response.status == 201, response.text()
    return response.json()["id"]


def shows_page(page, doc_id: int, number: int) -> None:
    page.wait_for_function(f"() => {READER}.dataset.document === '{doc_id}' && {READER}.dataset.rendered === '{number}'",
                           timeout=15000)


def test_the_presenter_turns_to_page_3_and_two_tablets_and_the_projector_show_page_3(browser, live_server, screenshot_dir, console_errors):
    meeting = live_server.meeting
    doc_id = upload_decree(browser, live_server)
    chair = open_as(browser, live_server.url, meeting.code("chair"), TABLET_LANDSCAPE)
    tablet_a = open_as(browser, live_server.url, meeting.code("delegate", 0), TABLET_PORTRAIT)
    tablet_b = open_as(browser, live_server.url, meeting.code("delegate", 1), TABLET_LANDSCAPE)
    projector = browser.new_page(viewport={"width": 1280, "height": 720})
    projector.on("console", on_error)
    projector.goto(f"{live_server.url}/m/{meeting.id}/projector?key={live_server.projector_key}")
    projector.wait_for_selector(".conn-online")

    chair.click(f".library-doc[data-document='{doc_id}'] .doc-open")
    shows_page(chair, doc_id, 1)
    chair.click(".reader-present")
    chair.click(NEXT)
    chair.click(NEXT)

    for page in (chair, tablet_a, tablet_b, projector):
        shows_page(page, doc_id, 3)
    tablet_a.screenshot(path=screenshot_dir / "follow-tablet-page-3.png")
    projector.screenshot(path=screenshot_dir / "follow-projector-page-3.png")
    assert console_errors() == []


def test_a_tablet_leaves_to_browse_and_returns_with_one_tap(browser, live_server, screenshot_dir, console_errors):
    meeting = live_server.meeting
    doc_id = upload_decree(browser, live_server)
    chair = open_as(browser, live_server.url, meeting.code("chair"), TABLET_LANDSCAPE)
    tablet = open_as(browser, live_server.url, meeting.code("delegate", 0), TABLET_PORTRAIT)
    other = open_as(browser, live_server.url, meeting.code("delegate", 1), TABLET_PORTRAIT)
    chair.click(f".library-doc[data-document='{doc_id}'] .doc-open")
    shows_page(chair, doc_id, 1)
    chair.click(".reader-present")
    chair.click(NEXT)
    shows_page(tablet, doc_id, 2)

    tablet.click(NEXT)
    tablet.click(NEXT)
    shows_page(tablet, doc_id, 4)
    chair.click(NEXT)
    shows_page(other, doc_id, 3)

    assert tablet.evaluate(f"{READER}.dataset.rendered") == "4"
    tablet.screenshot(path=screenshot_dir / "follow-left-to-browse.png")
    tablet.click(".reader-return")
    shows_page(tablet, doc_id, 3)
    chair.click(NEXT)
    shows_page(tablet, doc_id, 4)
    assert console_errors() == []
