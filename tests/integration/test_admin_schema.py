"""Migration 0002 (users, teams, budgets, config versions) on SQLite and PostgreSQL: keys made
before it keep working, with their hash as their stable key_id; it can be undone and redone."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from stargate.store.database import Database, open_database
from stargate.store.keys import KeyRepository
from stargate.store.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_database,
)
from stargate.store.versions import ConfigVersions

pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]

OLD_HASH = "ab" * 32
NEW_TABLES = {"users", "teams", "team_members", "budgets", "config_versions"}


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def _tables(database: Database) -> set[str]:
    async with database.read() as conn:
        return await conn.run_sync(lambda c: set(inspect(c).get_table_names()))


async def test_a_key_from_before_0002_keeps_working(database_url: str) -> None:
    database = await open_database(database_url)
    try:
        await upgrade_database(database, "0001")
        async with database.write() as conn:  # a row as revision 0001 wrote it
            await conn.execute(
                text(
                    "INSERT INTO api_keys (key_hash, key_prefix, models, metadata, blocked, "
                    "created_at, updated_at) VALUES (:h, 'sk-...abcd', '[]', '{}', false, :t, :t)"
                ),
                {"h": OLD_HASH, "t": datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)},
            )
        await upgrade_database(database)

        key = await KeyRepository(database).get_by_hash(OLD_HASH)
        assert key is not None
        assert key.key_id == OLD_HASH
        assert (key.budget_limits, dict(key.model_rpm_limit), key.soft_budget_micro) == (
            (),
            {},
            None,
        )
        versions = await ConfigVersions(database).all()
        assert versions == {"keys": 0, "users": 0, "teams": 0, "budgets": 0, "models": 0}
    finally:
        await database.aclose()


async def test_0002_can_be_undone_and_redone(database_url: str) -> None:
    database = await open_database(database_url)
    try:
        await upgrade_database(database)
        assert await _tables(database) >= NEW_TABLES
        async with database.engine.connect() as conn:
            await conn.run_sync(_downgrade, "0001")
            await conn.commit()
        assert await current_revision(database) == "0001"
        assert not NEW_TABLES & await _tables(database)
        await upgrade_database(database)
        assert await current_revision(database) == head_revision()
    finally:
        await database.aclose()
