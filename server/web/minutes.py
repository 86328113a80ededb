"""Minutes over HTTP: status, preview, draft PDF, finalize, sign, download, verify.

Writing the sections goes through the ``minutes.save`` command (socket or the
commands endpoint); rendering and signing take seconds, so they run here in a
worker thread, outside the write path.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from server.access import ensure_staff
from server.errors import InvalidInputError, NotAllowedError
from server.keys import keys_dir, trust_roots
from server.minutes import (
    collect_minutes,
    finalize_minutes,
    get_version,
    minutes_files,
    minutes_status,
    preview_html,
    render_minutes,
)
from server.signing import MAX_VERIFY_BYTES, sign_minutes, verify_pdf
from server.web._helpers import (
    FEATURE_SCRIPTS,
    language_of,
    render,
    store_of,
    viewer_in_meeting,
)

MAX_KEY_UPLOAD = 256 * 1024
PREVIEW_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; "
                  "img-src 'self' data:; frame-ancestors 'self'")


def _settings(request: Request):
    return request.app.state.settings


async def _staff(request: Request):
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    ensure_staff(viewer)
    return viewer


async def status(request: Request) -> Response:
    viewer = await _staff(request)
    data = await store_of(request).read(minutes_status, viewer.meeting_id)
    return JSONResponse(data)


async def preview(request: Request) -> Response:
    viewer = await _staff(request)
    html = await store_of(request).read(preview_html, viewer.meeting_id)
    # the secretary page shows the preview in a frame of its own origin; the
    # document has no script, and its stylesheet is inline like the PDF's
    return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_POLICY,
                                       "X-Frame-Options": "SAMEORIGIN",
                                       "Cache-Control": "no-store"})


async def draft_pdf(request: Request) -> Response:
    viewer = await _staff(request)
    data = await store_of(request).read(collect_minutes, viewer.meeting_id)
    _html, pdf = await asyncio.to_thread(render_minutes, data, draft=True)
    return _pdf_response(pdf, f"minutes-{viewer.meeting_id}-draft.pdf")


async def finalize(request: Request) -> Response:
    viewer = await _staff(request)
    files = minutes_files(_settings(request).data_dir)
    version = await asyncio.to_thread(
        finalize_minutes, store_of(request), files, viewer
    )
    return JSONResponse(version)


async def sign(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    async with request.form(max_files=1, max_fields=4) as form:
        key_file = await _read_upload(form.get("key_file"), MAX_KEY_UPLOAD)
        password = str(form.get("password") or "")
    settings = _settings(request)
    version = await asyncio.to_thread(
        sign_minutes,
        store_of(request),
        minutes_files(settings.data_dir),
        keys_dir(settings.data_dir),
        viewer,
        key_file,
        password,
    )
    return JSONResponse(version)


async def _read_upload(value: object, limit: int) -> bytes | None:
    if not isinstance(value, UploadFile):
        return None
    data = await value.read(limit + 1)
    if len(data) > limit:
        raise InvalidInputError("The file is too large.")
    return data or None


async def download(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    number = request.path_params["number"]
    version = await store_of(request).read(get_version, viewer.meeting_id, number)
    if not viewer.is_staff and version.signed_at is None:
        raise NotAllowedError(
            "The minutes can be downloaded by everyone once the chair and the secretary have signed them."
        )
    files = minutes_files(_settings(request).data_dir)
    pdf = await asyncio.to_thread(files.get, version.current_sha256)
    return _pdf_response(pdf, f"minutes-{viewer.meeting_id}-v{number}.pdf")


def _pdf_response(pdf: bytes, filename: str) -> Response:
    headers = {
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "private, no-store",
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


# -- verification, open to anyone ------------------------------------------------


async def verify_page(request: Request) -> Response:
    language = language_of(request, "vi")
    return render(request, "verify.html", language, report=None, filename="")


async def verify_upload(request: Request) -> Response:
    async with request.form(
        max_files=1, max_fields=2, max_part_size=MAX_VERIFY_BYTES
    ) as form:
        upload = form.get("file")
        data = await _read_upload(upload, MAX_VERIFY_BYTES)
        filename = getattr(upload, "filename", "") or ""
    if data is None:
        raise InvalidInputError("Choose a PDF file to check.")
    roots = await asyncio.to_thread(trust_roots, keys_dir(_settings(request).data_dir))
    report = (await asyncio.to_thread(verify_pdf, data, roots)).as_dict()
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"filename": filename, **report})
    language = language_of(request, "vi")
    return render(request, "verify.html", language, report=report, filename=filename)


routes = [
    Route("/api/meetings/{meeting_id:int}/minutes", status),
    Route(
        "/api/meetings/{meeting_id:int}/minutes/finalize", finalize, methods=["POST"]
    ),
    Route("/api/meetings/{meeting_id:int}/minutes/sign", sign, methods=["POST"]),
    Route("/m/{meeting_id:int}/minutes/preview", preview),
    Route("/m/{meeting_id:int}/minutes/draft.pdf", draft_pdf),
    Route("/m/{meeting_id:int}/minutes/v{number:int}.pdf", download),
    Route("/verify", verify_page, methods=["GET"]),
    Route("/verify", verify_upload, methods=["POST"]),
]

if "minutes.js" not in FEATURE_SCRIPTS:
    FEATURE_SCRIPTS.append("minutes.js")
