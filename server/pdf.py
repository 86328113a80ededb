"""Minutes as HTML and PDF: a Jinja2 template rendered to A4 by WeasyPrint.

Rules:
- The HTML shown as the preview on screen is the HTML that becomes the PDF.
- Fonts come from files named in the stylesheet (Noto Serif and DejaVu Sans
  Mono, from the Debian packages that ``scripts/install-system-deps`` installs,
  or dropped into ``server/templates/pdf/fonts/``), never from whatever the host
  happens to have; a missing font file stops the rendering with its name.
- Every page shows "Trang x/y" (Vietnamese) or "Page x of y" (English); tables
  repeat their header row on each page; a cell longer than a page continues on
  the next one.
- The PDF is PDF/A-3b with title, author, language and dates in its metadata.
"""

from __future__ import annotations

import logging
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from server.i18n import translations

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates" / "pdf"
PDF_VARIANT = "pdf/a-3b"
FONT_DIRS = (
    TEMPLATE_DIR / "fonts",
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
)
# family in the stylesheet -> (weight, style, file name)
FONT_FILES = {
    "Minutes Serif": [
        ("normal", "normal", "NotoSerif-Regular.ttf"),
        ("bold", "normal", "NotoSerif-Bold.ttf"),
        ("normal", "italic", "NotoSerif-Italic.ttf"),
        ("bold", "italic", "NotoSerif-BoldItalic.ttf"),
    ],
    "Minutes Mono": [("normal", "normal", "DejaVuSansMono.ttf")],
}
SIGNER_LABELS = {"secretary": "SECRETARY", "chair": "CHAIR"}


@dataclass(frozen=True)
class Rendered:
    html: str
    title: str


class FontMissingError(RuntimeError):
    """A font file the minutes need is not on this machine."""


def find_font(name: str) -> Path:
    for directory in FONT_DIRS:
        if (directory / name).is_file():
            return directory / name
    raise FontMissingError(
        f"The font file {name} is missing: run scripts/install-system-deps "
        f"(Debian packages fonts-noto-core and fonts-dejavu-core) or copy it into "
        f"{TEMPLATE_DIR / 'fonts'}."
    )


@lru_cache(maxsize=1)
def font_css() -> str:
    """``@font-face`` rules naming each font file by its path."""
    rules = []
    for family, faces in FONT_FILES.items():
        for weight, style, name in faces:
            rules.append(
                f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
                f'font-style: {style}; src: url("{find_font(name).as_uri()}"); }}'
            )
    return "\n".join(rules)


def font_paths() -> list[Path]:
    return [find_font(name) for faces in FONT_FILES.values() for _w, _s, name in faces]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def nfc(value: Any) -> Any:
    """The same data with every string in Unicode normal form C."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {key: nfc(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [nfc(item) for item in value]
    return value


def date_line(city: str, when: datetime | None, language: str) -> str:
    """ "Tuần Giáo, ngày 16 tháng 11 năm 2020" or "Tuan Giao, 16 November 2020"."""
    if when is None:
        return city
    if language == "vi":
        text = f"ngày {when.day:02d} tháng {when.month:02d} năm {when.year}"
    else:
        text = f"{when.day} {when.strftime('%B')} {when.year}"
    return f"{city}, {text}" if city else text[0].upper() + text[1:]


def render_minutes_html(
    data: dict[str, Any], *, draft: bool, status_line: str, now: datetime
) -> Rendered:
    """The minutes as one self-contained HTML document."""
    data = nfc(data)
    language = data["language"]
    gettext = translations(language).gettext
    meeting = data["meeting"]
    title = f"{gettext('Minutes')}: {meeting['title']}"
    context = {
        "m": data,
        "lang": language,
        "_": gettext,
        "draft": draft,
        "title": title,
        "author": meeting["body"] or (data["secretary"] or {}).get("name", ""),
        "created": now.isoformat(timespec="seconds"),
        "modified": now.isoformat(timespec="seconds"),
        # stylesheets are ours, not user text: they must reach <style> unescaped
        "font_css": Markup(font_css()),
        "css": Markup((TEMPLATE_DIR / "minutes.css").read_text("utf-8")),
        "page_prefix": "Trang " if language == "vi" else "Page ",
        "page_sep": "/" if language == "vi" else " of ",
        "national_header": data["national_header"],
        "date_line": date_line(meeting["city"], _local_start(meeting), language),
        "section_labels": SECTION_LABELS,
        "audit": data["audit"],
        "status_line": status_line,
        "signers": _signers(data),
    }
    html = _environment().get_template("minutes.html").render(context)
    return Rendered(html, title)


SECTION_LABELS = [
    ("summary", "Discussion"),
    ("decisions", "Decisions"),
    ("conclusions", "Conclusions"),
    ("tasks", "Assigned tasks"),
]


def _local_start(meeting: dict[str, Any]) -> datetime | None:
    raw = meeting.get("starts_at_local")
    return datetime.fromisoformat(raw) if raw else None


def _signers(data: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    for role in data["sign_order"]:
        person = data.get(role) or {}
        found.append({"label": SIGNER_LABELS[role], "name": person.get("name", "")})
    return found


def write_pdf(html: str, *, variant: str | None = PDF_VARIANT) -> bytes:
    """Lay out ``html`` on A4 pages and return the PDF."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=str(TEMPLATE_DIR)).render()
    with warnings.catch_warnings():
        # WeasyPrint 70 opens its sRGB profile for PDF/A and never closes the file
        # (it has been read in full by then); nothing leaks but a file handle.
        warnings.filterwarnings(
            "ignore", "unclosed file.*sRGB2014.icc", ResourceWarning
        )
        return document.write_pdf(pdf_variant=variant)
