"""Document routes: files, thumbnails, uploads, versions, search, notes, offline book.

Every route that names a document answers "not found" to a viewer who may not
read it, the same as for a document that does not exist.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from pathlib import Path
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from server import book, library, notes, search, thumbnails
from server.readcache import BlobCache, GrantCache
from server.web import ranges
from server.access import Viewer, check_projector_key, get_viewer
from server.documents import blob_path, can_download, list_documents
from server.errors import (
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
    NotLoggedInError,
)
from server.models import utcnow
from server.watermark import stamp_pdf, watermark_text
from server.web._helpers import current_viewer, store_of, viewer_in_meeting

log = logging.getLogger(__name__)
MAX_JSON = 256 * 1024
STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "client_web" / "static"


async def viewer_of(request: Request) -> Viewer:
    """The logged-in participant, or the projector when the URL carries its key."""
    projector = request.query_params.get("projector", "")
    if projector.isdigit():
        key = request.query_params.get("key", "")
        return await store_of(request).read(check_projector_key, int(projector), key)
    return await current_viewer(request)


def _documents_dir(request: Request) -> Path:
    return request.app.state.settings.documents_dir


async def _json(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_JSON:
        raise InvalidInputError("The request is too large: at most 256 KB are accepted.")
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidInputError("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInputError("The request body must be a JSON object.")
    return data


def _meeting_timezone(session, meeting_id: int) -> str:
    from server.models import Meeting
    return session.get(Meeting, meeting_id).timezone


# -- files -----------------------------------------------------------------------


def _reader_and_document(session, token: str | None, document_id: int):
    viewer = get_viewer(session, token)
    return viewer, *library.get_readable(session, viewer, document_id)


def _caches(request: Request) -> tuple[GrantCache | None, BlobCache]:
    """Made on first use. Grants only with the local broker: one server process
    sees every write, so it can forget a grant the moment access changes."""
    state = request.app.state
    if not hasattr(state, "blob_cache"):
        state.blob_cache = BlobCache()
        state.grant_cache = GrantCache() if state.broker.name == "local" else None
    return state.grant_cache, state.blob_cache


async def _reader(request: Request, document_id: int):
    """Viewer, document and policy: from a recent grant, or one database trip."""
    grants, _ = _caches(request)
    token = request.session.get("token")
    if grants is None or not token:
        return await store_of(request).read(_reader_and_document, token, document_id)
    grant = grants.lookup(token, document_id)
    if grant is not None:
        return grant.viewer, grant.document, grant.policy
    epoch = grants.epoch()
    viewer, doc, policy = await store_of(request).read(_reader_and_document, token, document_id)
    grants.remember(token, viewer, doc, policy, epoch)
    return viewer, doc, policy


async def document_file(request: Request) -> Response:
    store = store_of(request)
    document_id = request.path_params["document_id"]
    if request.query_params.get("projector"):
        viewer = await viewer_of(request)
        doc, policy = await store.read(library.get_readable, viewer, document_id)
    else:  # this route is what a hall of tablets hits: no database trip when cached
        viewer, doc, policy = await _reader(request, document_id)
    download = request.query_params.get("download") == "1"
    if download and not can_download(viewer, doc, policy):
        raise NotAllowedError("The organizer has not allowed downloading this document. You can read it on the tablet.")
    path = blob_path(_documents_dir(request), doc.sha256)
    disposition = "attachment" if download else "inline"
    # no-cache: the tablet's browser keeps the file but asks again on every open,
    # so a reader whose access was withdrawn no longer opens it from the cache;
    # an unchanged file costs the access check and a 304 without its bytes.
    etag = f'"{doc.sha256[:32]}"'
    headers = {"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(doc.filename or 'document.pdf')}",
               "Cache-Control": "private, no-cache", "ETag": etag}
    if not doc.confidential:
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "private, no-cache"})
        accel = request.app.state.settings.accel_redirect
        if accel:  # the proxy sends the bytes, ranges included
            return _handed_to_proxy(accel, doc.sha256, headers)
        return await _open_file(request, doc.sha256, path, headers)
    zone = await store.read(_meeting_timezone, doc.meeting_id)
    return await _stamped(path, watermark_text(viewer.name, utcnow(), zone), headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _handed_to_proxy(location: str, sha256: str, headers: dict[str, str]) -> Response:
    """Let nginx send the stored file (X-Accel-Redirect into an internal location)."""
    target = f"{location.rstrip('/')}/{sha256[:2]}/{sha256}.pdf"
    return Response(b"", media_type="application/pdf",
                    headers={**headers, "X-Accel-Redirect": target})


async def _open_file(request: Request, sha256: str, path: Path,
                     headers: dict[str, str]) -> Response:
    """An open document, whole or one byte range, from memory when it is small.

    Anything this does not handle itself (several ranges, If-Range, a range
    that cannot be served, a large file) goes to Starlette's FileResponse.
    """
    _, blobs = _caches(request)
    data = blobs.get(sha256)
    if data is None:
        data = await asyncio.to_thread(blobs.load, sha256, path)
    span = ranges.single_range(request.headers, len(data)) if data is not None else None
    if data is None or span is ranges.UNHANDLED:
        return FileResponse(path, media_type="application/pdf", headers=headers)
    headers = {**headers, "Accept-Ranges": "bytes"}
    if span is None:
        return Response(data, media_type="application/pdf", headers=headers)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
    return Response(data[start:end + 1], status_code=206, media_type="application/pdf",
                    headers=headers)


async def _stamped(path: Path, text: str, headers: dict[str, str]) -> Response:
    """A copy stamped for this reader, sent whole (no ranges: it differs per request)."""
    handle = tempfile.NamedTemporaryFile(suffix=".pdf", delete=False)
    handle.close()
    target = Path(handle.name)
    await asyncio.to_thread(stamp_pdf, path, target, text)
    headers = {**headers, "Cache-Control": "private, no-store"}
    response = FileResponse(target, media_type="application/pdf", headers=headers,
                            background=BackgroundTask(target.unlink, missing_ok=True))
    del response.headers["accept-ranges"]
    return response


async def document_thumbnail(request: Request) -> Response:
    viewer = await viewer_of(request)
    doc, _ = await store_of(request).read(library.get_readable, viewer,
                                          request.path_params["document_id"])
    thumb = await thumbnails.thumbnail(_documents_dir(request), doc.sha256)
    return FileResponse(thumb, media_type="image/png",
                        headers={"Cache-Control": "private, max-age=86400"})


async def document_page(request: Request) -> Response:
    """The tablet page with the reader opened on one document."""
    meeting_id = request.path_params["meeting_id"]
    viewer = await viewer_in_meeting(request, meeting_id)
    doc, _ = await store_of(request).read(library.get_readable, viewer,
                                          request.path_params["document_id"])
    return RedirectResponse(f"/m/{meeting_id}?doc={doc.id}", status_code=303)


# -- library ---------------------------------------------------------------------


async def library_list(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    docs = await store_of(request).read(list_documents, viewer.meeting_id, viewer)
    return JSONResponse({"documents": docs})


async def _receive(request: Request, viewer: Viewer) -> library.PreparedFile:
    library.ensure_organizer(viewer)
    settings = request.app.state.settings
    declared = request.headers.get("content-length")
    upload = await library.receive_upload(
        request.stream(), settings.documents_dir / "uploads",
        settings.max_upload_mb * (1 << 20),
        int(declared) if declared and declared.isdigit() else None)
    filename = request.query_params.get("filename") or "document.pdf"
    return await asyncio.to_thread(library.prepare_upload, settings.documents_dir,
                                   upload, filename)


def _optional_int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise InvalidInputError("{name} must be a whole number.", name=name)
    return int(value)


async def upload_document(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    prepared = await _receive(request, viewer)
    params = request.query_params
    result = await store_of(request).write(
        library.add_document, viewer, prepared, params.get("title", ""),
        _optional_int(params.get("item_id"), "item_id"), params.get("confidential") == "1")
    _index(request, [prepared.sha256])
    return JSONResponse(result, status_code=201)


async def replace_document(request: Request) -> Response:
    viewer = await current_viewer(request)
    prepared = await _receive(request, viewer)
    expected = _optional_int(request.query_params.get("version"), "version")
    result = await store_of(request).write(
        library.replace_document, viewer, request.path_params["document_id"],
        prepared, expected)
    _index(request, [prepared.sha256])
    return JSONResponse(result)


def _index(request: Request, hashes: list[str]) -> None:
    """Read the new file's text in the background: the upload is answered first."""
    request.app.state.text_indexer.schedule(hashes)


async def document_versions(request: Request) -> Response:
    viewer = await current_viewer(request)
    versions = await store_of(request).read(library.list_versions, viewer,
                                            request.path_params["document_id"])
    return JSONResponse({"versions": versions})


# -- search ----------------------------------------------------------------------


async def search_documents(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    query = search.ensure_query(request.query_params.get("q", ""))
    store = store_of(request)
    missing = await store.read(search.missing_text, viewer.meeting_id)
    if missing:  # files still being read, or never read (uploaded before a restart)
        await request.app.state.text_indexer.wait(missing, search.SEARCH_WAIT)
    result = await store.read(search.search_meeting, viewer.meeting_id, viewer, query)
    return JSONResponse(result)


# -- notes -----------------------------------------------------------------------


async def document_notes(request: Request) -> Response:
    viewer = await current_viewer(request)
    doc_id = request.path_params["document_id"]
    store = store_of(request)
    if request.method == "GET":
        return JSONResponse({"notes": await store.read(notes.list_notes, viewer, doc_id)})
    body = await _json(request)
    note = await store.write(notes.add_note, viewer, doc_id, body.get("page"),
                             body.get("kind"), body.get("data"))
    return JSONResponse(note, status_code=201)


async def one_note(request: Request) -> Response:
    viewer = await current_viewer(request)
    note_id = request.path_params["note_id"]
    if request.method == "DELETE":
        return JSONResponse(await store_of(request).write(notes.remove_note, viewer, note_id))
    body = await _json(request)
    return JSONResponse(await store_of(request).write(notes.change_note, viewer, note_id,
                                                      body.get("data")))


async def notes_export(request: Request) -> Response:
    viewer = await current_viewer(request)
    doc_id = request.path_params["document_id"]
    handle = tempfile.NamedTemporaryFile(suffix=".pdf", delete=False)
    handle.close()
    target = Path(handle.name)
    try:
        await store_of(request).read(_export, viewer, doc_id, _documents_dir(request), target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return FileResponse(target, media_type="application/pdf", filename="notes.pdf",
                        headers={"Cache-Control": "private, no-store"},
                        background=BackgroundTask(target.unlink, missing_ok=True))


def _export(session, viewer: Viewer, doc_id: int, documents_dir: Path, target: Path) -> int:
    return notes.export_notes(session, viewer, doc_id, documents_dir, target, utcnow())


# -- offline book ----------------------------------------------------------------


async def book_manifest(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    manifest = await store_of(request).read(book.book_manifest, viewer,
                                            request.query_params.get("device", ""))
    return JSONResponse(manifest, headers={"Cache-Control": "no-store"})


async def book_report(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    body = await _json(request)
    store = store_of(request)
    what = request.path_params["what"]
    if what not in ("taken", "deleted"):
        raise NotFoundError("This page does not exist.")
    if what == "taken":
        result = await store.write(book.record_taken, viewer, body.get("device"),
                                   _count(body, "documents"), _count(body, "size"))
    else:
        result = await store.write(book.record_deleted, viewer, body.get("device"))
    return JSONResponse(result)


def _count(body: dict, name: str) -> int:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError("{name} must be a whole number of at least 0.", name=name)
    return value


async def book_copies(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    return JSONResponse({"copies": await store_of(request).read(book.list_copies, viewer)})


async def end_sessions(request: Request) -> Response:
    """Log a participant out everywhere, and close their open sockets now."""
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    participant_id = request.path_params["participant_id"]
    result = await store_of(request).write(book.end_sessions, viewer, participant_id)
    ended = NotLoggedInError("The organizer has ended your session. Please log in again with your access code.")
    goodbye = {"type": "error", "id": None, **ended.as_dict()}
    await request.app.state.hub.close_person(viewer.meeting_id, participant_id, goodbye)
    return JSONResponse(result)


async def service_worker(request: Request) -> Response:
    """The offline book's service worker, served from the root so it may serve /documents."""
    return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})


routes = [
    Route("/documents/{document_id:int}", document_file),
    Route("/documents/{document_id:int}/thumbnail", document_thumbnail),
    Route("/documents/{document_id:int}/notes.pdf", notes_export),
    Route("/m/{meeting_id:int}/documents/{document_id:int}", document_page),
    Route("/api/meetings/{meeting_id:int}/library", library_list),
    Route("/api/meetings/{meeting_id:int}/documents", upload_document, methods=["POST"]),
    Route("/api/documents/{document_id:int}/replace", replace_document, methods=["POST"]),
    Route("/api/documents/{document_id:int}/versions", document_versions),
    Route("/api/meetings/{meeting_id:int}/search", search_documents),
    Route("/api/documents/{document_id:int}/notes", document_notes, methods=["GET", "POST"]),
    Route("/api/notes/{note_id:int}", one_note, methods=["PUT", "DELETE"]),
    Route("/api/meetings/{meeting_id:int}/book", book_manifest),
    Route("/api/meetings/{meeting_id:int}/book/{what:str}", book_report, methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/book-copies", book_copies),
    Route("/api/meetings/{meeting_id:int}/participants/{participant_id:int}/end-sessions",
          end_sessions, methods=["POST"]),
    Route("/sw.js", service_worker),
]
