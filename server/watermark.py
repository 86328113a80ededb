"""Watermarks on confidential documents: the reader's name and the time, on every page.

Rules:
- A confidential document reaches a reader only as a stamped copy: across every
  page, the reader's name, the meeting and the time it was handed out.
- The stamp is drawn by WeasyPrint (so Vietnamese names keep every tone mark)
  once per page size, and laid over each page with pypdf; the original stored
  file is never changed.
- A stamped copy of a signed PDF no longer carries valid signatures: it is a
  reading copy, and the signed original stays with the organizer.
"""

from __future__ import annotations

import html
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
)

WATERMARK_FONT = "DejaVu Sans"


def watermark_text(name: str, when: datetime, zone: str) -> str:
    local = when.astimezone(ZoneInfo(zone))
    return f"{name} · {local:%d/%m/%Y %H:%M}"


def render_overlay(text: str, width: float, height: float) -> PageObject:
    """One transparent page of ``width`` x ``height`` points carrying the stamp."""
    diagonal = (width ** 2 + height ** 2) ** 0.5
    size = max(10.0, min(36.0, diagonal / max(len(text), 1) * 1.05))
    safe = html.escape(text)
    page = f"""<html><head><style>
      @page {{ size: {width}pt {height}pt; margin: 0 }}
      body {{ margin: 0; font-family: '{WATERMARK_FONT}', sans-serif }}
      .mark {{ position: absolute; left: 50%; top: 50%; width: {diagonal}pt;
               margin-left: -{diagonal / 2}pt; margin-top: -{size * 0.7}pt;
               text-align: center;
               transform: rotate(-{_angle(width, height)}deg);
               font-size: {size}pt; color: rgba(200, 0, 0, 0.22); font-weight: bold }}
      .line {{ position: absolute; left: 0; right: 0; bottom: 6pt; text-align: center;
               font-size: 7pt; color: rgba(150, 0, 0, 0.6) }}
    </style></head><body>
      <div class="mark">{safe}</div><div class="line">{safe}</div>
    </body></html>"""
    return render_page(page)


def render_page(document: str) -> PageObject:
    """The first page of an HTML document rendered by WeasyPrint, as a pypdf page."""
    from weasyprint import HTML

    data = HTML(string=document).write_pdf()
    return PdfReader(io.BytesIO(data)).pages[0]


def _angle(width: float, height: float) -> float:
    import math
    return math.degrees(math.atan2(height, width))


def stamp_pdf(source: Path, target: Path, text: str) -> int:
    """Write ``source`` with the stamp on every page to ``target``; return the page count."""
    reader = PdfReader(source, strict=False)
    if reader.is_encrypted:
        reader.decrypt("")
    writer = PdfWriter(clone_from=reader)
    forms: dict[tuple[int, int], tuple[NameObject, object]] = {}
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        if page.rotation % 360:
            _merge_slowly(page, text, width, height)
            continue
        key = (round(width), round(height))
        if key not in forms:
            forms[key] = add_form(writer, render_overlay(text, width, height),
                                  f"PlenaryMark{key[0]}x{key[1]}")
        lay_over(writer, page, *forms[key])
    with target.open("wb") as handle:
        writer.write(handle)
    return len(writer.pages)


def add_form(writer: PdfWriter, overlay: PageObject,
             name: str) -> tuple[NameObject, object]:
    """The overlay page as a form XObject, added once to the copy."""
    form = DecodedStreamObject()
    form.set_data(overlay.get_contents().get_data())
    form.update({
        NameObject("/Type"): NameObject("/XObject"),
        NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject([FloatObject(v) for v in overlay.mediabox]),
        NameObject("/Resources"): overlay["/Resources"].clone(writer),
    })
    return NameObject(f"/{name}"), writer._add_object(form)


def lay_over(writer: PdfWriter, page: PageObject, name: NameObject, form: object) -> None:
    # Drawing the form after the page's own content (wrapped in q/Q) avoids
    # parsing and rewriting that content, which is what makes merging slow.
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else DictionaryObject()
    resources = DictionaryObject(resources)
    xobjects = DictionaryObject(resources.get("/XObject", DictionaryObject()).get_object())
    xobjects[name] = form
    resources[NameObject("/XObject")] = xobjects
    page[NameObject("/Resources")] = resources
    left, bottom = float(page.mediabox.left), float(page.mediabox.bottom)
    before, after = DecodedStreamObject(), DecodedStreamObject()
    before.set_data(b"q\n")
    after.set_data(f"\nQ q 1 0 0 1 {left:.2f} {bottom:.2f} cm {name} Do Q\n".encode())
    contents = page.get("/Contents")
    parts = ArrayObject([writer._add_object(before)])
    if contents is not None:
        contents = contents.get_object()
        parts.extend(contents if isinstance(contents, ArrayObject) else [page["/Contents"]])
    parts.append(writer._add_object(after))
    page[NameObject("/Contents")] = parts


def _merge_slowly(page: PageObject, text: str, width: float, height: float) -> None:
    """Rotated pages: turn the content upright first, then merge the stamp."""
    page.transfer_rotation_to_content()
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    page.merge_translated_page(render_overlay(text, width, height),
                               float(page.mediabox.left), float(page.mediabox.bottom),
                               over=True)
