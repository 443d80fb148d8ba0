"""Updating or deleting one row by its key: what the repositories' ``update`` and ``delete``
share (the write and its ``config_versions`` bump in one transaction)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import Column, Table, delete, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.database import Database
from stargate.store.rows import column_value
from stargate.store.versions import VersionName, bump_version, writing

__all__ = ["delete_by_key", "update_by_key"]


async def update_by_key(
    database: Database,
    table: Table,
    key: Column[Any],
    key_value: str,
    changes: Mapping[str, Any],
    *,
    allowed: frozenset[str],
    now: datetime,
    version: VersionName,
    conn: AsyncConnection | None,
    on_conflict: Callable[[IntegrityError], NoReturn] | None = None,
) -> RowMapping | None:
    """Set ``changes`` (record fields; the key itself may not change) and ``updated_at`` on the
    row whose ``key`` is ``key_value``, bump ``version`` in the same transaction, and return the
    row as it now is (``None``: there is no such row). A unique-constraint violation goes to
    ``on_conflict`` (which raises the caller's error)."""
    unknown = set(changes) - allowed
    if unknown or key.name in changes:
        raise ValueError(f"cannot update {table.name} fields {sorted(unknown | {key.name})}")
    values = {name: column_value(value) for name, value in changes.items()}
    values["updated_at"] = now
    async with writing(database, conn) as tx:
        try:
            result = await tx.execute(update(table).where(key == key_value).values(**values))
        except IntegrityError as exc:
            if on_conflict is not None:
                on_conflict(exc)
            raise
        if result.rowcount == 0:
            return None
        await bump_version(tx, version)
        return (await tx.execute(select(table).where(key == key_value))).mappings().one()


async def delete_by_key(
    database: Database,
    table: Table,
    key: Column[Any],
    key_value: str,
    *,
    version: VersionName,
    conn: AsyncConnection | None,
) -> bool:
    """Delete the row whose ``key`` is ``key_value`` and bump ``version`` if there was one."""
    async with writing(database, conn) as tx:
        result = await tx.execute(delete(table).where(key == key_value))
        if result.rowcount:
            await bump_version(tx, version)
    return bool(result.rowcount)
