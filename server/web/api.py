"""JSON endpoints: snapshot, commands (the same as over the socket), documents, health."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from server.commands import ensure_command_id, execute
from server.documents import blob_path, can_read
from server.errors import InvalidInputError, NotFoundError
from server.models import Document
from server.snapshot import build_snapshot
from server.web._helpers import current_viewer, store_of, viewer_in_meeting

MAX_BODY = 64 * 1024


async def snapshot(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    data = await store_of(request).read(build_snapshot, viewer.meeting_id, viewer)
    return JSONResponse(data)


async def run_command(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    body = await _json_body(request)
    command_id = ensure_command_id(body.get("id"))
    args = body.get("args") or {}
    if not isinstance(args, dict):
        raise InvalidInputError("The command's args must be an object.")
    response = await store_of(request).write(execute, viewer, body.get("name"), command_id, args)
    return JSONResponse({"id": command_id, **response})


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInputError("The request is too large: at most 64 KB are accepted.")
    try:
        import json
        data = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidInputError("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInputError("The request body must be a JSON object.")
    return data


async def document_file(request: Request) -> Response:
    viewer = await current_viewer(request)
    doc_id = request.path_params["document_id"]
    doc = await store_of(request).read(_get_document, doc_id)
    if doc is None or doc.meeting_id != viewer.meeting_id or not can_read(viewer, doc):
        # the same answer whether it exists or not: nothing to learn by probing
        raise NotFoundError("This document does not exist or is not shared with you.")
    path = blob_path(request.app.state.settings.documents_dir, doc.sha256)
    headers = {"Content-Disposition": f"inline; filename*=UTF-8''{_quote(doc.filename)}",
               "Cache-Control": "private, max-age=3600"}
    return FileResponse(path, media_type="application/pdf", headers=headers)


def _get_document(session, doc_id: int) -> Document | None:
    doc = session.get(Document, doc_id)
    return None if doc is None or doc.removed else doc


def _quote(name: str) -> str:
    from urllib.parse import quote
    return quote(name or "document.pdf")


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


routes = [
    Route("/api/meetings/{meeting_id:int}/snapshot", snapshot),
    Route("/api/meetings/{meeting_id:int}/commands", run_command, methods=["POST"]),
    Route("/documents/{document_id:int}", document_file),
    Route("/healthz", health),
]
