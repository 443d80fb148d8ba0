"""Budgets and rate limits across 4 gateway replicas sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import aiohttp
import pytest
import redis
from sqlalchemy import text

from tests.e2e.admin_client import admin, new_key
from tests.e2e.processes import Emulator, Gateway, run_gateway

HAIKU_IN, HAIKU_OUT = Decimal("0.0000011"), Decimal("0.0000055")
PG_CANDIDATES = (
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    "postgresql+asyncpg://root@127.0.0.1:5432/test",
)
REDIS_URL = "redis://127.0.0.1:6379/0"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


async def _reachable_postgres() -> str | None:
    from sqlalchemy.ext.asyncio import create_async_engine

    for base in PG_CANDIDATES:
        engine = create_async_engine(base)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return base
        except Exception:
            continue
        finally:
            await engine.dispose()
    return None


@pytest.fixture(scope="module")
def race_db() -> Iterator[tuple[str, str]]:
    """A PostgreSQL base URL and a schema of this module's own (dropped afterwards)."""
    base = asyncio.run(_reachable_postgres())
    if base is None:
        _unavailable("PostgreSQL is not reachable on 127.0.0.1:5432")
        raise AssertionError("unreachable")
    schema = f"stargate_race_{uuid.uuid4().hex[:10]}"
    yield base, schema
    asyncio.run(_drop(base, schema))


@pytest.fixture(scope="module")
def replicas(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory, race_db: tuple[str, str]
) -> Iterator[list[Gateway]]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis is not reachable: {exc}")
    base, schema = race_db
    env = {"DATABASE_URL": f"{base}?schema={schema}", "REDIS_URL": REDIS_URL}
    with contextlib.ExitStack() as stack:
        gateways = [
            stack.enter_context(
                run_gateway(emulator.url, tmp_path_factory.mktemp(f"replica{i}"), **env)
            )
            for i in range(4)
        ]
        yield gateways


async def ledger_of(base: str, schema: str, key_id: str) -> tuple[int, int]:
    """(successful rows, their total cost in micro-USD) of one key in the ledger."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(base)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT COUNT(*), COALESCE(SUM(cost_micro), 0) "
                        f"FROM \"{schema}\".spend_logs WHERE key_id = :k AND status = 'success'"
                    ),
                    {"k": key_id},
                )
            ).one()
            return int(row[0]), int(row[1])
    finally:
        await engine.dispose()


async def _drop(base: str, schema: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(base)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


async def _fire(
    gateways: list[Gateway], key: str, count: int
) -> list[tuple[int, dict[str, object]]]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=count)) as session:

        async def one(i: int) -> tuple[int, dict[str, object]]:
            url = gateways[i % len(gateways)].url + "/v1/chat/completions"
            body = {"model": "claude-haiku-4-5", "max_tokens": 40,
                    "messages": [{"role": "user", "content": f"request {i}"}]}  # fmt: skip
            async with session.post(url, json=body, headers={"x-api-key": key}) as response:
                return response.status, await response.json()

        return await asyncio.gather(*(one(i) for i in range(count)))


def _cost(usage: dict[str, int]) -> int:
    usd = usage["prompt_tokens"] * HAIKU_IN + usage["completion_tokens"] * HAIKU_OUT
    return math.ceil(usd * 1_000_000)


def test_budget_holds_across_four_replicas(
    replicas: list[Gateway], race_db: tuple[str, str]
) -> None:
    budget_micro = 8_000
    body = {"max_budget": budget_micro / 1_000_000, "models": ["claude-haiku-4-5"]}
    made = admin(replicas[0], "/key/generate", body)
    key = made["key"]
    results = asyncio.run(_fire(replicas, key, 400))
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 429}, statuses
    admitted = [body for status, body in results if status == 200]
    refused = [body for status, body in results if status == 429]
    assert admitted
    assert refused
    for body in refused:
        assert body["error"]["type"] == "budget_exceeded"  # type: ignore[index]
    spent = sum(_cost(body["usage"]) for body in admitted)  # type: ignore[arg-type]
    assert spent <= budget_micro
    # The ledger has every admitted request, once, at the cost the clients were told.
    rows, ledger_spent = 0, 0
    for _ in range(100):
        rows, ledger_spent = asyncio.run(ledger_of(*race_db, made["key_id"]))
        if rows >= len(admitted):
            break
        time.sleep(0.1)
    assert rows == len(admitted)
    assert ledger_spent == spent


def test_rpm_holds_across_four_replicas(replicas: list[Gateway]) -> None:
    key = new_key(replicas[0], rpm_limit=37)
    results = asyncio.run(_fire(replicas, key, 120))
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 37
    assert statuses.count(429) == 120 - 37
    refusal = next(body for status, body in results if status == 429)
    assert refusal["error"]["type"] == "rate_limit_exceeded"  # type: ignore[index]
