"""Alembic environment: the URL comes from the caller or TIDU_DATABASE_URL."""

import os

from alembic import context
from sqlalchemy import create_engine, make_url

from engine.store import Base

config = context.config
url = config.attributes.get("url") or os.environ.get("TIDU_DATABASE_URL", "sqlite:///var/tidu.db")


def run() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _migrate(connectable)
        return
    # psycopg prepares nothing for a migration: it runs each statement about once, and a
    # prepared statement left on a server connection that a pooling proxy hands on (PgBouncer
    # in transaction mode) collides with the next client's
    unprepared = {"prepare_threshold": None} if make_url(url).get_driver_name() == "psycopg" else {}
    engine = create_engine(url, connect_args=unprepared)
    with engine.begin() as connection:
        _migrate(connection)
    engine.dispose()


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run()
