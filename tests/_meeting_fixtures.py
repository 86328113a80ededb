"""Fixtures for a running app with a real meeting, and people logged in to it.

- ``settings``: a fresh data directory per test (SQLite file in tmp_path).
- ``app`` / ``client``: the app and a Starlette test client running its lifespan.
- ``meeting``: the Vietnamese People's Council meeting from agendas/, imported;
  a ``MeetingInfo`` with its id and one access code per role.
- ``login``: ``login(code)`` gives another test client, logged in with that code,
  that shares the app (and its event loop) with ``client``.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from server.agendaimport import import_agenda_file
from server.app import create_app
from server.models import Participant
from server.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
VN_AGENDA = REPO_ROOT / "agendas" / "hdnd-tuan-giao-2020" / "meeting.toml"
OPENSLIDES_AGENDA = REPO_ROOT / "agendas" / "openslides-demo" / "meeting.toml"
_ids = itertools.count(1)

__all__ = ["MeetingInfo", "app", "chair_client", "client", "database_url", "delegate_client",
           "fresh_postgres_database", "migrated_database", "store",
           "import_meeting_file", "login", "meeting", "next_command_id", "settings",
           "OPENSLIDES_AGENDA", "VN_AGENDA"]


@dataclass
class MeetingInfo:
    id: int
    codes: dict[str, list[str]] = field(default_factory=dict)  # role -> codes
    people: dict[str, Participant] = field(default_factory=dict)  # code -> person

    def code(self, role: str, index: int = 0) -> str:
        return self.codes[role][index]


def next_command_id() -> str:
    return f"cmd-{next(_ids)}"


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """An empty SQLite database with every migration applied, made once per run."""
    from server.db import migrate

    path = tmp_path_factory.mktemp("template") / "plenary.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def settings(tmp_path: Path, migrated_database: Path) -> Settings:
    """A fresh data folder whose database starts as a copy of the migrated one."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copyfile(migrated_database, data_dir / "plenary.db")
    return Settings(data_dir=data_dir, secret_key="test-secret-key",
                    heartbeat_seconds=30.0)


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def import_meeting_file(client: TestClient, path: Path) -> MeetingInfo:
    store = client.app.state.store
    result = import_agenda_file(store, client.app.state.settings.documents_dir, path)
    people = store.read_sync(
        lambda s: list(s.exec(select(Participant).where(
            Participant.meeting_id == result.meeting_id))))
    info = MeetingInfo(result.meeting_id)
    for person in people:
        info.codes.setdefault(person.role, []).append(person.access_code)
        info.people[person.access_code] = person
    return info


@pytest.fixture
def meeting(client: TestClient) -> MeetingInfo:
    return import_meeting_file(client, VN_AGENDA)


@pytest.fixture
def login(client: TestClient) -> Callable[[str], TestClient]:
    """``login(code)``: a new test client, logged in, on the same app and loop."""
    opened: list[TestClient] = []

    def log_in(code: str) -> TestClient:
        other = TestClient(client.app)
        other.portal = client.portal  # share the app's running event loop
        response = other.post("/login", data={"code": code}, follow_redirects=False)
        assert response.status_code == 303, response.text
        opened.append(other)
        return other

    yield log_in


@pytest.fixture
def chair_client(meeting: MeetingInfo, login) -> TestClient:
    return login(meeting.code("chair"))


@pytest.fixture
def delegate_client(meeting: MeetingInfo, login) -> TestClient:
    return login(meeting.code("delegate"))


def fresh_postgres_database(postgres_url: str, name: str) -> str:
    """Create an empty database next to the test cluster's; return its URL."""
    import psycopg

    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> str:
    """An empty database, once on SQLite and once on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'plenary.db'}"
    postgres_url = request.getfixturevalue("postgres_url")
    return fresh_postgres_database(postgres_url, f"t{next(_ids)}")


@pytest.fixture
def store(database_url: str):
    from server.db import Store, migrate

    migrate(database_url)
    opened = Store(database_url)
    yield opened
    opened.close()
