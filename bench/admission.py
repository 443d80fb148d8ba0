"""CPU per admission + settlement, in-process and with Redis (and Redis calls per request).

    uv run python -m bench.admission [--requests 5000] [--redis redis://127.0.0.1:6379/0]
                                     [--rounds 1] [--uvloop]

Two paths, each on both stores, one request after another:

* ``gate``: what the pipeline runs per governed request: ``Gate.admit`` for a key of a user in a
  team (a day and a month budget and RPM, TPM and parallel limits on the key, a month budget on
  the user, a day budget and RPM on the team), with its headers, then ``Gate.settle`` with the
  upstream's usage (the real cost, from the deployment's prices).
* ``counters``: the counter store alone: a plan for the same scopes, ``admit``, ``settle``.

With Redis each is measured twice: for real, and with Redis's replies replayed (:class:`Replay`),
which leaves the client's own CPU without the socket's.

``--uvloop`` runs on uvloop, as ``stargate serve`` does (default: asyncio's own loop, as the
numbers in docs/benchmarks.md were measured). ``--rounds`` repeats every measurement and prints
each (the machine is shared and noisy). CPU is the process's, with the part the kernel counted
as system time (with Redis, mostly the socket's).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis.asyncio as aioredis

from stargate.config.deployment import Deployment, ModelInfo
from stargate.core import Usage
from stargate.governance.admission import Admitted, plan_admission
from stargate.governance.counters import CounterStore
from stargate.governance.durations import parse_window
from stargate.governance.policy import BudgetWindow, Limits
from stargate.governance.pricing import Pricing
from stargate.pipeline import Gate, Principal
from stargate.store.counters_memory import MemoryCounters
from stargate.store.counters_redis import RedisCounters
from stargate.store.redis_wire import Script

INFO = ModelInfo(
    input_cost_per_token=Decimal("0.0000011"), output_cost_per_token=Decimal("0.0000055")
)
PRICING = Pricing.of(INFO)
DEPLOYMENTS = [Deployment(id="d", model_name="m", provider="bedrock", model="x", info=INFO)]
USAGE = Usage(input_tokens=200, output_tokens=300)


def scopes(tag: str) -> tuple[tuple[str, Limits], ...]:
    big = 10**12
    day, month = parse_window("1d"), parse_window("1mo")
    return (
        (f"key:{tag}", Limits(budgets=(BudgetWindow(big, day), BudgetWindow(big, month)),
                               rpm=10**9, tpm=10**12, max_parallel=10**6)),
        (f"user:{tag}", Limits(budgets=(BudgetWindow(big, month),))),
        (f"team:{tag}", Limits(budgets=(BudgetWindow(big, day),), rpm=10**9)),
    )  # fmt: skip


Run = Callable[[CounterStore, int], Awaitable["Cpu"]]


class Cpu:
    """CPU per request in ms since made: in all (``time.process_time``), and the share of it the
    kernel counted as system time (``getrusage``)."""

    def __init__(self, requests: int) -> None:
        self.requests = requests
        self.total = self.system = 0.0
        self._start = (time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_stime)

    def stop(self) -> Cpu:
        total, system = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
        self.total = (total - self._start[0]) / self.requests * 1000
        self.system = (system - self._start[1]) / self.requests * 1000
        return self

    def __str__(self) -> str:
        return f"{self.total:.3f} ms CPU per request (system {self.system:.3f})"


async def run_counters(counters: CounterStore, requests: int) -> Cpu:
    tag = uuid.uuid4().hex[:8]
    limits = scopes(tag)
    cpu = Cpu(requests)
    for i in range(requests):
        plan = plan_admission(limits, request_id=f"{tag}-{i}", model="m",
                              now=datetime.now(UTC), prompt_tokens=200, max_tokens=500,
                              pricing=PRICING, lease_seconds=900)  # fmt: skip
        outcome = await counters.admit(plan)
        assert isinstance(outcome, Admitted)
        await counters.settle(plan.request_id, 300, 400)
    return cpu.stop()


async def run_gate(counters: CounterStore, requests: int) -> Cpu:
    tag = uuid.uuid4().hex[:8]
    principal = Principal("key", tag, tag, key_id=tag, user_id=tag, team_id=tag,
                          scopes=scopes(tag))  # fmt: skip
    gate = Gate(counters, clock=lambda: datetime.now(UTC), access_groups_of=lambda _: frozenset())
    cpu = Cpu(requests)
    for i in range(requests):
        ticket = await gate.admit(principal, "m", DEPLOYMENTS, request_id=f"{tag}-{i}",
                                  prompt_tokens=lambda: 200, max_tokens=500)  # fmt: skip
        assert ticket.admitted is not None
        assert ticket.headers
        await gate.settle(ticket, USAGE, DEPLOYMENTS[0])
    return cpu.stop()


class Replay:
    """Stands in for the Redis store's wire: answers every script with the last reply Redis gave
    it (an admission that fits, a settlement), at once. What is left is the client's own CPU
    (planning, encoding, decoding, headers), without the socket and its event loop turns."""

    def __init__(self, wire: Any) -> None:
        self.wire = wire
        self.replies: dict[str, Any] = {}

    async def evalsha(self, script: Script, *args: str | bytes | int) -> Any:
        if self.wire is not None:
            self.replies[script.sha] = await self.wire.evalsha(script, *args)
        return self.replies[script.sha]


async def run_replayed(counters: RedisCounters, run: Run, requests: int) -> Cpu:
    wire = counters._wire
    replay = Replay(wire)
    counters._wire = replay  # type: ignore[assignment]
    try:
        await run(counters, 10)  # record real replies
        replay.wire = None
        return await run(counters, requests)
    finally:
        counters._wire = wire


async def redis_calls(url: str) -> int:
    client = aioredis.Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
        return sum(int(v["calls"]) for k, v in stats.items() if k.startswith("cmdstat_eval"))
    finally:
        await client.aclose()


async def main(requests: int, url: str, rounds: int) -> None:
    paths: dict[str, Run] = {"gate": run_gate, "counters": run_counters}
    for _ in range(rounds):
        for name, run in paths.items():
            await run(MemoryCounters(), 200)  # warm up
            memory = await run(MemoryCounters(), requests)
            print(f"{name} in-process: {memory} (admit + settle), {requests} requests")
        counters = RedisCounters(url, prefix=f"bench-{uuid.uuid4().hex[:6]}")
        try:
            for name, run in paths.items():
                await run(counters, 50)  # load the scripts, warm the connection
                before = await redis_calls(url)
                cpu = await run(counters, requests)
                calls = (await redis_calls(url) - before) / requests
                print(f"{name} redis: {cpu} in the client, {calls:.2f} script calls per "
                      "request (one to admit, one to settle)")  # fmt: skip
                replayed = await run_replayed(counters, run, requests)
                print(f"{name} redis, replies replayed (no socket): {replayed}")
        finally:
            await counters.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.run(main(args.requests, args.redis, args.rounds))
    else:
        asyncio.run(main(args.requests, args.redis, args.rounds))
