"""Alembic environment: applies the migrations to the database the app uses."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import server.models  # noqa: F401  (fills the metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        # server.db.migrate opens SQLite's transaction itself: the whole upgrade
        # is then one transaction, which Alembic does not assume for SQLite.
        _run(connectable, transactional_ddl=True)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section) or {},
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection, transactional_ddl: bool | None = None) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, transactional_ddl=transactional_ddl)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
