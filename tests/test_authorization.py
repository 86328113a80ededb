"""Who may send which command: one table, checked against every registered command.

Adding a command without a row here fails the first test, so every new action gets
a documented decision. The second test sends every command as every role (the
projector included) and checks that the refusals are exactly the table's.
Commands go through the same ``execute`` over WebSocket and HTTP.
"""

from __future__ import annotations

import pytest

from server.access import projector_viewer, viewer_for
from server.commands import COMMANDS, execute
from server.errors import MeetingError, NotAllowedError
from tests._meeting_fixtures import next_command_id

CHAIR = {"chair", "organizer"}
STAFF = {"chair", "organizer", "secretary"}
EVERYONE = STAFF | {"delegate", "guest"}
ORGANIZER = {"organizer"}

MATRIX: dict[str, set[str]] = {
    "agenda.goto": CHAIR, "agenda.next": CHAIR, "agenda.previous": CHAIR,
    "attendance.check_in": STAFF, "attendance.check_in_many": STAFF,
    "attendance.self_check_in": EVERYONE, "attendance.set": STAFF,
    "book.revoke": ORGANIZER,
    "document.access": ORGANIZER, "document.remove": ORGANIZER,
    # the handler decides further: the chair, or the current speaker
    "document.present": EVERYONE, "document.present_end": EVERYONE,
    "election.nominate": STAFF, "election.withdraw": STAFF,
    "meeting.end": CHAIR, "meeting.start": CHAIR,
    "minutes.dismiss": STAFF, "minutes.save": STAFF,
    "poll.cancel": CHAIR, "poll.cast": EVERYONE, "poll.close": CHAIR,
    "poll.create": STAFF, "poll.enter_counts": STAFF, "poll.open": CHAIR,
    "poll.publish": CHAIR, "poll.repeat": CHAIR,
    "speakers.add": STAFF, "speakers.end": CHAIR, "speakers.move": CHAIR,
    "speakers.pause": CHAIR, "speakers.request": EVERYONE, "speakers.resume": CHAIR,
    "speakers.start": CHAIR, "speakers.withdraw": EVERYONE,
}
ROLES = ["organizer", "chair", "secretary", "delegate", "guest", "projector"]


def test_every_command_has_a_row_and_the_row_is_what_the_server_enforces():
    import server.app  # noqa: F401  (registers every capability's commands)

    assert set(COMMANDS) == set(MATRIX)
    for name, command in COMMANDS.items():
        assert set(command.roles) == MATRIX[name], name


@pytest.mark.parametrize("role", ROLES)
def test_every_command_is_refused_exactly_to_the_roles_outside_its_row(client, meeting, role):
    store = client.app.state.store
    viewer = (projector_viewer(meeting.id) if role == "projector"
              else viewer_for(meeting.people[meeting.code(role)]))
    refused = set()

    for name in sorted(COMMANDS):
        try:
            store.write_sync(execute, viewer, name, next_command_id(), {})
        except NotAllowedError as exc:
            if exc.template == "You may not {action}.":
                refused.add(name)
        except MeetingError:
            pass  # allowed to try; refused for another reason (missing args, state)

    expected = {name for name, roles in MATRIX.items() if role not in roles}
    assert refused == expected
