"""Thumbnails: the first page of a stored file as a small PNG, drawn once.

Rules:
- A thumbnail is drawn by pdftoppm at most once per stored file (one document
  version) and kept in the store's ``thumbnails`` folder.
- A drawing that takes longer than ``RENDER_TIMEOUT`` seconds is stopped (a PDF
  whose page inflates to hundreds of megabytes would keep a core busy for
  minutes). The failure is remembered next to the thumbnails, so later requests
  answer at once instead of drawing again.
- Requests for the same thumbnail at the same time share one drawing.
- A thumbnail that cannot be drawn is "not found", with a sentence saying why;
  the document itself still opens.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from server.documents import blob_path
from server.errors import NotFoundError

log = logging.getLogger(__name__)
RENDER_TIMEOUT = 10.0
WIDTH = 240
NOT_DRAWN = "The first page of this document could not be drawn, so it has no thumbnail. The document itself can still be opened."
_drawing: dict[Path, asyncio.Task] = {}


def thumbnail_path(documents_dir: Path, sha256: str) -> Path:
    return documents_dir / "thumbnails" / f"{sha256}.png"


def failure_path(documents_dir: Path, sha256: str) -> Path:
    return documents_dir / "thumbnails" / f"{sha256}.failed"


async def thumbnail(documents_dir: Path, sha256: str) -> Path:
    """The thumbnail of a stored file, drawn now if it is the first request."""
    target = thumbnail_path(documents_dir, sha256)
    if target.exists():
        return target
    if failure_path(documents_dir, sha256).exists():
        raise NotFoundError(NOT_DRAWN)
    if shutil.which("pdftoppm") is None:
        raise NotFoundError("This server cannot draw page thumbnails (poppler is not installed).")

    task = _drawing.get(target)
    if task is None:
        task = asyncio.ensure_future(_draw(documents_dir, sha256))
        _drawing[target] = task
        task.add_done_callback(lambda _done: _drawing.pop(target, None))
    if not await asyncio.shield(task):
        raise NotFoundError(NOT_DRAWN)
    return target


async def _draw(documents_dir: Path, sha256: str) -> bool:
    """Run pdftoppm on page 1; on failure or timeout, remember it and say False."""
    target = thumbnail_path(documents_dir, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = target.with_name(target.stem + ".part")  # pdftoppm adds ".png"
    produced = Path(f"{stem}.png")
    args = ["pdftoppm", "-q", "-png", "-singlefile", "-f", "1", "-l", "1",
            "-scale-to", str(WIDTH), str(blob_path(documents_dir, sha256)), str(stem)]
    finished = await _run(args, RENDER_TIMEOUT)

    if finished and produced.exists():
        produced.replace(target)
        return True
    produced.unlink(missing_ok=True)
    failure_path(documents_dir, sha256).write_text(
        "timeout\n" if not finished else "no page drawn\n")
    log.warning("No thumbnail for %s (%s).", sha256,
                "took too long" if not finished else "no page drawn")
    return False


async def _run(args: list[str], timeout: float) -> bool:
    """Run a program; False when it did not finish within ``timeout`` (it is killed)."""
    child = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.wait_for(child.wait(), timeout)
        return True
    except asyncio.TimeoutError:
        return False
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
