"""A bare store with one meeting, for the organizer domain tests (no web app)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.access import new_access_code
from server.db import Store, migrate
from server.models import AgendaItem, Meeting, Participant

__all__ = ["add_meeting", "org_store"]


@pytest.fixture
def org_store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'org.db'}"
    migrate(url)
    store = Store(url)
    yield store
    store.close()


def add_meeting(
    store: Store, key: str = "thuong-truc-01", *, people: int = 2, items: bool = True
) -> int:
    """A scheduled meeting with an organizer, a chair and ``people`` delegates."""

    def create(session) -> int:
        meeting = Meeting(
            key=key,
            title="Phiên họp Thường trực",
            body="Thường trực",
            starts_at=datetime(2025, 3, 3, 1, 30, tzinfo=UTC),
            ends_at=datetime(2025, 3, 3, 4, 0, tzinfo=UTC),
            settings_json='{"quorum": "half"}',
            place="Phòng họp số 1",
            projector_key=secrets.token_urlsafe(8),
        )
        session.add(meeting)
        session.flush()
        roles = [
            ("org", "Ban Tổ Chức", "organizer"),
            ("chair", "Trần Bình Trọng", "chair"),
        ]
        roles += [(f"d{i}", f"Đại biểu {i}", "delegate") for i in range(1, people + 1)]
        for order, (pkey, name, role) in enumerate(roles):
            session.add(
                Participant(
                    meeting_id=meeting.id,
                    key=pkey,
                    name=name,
                    role=role,
                    group_name="Đoàn Huế" if role == "delegate" else "",
                    access_code=new_access_code(),
                    sort_order=order,
                )
            )
        if items:
            first = AgendaItem(
                meeting_id=meeting.id,
                key="khai-mac",
                position=0,
                number="1",
                title="Khai mạc",
                description="Lời khai mạc",
                duration_min=5,
            )
            session.add(first)
            session.flush()
            session.add(
                AgendaItem(
                    meeting_id=meeting.id,
                    key="bao-cao",
                    position=1,
                    number="1.1",
                    title="Báo cáo",
                    parent_id=first.id,
                    internal=True,
                    presenter="Văn phòng",
                )
            )
        return meeting.id

    return store.write_sync(create)
