"""Translations: gettext catalogs (.po) read with Babel, for pages and the tablet script.

English is the source language. A catalog is compiled in memory at start, so no
build step is needed after editing a .po file.
"""

from __future__ import annotations

import io
from functools import lru_cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


def pick_language(requested: str | None, fallback: str) -> str:
    if requested in LANGUAGES:
        return requested
    return fallback if fallback in LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def translations(language: str) -> NullTranslations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return GNUTranslations(buffer)


@lru_cache(maxsize=None)
def client_catalog(language: str) -> dict[str, str]:
    """Every translated message, for the tablet script's own texts."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {m.id: m.string for m in catalog if m.id and m.string and isinstance(m.id, str)}
