"""In real Chromium: the secretary types the minutes; reloads and going offline keep
the text; the preview shows it; the minutes are finalized in the browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import TABLET_LANDSCAPE

pytestmark = pytest.mark.browser

TEXT = "Đồng chí Nguyễn Thị Ánh Tuyết đề nghị bổ sung báo cáo; Lê Văn Đức thống nhất."


def open_secretary(browser, live_server):
    context = browser.new_context(viewport=TABLET_LANDSCAPE, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login?code={live_server.meeting.code('secretary')}")
    page.wait_for_selector(".conn-online", timeout=30000)
    page.wait_for_selector("textarea[data-section=summary]", timeout=30000)
    return context, page


def saved(page, kind: str = "summary") -> None:
    page.wait_for_selector(
        f".minutes [data-state-for$=':{kind}'][data-saved=yes]", timeout=30000
    )


def test_the_secretary_types_and_a_reload_keeps_the_text(
    browser, live_server, screenshot_dir
):
    _context, page = open_secretary(browser, live_server)

    page.fill("textarea[data-section=summary]", TEXT)
    saved(page)
    page.reload()
    page.wait_for_selector("textarea[data-section=summary]")

    assert page.input_value("textarea[data-section=summary]") == TEXT
    page.screenshot(path=screenshot_dir / "minutes-secretary.png")


def test_text_typed_offline_survives_a_reload_and_is_sent_when_back_online(
    browser, live_server
):
    context, page = open_secretary(browser, live_server)
    context.set_offline(True)
    page.wait_for_selector(".conn-offline", timeout=10000)

    page.fill("textarea[data-section=decisions]", TEXT)
    page.wait_for_timeout(1200)  # past the autosave delay: the save cannot go out
    assert (
        page.get_attribute(".minutes [data-state-for$=':decisions']", "data-saved")
        == "no"
    )
    stored = page.evaluate("JSON.stringify(window.PlenaryMinutes.loadLocal())")
    assert "Lê Văn Đức thống nhất" in stored
    context.set_offline(False)
    page.reload()
    page.wait_for_selector("textarea[data-section=decisions]")

    assert page.input_value("textarea[data-section=decisions]") == TEXT
    saved(page, "decisions")
    other, second = open_secretary(browser, live_server)
    assert second.input_value("textarea[data-section=decisions]") == TEXT
    other.close()


def test_the_preview_shows_what_was_typed_and_finalizing_makes_version_1(
    browser, live_server, screenshot_dir
):
    _context, page = open_secretary(browser, live_server)
    page.fill("textarea[data-section=conclusions]", TEXT)
    saved(page, "conclusions")

    page.click("[data-minutes-action=preview]")
    frame = page.frame_locator("iframe.minutes-preview")
    frame.locator("h1").wait_for(timeout=10000)
    assert frame.locator("h1").inner_text() == "BIÊN BẢN"

    assert TEXT in frame.locator("body").inner_text()
    page.click("[data-minutes-action=finalize]")
    page.wait_for_selector("text=Phiên bản 1 đã được chốt", timeout=60000)
    page.wait_for_selector(
        "[data-minutes=state] >> text=Đã chốt, chờ ký", timeout=10000
    )
    page.screenshot(path=screenshot_dir / "minutes-finalized.png")


def test_from_first_item_to_a_signed_pdf_that_anyone_can_check(
    browser, live_server, tmp_path, screenshot_dir
):
    from server.keys import init_keys, keys_dir

    init_keys(
        keys_dir(live_server.settings.data_dir),
        "Văn phòng HĐND&UBND huyện Tuần Giáo",
        ["Secretary"],
        "pw",
    )
    _context, page = open_secretary(browser, live_server)
    page.fill("textarea[data-section=summary]", TEXT)
    saved(page)
    page.click("[data-minutes-action=finalize]")
    page.wait_for_selector("text=Phiên bản 1 đã được chốt", timeout=60000)

    page.click(
        "[data-minutes-action=sign]"
    )  # no key file: the organization's certificate
    page.wait_for_selector("text=Bạn đã ký biên bản phiên bản 1", timeout=30000)
    chair_context = browser.new_context(viewport=TABLET_LANDSCAPE, locale="vi-VN")
    chair = chair_context.new_page()
    chair.goto(f"{live_server.url}/login?code={live_server.meeting.code('chair')}")
    chair.wait_for_selector("[data-minutes-action=sign]", timeout=10000)
    chair.click("[data-minutes-action=sign]")
    chair.wait_for_selector("text=Bạn đã ký biên bản phiên bản 1", timeout=30000)
    chair.wait_for_selector("[data-minutes=state] >> text=Đã ký", timeout=10000)
    with chair.expect_download() as download:
        chair.evaluate("""() => { const a = document.querySelector('.minutes a[href$="v1.pdf"]');
                                  a.setAttribute('download', 'bien-ban.pdf'); a.click(); }""")
    signed = tmp_path / "bien-ban.pdf"
    download.value.save_as(signed)

    anyone = browser.new_page()
    anyone.goto(f"{live_server.url}/verify?lang=vi")
    anyone.set_input_files("input[type=file]", str(signed))
    anyone.click("button[type=submit]")
    anyone.wait_for_selector("article.signature >> nth=1", timeout=30000)
    cards = anyone.locator("article.signature")
    assert cards.count() == 2
    assert "Chuyên viên Văn phòng" in cards.nth(0).inner_text()
    assert "Trần Bình Trọng" in cards.nth(1).inner_text()
    assert anyone.locator("article.signature.ok").count() == 2
    anyone.screenshot(path=screenshot_dir / "minutes-verify.png", full_page=True)
