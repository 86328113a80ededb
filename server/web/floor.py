"""HTTP for the meeting floor: counts by hand, result exports, the recount, the check-in page.

Everything that changes the record goes through the same commands as the
tablets (``execute``); this module only parses, checks who asks, and renders.
It also runs the small task that tells tablets, a few times a second at most,
how many ballots have been cast, and staff, every few seconds, who has not
voted yet.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from server import attendance, elections, speakers, voting  # noqa: F401  (commands)
from server.access import Viewer
from server.commands import ensure_command_id, execute
from server.errors import NotAllowedError, NotFoundError
from server.imports.tables import spreadsheet_safe
from server.meetings import get_meeting, meeting_view
from server.web._helpers import FEATURE_SCRIPTS, language_of, render, store_of, viewer_in_meeting
from server.web.api import _json_body

log = logging.getLogger(__name__)
PROGRESS_INTERVAL = 0.3  # seconds: at most about three progress messages a second
# seconds between two who-has-not-voted lists for staff: batches of many
# ballots, so the list never marks the moment of one ballot
VOTERS_INTERVAL = 5.0

if "floor.js" not in FEATURE_SCRIPTS:
    FEATURE_SCRIPTS.append("floor.js")


async def enter_counts(request: Request) -> Response:
    """POST the counts of a show of hands or of paper ballots: {id, yes, no, abstain, total}."""
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    body = await _json_body(request)
    command_id = ensure_command_id(body.pop("id", None))
    args = {**body, "poll_id": request.path_params["poll_id"]}
    response = await store_of(request).write(execute, viewer, "poll.enter_counts", command_id, args)
    return JSONResponse({"id": command_id, **response})


def _visible_result(session: Any, viewer: Viewer, poll_id: int) -> dict[str, Any]:
    poll = voting.get_poll(session, viewer.meeting_id, poll_id)
    if not poll.result_json or not (viewer.is_staff or poll.state == "published"):
        raise NotFoundError("The result of this vote is not published yet.")
    return voting.poll_result(session, poll_id)


def _visible_results(session: Any, viewer: Viewer) -> list[dict[str, Any]]:
    return [r for r in voting.list_poll_results(session, viewer.meeting_id)
            if viewer.is_staff or r["state"] == "published"]


async def result_json(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    result = await store_of(request).read(_visible_result, viewer, request.path_params["poll_id"])
    return _download(json.dumps(result, ensure_ascii=False, indent=2), "json",
                     f"vote-{result['poll_id']}")


async def result_csv(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    result = await store_of(request).read(_visible_result, viewer, request.path_params["poll_id"])
    return _download(results_to_csv([result]), "csv", f"vote-{result['poll_id']}")


async def results_export(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    if request.path_params["fmt"] not in ("csv", "json"):
        raise NotFoundError("Results are exported as results.csv or results.json.")
    results = await store_of(request).read(_visible_results, viewer)
    name = f"meeting-{viewer.meeting_id}-results"
    if request.path_params["fmt"] == "csv":
        return _download(results_to_csv(results), "csv", name)
    return _download(json.dumps(results, ensure_ascii=False, indent=2), "json", name)


def _download(text: str, fmt: str, name: str) -> Response:
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    body = ("\ufeff" + text) if fmt == "csv" else text  # the BOM lets spreadsheets read UTF-8
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    return Response(body, media_type=media, headers=headers)


CSV_COLUMNS = ("poll_id", "title", "kind", "mode", "state", "rule", "option", "count",
               "percent", "base", "base_count", "elected", "outcome", "outcome_text",
               "ballot_hash")


def results_to_csv(results: list[dict[str, Any]]) -> str:
    """One row per option (yes, no, abstain, or candidate), then the totals."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for result in results:
        for row in _csv_rows(result):
            # names and titles come from imported files: =, +, - or @ at the start
            # would run as a formula in a spreadsheet
            writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return out.getvalue()


def _csv_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    common = {"poll_id": r["poll_id"], "title": r["title"], "kind": r["kind"],
              "mode": r["mode"], "state": r["state"], "rule": r.get("rule_text") or r.get("threshold_text"),
              "base": r.get("base_text"), "base_count": r.get("base"),
              "outcome": r.get("outcome"), "outcome_text": r.get("outcome_text"),
              "ballot_hash": r.get("ballot_hash", "")}
    if r["kind"] == "election":
        options = [(c["name"], c["votes"], c["percent"], "yes" if c["elected"] else
                    ("runoff" if c["runoff"] else "no")) for c in r["candidates"]]
        totals = ("valid", "blank", "invalid", "ballots", "members", "present")
    else:
        options = [(c, r["counts"][c], r["percent"][c], "") for c in ("yes", "no", "abstain")]
        totals = ("ballots", "members", "present")
    rows = [{**common, "option": o, "count": n, "percent": "" if p is None else p, "elected": e}
            for o, n, p, e in options]
    rows += [{**common, "option": t, "count": r.get(t)} for t in totals]
    return rows


async def recount(request: Request) -> Response:
    viewer = await viewer_in_meeting(request, request.path_params["meeting_id"])
    if not viewer.is_staff:
        raise NotAllowedError("Only the chair, the secretary or the organizer may do this.")
    poll_id = request.path_params["poll_id"]
    await store_of(request).read(voting.get_poll, viewer.meeting_id, poll_id)
    found = await store_of(request).read(voting.recount_poll, poll_id)
    return JSONResponse(found)


async def checkin_page(request: Request) -> Response:
    meeting_id = request.path_params["meeting_id"]
    viewer = await viewer_in_meeting(request, meeting_id)
    if not viewer.is_staff:
        return RedirectResponse(f"/m/{meeting_id}", status_code=303)
    meeting = await store_of(request).read(get_meeting, meeting_id)
    language = language_of(request, meeting.language)
    return render(request, "floor_checkin.html", language, meeting=meeting_view(meeting),
                  viewer=viewer.as_dict(), ws_query="")


# -- coalesced progress --------------------------------------------------------


async def announce_progress_forever(store: Any, interval: float = PROGRESS_INTERVAL,
                                    voters_interval: float = VOTERS_INTERVAL) -> None:
    loop = asyncio.get_running_loop()
    voters_due = loop.time() + voters_interval
    while True:
        await asyncio.sleep(interval)
        await _announce(store, voting.announce_progress, voting.take_progress(),
                        voting.mark_progress)
        if loop.time() >= voters_due:
            voters_due = loop.time() + voters_interval
            await _announce(store, voting.announce_voters, voting.take_voters(),
                            voting.mark_voters)


async def _announce(store: Any, announce: Callable[..., None], poll_ids: list[int],
                    again: Callable[[int], None]) -> None:
    if not poll_ids:
        return
    try:
        # shielded: stopping the server mid-write must not cancel the job's answer
        await asyncio.shield(store.write(announce, poll_ids))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("Announcing vote progress failed; it is tried again.", exc_info=True)
        for poll_id in poll_ids:
            again(poll_id)


def start_progress(app: Any) -> Callable[[], None]:
    """Start the progress task for ``app``; returns the function that stops it."""
    task = asyncio.create_task(announce_progress_forever(app.state.store))
    return task.cancel


routes = [
    Route("/m/{meeting_id:int}/checkin", checkin_page),
    Route("/api/meetings/{meeting_id:int}/polls/{poll_id:int}/counts", enter_counts,
          methods=["POST"]),
    Route("/api/meetings/{meeting_id:int}/polls/{poll_id:int}/result.json", result_json),
    Route("/api/meetings/{meeting_id:int}/polls/{poll_id:int}/result.csv", result_csv),
    Route("/api/meetings/{meeting_id:int}/polls/{poll_id:int}/recount", recount),
    Route("/api/meetings/{meeting_id:int}/results.{fmt:str}", results_export),
]
