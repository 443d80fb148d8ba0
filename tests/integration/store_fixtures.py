"""Database fixtures for the store integration tests: a test that asks for ``database_url`` or
``database`` runs twice, on a fresh SQLite file and on the real PostgreSQL service.

PostgreSQL is found at ``$STARGATE_TEST_POSTGRES_URL`` or ``127.0.0.1:5432/test`` as user
``postgres``, then ``root``. Each test gets a schema of its own (dropped afterwards), so runs in
parallel do not collide. When PostgreSQL cannot be reached the PostgreSQL half is skipped with the
reason, except under ``CI=true``, where it fails: CI must really use the service.

A test module next to this file loads these fixtures with::

    pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]

(the name depends on whether ``tests/integration`` is a package or a plain directory).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from stargate.store.database import Database, open_database
from stargate.store.migrate import upgrade_database

_T = TypeVar("_T")
_CANDIDATES = (
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    "postgresql+asyncpg://root@127.0.0.1:5432/test",
)


def run_in_thread(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion on a loop of its own, in a worker thread, so it never
    meets the test's event loop (usable from sync fixtures and sync tests alike)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _reachable(url: str) -> str | None:
    engine = create_async_engine(url, connect_args={"timeout": 3})
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A base URL of a reachable PostgreSQL (skip, or fail under CI=true, when none is)."""
    override = os.environ.get("STARGATE_TEST_POSTGRES_URL")
    candidates = (override,) if override else _CANDIDATES
    problems = []
    for url in candidates:
        problem = run_in_thread(_reachable(url))
        if problem is None:
            return url
        problems.append(f"{url}: {problem}")
    reason = "PostgreSQL is not reachable (" + "; ".join(problems) + ")"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


async def _drop_schema(base_url: str, schema: str) -> None:
    engine = create_async_engine(base_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in a directory that does not exist yet, or
    a PostgreSQL schema of this test's own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'var' / 'stargate.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"stargate_test_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{base}?schema={schema}"
    finally:
        run_in_thread(_drop_schema(base, schema))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """An open database at the newest schema."""
    db = await open_database(database_url)
    try:
        await upgrade_database(db)
        yield db
    finally:
        await db.aclose()
