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
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from stargate.store.database import Database, open_database

if TYPE_CHECKING:  # Alembic is imported only when a migration runs (it costs start-up time)
    from alembic.config import Config

__all__ = [
    "alembic_config",
    "at_head",
    "current_revision",
    "head_revision",
    "script_head",
    "upgrade",
    "upgrade_database",
]

_SCRIPTS = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key: "stargate" in ASCII, so it is recognisable in pg_locks.
_LOCK_KEY = 0x7374617267617465


def alembic_config() -> Config:
    """Alembic's configuration, pointing at the packaged scripts."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str:
    """The newest revision the code knows (Alembic's answer)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError(f"no migration scripts in {_SCRIPTS}")
    return head


_REVISION = re.compile(r'^revision\s*=\s*"([^"]+)"', re.M)
_DOWN = re.compile(r'^down_revision[^=]*=\s*"([^"]+)"', re.M)


def script_head() -> str | None:
    """The newest revision, read from the scripts' text without importing Alembic: the one
    revision no other script names as its ``down_revision`` (``None`` if that is ambiguous)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (_SCRIPTS / "versions").glob("r*.py"):
        source = script.read_text(encoding="utf-8")
        if found := _REVISION.search(source):
            revisions.add(found.group(1))
        if down := _DOWN.search(source):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def at_head(database: Database) -> bool:
    """Whether the database is already at the newest revision: one small query, so a start-up
    with nothing to migrate does not load Alembic at all."""
    head = script_head()
    if head is None:
        return False
    try:
        async with database.read() as conn:
            found = await conn.execute(text("SELECT version_num FROM alembic_version"))
            versions = set(found.scalars())
    except SQLAlchemyError:  # no schema or no table yet
        return False
    return versions == {head}


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


# How long a second upgrade of a SQLite database waits for the first one's write lock. SQLite's
# own busy timeout (5 s, for the request path) can run out while a migration runs on a loaded
# machine; the lock is then asked for again until this bound.
_SQLITE_LOCK_WAIT_S = 300.0


async def upgrade_database(database: Database, revision: str = "head") -> None:
    """Upgrade an open database to ``revision`` in one transaction."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _SQLITE_LOCK_WAIT_S
    while True:
        try:
            await _upgrade_locked(database, revision)
            return
        except OperationalError as exc:
            locked = database.dialect == "sqlite" and "database is locked" in str(exc)
            if not locked or loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)  # the transaction rolled back whole: nothing is half-done


async def _upgrade_locked(database: Database, revision: str) -> None:
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
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
