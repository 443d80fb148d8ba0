"""Bring a database to the newest schema, idempotently.

:func:`upgrade` is the synchronous entry point (``stargate migrate``, start-up through
``asyncio.to_thread``); :func:`upgrade_database` does the work on an open :class:`Database`.
Alembic is configured in code: the scripts live in ``migrations/`` inside the package, so an
installed wheel can migrate without any ``alembic.ini``.

All of one upgrade runs in one transaction, which first takes a lock: an advisory lock on
PostgreSQL, the write lock (``BEGIN IMMEDIATE``) on SQLite. Replicas starting together migrate
one after the other, and the second finds nothing to do. On PostgreSQL the URL's ``schema`` is
created when missing.

To change the schema: edit :mod:`stargate.store.tables`, add ``migrations/versions/r000N_*.py``
with ``down_revision`` set to the previous revision; the integration tests fail while the two
disagree.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from stargate.store.database import Database, open_database

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade", "upgrade_database"]

_SCRIPTS = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key: "stargate" in ASCII, so it is recognisable in pg_locks.
_LOCK_KEY = 0x7374617267617465


def alembic_config() -> Config:
    """Alembic's configuration, pointing at the packaged scripts."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError(f"no migration scripts in {_SCRIPTS}")
    return head


def upgrade(database_url: str) -> None:
    """Upgrade the database at ``database_url`` to the newest schema. Blocks; call it from
    synchronous code or through ``asyncio.to_thread``."""
    asyncio.run(_upgrade_url(database_url))


async def _upgrade_url(database_url: str) -> None:
    database = await open_database(database_url, pool_size=1)
    try:
        await upgrade_database(database)
    finally:
        await database.aclose()


async def upgrade_database(database: Database, revision: str = "head") -> None:
    """Upgrade an open database to ``revision`` in one transaction."""
    async with database.engine.connect() as conn:
        # Take the lock before Alembic runs, so that a second upgrade (another replica, or
        # another task here: Alembic's context is process-global) waits, then finds nothing
        # to do.
        if database.dialect == "sqlite":
            await conn.execution_options(stargate_sqlite_begin="IMMEDIATE")
            await conn.execute(text("SELECT 1"))  # opens BEGIN IMMEDIATE: the write lock
        else:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            if database.schema:
                # The name was checked to be a plain identifier when the database was opened.
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{database.schema}"'))
        await conn.run_sync(_run_upgrade, revision)
        await conn.commit()


async def current_revision(database: Database) -> str | None:
    """The revision the database is at, or ``None`` before the first upgrade."""
    async with database.read() as conn:
        return await conn.run_sync(_current_revision)


def _run_upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
