"""Badges and access cards: a PDF of cards laid out for common card sheets.

Rules:
- Each card shows the participant's name, title, delegation and seat, the
  meeting with its date and time in the meeting's own time zone, and a QR code
  of the login link ``<base url>/login?code=<access code>``, which serves for
  check-in and for logging in. Access cards also print the code itself.
- Cards are laid out for common sheets (``LAYOUTS``): A4 with 2 x 5 cards of
  85 x 54 mm, A4 with 2 x 4 badges of 99.1 x 67.7 mm, US Letter with 2 x 5
  business cards of 3.5 x 2 in.
- A name never overflows its card: it is set in the largest size that fits,
  wrapping onto up to three lines; a name too long even in the smallest size is
  cut with an ellipsis, and the sheet reports it.
- Cards come in the order of delegation, then name, in the Vietnamese order.
- Re-issuing a lost card gives a new access code: the old code and every
  session opened with it stop working.
- Cards with the code also print the login address (``<base url>/login``) beside
  it, for a delegate without a QR scanner to type.
- The cards of the organizer, chair, secretaries and staff of the body hold
  codes with staff rights: only the organizer prints or re-issues them. Anyone
  else printing all cards gets the others; asking for one of these is refused.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session, col, select

from server.access import reissue_code
from server.errors import InvalidInputError, NotAllowedError, NotFoundError
from server.eventlog import AUDIENCE_STAFF, record_event
from server.i18n import translations
from server.imports.vietnamese import name_key, text_key
from server.meetings import get_meeting
from server.models import Meeting, Participant
from server.organization import ensure_not_archived, seats_of
from server.staff import Actor, record_change, staff_participants

log = logging.getLogger(__name__)
TEMPLATE_DIR = Path(__file__).parent / "templates"
FONT_DIRS = (TEMPLATE_DIR / "fonts", Path("/usr/share/fonts/truetype/dejavu"))
PT_TO_MM = 25.4 / 72
LINE_HEIGHT = 1.15
NAME_SIZES = [x / 2 for x in range(36, 11, -1)]  # 18pt down to 6pt
MAX_NAME_LINES = 3
ADDRESS_SIZES = [6.5, 6.0, 5.5, 5.0, 4.5]
ADDRESS_LINES = 3
STAFF_CARDS_REFUSED = "You may not print or re-issue the card of {name}: only the organizer does that for the organizer, chair, secretaries and staff, whose codes log in with their rights."


@dataclass(frozen=True)
class Layout:
    name: str
    page: str  # CSS page size
    page_mm: tuple[float, float]
    columns: int
    rows: int
    card_mm: tuple[float, float]
    label: str

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def margins_mm(self) -> tuple[float, float]:
        """Top and left margins that centre the cards on the sheet."""
        width, height = self.page_mm
        return (
            (height - self.rows * self.card_mm[1]) / 2,
            (width - self.columns * self.card_mm[0]) / 2,
        )


LAYOUTS = {
    layout.name: layout
    for layout in (
        Layout(
            "a4-2x5", "A4", (210, 297), 2, 5, (85, 54), "A4, 10 cards of 85 × 54 mm"
        ),
        Layout(
            "a4-2x4",
            "A4",
            (210, 297),
            2,
            4,
            (99.1, 67.7),
            "A4, 8 badges of 99.1 × 67.7 mm",
        ),
        Layout(
            "letter-2x5",
            "letter",
            (215.9, 279.4),
            2,
            5,
            (88.9, 50.8),
            "US Letter, 10 cards of 3.5 × 2 in",
        ),
    )
}


@dataclass
class FittedText:
    lines: list[str]
    size_pt: float
    shortened: bool = False


@dataclass
class Card:
    participant_id: int
    name: FittedText
    title: str
    group: str
    seat: str
    role: str
    code: str
    qr_data_uri: str


@dataclass
class BadgeSheet:
    meeting_title: FittedText
    when: str
    layout: Layout
    language: str
    show_code: bool
    login_address: FittedText | None = None
    cards: list[Card] = field(default_factory=list)
    left_out: list[int] = field(default_factory=list)  # staff cards not printed

    @property
    def pages(self) -> list[list[Card]]:
        size = self.layout.per_page
        return [self.cards[i : i + size] for i in range(0, len(self.cards), size)]

    @property
    def shortened(self) -> list[int]:
        return [card.participant_id for card in self.cards if card.name.shortened]


# -- measuring text ------------------------------------------------------------


def find_font(file_name: str) -> Path | None:
    for folder in FONT_DIRS:
        if (folder / file_name).is_file():
            return folder / file_name
    if shutil.which("fc-match"):
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", file_name.removesuffix(".ttf")],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if found.endswith(file_name):
            return Path(found)
    return None


@lru_cache(maxsize=4)
def _advances(file_name: str) -> tuple[dict[int, int], int] | None:
    path = find_font(file_name)
    if path is None:
        return None
    from fontTools.ttLib import TTFont

    with TTFont(path) as font:
        metrics = font["hmtx"].metrics
        widths = {code: metrics[glyph][0] for code, glyph in font.getBestCmap().items()}
        return widths, font["head"].unitsPerEm


def text_width_mm(text: str, size_pt: float, bold: bool = True) -> float:
    """The printed width of ``text``; an estimate when the font file is missing."""
    found = _advances("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if found is None:
        return len(text) * 0.62 * size_pt * PT_TO_MM
    widths, units = found
    fallback = units * 0.62
    total = sum(widths.get(ord(ch), fallback) for ch in text)
    return total / units * size_pt * PT_TO_MM


def wrap(text: str, size_pt: float, width_mm: float) -> list[str] | None:
    """Greedy word wrap; None when a single word is wider than the line."""
    lines: list[str] = []
    for word in text.split():
        if text_width_mm(word, size_pt) > width_mm:
            return None
        if lines and text_width_mm(f"{lines[-1]} {word}", size_pt) <= width_mm:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def fit_text(
    text: str,
    width_mm: float,
    height_mm: float,
    sizes: list[float] = NAME_SIZES,
    max_lines: int = MAX_NAME_LINES,
) -> FittedText:
    """The largest size at which ``text`` fits the box, wrapped, or cut to fit."""
    for size in sizes:
        lines = wrap(text, size, width_mm)
        line_mm = size * LINE_HEIGHT * PT_TO_MM
        if (
            lines is not None
            and len(lines) <= max_lines
            and len(lines) * line_mm <= height_mm
        ):
            return FittedText(lines, size)
    size = sizes[-1]
    room = max(1, min(max_lines, int(height_mm // (size * LINE_HEIGHT * PT_TO_MM))))
    lines = _cut(text, size, width_mm, room)
    return FittedText(lines, size, shortened=lines[-1].endswith("…"))


def _cut(text: str, size: float, width_mm: float, room: int) -> list[str]:
    """Break anywhere into at most ``room`` lines; cut text ends with an ellipsis."""
    lines, current = [], ""
    for char in " ".join(text.split()):
        if text_width_mm(current + char, size) > width_mm:
            lines.append(current.rstrip())
            current = char.lstrip()
        else:
            current += char
    lines.append(current)
    if len(lines) <= room:
        return lines
    last = lines[room - 1]
    while last and text_width_mm(last + "…", size) > width_mm:
        last = last[:-1]
    return lines[: room - 1] + [last.rstrip() + "…"]


# -- what goes on the cards ---------------------------------------------------


def login_link(base_url: str, code: str) -> str:
    return f"{login_address(base_url)}?code={code}"


def login_address(base_url: str) -> str:
    """Where a code is typed by hand: the login page."""
    return f"{base_url.rstrip('/')}/login"


def qr_data_uri(data: str) -> str:
    """The QR code of ``data`` as an SVG data URI."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(data)).decode("ascii")


def qr_svg(data: str) -> bytes:
    """An SVG of the qrcode package's matrix, dark modules merged into row runs.

    One subpath per run instead of one per module keeps the SVG small, and
    WeasyPrint draws a sheet of hundreds of cards several times faster.
    """
    import qrcode

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=1)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    size = len(matrix)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges"><path d="{"".join(runs)}"/></svg>'
    ).encode()


def local_time(meeting: Meeting, language: str) -> str:
    """The meeting's start in its own time zone, whatever the server's zone."""
    from babel.dates import format_datetime

    zone = ZoneInfo(meeting.timezone)
    start = meeting.starts_at
    pattern = "HH:mm, EEEE d/M/y" if language == "vi" else "EEEE d MMMM y, HH:mm"
    return (
        format_datetime(start.astimezone(zone), pattern, locale=language)
        + f" ({_zone_label(start, zone)})"
    )


def _zone_label(moment: datetime, zone: ZoneInfo) -> str:
    offset = moment.astimezone(zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def get_layout(name: str) -> Layout:
    if name not in LAYOUTS:
        known = ", ".join(LAYOUTS)
        raise InvalidInputError(
            "There is no card sheet called {name}. Choose one of: {known}.",
            name=name,
            known=known,
        )
    return LAYOUTS[name]


def badge_sheet(
    session: Session,
    meeting_id: int,
    base_url: str,
    layout_name: str = "a4-2x5",
    participant_ids: list[int] | None = None,
    show_code: bool = True,
    language: str | None = None,
    *,
    staff_cards: bool = True,
) -> BadgeSheet:
    """Everything the PDF shows, read in one go. Without ``staff_cards`` the cards
    that log in with staff rights are left out, or refused when asked for."""
    layout = get_layout(layout_name)
    meeting = get_meeting(session, meeting_id)
    language = language or meeting.language
    people = _people(session, meeting_id, participant_ids)
    left_out: list[int] = []
    if not staff_cards:
        people, left_out = _without_staff(session, meeting_id, people, participant_ids)
    seats = seats_of(session, meeting_id)
    box = _name_box(layout)
    sheet = BadgeSheet(
        fit_text(
            meeting.title, box[0] + _qr_mm(layout), 7.5, [7.0, 6.5, 6.0, 5.5, 5.0], 2
        ),
        local_time(meeting, language),
        layout,
        language,
        show_code,
        fit_address(login_address(base_url), _qr_mm(layout)) if show_code else None,
        left_out=left_out,
    )
    for person in people:
        sheet.cards.append(
            Card(
                person.id,
                fit_text(person.name, *box),
                person.title,
                person.group_name,
                seats.get(person.id, ""),
                person.role,
                person.access_code,
                qr_data_uri(login_link(base_url, person.access_code)),
            )
        )
    if sheet.shortened:
        log.warning(
            "Badges of meeting %s: %d names shortened to fit.",
            meeting.key,
            len(sheet.shortened),
        )
    return sheet


def _people(
    session: Session, meeting_id: int, ids: list[int] | None
) -> list[Participant]:
    stmt = select(Participant).where(
        Participant.meeting_id == meeting_id,
        col(Participant.active).is_(True),
    )
    if ids is not None:
        stmt = stmt.where(col(Participant.id).in_(ids))
    people = list(session.exec(stmt))
    if ids is not None and len(people) != len(set(ids)):
        raise NotFoundError("Some of these participants are not in this meeting.")
    return sorted(people, key=lambda p: (text_key(p.group_name), name_key(p.name)))


def fit_address(address: str, width_mm: float) -> FittedText:
    """The login address as typed ("http://" left out: browsers add it), wrapped
    before a "/" or ":" when it is too wide for one line."""
    shown = address.removeprefix("http://")
    parts = re.sub(r"(?<!/)([/:])(?!/)", r" \1", shown)
    fitted = fit_text(
        parts,
        width_mm,
        ADDRESS_LINES * ADDRESS_SIZES[0] * LINE_HEIGHT * PT_TO_MM,
        ADDRESS_SIZES,
        ADDRESS_LINES,
    )
    fitted.lines = [re.sub(r" ([/:])", r"\1", line) for line in fitted.lines]
    return fitted


def _without_staff(
    session: Session,
    meeting_id: int,
    people: list[Participant],
    asked: list[int] | None,
) -> tuple[list[Participant], list[int]]:
    staff = staff_participants(session, meeting_id)
    if asked is not None:
        for person in people:
            if person.id in staff:
                raise NotAllowedError(STAFF_CARDS_REFUSED, name=person.name)
    kept = [p for p in people if p.id not in staff]
    return kept, [p.id for p in people if p.id in staff]


def ensure_may_reissue(
    session: Session, meeting_id: int, participant_id: int, staff_cards: bool
) -> None:
    """Refuse to re-issue a staff card for anyone but the organizer."""
    person = session.get(Participant, participant_id)
    if staff_cards or person is None or person.meeting_id != meeting_id:
        return
    if participant_id in staff_participants(session, meeting_id):
        raise NotAllowedError(STAFF_CARDS_REFUSED, name=person.name)


def _qr_mm(layout: Layout) -> float:
    return round(min(layout.card_mm[1] * 0.45, 28.0), 1)


def _name_box(layout: Layout) -> tuple[float, float]:
    """Width and height of the name on a card of this layout."""
    width, height = layout.card_mm
    return width - 2 * 3.5 - _qr_mm(layout) - 2.5, height * 0.36


# -- the PDF ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True),
    )


def render_html(sheet: BadgeSheet) -> str:
    layout = sheet.layout
    fonts = {
        name: find_font(name) for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
    }
    return (
        _environment()
        .get_template("badges.html")
        .render(
            sheet=sheet,
            layout=layout,
            qr_mm=_qr_mm(layout),
            name_box=_name_box(layout),
            margins=layout.margins_mm,
            fonts={k: v.as_uri() if v else None for k, v in fonts.items()},
            _=translations(sheet.language).gettext,
            lang=sheet.language,
        )
    )


def render_pdf(sheet: BadgeSheet) -> bytes:
    from weasyprint import HTML

    buffer = io.BytesIO()
    HTML(string=render_html(sheet), base_url=str(TEMPLATE_DIR)).write_pdf(buffer)
    return buffer.getvalue()


# -- lost cards ----------------------------------------------------------------------


def reissue_card(
    session: Session, meeting_id: int, participant_id: int, actor: Actor
) -> Participant:
    """A new access code for a lost card; the old code and its sessions end."""
    ensure_not_archived(session, meeting_id)
    person = session.get(Participant, participant_id)
    if person is None or person.meeting_id != meeting_id:
        raise NotFoundError(
            "Participant {id} is not in this meeting.", id=participant_id
        )
    reissue_code(session, participant_id)
    record_change(
        session,
        actor,
        "cards.reissue",
        "re-issued the access card of {name}",
        values={"name": person.name},
        meeting_id=meeting_id,
        details={"participant_id": participant_id},
    )
    record_event(
        session,
        meeting_id,
        "participant.card_reissued",
        {"participant_id": participant_id},
        audience=AUDIENCE_STAFF,
        actor_id=actor.participant_id,
    )
    session.refresh(person)
    return person
