"""In real Chromium: an organizer checks a participant file, sees the problems on
their cells, corrects the file, and imports every row."""

from __future__ import annotations

import pytest

from tests._participant_files import HEADER, PEOPLE, csv_text, to_cp1258
from tests.browser.conftest import TABLET_LANDSCAPE

pytestmark = pytest.mark.browser


def organizer_page(browser, live_server):
    context = browser.new_context(
        viewport=TABLET_LANDSCAPE, locale="en-US", timezone_id="America/Los_Angeles"
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/login?code={live_server.meeting.code('organizer')}")
    page.goto(f"{live_server.url}/m/{live_server.meeting.id}/organize?lang=vi")
    page.wait_for_selector("[data-org=import-form]")
    return context, page


def choose(page, path) -> None:
    page.set_input_files("#import-file", str(path))
    page.click("[data-org=import-form] button[type=submit]")


def test_preview_marks_problem_cells_and_commit_imports_every_row(
    browser, live_server, tmp_path, screenshot_dir
):
    context, page = organizer_page(browser, live_server)
    broken = tmp_path / "dai-bieu.csv"
    rows = [HEADER, *PEOPLE, ["Lê Văn An", "Đoàn Huế", "", "A03", "an@@"]]
    rows = [[*row, "Ghi chú" if n == 0 else ""] for n, row in enumerate(rows)]  # not imported
    broken.write_bytes(to_cp1258(csv_text(rows, ";")))

    choose(page, broken)
    page.wait_for_selector("[data-org=preview] tbody tr")

    assert page.locator("[data-org=preview] tbody tr").count() == 7
    last = page.locator("[data-org=preview] tbody tr[data-row='8']")
    assert "row-error" in last.get_attribute("class")
    assert (
        last.locator("td.cell-error[data-field=seat]")
        .inner_text()
        .endswith("Ghế A03 cũng được xếp cho dòng 4.")
    )
    assert page.locator("[data-org=commit]").is_hidden()
    assert page.locator("[data-org=ignored-columns]").inner_text() == "Các cột không được nhập: Ghi chú"
    first_name = page.locator(
        "[data-org=preview] tbody tr[data-row='2'] td[data-field=name]"
    )
    assert first_name.inner_text() == "Nguyễn Thị Ánh"
    page.screenshot(
        path=str(screenshot_dir / "import-preview-errors.png"), full_page=True
    )

    fixed = tmp_path / "dai-bieu-sua.csv"
    fixed.write_bytes(to_cp1258(csv_text([HEADER, *PEOPLE], ";")))
    choose(page, fixed)
    page.wait_for_selector("[data-org=commit]:not([hidden])")
    page.click("[data-org=commit]")
    page.wait_for_function(
        "() => document.querySelector('[data-org=import-summary]').textContent.includes('6')"
    )

    page.fill("[data-org=search]", "hoang thi ngoc hoa")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-org=people] tr').length === 1"
    )
    assert (
        page.locator("[data-org=people] tr td").first.inner_text()
        == "Hoàng Thị Ngọc Hoà"
    )
    audit = page.locator("[data-org=audit] li").first.inner_text()
    assert "đã nhập 6 người mới và cập nhật 0 người tham dự từ dai-bieu-sua.csv" in audit
    context.close()


def test_times_on_the_page_are_in_the_meetings_zone_not_the_devices(
    browser, live_server
):
    context, page = organizer_page(browser, live_server)

    page.wait_for_function(
        "() => document.querySelector('[data-org=starts]').textContent.length > 0"
    )

    starts = page.inner_text("[data-org=starts]")
    assert "Asia/Ho_Chi_Minh" in starts
    # 14:00 on 16 November 2020 in Hà Nội; the device's Los Angeles clock says 23:00 on the 15th
    assert "14:00" in starts and "16" in starts
    context.close()
