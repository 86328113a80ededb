"""The list of speakers of each agenda item, and the speeches given from it.

Rules:
- A participant asks to speak on an item (the current one by default) from the
  tablet, once at a time, and may withdraw while waiting. Staff may add or
  remove anyone.
- A point of order goes to the top of the list, after earlier points of order.
- The chair orders the list, gives the floor, pauses, resumes and ends a speech.
  Giving the floor to someone ends the speech that is still going on.
- Each speech has a time limit (the meeting's ``speaking_time``, default three
  minutes, or one the chair gives); tablets count down from the stored start
  time, so every screen shows the same time.
- Who spoke on which item, when and for how long, is recorded for the minutes.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from server._floorsettings import floor_settings
from server.access import Viewer
from server.agenda import get_item, list_items
from server.commands import CHAIR, PARTICIPANTS, STAFF, command, int_arg
from server.errors import ConflictError, InvalidInputError, NotFoundError
from server.eventlog import record_event
from server.models import Meeting, Participant, Speech, utcnow
from server.snapshot import snapshot_section

LIVE = ("speaking", "paused")
MAX_TIME_LIMIT = 3600


def speech_view(speech: Speech, name: str) -> dict[str, Any]:
    return {"id": speech.id, "item_id": speech.item_id, "participant_id": speech.participant_id,
            "name": name, "kind": speech.kind, "state": speech.state,
            "position": speech.position, "time_limit": speech.time_limit,
            "spoken_seconds": round(speech.spoken_seconds, 1),
            "running_since": _iso(speech.running_since),
            "requested_at": _iso(speech.requested_at),
            "first_started_at": _iso(speech.first_started_at), "ended_at": _iso(speech.ended_at)}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def list_speakers(session: Session, meeting_id: int, item_id: int | None = None) -> list[dict[str, Any]]:
    """Speeches of an item (or of the whole meeting): live first, then waiting, then done."""
    stmt = (select(Speech, Participant.name).join(Participant, col(Participant.id) == Speech.participant_id)
            .where(Speech.meeting_id == meeting_id, Speech.state != "withdrawn"))
    if item_id is not None:
        stmt = stmt.where(Speech.item_id == item_id)
    rows = [speech_view(s, name) for s, name in session.exec(stmt)]
    order = {"speaking": 0, "paused": 0, "waiting": 1, "done": 2}
    return sorted(rows, key=lambda r: (order[r["state"]], r["position"], r["id"]))


def _waiting(session: Session, item_id: int) -> list[Speech]:
    stmt = (select(Speech).where(Speech.item_id == item_id, Speech.state == "waiting")
            .order_by(col(Speech.position), col(Speech.id)))
    return list(session.exec(stmt))


def _live(session: Session, meeting_id: int) -> Speech | None:
    stmt = select(Speech).where(Speech.meeting_id == meeting_id, col(Speech.state).in_(LIVE))
    return session.exec(stmt).first()


def _renumber(session: Session, speeches: list[Speech]) -> None:
    for position, speech in enumerate(speeches):
        speech.position = position
        session.add(speech)


def get_speech(session: Session, meeting_id: int, speech_id: int) -> Speech:
    speech = session.get(Speech, speech_id)
    if speech is None or speech.meeting_id != meeting_id:
        raise NotFoundError("This entry is not on a list of speakers of this meeting.")
    return speech


def _item_id(session: Session, meeting: Meeting, args: dict) -> int:
    if args.get("item_id") is not None:
        return get_item(session, meeting.id, int_arg(args, "item_id")).id
    if meeting.current_item_id is None:
        raise ConflictError("No agenda item is being discussed right now, so there is no list of speakers to join.")
    return meeting.current_item_id


# -- the list ------------------------------------------------------------------


def add_speaker(session: Session, meeting: Meeting, item_id: int, person: Participant,
                point_of_order: bool, actor: Viewer) -> Speech:
    if meeting.state != "running":
        raise ConflictError("The list of speakers opens when the meeting starts.")
    waiting = _waiting(session, item_id)
    if any(s.participant_id == person.id for s in waiting):
        raise ConflictError("{name} is already on the list of speakers for this item.", name=person.name)
    speech = Speech(meeting_id=meeting.id, item_id=item_id, participant_id=person.id,
                    kind="point_of_order" if point_of_order else "speech",
                    time_limit=floor_settings(meeting).speaking_time)
    session.add(speech)
    session.flush()
    at = sum(s.kind == "point_of_order" for s in waiting) if point_of_order else len(waiting)
    waiting.insert(at, speech)
    _renumber(session, waiting)
    _announce(session, meeting, item_id, actor)
    return speech


def withdraw_speaker(session: Session, meeting: Meeting, speech: Speech, actor: Viewer) -> None:
    if speech.state != "waiting":
        raise ConflictError("Only a request that is still waiting can be withdrawn.")
    speech.state = "withdrawn"
    session.add(speech)
    _renumber(session, [s for s in _waiting(session, speech.item_id) if s.id != speech.id])
    _announce(session, meeting, speech.item_id, actor)


def move_speaker(session: Session, meeting: Meeting, speech: Speech, position: int,
                 actor: Viewer) -> None:
    if speech.state != "waiting":
        raise ConflictError("Only waiting speakers can be moved on the list.")
    waiting = [s for s in _waiting(session, speech.item_id) if s.id != speech.id]
    waiting.insert(max(0, min(position, len(waiting))), speech)
    _renumber(session, waiting)
    _announce(session, meeting, speech.item_id, actor)


# -- speeches ------------------------------------------------------------------


def start_speech(session: Session, meeting: Meeting, speech: Speech, actor: Viewer,
                 time_limit: int | None = None) -> None:
    if speech.state != "waiting":
        raise ConflictError("Only a waiting speaker can be given the floor.")
    live = _live(session, meeting.id)
    if live is not None:
        _finish(live)
        session.add(live)
        if live.item_id != speech.item_id:
            _announce(session, meeting, live.item_id, actor)
    now = utcnow()
    speech.state, speech.running_since = "speaking", now
    speech.first_started_at = speech.first_started_at or now
    if time_limit is not None:
        speech.time_limit = time_limit
    session.add(speech)
    _renumber(session, [s for s in _waiting(session, speech.item_id) if s.id != speech.id])
    _announce(session, meeting, speech.item_id, actor)


def _finish(speech: Speech) -> None:
    _stop_clock(speech)
    speech.state, speech.ended_at = "done", utcnow()


def _stop_clock(speech: Speech) -> None:
    if speech.running_since is not None:
        since = speech.running_since
        speech.spoken_seconds += (utcnow() - since).total_seconds()
        speech.running_since = None


def pause_speech(session: Session, meeting: Meeting, speech: Speech, actor: Viewer) -> None:
    if speech.state != "speaking":
        raise ConflictError("Only a running speech can be paused.")
    _stop_clock(speech)
    speech.state = "paused"
    session.add(speech)
    _announce(session, meeting, speech.item_id, actor)


def resume_speech(session: Session, meeting: Meeting, speech: Speech, actor: Viewer) -> None:
    if speech.state != "paused":
        raise ConflictError("Only a paused speech can be resumed.")
    speech.state, speech.running_since = "speaking", utcnow()
    session.add(speech)
    _announce(session, meeting, speech.item_id, actor)


def end_speech(session: Session, meeting: Meeting, speech: Speech, actor: Viewer) -> None:
    if speech.state not in LIVE:
        raise ConflictError("This speech is not going on.")
    _finish(speech)
    session.add(speech)
    _announce(session, meeting, speech.item_id, actor)


def _announce(session: Session, meeting: Meeting, item_id: int, actor: Viewer) -> None:
    session.flush()
    record_event(session, meeting.id, "speakers.changed",
                 {"item_id": item_id, "speakers": list_speakers(session, meeting.id, item_id)},
                 actor_id=actor.participant_id)


def speeches_by_item(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    """Who spoke on which item, when and for how long, in agenda order: for the minutes."""
    found = []
    for item in list_items(session, meeting_id):
        done = [s for s in list_speakers(session, meeting_id, item.id) if s["state"] == "done"]
        if done:
            done.sort(key=lambda s: s["first_started_at"] or "")
            found.append({"item_id": item.id, "number": item.number, "title": item.title,
                          "speeches": [_spoken(s) for s in done]})
    return found


def _spoken(view: dict[str, Any]) -> dict[str, Any]:
    return {"participant_id": view["participant_id"], "name": view["name"],
            "kind": view["kind"], "started_at": view["first_started_at"],
            "ended_at": view["ended_at"], "seconds": round(view["spoken_seconds"])}


# -- commands ------------------------------------------------------------------


def _person(session: Session, meeting: Meeting, participant_id: int) -> Participant:
    person = session.get(Participant, participant_id)
    if person is None or person.meeting_id != meeting.id or not person.active:
        raise NotFoundError("Participant {id} does not take part in this meeting.", id=participant_id)
    return person


def _speech_arg(session: Session, meeting: Meeting, args: dict) -> Speech:
    return get_speech(session, meeting.id, int_arg(args, "speech_id"))


def _current_speech(session: Session, meeting: Meeting, args: dict) -> Speech:
    if args.get("speech_id") is not None:
        return _speech_arg(session, meeting, args)
    live = _live(session, meeting.id)
    if live is None:
        raise ConflictError("Nobody has the floor right now.")
    return live


@command("speakers.request", PARTICIPANTS, "ask to speak")
def request_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    person = _person(session, meeting, viewer.participant_id)
    item_id = _item_id(session, meeting, args)
    speech = add_speaker(session, meeting, item_id, person, bool(args.get("point_of_order")), viewer)
    return {"speech_id": speech.id, "position": speech.position}


@command("speakers.withdraw", PARTICIPANTS, "withdraw a request to speak")
def withdraw_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    if args.get("speech_id") is not None:
        speech = _speech_arg(session, meeting, args)
    else:
        mine = [s for s in _waiting(session, _item_id(session, meeting, args))
                if s.participant_id == viewer.participant_id]
        if not mine:
            raise ConflictError("You are not on the list of speakers for this item.")
        speech = mine[0]
    if speech.participant_id != viewer.participant_id and not viewer.is_staff:
        raise ConflictError("You can withdraw only your own request to speak.")
    withdraw_speaker(session, meeting, speech, viewer)
    return {"speech_id": speech.id}


@command("speakers.add", STAFF, "add a speaker to the list")
def add_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    person = _person(session, meeting, int_arg(args, "participant_id"))
    item_id = _item_id(session, meeting, args)
    speech = add_speaker(session, meeting, item_id, person, bool(args.get("point_of_order")), viewer)
    return {"speech_id": speech.id, "position": speech.position}


@command("speakers.move", CHAIR, "change the order of speakers")
def move_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    speech = _speech_arg(session, meeting, args)
    move_speaker(session, meeting, speech, int_arg(args, "position"), viewer)
    return {"speech_id": speech.id, "position": speech.position}


@command("speakers.start", CHAIR, "give the floor")
def start_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    if args.get("speech_id") is not None:
        speech = _speech_arg(session, meeting, args)
    else:
        waiting = _waiting(session, _item_id(session, meeting, args))
        if not waiting:
            raise ConflictError("Nobody is waiting to speak on this item.")
        speech = waiting[0]
    limit = None
    if args.get("time_limit") is not None:
        limit = int_arg(args, "time_limit")
        if not 0 <= limit <= MAX_TIME_LIMIT:
            raise InvalidInputError("The speaking time must be from 0 (no limit) to {most} seconds.", most=MAX_TIME_LIMIT)
    start_speech(session, meeting, speech, viewer, limit)
    return {"speech_id": speech.id}


@command("speakers.pause", CHAIR, "pause a speech")
def pause_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    speech = _current_speech(session, meeting, args)
    pause_speech(session, meeting, speech, viewer)
    return {"speech_id": speech.id}


@command("speakers.resume", CHAIR, "resume a speech")
def resume_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    speech = _current_speech(session, meeting, args)
    resume_speech(session, meeting, speech, viewer)
    return {"speech_id": speech.id}


@command("speakers.end", CHAIR, "end a speech")
def end_command(session: Session, meeting: Meeting, viewer: Viewer, args: dict) -> dict:
    speech = _current_speech(session, meeting, args)
    end_speech(session, meeting, speech, viewer)
    return {"speech_id": speech.id, "seconds": round(speech.spoken_seconds)}


@snapshot_section("speakers")
def _snapshot(session: Session, meeting: Meeting, viewer: Viewer) -> dict[str, Any]:
    """Every list of speakers of the meeting; tablets show the current item's."""
    return {"speeches": list_speakers(session, meeting.id),
            "speaking_time": floor_settings(meeting).speaking_time}
