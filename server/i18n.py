"""Translations: gettext catalogs (.po) read with Babel, for pages and the tablet script.

English is the source language. Each capability keeps its own file,
``server/locale/<language>/<capability>.po``; they are merged and compiled in
memory at start, so no build step is needed after editing one.
"""

from __future__ import annotations

import io
from functools import lru_cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

from babel.messages.catalog import Catalog
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
def load_catalog(language: str) -> Catalog:
    """All .po files of a language (one per capability), merged into one catalog."""
    merged = Catalog(locale=language)
    for path in sorted((LOCALE_DIR / language).glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id and message.string:
                    merged[message.id] = message
    return merged


@lru_cache(maxsize=None)
def translations(language: str) -> NullTranslations:
    catalog = load_catalog(language)
    if not len(catalog):
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return GNUTranslations(buffer)


@lru_cache(maxsize=None)
def client_catalog(language: str) -> dict[str, str]:
    """Every translated message, for the tablet script's own texts."""
    return {m.id: m.string for m in load_catalog(language)
            if isinstance(m.id, str) and m.string}
