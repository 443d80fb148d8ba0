"""Budgets and rate limits across 4 gateway replicas sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import uuid
from collections.abc import Iterator
from decimal import Decimal

import aiohttp
import pytest
import redis
from sqlalchemy import text

from tests.e2e.admin_client import new_key
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
def replicas(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Gateway]]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis is not reachable: {exc}")
    base = asyncio.run(_reachable_postgres())
    if base is None:
        _unavailable("PostgreSQL is not reachable on 127.0.0.1:5432")
        return
    schema = f"stargate_race_{uuid.uuid4().hex[:10]}"
    env = {"DATABASE_URL": f"{base}?schema={schema}", "REDIS_URL": REDIS_URL}
    with contextlib.ExitStack() as stack:
        gateways = [
            stack.enter_context(
                run_gateway(emulator.url, tmp_path_factory.mktemp(f"replica{i}"), **env)
            )
            for i in range(4)
        ]
        yield gateways
    asyncio.run(_drop(base, schema))


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


def test_budget_holds_across_four_replicas(replicas: list[Gateway]) -> None:
    budget_micro = 8_000
    key = new_key(replicas[0], max_budget=budget_micro / 1_000_000, models=["claude-haiku-4-5"])
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


def test_rpm_holds_across_four_replicas(replicas: list[Gateway]) -> None:
    key = new_key(replicas[0], rpm_limit=37)
    results = asyncio.run(_fire(replicas, key, 120))
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 37
    assert statuses.count(429) == 120 - 37
    refusal = next(body for status, body in results if status == 429)
    assert refusal["error"]["type"] == "rate_limit_exceeded"  # type: ignore[index]
