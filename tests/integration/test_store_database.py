"""Opening databases: readiness pings, SQLite's connection set-up and write locking, and the
PostgreSQL URL options LiteLLM users write."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from stargate.errors import ConfigError
from stargate.store.database import Database, open_database

pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]


async def test_ping_is_true_for_a_reachable_database(database: Database) -> None:
    assert await database.ping() is True


async def test_ping_is_false_when_postgres_is_unreachable() -> None:
    database = await open_database("postgresql://postgres@127.0.0.1:1/test")
    try:
        assert await database.ping(timeout=5) is False
    finally:
        await database.aclose()


async def test_sqlite_creates_its_directory_and_sets_its_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "stargate.db"
    database = await open_database(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        async with database.read() as conn:
            journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            synchronous = (await conn.execute(text("PRAGMA synchronous"))).scalar()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
        assert (journal, synchronous, busy) == ("wal", 1, 5000)  # 1 is NORMAL
        assert database.dialect == "sqlite"
    finally:
        await database.aclose()


async def test_sqlite_writers_that_read_first_wait_instead_of_failing(tmp_path: Path) -> None:
    """Two read-then-write transactions at once: with SQLite's deferred BEGIN the second
    writer fails at once with "database is locked"; BEGIN IMMEDIATE makes it wait."""
    database = await open_database(f"sqlite:///{tmp_path / 'stargate.db'}")
    try:
        async with database.write() as conn:
            await conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            await conn.execute(text("INSERT INTO counter VALUES (0)"))

        async def increment() -> None:
            async with database.write() as conn:
                n = (await conn.execute(text("SELECT n FROM counter"))).scalar_one()
                await asyncio.sleep(0.05)
                await conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

        await asyncio.gather(increment(), increment(), increment())

        async with database.read() as conn:
            assert (await conn.execute(text("SELECT n FROM counter"))).scalar_one() == 3
    finally:
        await database.aclose()


async def test_in_memory_sqlite_keeps_its_data_across_connections() -> None:
    database = await open_database("sqlite://")
    try:
        async with database.write() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with database.read() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    finally:
        await database.aclose()


async def test_litellm_style_postgres_url_options_shape_the_pool() -> None:
    database = await open_database(
        "postgres://u:secret@db.example:5432/litellm"
        "?sslmode=require&connection_limit=3&pgbouncer=true&schema=gateway"
    )
    try:
        assert database.schema == "gateway"
        assert "secret" not in database.url
        assert database.engine.url.query == {"prepared_statement_cache_size": "0"}
        assert database.engine.pool.size() == 3  # type: ignore[attr-defined]
    finally:
        await database.aclose()


async def test_unsupported_urls_and_schema_names_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not supported"):
        await open_database("mysql://root@localhost/db")
    with pytest.raises(ConfigError, match="plain identifier"):
        await open_database("postgresql://u@h/db?schema=x;drop")
