"""A replica SIGKILLed mid-flight: its budget holds expire and the counters, rebuilt from the
ledger, equal it (4 replicas on PostgreSQL and Redis, 3-second reservation leases)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid

import aiohttp
import pytest
from sqlalchemy import text

from tests.e2e.admin_client import admin
from tests.e2e.processes import Emulator, Gateway, run_gateway
from tests.e2e.test_budget_race import (
    REDIS_URL,
    _drop,
    _fire,
    _reachable_postgres,
    _unavailable,
)


async def _fire_and_kill(
    gateways: list[Gateway], key: str, count: int, victim: Gateway, kill_after: int
) -> list[int]:
    """Like :func:`_fire`, but SIGKILL ``victim`` once ``kill_after`` answers have arrived."""
    statuses: list[int] = []
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=count), timeout=timeout
    ) as session:

        async def one(i: int) -> None:
            url = gateways[i % len(gateways)].url + "/v1/chat/completions"
            body = {"model": "claude-haiku-4-5", "max_tokens": 40,
                    "messages": [{"role": "user", "content": f"kill test {i}"}]}  # fmt: skip
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with session.post(url, json=body, headers={"x-api-key": key}) as response:
                    await response.read()
                    statuses.append(response.status)
                    if len(statuses) == kill_after and victim.proc.poll() is None:
                        os.kill(victim.proc.pid, signal.SIGKILL)

        await asyncio.gather(*(one(i) for i in range(count)))
    return statuses


async def _ledger_spend(base: str, schema: str, key_id: str) -> int:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(base)
    try:
        async with engine.connect() as conn:
            value = await conn.scalar(
                text(
                    f'SELECT COALESCE(SUM(cost_micro), 0) FROM "{schema}".spend_logs '
                    "WHERE key_id = :key_id"
                ),
                {"key_id": key_id},
            )
            return int(value)
    finally:
        await engine.dispose()


async def _counter(scope: str, window_key: str) -> int:
    from stargate.store.counters_redis import RedisCounters

    counters = RedisCounters(REDIS_URL)
    try:
        return await counters.spent(scope, window_key)
    finally:
        await counters.aclose()


def test_a_killed_replica_holds_expire_and_counters_equal_the_ledger(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from stargate.governance.durations import parse_window
    from stargate.governance.windows import utc_now

    base = asyncio.run(_reachable_postgres())
    if base is None:
        _unavailable("PostgreSQL is not reachable on 127.0.0.1:5432")
        return
    schema = f"stargate_kill_{uuid.uuid4().hex[:10]}"
    env = {
        "DATABASE_URL": f"{base}?schema={schema}",
        "REDIS_URL": REDIS_URL,
        "STARGATE_RESERVATION_LEASE_SECONDS": "3",
    }
    budget_micro = 8_000
    try:
        with contextlib.ExitStack() as stack:
            gateways = [
                stack.enter_context(
                    run_gateway(emulator.url, tmp_path_factory.mktemp(f"kill{i}"), **env)
                )
                for i in range(4)
            ]
            made = admin(gateways[0], "/key/generate",
                         {"max_budget": budget_micro / 1_000_000, "budget_duration": "1d",
                          "models": ["claude-haiku-4-5"]})  # fmt: skip
            statuses = asyncio.run(
                _fire_and_kill(gateways, made["key"], 400, gateways[3], kill_after=60)
            )
            assert gateways[3].proc.poll() is not None, "the replica was killed"
            assert set(statuses) <= {200, 429}, statuses
            time.sleep(4)  # the killed replica's reservations outlive their 3 s lease no more
            survivors = gateways[:3]
            admin(survivors[0], "/counters/rebuild", {})
            key_id = made["key_id"]
            spent = asyncio.run(_ledger_spend(base, schema, key_id))
            window = parse_window("1d").key_at(utc_now())
            counted = asyncio.run(_counter(f"key:{key_id}", window))
            assert spent <= budget_micro
            assert counted == spent
            # And the budget still holds afterwards: the next requests pay from what is left.
            statuses = asyncio.run(_fire(survivors, made["key"], 60))
            assert {s for s, _ in statuses} <= {200, 429}
            assert asyncio.run(_ledger_spend(base, schema, key_id)) <= budget_micro
    finally:
        asyncio.run(_drop(base, schema))
