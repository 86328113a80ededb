"""Typed field reading for agenda files, collecting every problem on the way.

A `FieldReader` never raises for bad input. It records an `AgendaProblem` and
returns None, so that one pass over a file reports everything wrong with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from difflib import get_close_matches
from typing import Any

from server import _agendamessages as msg
from server._agendaspec import AgendaProblem

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
KEY_LIMIT = 64

# Letters that Unicode does not decompose into a base letter and a mark.
_PLAIN_LETTERS = str.maketrans(
    {"đ": "d", "Đ": "D", "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O"}
)


@dataclass(frozen=True)
class Place:
    """Where a table sits: `base` is its path, `noun` what it is to a person."""

    base: str
    noun: str
    csv: bool = False

    def of(self, field: str) -> str:
        if self.csv:
            return f"{self.base}, column {field}"
        return f"{self.base}.{field}" if self.base else field

    def entry(self, field: str, index: int, noun: str) -> Place:
        return Place(f"{self.of(field)}[{index}]", noun)


def clean_text(value: str) -> str:
    """Trim, unify line ends and normalise to NFC, as all text entering Plenary."""
    unified = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", unified).strip()


def clean_tree(value: Any) -> Any:
    """Normalise every string inside a free-form TOML value to NFC."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    return value


def slugify(text: str) -> str:
    """A key made from any text: 'Khai mạc' becomes 'khai-mac'."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PLAIN_LETTERS))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = re.sub(r"[^A-Za-z0-9_]+", "-", bare).strip("-").lower()
    return slug[:KEY_LIMIT].rstrip("-")


def is_key(value: str) -> bool:
    return KEY_PATTERN.fullmatch(value) is not None


def describe(value: Any) -> str:
    """What a value is, in words, without repeating a possibly huge value."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date without a time"
    if isinstance(value, time):
        return "a time without a date"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "a table"


class FieldReader:
    def __init__(self) -> None:
        self.problems: list[AgendaProblem] = []

    def report(self, where: str, message: str, line: int | None = None) -> None:
        self.problems.append(AgendaProblem(where, message, line))

    def wrong_type(self, place: Place, field: str, expected: str, value: Any) -> None:
        message = msg.WRONG_TYPE.format(
            field=field, expected=expected, got=describe(value)
        )
        self.report(place.of(field), message)

    def missing(self, place: Place, field: str) -> None:
        self.report(place.of(field), msg.MISSING.format(noun=place.noun, field=field))

    def check_fields(
        self, table: dict[str, Any], allowed: tuple[str, ...], place: Place
    ) -> None:
        for field in table:
            if field not in allowed:
                self.report(place.of(field), unknown_field(place.noun, field, allowed))

    def text(
        self,
        table: dict[str, Any],
        field: str,
        place: Place,
        limit: int,
        required: bool = False,
    ) -> str | None:
        value = table.get(field)
        if value is not None and not isinstance(value, str):
            self.wrong_type(place, field, "text in quotes", value)
            return None
        value = clean_text(value or "")
        if not value:
            if required:
                self.missing(place, field)
            return None
        if len(value) > limit:
            too_long = msg.TOO_LONG.format(field=field, length=len(value), limit=limit)
            self.report(place.of(field), too_long)
            return None
        return value

    def key(
        self, table: dict[str, Any], field: str, place: Place, required: bool = True
    ) -> str | None:
        value = self.text(table, field, place, limit=KEY_LIMIT, required=required)
        if value is None or is_key(value):
            return value
        self.report(place.of(field), bad_key(value))
        return None

    def flag(self, table: dict[str, Any], field: str, place: Place) -> bool:
        value = table.get(field, False)
        if isinstance(value, bool):
            return value
        self.wrong_type(place, field, "true or false", value)
        return False

    def tables(
        self, table: dict[str, Any], field: str, place: Place, noun: str
    ) -> list[tuple[Place, dict[str, Any]]]:
        """The entries of an array of tables, each with its place."""
        value = table.get(field, [])
        if not isinstance(value, list):
            self.wrong_type(place, field, "a list of tables", value)
            return []
        entries = []
        for index, entry in enumerate(value):
            if isinstance(entry, dict):
                entries.append((place.entry(field, index, noun), entry))
                continue
            got = describe(entry)
            message = msg.NOT_A_TABLE.format(field=field, index=index, got=got)
            self.report(f"{place.of(field)}[{index}]", message)
        return entries


def unknown_field(noun: str, field: str, allowed: tuple[str, ...]) -> str:
    hint = get_close_matches(field, allowed, n=1, cutoff=0.6)
    if hint:
        return msg.UNKNOWN_FIELD_HINT.format(noun=noun, field=field, hint=hint[0])
    names = ", ".join(allowed)
    return msg.UNKNOWN_FIELD.format(noun=noun, field=field, allowed=names)


def bad_key(value: str) -> str:
    shown = value if len(value) <= 80 else value[:77] + "..."
    example = slugify(value)
    if example:
        return msg.BAD_KEY.format(value=shown, example=example)
    return msg.BAD_KEY_NO_EXAMPLE.format(value=shown)
