"""The service fixtures start real servers that the application can use."""

from pathlib import Path

import psycopg
import pytest
import redis
import redis.asyncio
from sqlalchemy.engine import make_url
from sqlmodel import Field, Session, SQLModel, create_engine, select

VIETNAMESE_NAME = "Nguyễn Thị Ánh Tuyết — Đảng bộ"


class ServiceProbe(SQLModel, table=True):
    __tablename__ = "service_probe"

    id: int | None = Field(default=None, primary_key=True)
    name: str


def _libpq_dsn(url: str) -> str:
    """The SQLAlchemy URL without its `+psycopg` driver part, for psycopg itself."""
    return make_url(url).set(drivername="postgresql").render_as_string(False)


@pytest.mark.postgres
def test_postgres_is_version_15(postgres_url: str) -> None:
    with psycopg.connect(_libpq_dsn(postgres_url)) as connection:
        version = connection.execute("select version()").fetchone()[0]

    assert "PostgreSQL 15" in version


@pytest.mark.postgres
def test_postgres_database_is_utf8(postgres_url: str) -> None:
    with psycopg.connect(_libpq_dsn(postgres_url)) as connection:
        encoding = connection.execute("show server_encoding").fetchone()[0]

    assert encoding == "UTF8"


@pytest.mark.postgres
def test_sqlmodel_round_trips_vietnamese_text_on_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    SQLModel.metadata.create_all(engine, tables=[ServiceProbe.__table__])

    try:
        with Session(engine) as session:
            session.add(ServiceProbe(name=VIETNAMESE_NAME))
            session.commit()
        with Session(engine) as session:
            names = session.exec(select(ServiceProbe.name)).all()
    finally:
        SQLModel.metadata.drop_all(engine, tables=[ServiceProbe.__table__])
        engine.dispose()

    assert names == [VIETNAMESE_NAME]


def _next_message(pubsub: redis.client.PubSub) -> dict | None:
    return pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)


@pytest.mark.redis
def test_redis_pubsub_delivers_a_published_message(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    pubsub.subscribe("meeting:1")
    assert pubsub.get_message(timeout=5.0)["type"] == "subscribe"

    receivers = client.publish("meeting:1", VIETNAMESE_NAME.encode())
    message = _next_message(pubsub)
    pubsub.close()
    client.close()

    assert receivers == 1
    assert message["data"].decode() == VIETNAMESE_NAME


@pytest.mark.browser
def test_chromium_reads_the_title_of_a_data_url(browser, screenshot_dir: Path) -> None:
    page = browser.new_page()

    page.goto("data:text/html;charset=utf-8,<title>Phiên họp</title><h1>Xin chào</h1>")
    title = page.title()
    page.screenshot(path=screenshot_dir / "services-data-url.png")
    page.close()

    assert title == "Phiên họp"
    assert (screenshot_dir / "services-data-url.png").stat().st_size > 0


# Collected after the browser test below, run before it: see tests/_services.py.
@pytest.mark.redis
async def test_redis_asyncio_client_works_beside_the_sync_fixtures(
    redis_url: str,
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)

    await client.set("agenda:current", "4")
    current = await client.get("agenda:current")
    await client.aclose()

    assert current == b"4"
