"""The one kind of byte range PDF.js asks for: ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n``.

Everything else (several ranges, ``If-Range``, a range outside the file) is
left to Starlette's FileResponse, which answers it by the HTTP rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

UNHANDLED = (-1, -1)
_SINGLE = re.compile(r"bytes=(\d*)-(\d*)")


def single_range(headers: Mapping[str, str], size: int) -> tuple[int, int] | None:
    """(first, last) byte of the requested range; None for the whole file; else UNHANDLED."""
    asked = headers.get("range")
    if asked is None:
        return None
    match = _SINGLE.fullmatch(asked.strip())
    if match is None or "if-range" in headers or size == 0:
        return UNHANDLED
    first, last = match.groups()
    if not first:  # the last n bytes
        if not last or int(last) == 0:
            return UNHANDLED
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return UNHANDLED
    return start, end
