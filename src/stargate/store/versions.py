"""``config_versions``: one counter per kind of administered object.

Every repository write bumps its kind's version inside the same transaction, so a replica that
polls :meth:`ConfigVersions.all` (one small query) knows whether keys, users, teams, budgets or
models changed since it last looked, and reloads only those.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.database import Database
from stargate.store.tables import CONFIG_VERSION_NAMES, config_versions

__all__ = ["ConfigVersions", "VersionName", "bump_version", "reading", "writing"]

VersionName = Literal["keys", "users", "teams", "budgets", "models"]


async def bump_version(conn: AsyncConnection, name: VersionName) -> None:
    """Add one to ``name``'s version, in the caller's transaction."""
    result = await conn.execute(
        update(config_versions)
        .where(config_versions.c.name == name)
        .values(version=config_versions.c.version + 1)
    )
    if result.rowcount == 0:  # the migration seeds every name; a missing row is re-created
        await conn.execute(insert(config_versions).values(name=name, version=1))


@asynccontextmanager
async def writing(
    database: Database, conn: AsyncConnection | None
) -> AsyncIterator[AsyncConnection]:
    """The caller's connection (its transaction), or a new write transaction of our own."""
    if conn is not None:
        yield conn
        return
    async with database.write() as own:
        yield own


@asynccontextmanager
async def reading(
    database: Database, conn: AsyncConnection | None
) -> AsyncIterator[AsyncConnection]:
    """The caller's connection (so reads see its uncommitted writes), or a read connection."""
    if conn is not None:
        yield conn
        return
    async with database.read() as own:
        yield own


class ConfigVersions:
    """Read the versions (writes bump them through :func:`bump_version`)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def all(self) -> dict[str, int]:
        """Every kind's version: ``{"keys": 3, "users": 0, ...}``."""
        async with self._database.read() as conn:
            rows = (await conn.execute(select(config_versions))).all()
        found = {str(name): int(version) for name, version in rows}
        return {name: found.get(name, 0) for name in CONFIG_VERSION_NAMES} | found

    async def get(self, name: VersionName) -> int:
        async with self._database.read() as conn:
            value = await conn.scalar(
                select(config_versions.c.version).where(config_versions.c.name == name)
            )
        return int(value or 0)
