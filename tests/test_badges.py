"""Badges and access cards (server/badges.py), in the order of the module's rules."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest
from sqlmodel import select

from server.access import log_in
from server.badges import (
    LAYOUTS,
    badge_sheet,
    fit_text,
    get_layout,
    login_link,
    reissue_card,
    render_html,
    render_pdf,
    text_width_mm,
)
from server.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotLoggedInError,
)
from server.models import LoginSession, Meeting, Participant
from server.organization import link_participant
from server.staff import COMMAND_LINE
from tests import _organize_fixtures
from tests._organize_fixtures import add_meeting

org_store = _organize_fixtures.org_store  # the fixture, under its own name

BASE = "http://plenary.example:8000"
LONG_NAME = (
    "Nguyễn Thị Phương Thảo Hoàng Lê Vũ Trần Đặng Quỳnh Hương Giang "
    "Công Tằng Tôn Nữ Thị Minh Nguyệt Huyền Trân Bảo Ngọc Thanh Xuân"
)


def people(store, meeting_id):
    return store.read_sync(
        lambda s: {
            p.key: p
            for p in s.exec(
                select(Participant).where(Participant.meeting_id == meeting_id)
            )
        }
    )


def set_person(store, participant_id, **fields):
    def change(session):
        person = session.get(Participant, participant_id)
        for key, value in fields.items():
            setattr(person, key, value)
        session.add(person)

    store.write_sync(change)


def pdf_text(pdf: bytes) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return unicodedata.normalize("NFC", out)


def boxes(html: str):
    """Every laid-out box with a class, as (class, element, x, y, width, height)."""
    from weasyprint import HTML

    found = []

    def walk(box):
        element = getattr(box, "element", None)
        if element is not None and element.get("class") and not hasattr(box, "text"):
            found.append(
                (
                    element.get("class"),
                    element,
                    box.position_x,
                    box.position_y,
                    box.border_width(),
                    box.border_height(),
                )
            )
        for child in getattr(box, "children", []):
            walk(child)

    for page in HTML(string=html).render().pages:
        walk(page._page_box)
    return found


def test_a_card_shows_name_title_delegation_seat_and_the_login_code(org_store):
    meeting = add_meeting(org_store)
    chair = people(org_store, meeting)["chair"]
    set_person(
        org_store, chair.id, title="Phó Chủ tịch HĐND huyện", group_name="Thường trực"
    )
    org_store.write_sync(link_participant, chair.id, None, "A01")

    sheet = org_store.read_sync(badge_sheet, meeting, BASE, "a4-2x5", [chair.id])
    html = render_html(sheet)
    text = pdf_text(render_pdf(sheet))

    for shown in (
        "Trần Bình Trọng",
        "Phó Chủ tịch HĐND huyện",
        "Thường trực",
        "A01",
        chair.access_code,
        "Phiên họp Thường trực",
    ):
        assert shown in " ".join(text.split()) or shown in html
    assert "Trần Bình" in text and "Ghế A01" in " ".join(text.split())
    assert chair.access_code in text


def test_the_qr_code_holds_the_login_link():
    import base64

    from server.badges import qr_data_uri

    uri = qr_data_uri(login_link(BASE + "/", "ABCD-EFGH-JKMN"))

    assert uri.startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(uri.split(",", 1)[1])
    assert (
        login_link(BASE + "/", "ABCD-EFGH-JKMN") == BASE + "/login?code=ABCD-EFGH-JKMN"
    )


def test_the_meeting_time_is_printed_in_the_meetings_time_zone(org_store, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    meeting = add_meeting(org_store)  # starts 01:30 UTC, 08:30 in Hà Nội

    vi = org_store.read_sync(badge_sheet, meeting, BASE, "a4-2x5", None, True, "vi")
    en = org_store.read_sync(badge_sheet, meeting, BASE, "a4-2x5", None, True, "en")

    assert vi.when == "08:30, Thứ Hai 3/3/2025 (UTC+07:00)"
    assert en.when == "Monday 3 March 2025, 08:30 (UTC+07:00)"


def test_access_cards_print_the_code_and_badges_may_leave_it_out(org_store):
    meeting = add_meeting(org_store, people=1)
    code = people(org_store, meeting)["d1"].access_code

    badges = org_store.read_sync(badge_sheet, meeting, BASE, "a4-2x4", None, False)

    assert code not in render_html(badges)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_cards_fill_the_sheets_of_each_layout(org_store, name):
    layout = LAYOUTS[name]
    meeting = add_meeting(org_store, people=layout.per_page)  # plus organizer and chair

    sheet = org_store.read_sync(badge_sheet, meeting, BASE, name)
    found = boxes(render_html(sheet))

    cards = [b for b in found if b[0] == "card"]
    assert len(sheet.pages) == 2
    assert len(cards) == layout.per_page + 2
    width_px, height_px = (v / 25.4 * 96 for v in layout.card_mm)
    assert cards[0][4] == pytest.approx(width_px, abs=0.5)
    assert cards[0][5] == pytest.approx(height_px, abs=0.5)


def test_an_unknown_layout_is_refused_with_the_known_ones():
    with pytest.raises(InvalidInputError) as caught:
        get_layout("a5")

    assert (
        caught.value.message
        == "There is no card sheet called a5. Choose one of: a4-2x5, a4-2x4, letter-2x5."
    )


def test_a_short_name_gets_the_largest_size():
    fitted = fit_text("Lê An", 50, 19)

    assert (fitted.size_pt, fitted.lines, fitted.shortened) == (18.0, ["Lê An"], False)


def test_a_long_name_shrinks_and_wraps_within_its_box():
    fitted = fit_text("Công Tằng Tôn Nữ Thị Minh Nguyệt", 50, 19)

    assert fitted.size_pt < 18
    assert len(fitted.lines) <= 3
    assert all(text_width_mm(line, fitted.size_pt) <= 50 for line in fitted.lines)
    assert " ".join(fitted.lines) == "Công Tằng Tôn Nữ Thị Minh Nguyệt"


def test_a_name_too_long_for_the_card_is_cut_and_reported(org_store):
    meeting = add_meeting(org_store, people=1)
    delegate = people(org_store, meeting)["d1"]
    set_person(org_store, delegate.id, name=LONG_NAME * 2)

    sheet = org_store.read_sync(badge_sheet, meeting, BASE)

    card = next(c for c in sheet.cards if c.participant_id == delegate.id)
    assert card.name.shortened
    assert card.name.lines[-1].endswith("…")
    assert sheet.shortened == [delegate.id]


@pytest.mark.parametrize(
    "name",
    [
        LONG_NAME,
        LONG_NAME * 3,
        "Bartholomew-Maximilianus-Konstantinopolitanischer-Dudelsack",
        "Đặng",
    ],
)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_no_name_overflows_its_card(org_store, name, layout):
    meeting = add_meeting(org_store, people=1)
    delegate = people(org_store, meeting)["d1"]
    set_person(
        org_store,
        delegate.id,
        name=name,
        title="Phó Chủ tịch Thường trực " * 4,
        group_name="Đoàn đại biểu Quốc hội tỉnh Thừa Thiên Huế " * 3,
    )

    sheet = org_store.read_sync(badge_sheet, meeting, BASE, layout, [delegate.id])
    found = boxes(render_html(sheet))

    card = next(b for b in found if b[0] == "card")
    for cls, _el, x, y, width, height in found:
        if cls in ("name", "line title", "line group", "qr", "foot", "meeting"):
            assert x >= card[2] - 0.01 and x + width <= card[2] + card[4] + 0.01, cls
            assert y >= card[3] - 0.01 and y + height <= card[3] + card[5] + 0.01, cls


def test_cards_come_by_delegation_then_vietnamese_name_order(org_store):
    meeting = add_meeting(org_store, people=3, items=False)
    ids = people(org_store, meeting)
    set_person(org_store, ids["d1"].id, name="Trần Văn Đức", group_name="Đoàn Huế")
    set_person(org_store, ids["d2"].id, name="Lê Văn Dũng", group_name="Đoàn Huế")
    set_person(org_store, ids["d3"].id, name="Phạm Thị Ánh", group_name="Đoàn Đà Nẵng")

    sheet = org_store.read_sync(badge_sheet, meeting, BASE)

    names = [" ".join(c.name.lines) for c in sheet.cards if c.role == "delegate"]
    # "Đà Nẵng" before "Huế" (đ before h); in Huế, "Dũng" before "Đức" (d before đ)
    assert names == ["Phạm Thị Ánh", "Lê Văn Dũng", "Trần Văn Đức"]


def test_cards_of_someone_outside_the_meeting_are_refused(org_store):
    meeting = add_meeting(org_store)
    other = people(org_store, add_meeting(org_store, "khac"))["d1"]

    with pytest.raises(NotFoundError) as caught:
        org_store.read_sync(badge_sheet, meeting, BASE, "a4-2x5", [other.id])

    assert caught.value.message == "Some of these participants are not in this meeting."


def test_reissue_gives_a_new_code_and_ends_the_old_code_and_its_sessions(org_store):
    meeting = add_meeting(org_store)
    delegate = people(org_store, meeting)["d1"]
    token, _ = org_store.write_sync(log_in, delegate.access_code)

    renewed = org_store.write_sync(reissue_card, meeting, delegate.id, COMMAND_LINE)

    assert renewed.access_code != delegate.access_code
    with pytest.raises(NotLoggedInError):
        org_store.write_sync(log_in, delegate.access_code)
    revoked = org_store.read_sync(
        lambda s: (
            s.exec(select(LoginSession).where(LoginSession.token == token))
            .one()
            .revoked
        )
    )
    assert revoked is True
    org_store.write_sync(log_in, renewed.access_code)


def test_reissue_in_an_archived_meeting_is_refused(org_store):
    from server.organization import archive_meeting

    meeting = add_meeting(org_store)
    delegate = people(org_store, meeting)["d1"]

    def end(session):
        row = session.get(Meeting, meeting)
        row.state = "ended"
        session.add(row)

    org_store.write_sync(end)
    org_store.write_sync(archive_meeting, meeting, COMMAND_LINE)

    with pytest.raises(ConflictError) as caught:
        org_store.write_sync(reissue_card, meeting, delegate.id, COMMAND_LINE)

    assert (
        caught.value.message
        == "This meeting is archived and can no longer be changed. Copy it to prepare a new meeting."
    )


def test_reissue_for_a_participant_of_another_meeting_is_not_found(org_store):
    meeting = add_meeting(org_store)
    other = people(org_store, add_meeting(org_store, "khac"))["d1"]

    with pytest.raises(NotFoundError) as caught:
        org_store.write_sync(reissue_card, meeting, other.id, COMMAND_LINE)

    assert caught.value.message == f"Participant {other.id} is not in this meeting."


def test_the_qr_svg_draws_exactly_the_dark_modules_of_the_code():
    import re

    import qrcode

    from server.badges import qr_svg

    link = login_link(BASE, "ABCD-EFGH-JKMN")
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=1)
    code.add_data(link)
    code.make(fit=True)
    matrix = code.get_matrix()

    drawn = [[False] * len(matrix) for _ in matrix]
    for x, y, length in re.findall(r"M(\d+) (\d+)h(\d+)", qr_svg(link).decode()):
        for dx in range(int(length)):
            drawn[int(y)][int(x) + dx] = True

    assert drawn == matrix


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize(
    "base",
    [
        BASE,
        "http://192.168.100.200:8000",
        "https://hop.hdnd-tinh-thua-thien-hue.gov.vn",
    ],
)
def test_a_card_prints_the_login_address_beside_the_code_within_the_card(
    org_store, layout, base
):
    meeting = add_meeting(org_store, people=1)
    delegate = people(org_store, meeting)["d1"]

    sheet = org_store.read_sync(badge_sheet, meeting, base, layout, [delegate.id])
    found = boxes(render_html(sheet))

    card = next(b for b in found if b[0] == "card")
    address = next(b for b in found if b[0] == "address")
    shown = base.removeprefix("http://") + "/login"  # browsers add http://
    assert "".join(sheet.login_address.lines) == shown
    assert not sheet.login_address.shortened
    assert address[2] + address[4] <= card[2] + card[4] + 0.01
    assert address[3] + address[5] <= card[3] + card[5] + 0.01
    foot = next(b for b in found if b[0] == "foot")
    assert address[3] + address[5] <= foot[3] + 0.01  # above the foot line


def test_the_printed_card_shows_the_login_address_and_the_code(org_store):
    meeting = add_meeting(org_store, people=1)
    delegate = people(org_store, meeting)["d1"]

    sheet = org_store.read_sync(badge_sheet, meeting, BASE, "a4-2x5", [delegate.id])
    text = "".join(pdf_text(render_pdf(sheet)).split())

    assert "plenary.example:8000/login" in text
    assert delegate.access_code in text


def test_badges_without_the_code_leave_the_address_out(org_store):
    meeting = add_meeting(org_store, people=1)

    sheet = org_store.read_sync(badge_sheet, meeting, BASE, "a4-2x4", None, False)

    assert sheet.login_address is None
    assert "/login" not in render_html(sheet).split("<body>")[1]
