"""The database: engines, migrations and the single write path.

Every change to the meeting record goes through :meth:`Store.write`. Writes run
one at a time on a dedicated writer thread; jobs that queue up while a commit is
in progress are committed together (group commit), each inside its own savepoint
so one failing job never takes the others with it. A job is answered only after
its transaction is committed. Events recorded by a job are handed to the
``after_commit`` hook in commit order, so what tablets see is always what is
stored.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = tuple[Callable[..., Any], tuple[Any, ...], "Future | _LoopFuture"]
MAX_BATCH = 128
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, writer: bool = False) -> Engine:
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    _configure_sqlite(engine, begin="BEGIN IMMEDIATE" if writer else "BEGIN", url=url)
    return engine


def database_files(url: str) -> list[Path]:
    """The SQLite file and its -wal and -shm companions (none for other databases)."""
    name = url.removeprefix("sqlite:///")
    if not is_sqlite(url) or name in ("", ":memory:") or name == url:
        return []
    path = Path(name)
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def restrict_database_files(url: str) -> None:
    # The meeting record (voter lists, ballots, logins) is for the server's user
    # only. SQLite gives new -wal and -shm files the mode of the database file.
    for path in database_files(url):
        try:
            path.chmod(0o600)
        except FileNotFoundError:
            pass


def _configure_sqlite(engine: Engine, begin: str, url: str = "", *, foreign_keys: bool = True) -> None:
    # pysqlite opens transactions on its own schedule, which breaks savepoints;
    # take that over so BEGIN (IMMEDIATE for the writer) is ours.
    @sa_event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        if foreign_keys:
            cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a committed ballot survives power loss, also in WAL mode.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        restrict_database_files(url)

    @sa_event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    _plain_savepoints(engine)


def _plain_savepoints(engine: Engine) -> None:
    # Every write job runs in a savepoint, and SQLAlchemy compiles each SAVEPOINT
    # and RELEASE anew (the name is new each time): that took as long as a
    # ballot's own statements. Even as text, its way through SQLAlchemy's
    # execution (context, cursor, result) cost 50 µs per statement, a third of a
    # ballot; send it on the driver's connection (bench/ballots.py).
    def savepoint(conn: Any, name: str) -> None:
        conn.connection.dbapi_connection.execute(f"SAVEPOINT {name}")

    def release(conn: Any, name: str) -> None:
        conn.connection.dbapi_connection.execute(f"RELEASE SAVEPOINT {name}")

    def rollback_to(conn: Any, name: str) -> None:
        conn.connection.dbapi_connection.execute(f"ROLLBACK TO SAVEPOINT {name}")

    engine.dialect.do_savepoint = savepoint  # type: ignore[method-assign]
    engine.dialect.do_release_savepoint = release  # type: ignore[method-assign]
    engine.dialect.do_rollback_to_savepoint = rollback_to  # type: ignore[method-assign]


def ensure_database_dir(url: str) -> None:
    """Create the SQLite file's folder, owner-only (0700) when it is new."""
    files = database_files(url)
    if files:
        files[0].parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def migrate(url: str) -> None:
    """Bring the schema up to the newest migration."""
    from alembic import command

    ensure_database_dir(url)
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    if not is_sqlite(url):
        command.upgrade(config, "heads")  # PostgreSQL's DDL is transactional already
        return
    # On SQLite the upgrade runs in one transaction that we open ourselves, so a
    # server killed during its first start leaves an empty database, not tables
    # that exist without a recorded revision (which no later start could fix).
    # Foreign keys stay off while tables are rebuilt (batch migrations copy them).
    engine = create_engine(url, poolclass=NullPool)
    _configure_sqlite(engine, begin="BEGIN IMMEDIATE", url=url, foreign_keys=False)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
            connection.commit()
    finally:
        engine.dispose()
    restrict_database_files(url)


class Store:
    """Owns the engines; the only place that opens database sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        ensure_database_dir(url)
        self.write_engine = make_engine(url, writer=True)
        # PostgreSQL reads see one consistent moment, like SQLite's WAL readers.
        self.read_engine = (make_engine(url) if is_sqlite(url) else
                            self.write_engine.execution_options(isolation_level="REPEATABLE READ"))
        self.after_commit: Callable[[list[Any]], None] | None = None
        # Runs inside the transaction, after the jobs, when events were recorded
        # (the PostgreSQL broker sends its NOTIFY there).
        self.before_commit: Callable[[Session, list[Any]], None] | None = None
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._readers = ThreadPoolExecutor(4, thread_name_prefix="plenary-read")
        self._writer = threading.Thread(target=self._write_loop, daemon=True)
        self._writer.start()

    def close(self) -> None:
        self._jobs.put(None)
        self._writer.join(timeout=10)
        self._readers.shutdown(wait=True)
        self.write_engine.dispose()
        self.read_engine.dispose()

    # -- reading -------------------------------------------------------------

    def read_session(self) -> Session:
        return Session(self.read_engine, expire_on_commit=False)

    def read_sync(self, fn: Callable[..., T], *args: Any) -> T:
        with self.read_session() as session:
            return fn(session, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self.read_sync, fn, *args)

    # -- writing -------------------------------------------------------------

    def submit(self, fn: Callable[..., T], *args: Any) -> Future:
        future: Future = Future()
        self._jobs.put((fn, args, future))
        return future

    def write_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` in a committed transaction and return its result."""
        return self.submit(fn, *args).result()

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        # answered on the loop in one call per batch, not one wakeup per job
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._jobs.put((fn, args, _LoopFuture(loop, future)))
        return await future

    def _write_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < MAX_BATCH:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)
                    break
                batch.append(more)
            self._run_batch(batch)

    def _run_batch(self, batch: list[Job]) -> None:
        outcomes: list[tuple[Future, bool, Any]] = []
        events: list[Any] = []
        try:
            with Session(self.write_engine, expire_on_commit=False) as session:
                with session.begin():
                    for fn, args, future in batch:
                        ok, value = _run_job(session, fn, args, events)
                        outcomes.append((future, ok, value))
                    if events and self.before_commit is not None:
                        self.before_commit(session, events)
        except Exception as exc:  # the commit itself failed: nobody is stored
            log.error("A write batch of %d jobs failed to commit.", len(batch), exc_info=True)
            _answer([(future, False, exc) for _fn, _args, future in batch])
            return
        if events and self.after_commit is not None:
            try:
                self.after_commit(events)
            except Exception:
                log.error("Publishing committed events failed.", exc_info=True)
        _answer(outcomes)


class _LoopFuture:
    """The answer to :meth:`Store.write`: an asyncio future of the caller's loop."""

    __slots__ = ("loop", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future) -> None:
        self.loop, self.future = loop, future


def _answer(outcomes: list[tuple[Any, bool, Any]]) -> None:
    """Answer a committed batch's jobs (after ``after_commit``, so events go first).

    Jobs of :meth:`Store.write` are answered with one call to their loop per
    batch: one wakeup per ballot kept the event loop and the writer taking the
    interpreter lock from each other when a hall votes (bench/ballots.py).
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, bool, Any]]] = {}
    for future, ok, value in outcomes:
        if isinstance(future, _LoopFuture):
            by_loop.setdefault(future.loop, []).append((future.future, ok, value))
        elif future.cancelled():  # the caller stopped waiting
            continue
        elif ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, answers)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass


def _settle(answers: list[tuple[asyncio.Future, bool, Any]]) -> None:
    for future, ok, value in answers:
        if future.done():  # the caller stopped waiting (a closed socket)
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class Statement:
    """A Core statement compiled once per database and run on the driver's cursor.

    For the hottest write path, a ballot: SQLAlchemy's work around each
    execution (cache key, result object) costs several times what the database
    needs to run a small statement (bench/ballots.py). Parameters go by name,
    every column of an INSERT is given, and rows come back as plain tuples
    without type conversion. The statement runs in the session's transaction
    (and the job's savepoint), but the session does not see it: flush first
    when the session holds changes the statement must see.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._sql: dict[str, str] = {}

    def run(self, session: Session, params: dict[str, Any]) -> list[tuple]:
        connection = _connection(session)
        dialect = connection.dialect
        sql = self._sql.get(dialect.name) or self._compile(dialect)
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()

    def _compile(self, dialect: Any) -> str:
        if dialect.paramstyle not in ("named", "pyformat"):
            dialect = type(dialect)(paramstyle="named")  # SQLite's default is qmark
        compiled = self.statement.compile(dialect=dialect)
        fixed = [name for name, value in compiled.params.items() if value is not None]
        if fixed:
            raise ValueError(f"a Statement takes every value as a named parameter; fixed: {fixed}")
        self._sql[dialect.name] = sql = str(compiled)
        return sql


def _connection(session: Session) -> Any:
    """``session.connection()``, kept for the session's current (nested) transaction.

    Asking the session costs 25 µs each time, and a ballot runs five statements
    in its job's savepoint. The first ask in a transaction opens it (the
    SAVEPOINT is sent then); later ones in the same transaction reuse that.
    """
    current = session._transaction
    kept = session.info.get("statement_connection")
    if kept is not None and kept[0] is current and current is not None and current.is_active:
        return kept[1]
    connection = session.connection()
    session.info["statement_connection"] = (session._transaction, connection)
    return connection


def _run_job(session: Session, fn: Callable[..., Any], args: tuple, events: list) -> tuple[bool, Any]:
    mark = len(events)
    session.info["events"] = events
    try:
        with session.begin_nested():
            return True, fn(session, *args)
    except Exception as exc:
        del events[mark:]
        session.expire_all()
        return False, exc
