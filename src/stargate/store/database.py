"""One async database handle: an SQLAlchemy ``AsyncEngine`` set up for SQLite or PostgreSQL.

SQLite (the default, a file under ``./var/``): the parent directory is created; every connection
runs ``journal_mode=WAL``, ``busy_timeout=5000`` and ``synchronous=NORMAL``; the driver's own
``BEGIN`` is replaced by ours so that :meth:`Database.write` can open ``BEGIN IMMEDIATE`` (a
deferred read-then-write transaction fails at once with ``SQLITE_BUSY``, ignoring
``busy_timeout``). An in-memory URL (``sqlite+aiosqlite://``) shares one connection.

PostgreSQL (asyncpg): a bounded pool with pre-ping and recycling. The URL's query may carry what
LiteLLM/Prisma users write: ``schema=name`` (the ``search_path``; :func:`stargate.store.migrate
.upgrade` creates it), ``sslmode=require`` (asyncpg's ``ssl``), ``pgbouncer=true`` (no prepared
statement caches, for PgBouncer in transaction mode), ``connection_limit=N`` (the most
connections the pool opens),
``pool_timeout=S`` and ``connect_timeout=S``. Anything else goes to asyncpg as is.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from stargate.config.database_url import (
    InvalidDatabaseUrl,
    normalize_database_url,
    redact_database_url,
)
from stargate.errors import ConfigError

__all__ = ["Database", "open_database"]

log = logging.getLogger("stargate.store")

_BEGIN_OPTION = "stargate_sqlite_begin"
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE"})
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)
_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(slots=True)
class Database:
    """The engine plus what was learnt from the URL. Build it with :func:`open_database`."""

    engine: AsyncEngine
    url: str  # redacted: safe to log
    schema: str | None = None  # PostgreSQL search_path schema, when the URL names one

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed when the block ends without an exception. On SQLite
        it starts with ``BEGIN IMMEDIATE``, so it waits for the write lock up front."""
        async with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                await conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; its implicit transaction is rolled back at the end."""
        async with self.engine.connect() as conn:
            yield conn

    async def ping(self, timeout: float = 2.0) -> bool:
        """``True`` when a ``SELECT 1`` succeeds within ``timeout`` seconds (for readiness)."""
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            log.warning("database %s is not reachable: %s: %s", self.url, type(exc).__name__, exc)
            return False
        return True

    async def aclose(self) -> None:
        await self.engine.dispose()


async def open_database(url: str, *, pool_size: int = 10) -> Database:
    """Create the engine for ``url`` (any form :func:`normalize_database_url` accepts). No
    connection is made yet; :meth:`Database.ping` checks one."""
    try:
        parsed = make_url(normalize_database_url(url))
    except InvalidDatabaseUrl as exc:
        raise ConfigError(str(exc), source="database_url") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            await asyncio.to_thread(Path(database).parent.mkdir, parents=True, exist_ok=True)
        engine = _sqlite_engine(parsed, memory=database in ("", ":memory:"))
        return Database(engine, redact_database_url(str(parsed)))
    parsed, options, schema = _postgres_options(parsed, pool_size)
    engine = create_async_engine(parsed, **options)
    return Database(engine, redact_database_url(parsed.render_as_string(False)), schema)


def _sqlite_engine(url: URL, *, memory: bool) -> AsyncEngine:
    if memory:
        engine = create_async_engine(url, poolclass=StaticPool)
    else:
        engine = create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)
    pragmas = _SQLITE_PRAGMAS if memory else ("PRAGMA journal_mode=WAL", *_SQLITE_PRAGMAS)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        if mode not in _BEGIN_MODES:
            raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _postgres_options(url: URL, pool_size: int) -> tuple[URL, dict[str, Any], str | None]:
    query = {k: v for k, v in url.query.items() if isinstance(v, str)}
    connect_args: dict[str, Any] = {"timeout": 10.0}
    options: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_timeout": 30.0,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
    }
    schema = query.pop("schema", None)
    if schema is not None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigError(f"schema {schema!r} is not a plain identifier", source="database_url")
        connect_args["server_settings"] = {"search_path": schema}
    if (sslmode := query.pop("sslmode", None)) is not None:
        connect_args["ssl"] = sslmode
    if query.pop("pgbouncer", "").lower() in _TRUE:
        connect_args["statement_cache_size"] = 0
        query["prepared_statement_cache_size"] = "0"
    try:
        if (limit := query.pop("connection_limit", None)) is not None:
            options["pool_size"], options["max_overflow"] = max(1, int(limit)), 0
        if (pool_timeout := query.pop("pool_timeout", None)) is not None:
            options["pool_timeout"] = float(pool_timeout)
        if (connect_timeout := query.pop("connect_timeout", None)) is not None:
            connect_args["timeout"] = float(connect_timeout)
    except ValueError as exc:
        raise ConfigError(
            f"a number in the URL query is not valid: {exc}", source="database_url"
        ) from exc
    options["connect_args"] = connect_args
    return url.set(query=query), options, schema
