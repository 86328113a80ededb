"""Commands that tablets send, and the rules for answering them.

Rules:
- Every command names itself, carries an id chosen by the client, and takes
  effect at most once: a retry with the same id gets the first answer again.
- Each command states which roles may send it; the server checks the role of the
  sender, never the client.
- A command runs inside one transaction with its receipt and its events: either
  all of it is stored, or none of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from server.access import Viewer
from server.errors import InvalidInputError, NotAllowedError, NotFoundError
from server.eventlog import lock_meeting
from server.models import CommandReceipt, Meeting

Handler = Callable[[Session, Meeting, Viewer, dict[str, Any]], Any]
COMMAND_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
CHAIR = frozenset({"chair", "organizer"})
STAFF = frozenset({"chair", "secretary", "organizer"})
PARTICIPANTS = frozenset({"chair", "secretary", "organizer", "delegate", "guest"})


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset[str]
    handler: Handler
    action: str  # what the command does, in words, for error messages
    keep_receipt: bool = True
    # False for commands that record no event (a ballot): they need no lock on
    # the meeting row and lock what they change themselves.
    lock: bool = True


COMMANDS: dict[str, Command] = {}
# Checks every command passes before it runs, e.g. that the meeting is not
# archived (server.organization adds that one); each raises a MeetingError.
GUARDS: list[Callable[[Session, Meeting], None]] = []


def command(name: str, roles: frozenset[str], action: str,
            keep_receipt: bool = True, lock: bool = True) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the command ``name`` that ``roles`` may send."""
    def register(handler: Handler) -> Handler:
        if name in COMMANDS:
            raise ValueError(f"command {name!r} is registered twice")
        COMMANDS[name] = Command(name, roles, handler, action, keep_receipt, lock)
        return handler
    return register


def get_command(name: Any) -> Command:
    if not isinstance(name, str) or name not in COMMANDS:
        raise InvalidInputError("The server does not know the command {name}. Reload the page to get the current version.", name=str(name)[:64])
    return COMMANDS[name]


def ensure_command_id(command_id: Any) -> str:
    if not isinstance(command_id, str) or not COMMAND_ID.match(command_id):
        raise InvalidInputError("Each command needs an id of 1 to 64 letters, digits or -_.: characters.")
    return command_id


def execute(session: Session, viewer: Viewer, name: str, command_id: str,
            args: dict[str, Any]) -> dict[str, Any]:
    """Run one command for ``viewer``; the caller commits."""
    cmd = get_command(name)
    if viewer.role not in cmd.roles:
        raise NotAllowedError("You may not {action}.", action=cmd.action)
    if viewer.participant_id is not None and cmd.keep_receipt:
        previous = _find_receipt(session, viewer.participant_id, command_id)
        if previous is not None:
            return {**json.loads(previous.response), "repeated": True}
    if cmd.lock:
        meeting = lock_meeting(session, viewer.meeting_id)
    else:
        meeting = session.get(Meeting, viewer.meeting_id)
    if meeting is None:
        raise NotFoundError("This meeting no longer exists.")
    for guard in GUARDS:
        guard(session, meeting)
    # Commands without a receipt (a secret ballot) keep their own proof of a retry.
    session.info["command_id"] = command_id
    result = cmd.handler(session, meeting, viewer, args) or {}
    response = {"result": result}
    if viewer.participant_id is not None and cmd.keep_receipt:
        session.add(CommandReceipt(participant_id=viewer.participant_id,
                                   command_id=command_id, name=name,
                                   response=json.dumps(response, ensure_ascii=False, default=str)))
    return response


def _find_receipt(session: Session, participant_id: int, command_id: str) -> CommandReceipt | None:
    stmt = select(CommandReceipt).where(CommandReceipt.participant_id == participant_id,
                                        CommandReceipt.command_id == command_id)
    return session.exec(stmt).first()


def int_arg(args: dict[str, Any], name: str) -> int:
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError("The command needs {name} as a whole number.", name=name)
    return value
