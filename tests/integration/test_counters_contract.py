"""The counter store's promises, checked against both backends: the in-process store and Redis.

Every test runs three times, on ``MemoryCounters``, on ``RedisCounters``, and on Redis with the
scripts of before issue 7 and the current ones taking turns on the same keys (as old and new
replicas do during a rolling deploy), against the Redis service
(``$STARGATE_TEST_REDIS_URL`` or redis://127.0.0.1:6379/0) under a key prefix of its own that is
deleted afterwards. When Redis cannot be reached the Redis half is skipped with the reason,
except under ``CI=true``, where it fails. Time is an injected clock the tests move by hand.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from tests.redis_service import forget_prefix, require_redis

from stargate.core.money import MicroUSD
from stargate.governance.admission import (
    Admission,
    AdmissionRequest,
    Admitted,
    BudgetCheck,
    Refused,
    ScopeCheck,
    lowered_max_tokens,
    plan_admission,
)
from stargate.governance.counters import (
    RECORD_GRACE_SECONDS,
    WINDOW_GRACE_SECONDS,
    CounterStore,
)
from stargate.governance.policy import BudgetWindow, Limits
from stargate.governance.pricing import Pricing
from stargate.governance.windows import CalendarWindow, LifetimeWindow
from stargate.store.counters_allotments import AllottedCounters
from stargate.store.counters_memory import MemoryCounters
from stargate.store.counters_redis import RedisCounters
from stargate.store.redis_wire import Script

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


V1 = Path(__file__).parent / "counters_v1"


class V1Counters(RedisCounters):
    """The Redis counters as released before issue 7: the old scripts, given the old JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._admit_script = Script.of((V1 / "counters_admit.lua").read_text())
        self._settle_script = Script.of((V1 / "counters_settle.lua").read_text())

    def _admit_args(self, request: AdmissionRequest) -> tuple[str | bytes | int, ...]:
        now = int(request.now.timestamp() * 1000)
        grace = timedelta(seconds=WINDOW_GRACE_SECONDS)
        checks = [
            {
                "s": c.scope,
                "rpm": -1 if c.rpm is None else c.rpm,
                "tpm": -1 if c.tpm is None else c.tpm,
                "par": -1 if c.max_parallel is None else c.max_parallel,
                "b": [
                    {
                        "w": b.window_key,
                        "l": b.limit_micro,
                        "ttl": 0
                        if b.reset_at is None
                        else max(1, int((b.reset_at + grace).timestamp() * 1000) - now),
                    }
                    for b in c.budgets
                ],
            }
            for c in request.checks
        ]
        payload = {
            "rid": request.request_id,
            "now": now,
            "lease": request.lease_seconds * 1000,
            "micro": request.reserve_micro,
            "tokens": request.reserve_tokens,
            "grace": RECORD_GRACE_SECONDS,
            "checks": checks,
        }
        return (orjson.dumps(payload),)


class Mixed(RedisCounters):
    """Old and new replicas on the same keys: admissions and settlements alternate between the
    current scripts and those of before, each independently (so each settles the other's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._old = V1Counters(*args, **kwargs)
        self._admits = itertools.cycle((False, True))
        self._settles = itertools.cycle((True, True, False, False))

    async def admit(self, request: AdmissionRequest) -> Admission:
        if next(self._admits):
            return await self._old.admit(request)
        return await super().admit(request)

    async def settle(self, request_id: str, actual_micro: MicroUSD, actual_tokens: int) -> bool:
        if next(self._settles):
            return await self._old.settle(request_id, actual_micro, actual_tokens)
        return await super().settle(request_id, actual_micro, actual_tokens)

    async def aclose(self) -> None:
        await self._old.aclose()
        await super().aclose()


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-mixed", marks=pytest.mark.redis),
        pytest.param("redis-allotted", marks=pytest.mark.redis),
    ]
)
async def counters(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[CounterStore]:
    if request.param == "memory":
        store = MemoryCounters(clock=clock)
        yield store
        await store.aclose()
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    # A generous timeout: 400 concurrent admissions on a small shared machine must not trip it.
    kinds = {"redis": RedisCounters, "redis-mixed": Mixed, "redis-allotted": AllottedCounters}
    kind = kinds[request.param]
    store_r = kind(url, prefix, clock=clock, timeout_s=5.0)
    try:
        yield store_r
    finally:
        await store_r.aclose()
        forget_prefix(prefix, url)


def admission(
    rid: str,
    now: datetime,
    *checks: ScopeCheck,
    micro: int = 0,
    tokens: int = 0,
    lease: int = 300,
) -> AdmissionRequest:
    return AdmissionRequest(rid, checks, micro, tokens, now, lease)


def lifetime(limit: int) -> tuple[BudgetCheck, ...]:
    return (BudgetCheck("all", limit, None),)


# --- budgets under concurrency ---------------------------------------------------------------


async def test_a_budget_is_never_exceeded_by_400_concurrent_requests(
    counters: CounterStore, clock: Clock
) -> None:
    limit, reserve = 1_000_000, 50_000  # $1.00, each request may cost up to $0.05
    rng = random.Random(400)
    actual_costs = [rng.randint(10_000, 50_000) for _ in range(400)]
    settled: list[int] = []

    async def one(i: int) -> bool:
        check = ScopeCheck("key:race", lifetime(limit))
        outcome = await counters.admit(admission(f"r{i}", clock(), check, micro=reserve))
        if isinstance(outcome, Refused):
            assert outcome.reason == "budget"
            return False
        await asyncio.sleep(rng.random() / 200)  # the upstream call
        assert await counters.settle(f"r{i}", actual_costs[i], 100)
        settled.append(actual_costs[i])
        return True

    admitted = sum(await asyncio.gather(*(one(i) for i in range(400))))

    assert sum(settled) <= limit
    assert await counters.spent("key:race", "all") == sum(settled)
    assert admitted >= limit // reserve  # at least as many as the worst cases fit
    # Every reservation is gone: what is left of the budget can be reserved to the last micro.
    rest = limit - sum(settled)
    check = ScopeCheck("key:race", lifetime(limit))
    assert isinstance(await counters.admit(admission("x", clock(), check, micro=rest + 1)), Refused)
    assert isinstance(await counters.admit(admission("y", clock(), check, micro=rest)), Admitted)


async def test_admitted_answers_tell_what_is_left(counters: CounterStore, clock: Clock) -> None:
    check = ScopeCheck("key:h", lifetime(1000), rpm=10, tpm=5000)
    first = await counters.admit(admission("a", clock(), check, micro=300, tokens=1200))
    assert isinstance(first, Admitted)
    assert first.counted
    (budget,) = first.budgets
    assert (budget.scope, budget.window_key, budget.limit_micro) == ("key:h", "all", 1000)
    assert budget.headroom_micro == 700
    assert budget.reset_at is None
    requests, tokens = first.rates
    assert (requests.kind, requests.limit, requests.remaining) == ("requests", 10, 9)
    assert (tokens.kind, tokens.limit, tokens.remaining) == ("tokens", 5000, 3800)
    assert requests.reset_s == pytest.approx(60, abs=0.01)
    clock.advance(20)
    await counters.settle("a", 100, 1000)
    second = await counters.admit(admission("b", clock(), check, micro=300, tokens=1000))
    assert isinstance(second, Admitted)
    assert second.budgets[0].headroom_micro == 1000 - 100 - 300
    assert second.rates[0].remaining == 8
    assert second.rates[0].reset_s == pytest.approx(40, abs=0.01)  # when "a" leaves the minute
    assert second.rates[1].remaining == 5000 - 1000 - 1000


# --- rate limits -----------------------------------------------------------------------------


async def test_rpm_per_sliding_minute_is_never_exceeded(
    counters: CounterStore, clock: Clock
) -> None:
    rng = random.Random(60)
    check = ScopeCheck("key:rpm", rpm=10)
    admitted_at: list[datetime] = []
    for i in range(120):
        now = clock.advance(rng.uniform(0, 3))
        outcome = await counters.admit(admission(f"r{i}", now, check))
        if isinstance(outcome, Admitted):
            admitted_at.append(now)
            await counters.settle(f"r{i}", 0, 0)
        else:
            assert outcome.reason == "rpm"
            assert outcome.retry_after_s is not None
            assert 0 < outcome.retry_after_s <= 60
            # The earliest admission that must leave is exactly retry_after away from leaving.
            in_window = [t for t in admitted_at if now - t < timedelta(seconds=60)]
            assert len(in_window) == 10
            leaves = in_window[0] + timedelta(seconds=60) - now
            assert outcome.retry_after_s == pytest.approx(leaves.total_seconds(), abs=0.002)
    for t in admitted_at:
        in_minute = [u for u in admitted_at if t - timedelta(seconds=60) < u <= t]
        assert len(in_minute) <= 10
    assert len(admitted_at) >= 30  # over about 4 minutes, the limit was used, not just refused


async def test_concurrent_requests_at_one_instant_admit_exactly_the_rpm(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck("team:t", rpm=25)
    outcomes = await asyncio.gather(
        *(counters.admit(admission(f"r{i}", clock(), check)) for i in range(200))
    )
    assert sum(isinstance(o, Admitted) for o in outcomes) == 25
    clock.advance(60)  # the whole minute has slid by
    assert isinstance(await counters.admit(admission("later", clock(), check)), Admitted)


async def test_tpm_reserves_the_estimate_and_settles_to_actual(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck("key:tpm", tpm=1000)
    assert isinstance(await counters.admit(admission("a", clock(), check, tokens=600)), Admitted)
    clock.advance(10)
    refused = await counters.admit(admission("b", clock(), check, tokens=600))
    assert isinstance(refused, Refused)
    assert refused.reason == "tpm"
    assert refused.retry_after_s == pytest.approx(50, abs=0.01)
    assert await counters.settle("a", 0, 100)  # it used far fewer tokens than estimated
    admitted = await counters.admit(admission("b", clock(), check, tokens=600))
    assert isinstance(admitted, Admitted)
    assert admitted.rates[0].remaining == 1000 - 100 - 600
    too_big = await counters.admit(admission("c", clock(), check, tokens=1001))
    assert isinstance(too_big, Refused)
    assert too_big.retry_after_s is None  # it can never fit
    clock.advance(61)
    assert isinstance(await counters.admit(admission("d", clock(), check, tokens=1000)), Admitted)


async def test_the_parallel_limit_counts_requests_in_flight(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck("user:u", max_parallel=2)
    assert isinstance(await counters.admit(admission("a", clock(), check)), Admitted)
    assert isinstance(await counters.admit(admission("b", clock(), check)), Admitted)
    third = await counters.admit(admission("c", clock(), check))
    assert isinstance(third, Refused)
    assert (third.reason, third.scope, third.limit) == ("parallel", "user:u", 2)
    assert await counters.release("a")
    assert isinstance(await counters.admit(admission("c", clock(), check)), Admitted)


# --- leases and settlement -------------------------------------------------------------------


async def test_a_reservation_never_settled_stops_counting_after_its_lease(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck("key:lease", lifetime(100), max_parallel=1)
    assert isinstance(
        await counters.admit(admission("crashed", clock(), check, micro=100, lease=30)), Admitted
    )
    clock.advance(29)
    blocked = await counters.admit(admission("next", clock(), check, micro=1, lease=30))
    assert isinstance(blocked, Refused)
    assert blocked.reason == "parallel"
    clock.advance(1)  # the lease ends: its hold on the budget and on the slot is gone
    fresh = await counters.admit(admission("next", clock(), check, micro=100, lease=30))
    assert isinstance(fresh, Admitted)
    assert fresh.budgets[0].headroom_micro == 0
    assert await counters.spent("key:lease", "all") == 0


async def test_a_late_settlement_after_the_lease_still_records_the_spend(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck("key:slow", lifetime(1000))
    await counters.admit(admission("slow", clock(), check, micro=400, lease=10))
    clock.advance(11)
    await counters.admit(admission("other", clock(), check, micro=1))  # purges the lease
    assert await counters.settle("slow", 250, 0)
    assert await counters.spent("key:slow", "all") == 250
    assert not await counters.settle("slow", 250, 0)
    assert await counters.spent("key:slow", "all") == 250


async def test_a_request_settled_long_after_its_lease_is_forgotten(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck("key:gone", lifetime(1000))
    await counters.admit(admission("lost", clock(), check, micro=400, lease=10))
    clock.advance(10 + RECORD_GRACE_SECONDS)
    await counters.admit(admission("other", clock(), check, micro=1))  # purges the lease
    assert not await counters.settle("lost", 250, 0)
    assert await counters.spent("key:gone", "all") == 0


async def test_settlement_is_idempotent_per_request_id(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck("key:idem", lifetime(1000), max_parallel=5)
    await counters.admit(admission("r", clock(), check, micro=500))
    assert await counters.settle("r", 120, 10)
    assert not await counters.settle("r", 120, 10)
    assert not await counters.settle("r", 999, 10)
    assert not await counters.release("r")
    assert not await counters.settle("never-admitted", 50, 0)
    assert await counters.spent("key:idem", "all") == 120
    again = await counters.admit(admission("s", clock(), check, micro=880))
    assert isinstance(again, Admitted)  # 120 spent + 880 = the whole limit: the 500 hold is gone
    with pytest.raises(ValueError, match="already"):
        await counters.admit(admission("r", clock(), check, micro=1))


async def test_admitting_the_same_request_twice_reserves_once(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck("key:twice", lifetime(1000), rpm=5)
    first = await counters.admit(admission("r", clock(), check, micro=600))
    second = await counters.admit(admission("r", clock(), check, micro=600))
    assert isinstance(first, Admitted)
    assert isinstance(second, Admitted)
    assert second.budgets[0].headroom_micro == 400
    assert second.rates[0].remaining == 4


async def test_release_frees_everything_and_records_nothing(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck("key:rel", lifetime(100), tpm=50)
    await counters.admit(admission("r", clock(), check, micro=100, tokens=50))
    assert await counters.release("r")
    assert await counters.spent("key:rel", "all") == 0
    after = await counters.admit(admission("s", clock(), check, micro=100, tokens=50))
    assert isinstance(after, Admitted)


# --- several scopes at once ------------------------------------------------------------------


async def test_a_refusal_in_one_scope_reserves_nothing_anywhere(
    counters: CounterStore, clock: Clock
) -> None:
    key = ScopeCheck("key:k", lifetime(1000), rpm=1, tpm=100, max_parallel=1)
    poor_team = ScopeCheck("team:t", lifetime(50))
    refused = await counters.admit(admission("r", clock(), key, poor_team, micro=60, tokens=100))
    assert isinstance(refused, Refused)
    assert (refused.reason, refused.scope, refused.window_key) == ("budget", "team:t", "all")
    assert [(h.scope, h.headroom_micro) for h in refused.headroom] == [
        ("key:k", 1000),
        ("team:t", 50),
    ]
    # The key's RPM, TPM, parallel slot and budget are all untouched.
    alone = await counters.admit(admission("s", clock(), key, micro=1000, tokens=100))
    assert isinstance(alone, Admitted)
    assert alone.budgets[0].headroom_micro == 0


async def test_a_rate_refusal_in_a_later_scope_leaves_earlier_scopes_untouched(
    counters: CounterStore, clock: Clock
) -> None:
    key = ScopeCheck("key:k2", lifetime(100), rpm=1)
    busy_model = ScopeCheck("key:k2:model:m", rpm=1)
    await counters.admit(admission("warm", clock(), busy_model))
    refused = await counters.admit(admission("r", clock(), key, busy_model, micro=100))
    assert isinstance(refused, Refused)
    assert (refused.reason, refused.scope) == ("rpm", "key:k2:model:m")
    assert refused.headroom == ()
    alone = await counters.admit(admission("s", clock(), key, micro=100))
    assert isinstance(alone, Admitted)


async def test_rate_limits_are_checked_before_budgets(counters: CounterStore, clock: Clock) -> None:
    check = ScopeCheck("key:order", lifetime(10), rpm=0)
    refused = await counters.admit(admission("r", clock(), check, micro=11))
    assert isinstance(refused, Refused)
    assert refused.reason == "rpm"
    assert refused.retry_after_s is None  # an RPM of zero never admits


# --- the planner against a store -------------------------------------------------------------

PRICES = Pricing(input=Decimal("0.000003"), output=Decimal("0.000015"))


async def test_max_tokens_is_lowered_to_fit_and_the_lowered_request_is_admitted(
    counters: CounterStore, clock: Clock
) -> None:
    limits = Limits(budgets=(BudgetWindow(10_000, LifetimeWindow()),))
    scopes = [("key:low", limits)]
    await counters.rebuild("key:low", "all", 3_400)  # 6_600 left

    def plan(rid: str, max_tokens: int) -> AdmissionRequest:
        return plan_admission(
            scopes,
            request_id=rid,
            model="m",
            now=clock(),
            prompt_tokens=1000,
            max_tokens=max_tokens,
            pricing=PRICES,
            lease_seconds=600,
        )

    refused = await counters.admit(plan("r", 4096))  # 3_000 + 61_440 does not fit
    assert isinstance(refused, Refused)
    lowered = lowered_max_tokens(refused, prompt_tokens=1000, max_tokens=4096, pricing=PRICES)
    assert lowered == (6_600 - 3_000) // 15
    admitted = await counters.admit(plan("r", lowered))
    assert isinstance(admitted, Admitted)
    assert admitted.budgets[0].headroom_micro == 6_600 - 3_000 - lowered * 15
    # Now not even a prompt fits: no lowering, a refusal.
    again = await counters.admit(plan("s", 4096))
    assert isinstance(again, Refused)
    assert lowered_max_tokens(again, prompt_tokens=1000, max_tokens=4096, pricing=PRICES) is None


async def test_an_unpriced_model_counts_requests_but_no_money(
    counters: CounterStore, clock: Clock
) -> None:
    limits = Limits(budgets=(BudgetWindow(100, LifetimeWindow()),), rpm=2)
    await counters.rebuild("key:free", "all", 100)  # the budget is used up
    for rid in ("a", "b", "c"):
        request = plan_admission(
            [("key:free", limits)],
            request_id=rid,
            model="m",
            now=clock(),
            prompt_tokens=10,
            max_tokens=10,
            pricing=Pricing(),
            lease_seconds=60,
        )
        outcome = await counters.admit(request)
        assert isinstance(outcome, Refused) == (rid == "c")
    assert outcome.reason == "rpm"  # type: ignore[union-attr]


# --- calendar windows with an injected clock -------------------------------------------------


async def test_the_daily_budget_resets_at_berlin_midnight_while_the_monthly_cap_binds(
    counters: CounterStore, clock: Clock
) -> None:
    # Seed 003's tier, in micro-dollars: $0.017 a day, and a monthly cap.
    tier = Limits(
        budgets=(
            BudgetWindow(17_000, CalendarWindow("day", 1, "Europe/Berlin")),
            BudgetWindow(30_000, CalendarWindow("month", 1, "Europe/Berlin")),
        )
    )
    scopes = [("team:drafting", tier)]
    pricing = Pricing(input=Decimal("0.000001"), output=Decimal("0.000001"))  # 1 µ$ a token

    def plan(rid: str, tokens: int) -> AdmissionRequest:
        return plan_admission(
            scopes,
            request_id=rid,
            model="model-cheap",
            now=clock(),
            prompt_tokens=tokens,
            max_tokens=0,
            pricing=pricing,
            lease_seconds=60,
        )

    clock.now = datetime(2026, 11, 29, 22, 0, tzinfo=BERLIN)
    assert isinstance(await counters.admit(plan("d1", 17_000)), Admitted)
    assert await counters.settle("d1", 17_000, 17_000)

    clock.now = datetime(2026, 11, 29, 23, 59, 30, tzinfo=BERLIN)
    refused = await counters.admit(plan("d1-late", 1))
    assert isinstance(refused, Refused)
    assert refused.window_key == "d:2026-11-29@Europe/Berlin"
    assert refused.reset_at == datetime(2026, 11, 30, 0, 0, tzinfo=BERLIN)
    assert refused.retry_after_s == pytest.approx(30)

    clock.now = datetime(2026, 11, 30, 0, 0, tzinfo=BERLIN)  # a new day: the daily budget is back
    monthly = await counters.admit(plan("d2", 17_000))
    assert isinstance(monthly, Refused)  # ...but the month has only 13_000 left
    assert monthly.window_key == "m:2026-11@Europe/Berlin"
    assert monthly.reset_at == datetime(2026, 12, 1, 0, 0, tzinfo=BERLIN)  # across the month end
    assert monthly.reset_at == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert {h.window_key: h.headroom_micro for h in monthly.headroom} == {
        "d:2026-11-30@Europe/Berlin": 17_000,
        "m:2026-11@Europe/Berlin": 13_000,
    }
    assert isinstance(await counters.admit(plan("d2", 13_000)), Admitted)
    assert await counters.settle("d2", 13_000, 13_000)

    clock.now = datetime(2026, 11, 30, 23, 59, 59, 999_000, tzinfo=BERLIN)
    assert isinstance(await counters.admit(plan("d2-late", 1)), Refused)
    clock.now = datetime(2026, 12, 1, 0, 0, tzinfo=BERLIN)  # a new month and a new day
    december = await counters.admit(plan("d3", 17_000))
    assert isinstance(december, Admitted)
    assert {b.window_key: b.reset_at for b in december.budgets} == {
        "d:2026-12-01@Europe/Berlin": datetime(2026, 12, 2, 0, 0, tzinfo=BERLIN),
        "m:2026-12@Europe/Berlin": datetime(2027, 1, 1, 0, 0, tzinfo=BERLIN),
    }
    assert await counters.spent("team:drafting", "m:2026-11@Europe/Berlin") == 30_000
    assert await counters.spent("team:drafting", "d:2026-11-29@Europe/Berlin") == 17_000
    assert await counters.spent("team:drafting", "m:2026-12@Europe/Berlin") == 0


# --- rebuilding from the ledger --------------------------------------------------------------


async def test_counters_can_be_rebuilt_from_a_given_total(
    counters: CounterStore, clock: Clock
) -> None:
    check = ScopeCheck(
        "user:rebuilt", (BudgetCheck("d:2026-11-22@UTC", 100, START + timedelta(hours=15)),)
    )
    await counters.rebuild(
        "user:rebuilt", "d:2026-11-22@UTC", 90, reset_at=START + timedelta(hours=15)
    )
    assert await counters.spent("user:rebuilt", "d:2026-11-22@UTC") == 90
    assert isinstance(await counters.admit(admission("a", clock(), check, micro=11)), Refused)
    assert isinstance(await counters.admit(admission("b", clock(), check, micro=10)), Admitted)
    # A rebuild keeps reservations in flight: 50 spent + 10 held leaves 40.
    await counters.rebuild("user:rebuilt", "d:2026-11-22@UTC", 50)
    assert isinstance(await counters.admit(admission("c", clock(), check, micro=41)), Refused)
    assert isinstance(await counters.admit(admission("d", clock(), check, micro=40)), Admitted)
    assert await counters.settle("b", 10, 0)
    assert await counters.spent("user:rebuilt", "d:2026-11-22@UTC") == 60
