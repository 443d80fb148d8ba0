"""Migrations bring an empty database to the schema in ``stargate.store.tables``, and running
them again changes nothing: on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from stargate.store.database import Database, open_database
from stargate.store.migrate import (
    at_head,
    current_revision,
    head_revision,
    script_head,
    upgrade,
    upgrade_database,
)
from stargate.store.tables import metadata

pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]


async def _revision_and_tables(url: str) -> tuple[str | None, set[str]]:
    database = await open_database(url)
    try:
        async with database.read() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        return await current_revision(database), tables
    finally:
        await database.aclose()


def test_upgrade_from_a_url_twice_reaches_head_and_creates_the_tables(database_url: str) -> None:
    upgrade(database_url)  # what `stargate migrate` calls, from synchronous code
    upgrade(database_url)

    revision, tables = asyncio.run(_revision_and_tables(database_url))
    assert revision == head_revision()
    assert {"api_keys", "models", "alembic_version"} <= tables


async def test_upgrading_an_up_to_date_database_is_a_no_op(database: Database) -> None:
    before = await current_revision(database)
    await upgrade_database(database)
    assert before == await current_revision(database) == head_revision()


def test_the_scripts_head_read_without_alembic_is_alembics_head() -> None:
    assert script_head() == head_revision()


async def test_a_database_at_head_is_known_without_alembic(database_url: str) -> None:
    database = await open_database(database_url)
    try:
        assert not await at_head(database)  # nothing migrated yet: no table
        await upgrade_database(database, "0001")
        assert not await at_head(database)
        await upgrade_database(database)
        assert await at_head(database)
    finally:
        await database.aclose()


def _schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_build_exactly_the_schema_the_code_declares(database: Database) -> None:
    async with database.read() as conn:
        differences = await conn.run_sync(_schema_differences)
    assert differences == []


async def test_concurrent_upgrades_of_a_fresh_database_both_succeed(database_url: str) -> None:
    first, second = await open_database(database_url), await open_database(database_url)
    try:
        await asyncio.gather(upgrade_database(first), upgrade_database(second))
        assert await current_revision(first) == head_revision()
    finally:
        await first.aclose()
        await second.aclose()
