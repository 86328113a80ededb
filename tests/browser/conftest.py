"""A live Plenary server in a thread, for tests that drive real Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from server.agendaimport import import_agenda_file
from server.app import create_app
from server.db import Store, migrate
from server.settings import Settings
from tests._meeting_fixtures import VN_AGENDA, MeetingInfo

TABLET_PORTRAIT = {"width": 800, "height": 1280}
TABLET_LANDSCAPE = {"width": 1280, "height": 800}


@dataclass
class LiveServer:
    url: str
    meeting: MeetingInfo
    projector_key: str
    settings: Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prepare(settings: Settings, agenda: Path) -> tuple[MeetingInfo, str]:
    url = settings.resolved_database_url
    migrate(url)
    store = Store(url)
    try:
        result = import_agenda_file(store, settings.documents_dir, agenda)
        from sqlmodel import select

        from server.models import Meeting, Participant
        people = store.read_sync(lambda s: list(s.exec(select(Participant))))
        key = store.read_sync(lambda s: s.get(Meeting, result.meeting_id).projector_key)
    finally:
        store.close()
    info = MeetingInfo(result.meeting_id)
    for person in people:
        info.codes.setdefault(person.role, []).append(person.access_code)
        info.people[person.access_code] = person
    return info, key


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    port = _free_port()
    settings = Settings(data_dir=tmp_path / "var", secret_key="browser-test-key",
                        port=port, heartbeat_seconds=2.0)
    info, projector_key = _prepare(settings, VN_AGENDA)
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            ws="websockets-sansio", ws_per_message_deflate=False,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    yield LiveServer(f"http://127.0.0.1:{port}", info, projector_key, settings)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(autouse=True)
def close_pages_after_each_test(request) -> Iterator[None]:
    """Pages left open keep reconnecting to servers that are gone and load the shared
    browser; close every context a test opened once it ends."""
    yield
    if "browser" in request.fixturenames:
        browser = request.getfixturevalue("browser")
        for context in list(browser.contexts):
            context.close()
