"""Alembic's entry point, run by :func:`stargate.store.migrate.upgrade_database`.

The caller hands over an open connection (``config.attributes["connection"]``) inside the
transaction it will commit, so the same engine set-up (SQLite pragmas and ``BEGIN IMMEDIATE``,
the PostgreSQL schema and advisory lock) applies to migrations as to the running gateway. There
is no ``alembic.ini``: the configuration is built in code.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from stargate.store import ledger_tables  # noqa: F401 - registers the ledger's tables
from stargate.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER COLUMN
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(_connection, Connection):
    raise RuntimeError(
        "Stargate's migrations run on a live connection: use `stargate migrate` or "
        "stargate.store.migrate.upgrade(database_url)"
    )
_run(_connection)
