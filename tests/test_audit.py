"""The audit digest: built on the event log's hash chain, sealed into the minutes."""

from __future__ import annotations

from sqlmodel import col, select

from server.audit import AuditDigest, audit_digest, matches_record
from server.minutes import finalize_minutes
from server.models import Event
from tests._minutes_fixtures import *  # noqa: F403  (fixtures: minutes_room, trial_keys)
from tests._minutes_fixtures import pdf_text


def events_of(room) -> list[Event]:
    return room.read(
        lambda s: list(
            s.exec(
                select(Event)
                .where(Event.meeting_id == room.meeting_id)
                .order_by(col(Event.seq))
            )
        )
    )


def tamper(room, seq: int) -> None:
    def change(session):
        row = session.exec(
            select(Event).where(Event.meeting_id == room.meeting_id, Event.seq == seq)
        ).one()
        row.payload = '{"counts": {"items": 999}}'
        session.add(row)

    room.store.write_sync(change)


def test_the_digest_counts_every_event_and_names_the_last_hash(minutes_room):
    minutes_room.write(minutes_room.items()[0], "summary", "Một.")
    minutes_room.write(minutes_room.items()[0], "summary", "Hai.", base=1)

    digest = minutes_room.read(audit_digest, minutes_room.meeting_id)

    events = events_of(minutes_room)
    assert digest == AuditDigest(True, len(events), events[-1].hash, None)
    assert [e.type for e in events][-2:] == ["minutes.section", "minutes.section"]


def test_a_changed_event_breaks_the_digest_at_that_event(minutes_room):
    minutes_room.write(minutes_room.items()[0], "summary", "Một.")
    minutes_room.write(minutes_room.items()[0], "summary", "Hai.", base=1)
    tamper(minutes_room, 1)

    digest = minutes_room.read(audit_digest, minutes_room.meeting_id)

    assert digest.intact is False and digest.events == 0 and digest.broken_at == 1


def test_a_sealed_digest_matches_the_record_until_someone_changes_it(minutes_room):
    minutes_room.write(minutes_room.items()[0], "summary", "Một.")
    sealed = minutes_room.read(audit_digest, minutes_room.meeting_id)
    minutes_room.write(
        minutes_room.items()[0], "summary", "Hai.", base=1
    )  # later events are fine

    assert minutes_room.read(
        matches_record, minutes_room.meeting_id, sealed.events, sealed.last_hash
    )
    tamper(minutes_room, 1)
    assert not minutes_room.read(
        matches_record, minutes_room.meeting_id, sealed.events, sealed.last_hash
    )


def test_the_finalized_pdf_carries_the_digest(minutes_room, tmp_path):
    minutes_room.write(minutes_room.items()[0], "summary", "Niêm phong.")
    sealed = minutes_room.read(audit_digest, minutes_room.meeting_id)

    version = finalize_minutes(
        minutes_room.store, minutes_room.files, minutes_room.one("secretary")
    )

    assert (version["audit_events"], version["audit_hash"]) == (
        sealed.events,
        sealed.last_hash,
    )
    text = pdf_text(minutes_room.files.get(version["final_sha256"]), tmp_path).replace(
        " ", ""
    )
    assert sealed.last_hash in text
    assert f"niêmphong{sealed.events}sựkiện" in text


def test_a_broken_record_is_printed_as_broken_in_the_minutes(minutes_room, tmp_path):
    minutes_room.write(minutes_room.items()[0], "summary", "Một.")
    tamper(minutes_room, 1)

    version = finalize_minutes(
        minutes_room.store, minutes_room.files, minutes_room.one("secretary")
    )

    text = pdf_text(minutes_room.files.get(version["final_sha256"]), tmp_path)
    assert "BỊ HỎNG tại sự kiện 1" in text
