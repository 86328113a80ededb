"""First-page thumbnails (server/thumbnails.py): drawn once, given up in time."""

from __future__ import annotations

import asyncio

import pytest

from server import thumbnails
from server.documents import store_file
from server.errors import NotFoundError
from tests._library_fixtures import INVITATION, compression_bomb


async def test_the_first_page_is_drawn_once_as_a_png(tmp_path):
    sha = store_file(tmp_path, INVITATION)

    first = await thumbnails.thumbnail(tmp_path, sha)
    again = await thumbnails.thumbnail(tmp_path, sha)

    assert first == again and first.read_bytes().startswith(b"\x89PNG")


async def test_a_page_that_takes_too_long_is_given_up_and_remembered(tmp_path, monkeypatch):
    monkeypatch.setattr(thumbnails, "RENDER_TIMEOUT", 0.3)
    sha = store_file(tmp_path, compression_bomb(tmp_path / "bomb.pdf", 10))

    with pytest.raises(NotFoundError) as refused:
        await thumbnails.thumbnail(tmp_path, sha)

    assert refused.value.message == "The first page of this document could not be drawn, so it has no thumbnail. The document itself can still be opened."
    assert thumbnails.failure_path(tmp_path, sha).read_text() == "timeout\n"
    assert not list((tmp_path / "thumbnails").glob("*.png"))


async def test_requests_at_the_same_time_share_one_drawing(tmp_path, monkeypatch):
    runs = []
    run = thumbnails._run

    async def counted(args, timeout):
        runs.append(args)
        return await run(args, timeout)
    monkeypatch.setattr(thumbnails, "_run", counted)
    sha = store_file(tmp_path, INVITATION)

    paths = await asyncio.gather(*(thumbnails.thumbnail(tmp_path, sha) for _ in range(5)))

    assert len(set(paths)) == 1 and len(runs) == 1
