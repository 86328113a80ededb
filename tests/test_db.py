"""The store: one write path, group commit, events after commit (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from server.db import Statement, Store, migrate
from server.eventlog import record_event
from server.models import Meeting, utcnow


def add_meeting(session, key: str = "m1") -> int:
    meeting = Meeting(key=key, title="Kỳ họp thứ 13", starts_at=utcnow())
    session.add(meeting)
    session.flush()
    return meeting.id


def test_write_returns_result_after_commit(store):
    meeting_id = store.write_sync(add_meeting)

    title = store.read_sync(lambda s: s.get(Meeting, meeting_id).title)

    assert title == "Kỳ họp thứ 13"


def test_failing_job_leaves_no_trace_and_others_in_its_batch_commit(store):
    barrier = threading.Event()

    def slow(session):
        barrier.wait(5)
        return add_meeting(session, "first")

    def failing(session):
        add_meeting(session, "broken")
        raise ValueError("refused")

    first = store.submit(slow)
    broken = store.submit(failing)     # queued while "slow" holds the writer:
    third = store.submit(add_meeting, "third")  # the three share one batch
    barrier.set()

    assert first.result(5) and third.result(5)
    with pytest.raises(ValueError, match="refused"):
        broken.result(5)
    keys = store.read_sync(lambda s: sorted(m.key for m in s.exec(select(Meeting))))
    assert keys == ["first", "third"]


def test_events_are_published_after_commit_in_order(store):
    published = []
    store.after_commit = published.extend
    meeting_id = store.write_sync(add_meeting)

    for n in range(5):
        store.write_sync(lambda s, n=n: record_event(s, meeting_id, "test.step", {"n": n}))

    assert [e.seq for e in published] == [1, 2, 3, 4, 5]
    assert [e.payload["n"] for e in published] == [0, 1, 2, 3, 4]


def test_events_of_a_failed_job_are_not_published(store):
    published = []
    store.after_commit = published.extend
    meeting_id = store.write_sync(add_meeting)

    def fails_after_recording(session):
        record_event(session, meeting_id, "test.lost", {})
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        store.write_sync(fails_after_recording)
    store.write_sync(lambda s: record_event(s, meeting_id, "test.kept", {}))

    assert [(e.type, e.seq) for e in published] == [("test.kept", 1)]


def test_concurrent_writers_get_distinct_sequence_numbers(store):
    meeting_id = store.write_sync(add_meeting)
    futures = [store.submit(lambda s: record_event(s, meeting_id, "t", {}).seq)
               for _ in range(200)]

    seqs = sorted(f.result(10) for f in futures)

    assert seqs == list(range(1, 201))


def test_a_restarted_store_continues_the_sequence(database_url):
    migrate(database_url)
    first = Store(database_url)
    meeting_id = first.write_sync(add_meeting)
    first.write_sync(lambda s: record_event(s, meeting_id, "before", {}))
    first.close()

    second = Store(database_url)
    event = second.write_sync(lambda s: record_event(s, meeting_id, "after", {}))
    second.close()

    assert event.seq == 2


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_full_sync(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    migrate(url)
    store = Store(url)

    def pragmas(session):
        return [session.exec(text(f"PRAGMA {name}")).one()[0]
                for name in ("journal_mode", "foreign_keys", "synchronous")]
    found = store.write_sync(pragmas)
    store.close()

    assert found == ["wal", 1, 2]  # synchronous=2 is FULL


def test_migrations_are_applied_at_start_and_are_idempotent(database_url):
    migrate(database_url)
    migrate(database_url)
    store = Store(database_url)

    version = store.read_sync(lambda s: s.exec(text("select version_num from alembic_version")).all())
    store.close()

    assert version


def test_a_first_start_that_fails_half_way_leaves_sqlite_empty_and_a_later_start_completes(tmp_path):
    # A server killed (or failing) during its first migration must not leave
    # tables without a recorded revision: the next start could never create them.
    import sqlite3

    path = tmp_path / "plenary.db"
    with sqlite3.connect(path) as conn:  # a table the newest migration wants to create
        conn.execute("CREATE TABLE importedpoll (x INTEGER)")
    with pytest.raises(Exception, match="already exists"):
        migrate(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"importedpoll"}  # no meeting table, no alembic_version: all rolled back
        conn.execute("DROP TABLE importedpoll")

    migrate(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM meeting").fetchone() == (0,)


def test_a_caller_that_stops_waiting_does_not_stop_the_writer(store):
    gate = threading.Event()
    blocker = store.submit(lambda session: gate.wait(10))
    abandoned = store.submit(lambda session: "nobody waits for me")
    abandoned.cancel()  # what asyncio does when a closed socket's task is cancelled
    gate.set()
    blocker.result(timeout=10)

    assert store.submit(lambda session: "still writing").result(timeout=10) == "still writing"


def test_the_sqlite_files_are_readable_by_their_owner_only(tmp_path):
    folder = tmp_path / "data" / "db"
    url = f"sqlite:///{folder / 'p.db'}"
    migrate(url)
    store = Store(url)
    store.write_sync(add_meeting)
    modes = {path.name: path.stat().st_mode & 0o777 for path in folder.iterdir()}
    store.close()

    assert folder.stat().st_mode & 0o777 == 0o700
    assert modes == {"p.db": 0o600, "p.db-wal": 0o600, "p.db-shm": 0o600}


def test_an_existing_world_readable_database_is_made_owner_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    migrate(url)
    (tmp_path / "p.db").chmod(0o644)

    store = Store(url)
    store.write_sync(add_meeting)
    mode = (tmp_path / "p.db").stat().st_mode & 0o777
    store.close()

    assert mode == 0o600


# -- prebuilt statements (the ballot's fast path) ------------------------------------

_KEYED = Statement(select(Meeting.id, Meeting.title).where(Meeting.key == bindparam("key")))
_RENAME = Statement(Meeting.__table__.update().where(Meeting.__table__.c.key == bindparam("key"))
                    .values(title=bindparam("title")))


def test_a_prebuilt_statement_runs_in_the_jobs_transaction(store):
    def add_and_read(session):
        add_meeting(session, "m7")
        return _KEYED.run(session, {"key": "m7"})

    rows = store.write_sync(add_and_read)

    assert [title for _id, title in rows] == ["Kỳ họp thứ 13"]


def test_a_prebuilt_statement_of_a_failed_job_is_rolled_back_with_it(store):
    store.write_sync(add_meeting, "m8")

    def rename_then_fail(session):
        _RENAME.run(session, {"key": "m8", "title": "đổi tên"})
        raise ValueError("refused")

    futures = [store.submit(rename_then_fail), store.submit(_KEYED.run, {"key": "m8"})]

    with pytest.raises(ValueError, match="refused"):
        futures[0].result(10)
    assert [title for _id, title in futures[1].result(10)] == ["Kỳ họp thứ 13"]


def test_a_prebuilt_statement_reports_a_broken_constraint_like_sqlalchemy(store):
    insert = Statement(Meeting.__table__.insert())
    row = {column.name: None for column in Meeting.__table__.columns}
    row.update(key="m9", title="Kỳ họp")  # starts_at and the rest may not be empty

    with pytest.raises(IntegrityError):
        store.write_sync(insert.run, row)
    assert store.write_sync(_KEYED.run, {"key": "m9"}) == []


def test_a_prebuilt_statement_takes_no_fixed_values():
    fixed = Statement(select(Meeting.id).where(Meeting.last_seq > 3))

    with pytest.raises(ValueError, match="named parameter"):
        fixed._compile(sqlite_dialect.dialect())


def test_a_prebuilt_statement_after_a_failed_job_in_the_same_batch_sees_only_committed_jobs(store):
    store.write_sync(add_meeting, "m10")
    gate = threading.Event()

    def rename(session, title):
        _RENAME.run(session, {"key": "m10", "title": title})
        return _KEYED.run(session, {"key": "m10"})  # the job's second statement

    def rename_twice_then_fail(session):
        rename(session, "bị hủy")
        rename(session, "bị hủy lần hai")
        raise ValueError("refused")

    blocker = store.submit(lambda session: gate.wait(10))
    futures = [store.submit(rename, "đổi tên"), store.submit(rename_twice_then_fail),
               store.submit(_KEYED.run, {"key": "m10"})]  # the four share one batch
    gate.set()
    blocker.result(10)

    assert [title for _id, title in futures[0].result(10)] == ["đổi tên"]
    with pytest.raises(ValueError, match="refused"):
        futures[1].result(10)
    assert [title for _id, title in futures[2].result(10)] == ["đổi tên"]
    assert store.read_sync(_KEYED.run, {"key": "m10"})[0][1] == "đổi tên"


async def test_writes_from_the_event_loop_are_each_answered_after_their_batch_commits(store):
    import asyncio

    gate = threading.Event()
    blocker = store.submit(lambda session: gate.wait(10))

    def failing(session):
        add_meeting(session, "broken")
        raise ValueError("refused")

    adds = [asyncio.ensure_future(store.write(add_meeting, f"a{i}")) for i in range(5)]
    broken = asyncio.ensure_future(store.write(failing))
    abandoned = asyncio.ensure_future(store.write(add_meeting, "abandoned"))
    await asyncio.sleep(0.05)  # all queued behind the blocker: one batch
    abandoned.cancel()  # its socket closed; the job still runs, nobody is answered
    gate.set()

    ids = await asyncio.wait_for(asyncio.gather(*adds), 10)
    with pytest.raises(ValueError, match="refused"):
        await asyncio.wait_for(broken, 10)
    keys = await store.read(lambda s: sorted(m.key for m in s.exec(select(Meeting))))
    assert len(set(ids)) == 5
    assert keys == ["a0", "a1", "a2", "a3", "a4", "abandoned"]
    assert blocker.result(10) is True
