"""The event record: sequence numbers, audiences and the hash chain."""

from __future__ import annotations

from sqlmodel import select

from server.eventlog import list_events_since, record_event, verify_chain
from server.models import Event, Meeting, utcnow


def add_meeting(session) -> int:
    meeting = Meeting(key="m", title="Họp", starts_at=utcnow())
    session.add(meeting)
    session.flush()
    return meeting.id


def test_events_since_a_sequence_come_in_order(store):
    meeting_id = store.write_sync(add_meeting)
    for n in range(10):
        store.write_sync(lambda s, n=n: record_event(s, meeting_id, "step", {"n": n}))

    events = store.read_sync(list_events_since, meeting_id, 6, 100)

    assert [e.seq for e in events] == [7, 8, 9, 10]
    assert events[0].payload == {"n": 6}


def test_hash_chain_is_intact_and_ends_in_the_meetings_last_hash(store):
    meeting_id = store.write_sync(add_meeting)
    for n in range(5):
        store.write_sync(lambda s, n=n: record_event(s, meeting_id, "step", {"tên": "Nguyễn Thị Ánh"}))

    intact, count, last = store.read_sync(verify_chain, meeting_id)

    assert intact and count == 5
    assert last == store.read_sync(lambda s: s.get(Meeting, meeting_id).last_hash)


def test_a_changed_event_breaks_the_chain(store):
    meeting_id = store.write_sync(add_meeting)
    for n in range(5):
        store.write_sync(lambda s, n=n: record_event(s, meeting_id, "vote", {"yes": n}))

    def tamper(session):
        row = session.exec(select(Event).where(Event.seq == 3)).one()
        row.payload = '{"yes": 99}'
        session.add(row)
    store.write_sync(tamper)
    intact, count, _ = store.read_sync(verify_chain, meeting_id)

    assert not intact and count == 2
