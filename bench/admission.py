"""CPU per admission + settlement, in-process and with Redis (and Redis calls per request).

    uv run python -m bench.admission [--requests 5000] [--redis redis://127.0.0.1:6379/0]

Each request is planned for a key, its user and its team (four budget windows, RPM, TPM and
parallel limits), admitted, then settled, one after another, as the gate does per request.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import redis.asyncio as aioredis

from stargate.config.deployment import ModelInfo
from stargate.governance.admission import Admitted, plan_admission
from stargate.governance.counters import CounterStore
from stargate.governance.durations import parse_window
from stargate.governance.policy import BudgetWindow, Limits
from stargate.governance.pricing import Pricing
from stargate.store.counters_memory import MemoryCounters
from stargate.store.counters_redis import RedisCounters

PRICING = Pricing.of(
    ModelInfo(input_cost_per_token=Decimal("0.0000011"), output_cost_per_token=Decimal("0.0000055"))
)


def scopes(tag: str) -> list[tuple[str, Limits]]:
    big = 10**12
    day, month = parse_window("1d"), parse_window("1mo")
    return [
        (f"key:{tag}", Limits(budgets=(BudgetWindow(big, day), BudgetWindow(big, month)),
                               rpm=10**9, tpm=10**12, max_parallel=10**6)),
        (f"user:{tag}", Limits(budgets=(BudgetWindow(big, month),))),
        (f"team:{tag}", Limits(budgets=(BudgetWindow(big, day),), rpm=10**9)),
    ]  # fmt: skip


async def run(counters: CounterStore, requests: int) -> float:
    tag = uuid.uuid4().hex[:8]
    limits = scopes(tag)
    started = time.process_time()
    for i in range(requests):
        plan = plan_admission(limits, request_id=f"{tag}-{i}", model="m",
                              now=datetime.now(UTC), prompt_tokens=200, max_tokens=500,
                              pricing=PRICING, lease_seconds=900)  # fmt: skip
        outcome = await counters.admit(plan)
        assert isinstance(outcome, Admitted)
        await counters.settle(plan.request_id, 300, 400)
    return (time.process_time() - started) / requests * 1000


async def redis_calls(url: str) -> int:
    client = aioredis.Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
        return sum(int(v["calls"]) for k, v in stats.items() if k.startswith("cmdstat_eval"))
    finally:
        await client.aclose()


async def main(requests: int, url: str) -> None:
    memory = await run(MemoryCounters(), requests)
    print(f"in-process: {memory:.3f} ms CPU per request (admit + settle), {requests} requests")
    counters = RedisCounters(url, prefix=f"bench-{uuid.uuid4().hex[:6]}")
    try:
        await run(counters, 50)  # load the scripts, warm the pool
        before = await redis_calls(url)
        cpu = await run(counters, requests)
        calls = (await redis_calls(url) - before) / requests
    finally:
        await counters.aclose()
    print(f"redis: {cpu:.3f} ms client CPU per request, {calls:.2f} script calls per request "
          "(one to admit, one to settle)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.redis))
