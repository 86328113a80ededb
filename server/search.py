"""Full-text search across a meeting's documents, with or without Vietnamese tone marks.

Rules:
- Each stored file's text is read once, page by page, and kept with its hash;
  the same file attached twice is read once.
- A query typed without tone marks ("nghi dinh") finds the words with them
  ("Nghị định"); a query typed with tone marks finds only that spelling.
  Case never matters, and đ counts as d when the query has no marks.
- A viewer only ever gets hits from documents the viewer may read.
- A scanned document without a text layer is listed as such ("no text layer")
  instead of failing the search; so is a file no reader can open, and a file
  whose text could not be extracted in ``EXTRACT_TIMEOUT`` seconds (a PDF whose
  pages inflate to hundreds of megabytes).
- Text is read after the upload is answered, in the background, once per file
  at a time; a search waits a little for files still being read and names
  those it could not wait for.

Text comes from ``pdftotext`` (poppler) when it is installed: it is a C program,
reads a 1,000-page book in about a second, copes with damaged files and keeps
Vietnamese characters better than the pure-Python reader, which is the
fallback (pypdf).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from server.access import Viewer
from server.documents import blob_path, readable_documents
from server.errors import InvalidInputError
from server.models import Document, PageText, TextLayer

log = logging.getLogger(__name__)
EXTRACT_TIMEOUT = 60.0
SEARCH_WAIT = 5.0  # how long a search waits for files still being read
MAX_HITS = 50
SNIPPET = 60
MIN_QUERY = 2
MAX_QUERY = 200
NO_TEXT = "none"
UNREADABLE = "unreadable"
HAS_TEXT = "text"
TOO_SLOW = "timeout"
REASONS = {NO_TEXT: "no text layer", UNREADABLE: "unreadable",
           TOO_SLOW: "text could not be extracted", None: "not read yet"}


def fold(text: str) -> str:
    """Lower case without tone marks or accents: "Nghị Định" -> "nghi dinh"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(bare.lower().split())


def squash(text: str) -> str:
    """Lower case with tone marks kept, composed and with single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def has_marks(query: str) -> bool:
    return fold(query) != " ".join(query.lower().split())


@dataclass
class TextRead:
    state: str
    pages: list[str]


def read_text(path: Path, timeout: float | None = None) -> TextRead:
    """The text of every page; ``state`` says whether there was any to read."""
    pages = None
    if shutil.which("pdftotext"):
        try:
            pages = _pdftotext(path, EXTRACT_TIMEOUT if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            log.warning("Reading the text of %s took too long; search skips it.", path.name)
            return TextRead(TOO_SLOW, [])
    if pages is None:
        pages = _pypdf_text(path)
    return _text_read(pages)


def _text_read(pages: list[str] | None) -> TextRead:
    if pages is None:
        return TextRead(UNREADABLE, [])
    if not any(page.strip() for page in pages):
        return TextRead(NO_TEXT, pages)
    return TextRead(HAS_TEXT, pages)


def _pdftotext(path: Path, timeout: float) -> list[str] | None:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", "-q", str(path), "-"],
                          capture_output=True, timeout=timeout)
    if done.returncode != 0 and not done.stdout:
        return None
    pages = done.stdout.decode("utf-8", "replace").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def _pypdf_text(path: Path) -> list[str] | None:
    from pypdf import PdfReader

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            reader.decrypt("")
        return [page.extract_text() or "" for page in reader.pages]
    except Exception:  # a damaged file: search says so instead of failing
        return None


def store_text(session: Session, sha256: str, read: TextRead) -> None:
    """Keep the text of a stored file (once per hash)."""
    if session.get(TextLayer, sha256) is not None:
        return
    session.add(TextLayer(sha256=sha256, state=read.state, pages=len(read.pages)))
    if read.state != HAS_TEXT:
        return
    for number, text in enumerate(read.pages, start=1):
        session.add(PageText(sha256=sha256, page=number, text=text, folded=fold(text)))


def missing_text(session: Session, meeting_id: int) -> list[str]:
    """Hashes of the meeting's documents whose text was not read yet."""
    stmt = select(Document.sha256).where(Document.meeting_id == meeting_id,
                                         Document.removed == False)  # noqa: E712
    hashes = set(session.exec(stmt))
    known = set(session.exec(select(TextLayer.sha256).where(
        col(TextLayer.sha256).in_(hashes)))) if hashes else set()
    return sorted(hashes - known)


def index_files(store, documents_dir: Path, hashes: list[str]) -> None:
    """Read and keep the text of stored files (blocking: call it in a thread)."""
    for sha256 in hashes:
        path = blob_path(documents_dir, sha256)
        read = read_text(path) if path.exists() else TextRead(UNREADABLE, [])
        store.write_sync(store_text, sha256, read)


class TextIndexer:
    """Reads the text of stored files in the background, each file once at a time.

    The upload is answered first; a file that takes longer than ``timeout``
    seconds is recorded as "text could not be extracted" and never read again.
    """

    def __init__(self, store, documents_dir: Path, timeout: float | None = None) -> None:
        self.store = store
        self.documents_dir = documents_dir
        self.timeout = timeout  # None: EXTRACT_TIMEOUT
        self.running: dict[str, asyncio.Task] = {}

    def schedule(self, hashes: list[str]) -> list[asyncio.Task]:
        """Start reading the files not being read yet; return the tasks of all."""
        for sha256 in hashes:
            if sha256 not in self.running:
                task = asyncio.ensure_future(self._index(sha256))
                self.running[sha256] = task
                task.add_done_callback(lambda _t, sha=sha256: self.running.pop(sha, None))
        return [self.running[sha] for sha in hashes if sha in self.running]

    async def wait(self, hashes: list[str], timeout: float) -> None:
        tasks = self.schedule(hashes)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def close(self) -> None:
        """Stop reading (the server stops): a file not read is read at the next search."""
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _index(self, sha256: str) -> None:
        path = blob_path(self.documents_dir, sha256)
        timeout = EXTRACT_TIMEOUT if self.timeout is None else self.timeout
        try:
            read = TextRead(UNREADABLE, [])
            if path.exists():
                read = await extract_text(path, timeout)
            await self.store.write(store_text, sha256, read)
        except asyncio.CancelledError:
            raise
        except Exception:  # the upload is done; search names the file as unreadable
            log.exception("Reading the text of %s failed.", sha256)


async def extract_text(path: Path, timeout: float) -> TextRead:
    """Like :func:`read_text`, with pdftotext in a child process killed after ``timeout``."""
    if not shutil.which("pdftotext"):
        return await asyncio.to_thread(read_text, path)
    child = await asyncio.create_subprocess_exec(
        "pdftotext", "-enc", "UTF-8", "-q", str(path), "-",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        out, _ = await asyncio.wait_for(child.communicate(), timeout)
    except asyncio.TimeoutError:
        log.warning("Reading the text of %s took too long; search skips it.", path.name)
        return TextRead(TOO_SLOW, [])
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    if child.returncode != 0 and not out:
        return await asyncio.to_thread(_text_read_pypdf, path)
    pages = out.decode("utf-8", "replace").split("\f")
    return _text_read(pages[:-1] if pages and not pages[-1].strip() else pages)


def _text_read_pypdf(path: Path) -> TextRead:
    return _text_read(_pypdf_text(path))


def ensure_query(query: str) -> str:
    query = " ".join(query.split())
    if len(query) < MIN_QUERY:
        raise InvalidInputError("Type at least {count} letters to search.", count=MIN_QUERY)
    if len(query) > MAX_QUERY:
        raise InvalidInputError("A search can be at most {count} characters long.", count=MAX_QUERY)
    return query


def search_meeting(session: Session, meeting_id: int, viewer: Viewer, query: str) -> dict:
    """Hits (document, page, snippet) in the documents ``viewer`` may read."""
    query = ensure_query(query)
    docs = {doc.sha256: doc for doc, _policy in
            readable_documents(session, meeting_id, viewer)}
    layers = _layers(session, list(docs))
    hits = _find_pages(session, docs, query) if docs else []
    silent = [{"document_id": doc.id, "title": doc.title, "reason": REASONS.get(layers.get(sha), "unreadable")}
              for sha, doc in docs.items() if layers.get(sha) != HAS_TEXT]
    return {"query": query, "hits": hits, "not_searched": silent}


def _layers(session: Session, hashes: list[str]) -> dict[str, str]:
    if not hashes:
        return {}
    stmt = select(TextLayer).where(col(TextLayer.sha256).in_(hashes))
    return {layer.sha256: layer.state for layer in session.exec(stmt)}


def _find_pages(session: Session, docs: dict[str, Document], query: str) -> list[dict]:
    folded_query = fold(query)
    exact = squash(query) if has_marks(query) else None
    pattern = "%" + folded_query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmt = (select(PageText).where(col(PageText.sha256).in_(list(docs)),
                                   col(PageText.folded).like(pattern, escape="\\"))
            .order_by(col(PageText.sha256), col(PageText.page)))
    hits = []
    for row in session.exec(stmt):
        text = squash(row.text)
        if exact is not None and exact not in text:
            continue
        doc = docs[row.sha256]
        hits.append({"document_id": doc.id, "title": doc.title, "page": row.page,
                     "snippet": _snippet(row.text, exact or folded_query, exact is not None)})
        if len(hits) >= MAX_HITS:
            break
    order = {doc.id: index for index, doc in enumerate(docs.values())}
    hits.sort(key=lambda hit: (order[hit["document_id"]], hit["page"]))
    return hits


def _snippet(text: str, needle: str, marked: bool) -> str:
    """A few words around the first match, in the document's own spelling."""
    plain = " ".join(unicodedata.normalize("NFC", text).split())
    haystack = squash(plain) if marked else fold(plain)
    at = haystack.find(needle)
    if at < 0 or len(haystack) != len(plain):
        at = max(at, 0)
    start, end = max(0, at - SNIPPET), min(len(plain), at + len(needle) + SNIPPET)
    return ("…" if start else "") + plain[start:end] + ("…" if end < len(plain) else "")
