"""JSON endpoints: snapshot and commands (the same as over the socket).

Document routes live in server/web/library.py.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.commands import ensure_command_id, execute
from server.errors import InvalidInputError
from server.snapshot import build_snapshot
from server.web.limits import parse_message, person_key
from server.web._helpers import store_of, viewer_in_meeting

MAX_BODY = 64 * 1024


async def snapshot(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    data = await store_of(request).read(build_snapshot, viewer.meeting_id, viewer)
    return JSONResponse(data)


async def run_command(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    who = person_key(viewer.participant_id, viewer.meeting_id)
    request.app.state.command_limits.ensure_allowed(who)
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
        return parse_message(raw or b"{}")
    except InvalidInputError as exc:
        if exc.template == "The message is not valid JSON.":
            raise InvalidInputError("The request body is not valid JSON.") from None
        if exc.template == "Each message must be a JSON object with a type.":
            raise InvalidInputError("The request body must be a JSON object.") from None
        raise


routes = [
    Route("/api/meetings/{meeting_id:int}/snapshot", snapshot),
    Route("/api/meetings/{meeting_id:int}/commands", run_command, methods=["POST"]),
]
