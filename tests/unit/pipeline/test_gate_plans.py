"""The gate keeps each principal's admission plan and each model's prices between requests: a
limit changed on a key, user or team, a window that rolls over, an expiring key or new prices
still take effect on the very next request, concurrent admissions still never overspend, and
settlement still runs when the request is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stargate.config.deployment import Deployment, ModelInfo
from stargate.core import Usage
from stargate.errors import AuthenticationFailed, BudgetExceeded, ModelAccessDenied, RateLimited
from stargate.governance.admission import Admission, AdmissionRequest
from stargate.governance.counters import CounterStore
from stargate.governance.durations import parse_window
from stargate.governance.keys import generate_key, hash_key
from stargate.governance.policy import BudgetWindow, Limits
from stargate.pipeline import Gate, Principal, PrincipalDirectory, Ticket
from stargate.store.counters_allotments import DEMAND, AllottedCounters
from stargate.store.counters_memory import MemoryCounters
from stargate.store.counters_redis import RedisCounters
from stargate.store.database import Database, open_database
from stargate.store.keys import KeyRecord, KeyRepository
from stargate.store.migrate import upgrade_database
from stargate.store.teams import MemberRecord, TeamRecord, TeamRepository
from stargate.store.users import UserRecord, UserRepository
from tests.redis_service import forget_prefix, require_redis

NOW = datetime(2026, 11, 22, 23, 58, tzinfo=UTC)
PRICED = ModelInfo(
    input_cost_per_token=Decimal("0.000001"), output_cost_per_token=Decimal("0.000005")
)
DEPLOYMENT = Deployment(id="d", model_name="m", provider="bedrock", model="x", info=PRICED)
# 100 prompt tokens x $1/M + 1000 x $5/M
WORST_MICRO = 5100


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def gate(counters: CounterStore, clock: Clock) -> Gate:
    return Gate(counters, clock=clock, access_groups_of=lambda _: frozenset())


async def admit(g: Gate, p: Principal, rid: str, deployments: list[Deployment] | None = None,
                max_tokens: int = 1000) -> Ticket:  # fmt: skip
    return await g.admit(p, "m", deployments or [DEPLOYMENT], request_id=rid,
                         prompt_tokens=lambda: 100, max_tokens=max_tokens)  # fmt: skip


# --- limits changed by an admin, through the principal directory ---------------------------------


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'stargate.db'}")
    try:
        await upgrade_database(db)
        yield db
    finally:
        await db.aclose()


async def test_a_limit_changed_on_a_key_user_or_team_applies_to_the_next_request(
    database: Database,
) -> None:
    key = generate_key()
    users, teams, keys = UserRepository(database), TeamRepository(database), KeyRepository(database)
    await users.insert(UserRecord("u", max_budget_micro=10**6))
    await teams.insert(TeamRecord("t", max_budget_micro=10**6, budget_duration="1d"))
    await teams.put_member(MemberRecord("t", "u"))
    await keys.insert(KeyRecord.new(key, key_id="k", user_id="u", team_id="t", rpm_limit=100))
    directory = PrincipalDirectory(database, timezone="UTC")
    g = gate(MemoryCounters(clock=Clock()), Clock())

    async def principal() -> Principal:
        directory.invalidate()  # what the watcher does when an admin change is recorded
        found = await directory.lookup(hash_key(key))
        assert found is not None
        return found

    async def refused_by(rid: str) -> str:
        with pytest.raises(BudgetExceeded) as caught:
            await admit(g, await principal(), rid)
        return caught.value.headers["x-stargate-budget-scope"]

    await admit(g, await principal(), "r1")
    await admit(g, await principal(), "r2")  # the same limits, loaded again: 10 200 held

    await teams.update("t", {"max_budget_micro": 2 * WORST_MICRO - 1})
    assert await refused_by("r3") == "team"
    await teams.update("t", {"max_budget_micro": 10**6})
    await admit(g, await principal(), "r4")  # 15 300 held

    await users.update("u", {"max_budget_micro": 3 * WORST_MICRO})
    assert await refused_by("r5") == "user"
    await users.update("u", {"max_budget_micro": None})

    await teams.put_member(MemberRecord("t", "u", max_budget_micro=50))  # not even the prompt
    assert await refused_by("r6") == "member"
    await teams.put_member(MemberRecord("t", "u"))

    await keys.update(hash_key(key), {"rpm_limit": 4})  # r1, r2, r4 in the minute
    await admit(g, await principal(), "r7")
    with pytest.raises(RateLimited):
        await admit(g, await principal(), "r8")


async def test_a_new_tier_on_the_same_principal_object_is_seen() -> None:
    # The directory builds a new principal for new limits; a new principal with equal scopes
    # but a lower budget is planned afresh, not taken for the cached one.
    g = gate(MemoryCounters(clock=Clock()), Clock())
    day = parse_window("1d")

    def budgeted(limit_micro: int) -> Principal:
        limits = Limits(budgets=(BudgetWindow(limit_micro, day),))
        return Principal("key", "h", "a", scopes=(("key:h", limits),))

    rich, poor = budgeted(10**6), budgeted(50)
    await admit(g, rich, "r1")
    with pytest.raises(BudgetExceeded):
        await admit(g, poor, "r2")
    await admit(g, rich, "r3")


# --- windows and expiry --------------------------------------------------------------------------


async def test_a_window_rolling_over_gives_the_new_window() -> None:
    clock = Clock()
    counters = MemoryCounters(clock=clock)
    g = gate(counters, clock)
    day = parse_window("1d")
    limits = Limits(budgets=(BudgetWindow(6000, day),))
    p = Principal("key", "h", "a", scopes=(("key:h", limits),))

    first = await admit(g, p, "r1")
    assert first.headers["x-stargate-budget-reset-at"] == "2026-11-23T00:00:00Z"
    await g.settle(first, Usage(input_tokens=100, output_tokens=1000), DEPLOYMENT)
    lowered = await admit(g, p, "r2")  # 900 micro left today: (900 - 100) / 5 tokens
    assert lowered.max_tokens == 160
    await g.settle(lowered, None, None)

    clock.now = NOW + timedelta(minutes=2)  # past midnight UTC: a new day
    second = await admit(g, p, "r3")
    assert second.headers["x-stargate-budget-reset-at"] == "2026-11-24T00:00:00Z"
    assert second.headers["x-stargate-budget-remaining"] == "0.000900"  # 6000 - 5100 reserved
    assert await counters.spent("key:h", day.key_at(NOW)) == WORST_MICRO
    await g.settle(second, Usage(input_tokens=100, output_tokens=10), DEPLOYMENT)
    assert await counters.spent("key:h", day.key_at(clock.now)) == 150


async def test_a_key_that_expires_is_refused_from_its_expiry_on() -> None:
    clock = Clock()
    g = gate(MemoryCounters(clock=clock), clock)
    limits = Limits(rpm=100, expires_at=NOW + timedelta(seconds=30))
    p = Principal("key", "h", "a", scopes=(("key:h", limits),))
    await admit(g, p, "r1")
    clock.now = NOW + timedelta(seconds=30)
    with pytest.raises(AuthenticationFailed, match="expired"):
        await admit(g, p, "r2")


async def test_access_groups_changed_by_a_model_reload_apply_to_the_next_request() -> None:
    clock = Clock()
    groups = {"m": frozenset({"g"})}
    asked: list[str] = []

    def groups_of(model: str) -> frozenset[str]:
        asked.append(model)
        return groups.get(model, frozenset())

    g = Gate(MemoryCounters(clock=clock), clock=clock, access_groups_of=groups_of)
    by_group = Principal("key", "h", "a", scopes=(("key:h", Limits(models=("group:g",))),))
    await admit(g, by_group, "r1")
    groups["m"] = frozenset()  # the models were reloaded: m is no longer in group g
    with pytest.raises(ModelAccessDenied):
        await admit(g, by_group, "r2")
    assert asked == ["m", "m"]
    by_name = Principal("key", "h2", "b", scopes=(("key:h2", Limits(models=("m",))),))
    await admit(g, by_name, "r3")
    assert asked == ["m", "m"]  # allowed by its name: the groups were not asked


# --- prices ---------------------------------------------------------------------------------------


async def test_the_dearest_fallback_is_reserved_in_any_order_and_new_prices_apply() -> None:
    clock = Clock()
    g = gate(MemoryCounters(clock=clock), clock)
    cheap = Deployment(id="c", model_name="m", provider="bedrock", model="y",
                       info=ModelInfo(input_cost_per_token=Decimal("0.000001"),
                                      output_cost_per_token=Decimal("0.000001")))  # fmt: skip
    limits = Limits(budgets=(BudgetWindow(10**9, parse_window("1d")),))
    p = Principal("key", "h", "a", scopes=(("key:h", limits),))

    def reserved(ticket: Ticket) -> int:
        assert ticket.admitted is not None
        return 10**9 - ticket.admitted.budgets[0].headroom_micro

    assert reserved(await admit(g, p, "r1", [cheap, DEPLOYMENT])) == WORST_MICRO
    assert reserved(await admit(g, p, "r2", [DEPLOYMENT, cheap])) == 2 * WORST_MICRO
    repriced = Deployment(id="d", model_name="m", provider="bedrock", model="x",
                          info=ModelInfo(input_cost_per_token=Decimal("0.000002"),
                                         output_cost_per_token=Decimal("0.000010")))  # fmt: skip
    assert reserved(await admit(g, p, "r3", [repriced])) == 4 * WORST_MICRO


# --- concurrency and cancellation ----------------------------------------------------------------


async def _never_overspend(counters: CounterStore, clock: Clock) -> None:
    g = gate(counters, clock)
    limits = Limits(budgets=(BudgetWindow(10 * WORST_MICRO, parse_window("1d")),),
                    max_parallel=50)  # fmt: skip
    p = Principal("key", "h", "a", scopes=((f"key:{uuid.uuid4().hex}", limits),))

    async def one(i: int) -> bool:
        try:
            ticket = await admit(g, p, f"r{i}")
        except BudgetExceeded:
            return False
        assert ticket.max_tokens is None  # the budget was never split below a full reservation
        return True

    admitted = await asyncio.gather(*(one(i) for i in range(40)))
    assert sum(admitted) == 10


async def test_concurrent_admissions_never_overspend_in_process() -> None:
    clock = Clock()
    await _never_overspend(MemoryCounters(clock=clock), clock)


@contextlib.asynccontextmanager
async def redis_counters(kind: type[RedisCounters], **options: Any) -> AsyncIterator[RedisCounters]:
    """Counters of ``kind`` on the test Redis, under a prefix of their own deleted after."""
    url, prefix = require_redis(), f"test-{uuid.uuid4().hex[:12]}"
    counters = kind(url, prefix, **options)
    try:
        yield counters
    finally:
        await counters.aclose()
        forget_prefix(prefix, url)


@pytest.mark.redis
@pytest.mark.parametrize("kind", [RedisCounters, AllottedCounters])
async def test_concurrent_admissions_never_overspend_on_redis(kind: type[RedisCounters]) -> None:
    async with redis_counters(kind) as counters:
        await _never_overspend(counters, Clock(datetime.now(UTC)))


@pytest.mark.redis
async def test_what_an_allotment_admitted_is_settled_without_a_round_trip() -> None:
    calls: list[str] = []
    async with redis_counters(AllottedCounters, observe=lambda op, _: calls.append(op)) as counters:
        clock = Clock(datetime.now(UTC))
        g = gate(counters, clock)
        limits = Limits(budgets=(BudgetWindow(10**9, parse_window("1d")),))
        p = Principal("key", "h", "a", scopes=((f"key:{uuid.uuid4().hex}", limits),))
        for i in range(40):
            ticket = await admit(g, p, f"r{i}")
            await g.settle(ticket, Usage(input_tokens=100, output_tokens=10), DEPLOYMENT)
    # The first requests one by one; the rest from allotments (each sized for twice the
    # admissions seen in the last second), every one given back.
    assert calls.count("admit") == calls.count("settle") == DEMAND - 1
    assert 1 <= calls.count("allot") == calls.count("return") <= 3


class SlowCounters:
    """A store whose settlement takes a while (as a round trip to Redis does)."""

    def __init__(self, inner: MemoryCounters) -> None:
        self.inner = inner
        self.settled: list[str] = []

    async def admit(self, request: AdmissionRequest) -> Admission:
        return await self.inner.admit(request)

    async def settle(self, request_id: str, actual_micro: int, actual_tokens: int) -> bool:
        await asyncio.sleep(0.05)
        self.settled.append(request_id)
        return await self.inner.settle(request_id, actual_micro, actual_tokens)

    async def release(self, request_id: str) -> bool:
        return await self.settle(request_id, 0, 0)


@pytest.mark.parametrize("slow", [False, True])
async def test_settlement_runs_even_when_the_request_is_cancelled(slow: bool) -> None:
    clock = Clock()
    memory = MemoryCounters(clock=clock)
    store = SlowCounters(memory) if slow else memory
    g = gate(store, clock)  # type: ignore[arg-type]  # SlowCounters: only what the gate calls
    limits = Limits(budgets=(BudgetWindow(10**6, parse_window("1d")),), max_parallel=1)
    p = Principal("key", "h", "a", scopes=(("key:h", limits),))
    ticket = await admit(g, p, "r1")
    started = asyncio.Event()

    async def request() -> None:
        started.set()
        await g.settle(ticket, Usage(input_tokens=100, output_tokens=10), DEPLOYMENT)

    task = asyncio.create_task(request())
    await started.wait()
    await asyncio.sleep(0.01)
    task.cancel()
    if slow:
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.1)  # the shielded settlement carries on
        assert store.settled == ["r1"]  # type: ignore[union-attr]
    else:
        await asyncio.gather(task, return_exceptions=True)
    assert await memory.spent("key:h", parse_window("1d").key_at(NOW)) == 150
    await admit(g, p, "r2")  # the parallel slot was freed
