"""Private notes on document pages: highlights, ink and text, seen only by their owner.

Rules:
- A note belongs to one participant and one page of a document; only its owner
  lists, changes, removes or exports it, from any of the owner's devices. To
  anyone else (the chair and the organizer included) it does not exist.
- Notes are kept on the server, outside the meeting's record: they never become
  events and never reach another tablet.
- A note is only added to a document its owner may read; when access is taken
  away, the owner's notes on it are no longer shown or exported.
- Positions are fractions of the page (0 to 1 from the top left), so a note stays
  in place at every zoom and on every screen.
- The export is a PDF of the annotated pages only, with the notes drawn on them;
  a confidential document's export carries the owner's watermark too.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from server.access import Viewer
from server.documents import blob_path
from server.errors import InvalidInputError, NotAllowedError, NotFoundError
from server.library import get_readable
from server.models import Annotation, Meeting, utcnow

KINDS = ("highlight", "ink", "text")
MAX_DATA = 32 * 1024
MAX_POINTS = 4000
MAX_RECTS = 200
MAX_TEXT = 4000
COLOR_CHARS = set("#0123456789abcdefABCDEF")


def ensure_note_taker(viewer: Viewer) -> int:
    if viewer.participant_id is None:
        raise NotAllowedError("The projector keeps no notes.")
    return viewer.participant_id


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidInputError("Note positions must be numbers between 0 and 1.")
    return float(value)


def _color(value: Any, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or len(value) not in (4, 7) or not set(value) <= COLOR_CHARS or not value.startswith("#"):
        raise InvalidInputError("A note colour must look like #ffcc00.")
    return value


def clean_data(kind: str, data: Any) -> dict:
    """The note's shape, checked: what the tablet sent, without anything extra."""
    if kind not in KINDS:
        raise InvalidInputError("A note is a highlight, ink or text; {kind} is none of these.", kind=str(kind)[:20])
    if not isinstance(data, dict) or len(json.dumps(data)) > MAX_DATA:
        raise InvalidInputError("A note can hold at most 32 KB.")
    if kind == "highlight":
        rects = data.get("rects")
        if not isinstance(rects, list) or not 0 < len(rects) <= MAX_RECTS:
            raise InvalidInputError("A highlight needs between 1 and {count} areas.", count=MAX_RECTS)
        return {"rects": [[_fraction(v) for v in _four(r)] for r in rects],
                "color": _color(data.get("color"), "#ffe14d")}
    if kind == "ink":
        points = data.get("points")
        if not isinstance(points, list) or not 1 < len(points) <= MAX_POINTS:
            raise InvalidInputError("An ink stroke needs between 2 and {count} points.", count=MAX_POINTS)
        width = data.get("width", 2)
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0.5 <= width <= 20:
            raise InvalidInputError("An ink stroke is between 0.5 and 20 points wide.")
        return {"points": [[_fraction(p[0]), _fraction(p[1])] for p in map(_pair, points)],
                "color": _color(data.get("color"), "#d32f2f"), "width": float(width)}
    text = data.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise InvalidInputError("A text note needs between 1 and {count} characters.", count=MAX_TEXT)
    return {"x": _fraction(data.get("x")), "y": _fraction(data.get("y")), "text": text,
            "color": _color(data.get("color"), "#1565c0")}


def _four(value: Any) -> list:
    if not isinstance(value, list) or len(value) != 4:
        raise InvalidInputError("Each highlighted area is [left, top, width, height].")
    return value


def _pair(value: Any) -> list:
    if not isinstance(value, list) or len(value) != 2:
        raise InvalidInputError("Each ink point is [x, y].")
    return value


def _page(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError("The page must be a whole number from 1.")
    return value


def note_view(note: Annotation) -> dict:
    return {"id": note.id, "document_id": note.document_id, "page": note.page,
            "kind": note.kind, "data": json.loads(note.data),
            "updated_at": note.updated_at.isoformat()}


def add_note(session: Session, viewer: Viewer, document_id: int, page: Any,
             kind: str, data: Any) -> dict:
    owner = ensure_note_taker(viewer)
    get_readable(session, viewer, document_id)
    note = Annotation(meeting_id=viewer.meeting_id, participant_id=owner,
                      document_id=document_id, page=_page(page), kind=kind,
                      data=json.dumps(clean_data(kind, data), ensure_ascii=False))
    session.add(note)
    session.flush()
    return note_view(note)


def _own_note(session: Session, viewer: Viewer, note_id: int) -> Annotation:
    owner = ensure_note_taker(viewer)
    note = session.get(Annotation, note_id)
    if note is None or note.participant_id != owner or note.removed:
        raise NotFoundError("This note does not exist.")
    get_readable(session, viewer, note.document_id)
    return note


def change_note(session: Session, viewer: Viewer, note_id: int, data: Any) -> dict:
    note = _own_note(session, viewer, note_id)
    note.data = json.dumps(clean_data(note.kind, data), ensure_ascii=False)
    note.updated_at = utcnow()
    session.add(note)
    return note_view(note)


def remove_note(session: Session, viewer: Viewer, note_id: int) -> dict:
    note = _own_note(session, viewer, note_id)
    note.removed, note.updated_at = True, utcnow()
    session.add(note)
    return {"id": note.id, "removed": True}


def list_notes(session: Session, viewer: Viewer, document_id: int) -> list[dict]:
    owner = ensure_note_taker(viewer)
    get_readable(session, viewer, document_id)
    stmt = (select(Annotation).where(Annotation.participant_id == owner,
                                     Annotation.document_id == document_id,
                                     Annotation.removed == False)  # noqa: E712
            .order_by(col(Annotation.page), col(Annotation.id)))
    return [note_view(note) for note in session.exec(stmt)]


# -- export ----------------------------------------------------------------------


def export_notes(session: Session, viewer: Viewer, document_id: int,
                 documents_dir: Path, target: Path, now: datetime) -> int:
    """Write the annotated pages, notes drawn on them, to ``target``; return pages."""
    notes = list_notes(session, viewer, document_id)
    if not notes:
        raise NotFoundError("You have no notes on this document yet.")
    doc, _ = get_readable(session, viewer, document_id)
    meeting = session.get(Meeting, doc.meeting_id)
    stamp = None
    if doc.confidential:
        from server.watermark import watermark_text
        stamp = watermark_text(viewer.name, now, meeting.timezone)
    return draw_notes(blob_path(documents_dir, doc.sha256), target, notes, stamp)


def draw_notes(source: Path, target: Path, notes: list[dict], stamp: str | None) -> int:
    from pypdf import PdfReader, PdfWriter

    from server.watermark import add_form, lay_over, render_page

    reader = PdfReader(source, strict=False)
    if reader.is_encrypted:
        reader.decrypt("")
    by_page: dict[int, list[dict]] = {}
    for note in notes:
        if note["page"] <= len(reader.pages):
            by_page.setdefault(note["page"], []).append(note)
    writer = PdfWriter()
    for number in sorted(by_page):
        page = writer.add_page(reader.pages[number - 1])
        page.transfer_rotation_to_content()
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        overlay = render_page(notes_html(by_page[number], width, height, stamp))
        lay_over(writer, page, *add_form(writer, overlay, f"PlenaryNotes{number}"))
    with target.open("wb") as handle:
        writer.write(handle)
    return len(by_page)


def notes_html(notes: list[dict], width: float, height: float, stamp: str | None) -> str:
    """One page of SVG drawing the notes over a page of ``width`` x ``height`` points."""
    shapes = [_shape(note["kind"], note["data"], width, height) for note in notes]
    if stamp:
        shapes.append(f'<text x="{width / 2:.1f}" y="{height - 8:.1f}" font-size="7" '
                      f'text-anchor="middle" fill="#960000">{html.escape(stamp)}</text>')
    return (f"<html><head><style>@page {{ size: {width}pt {height}pt; margin: 0 }}"
            "body { margin: 0; font-family: 'DejaVu Sans', sans-serif }</style></head>"
            f'<body><svg xmlns="http://www.w3.org/2000/svg" width="{width}pt" '
            f'height="{height}pt" viewBox="0 0 {width} {height}">{"".join(shapes)}'
            "</svg></body></html>")


def _shape(kind: str, data: dict, width: float, height: float) -> str:
    color = html.escape(data.get("color", "#000"))
    if kind == "highlight":
        return "".join(
            f'<rect x="{x * width:.1f}" y="{y * height:.1f}" width="{w * width:.1f}" '
            f'height="{h * height:.1f}" fill="{color}" fill-opacity="0.35"/>'
            for x, y, w, h in data["rects"])
    if kind == "ink":
        points = " ".join(f"{x * width:.1f},{y * height:.1f}" for x, y in data["points"])
        return (f'<polyline points="{points}" fill="none" stroke="{color}" '
                f'stroke-width="{data["width"]}" stroke-linecap="round"/>')
    return _text_note(data, width, height, color)


def _text_note(data: dict, width: float, height: float, color: str) -> str:
    x, y = data["x"] * width, data["y"] * height
    lines = data["text"].splitlines()[:30] or [""]
    spans = "".join(f'<tspan x="{x + 4:.1f}" dy="{10 if i else 0}">{html.escape(line[:90])}</tspan>'
                    for i, line in enumerate(lines))
    box_w = min(width - x, 6 + 5 * max(len(line[:90]) for line in lines))
    return (f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="{box_w:.1f}" '
            f'height="{10 * len(lines) + 4}" fill="#fff8c4" fill-opacity="0.9" '
            f'stroke="{color}" stroke-width="0.6"/>'
            f'<text x="{x + 4:.1f}" y="{y:.1f}" font-size="8" fill="{color}">{spans}</text>')
