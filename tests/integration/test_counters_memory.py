"""What only the in-process counters do: forget what no longer matters, so a long-running process
keeps bounded memory, and count exactly under one event loop's concurrency."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from stargate.governance.admission import AdmissionRequest, Admitted, BudgetCheck, ScopeCheck
from stargate.governance.counters import RECORD_GRACE_SECONDS, WINDOW_GRACE_SECONDS
from stargate.store.counters_memory import MemoryCounters

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def day_check(now: datetime) -> ScopeCheck:
    day = now.date().isoformat()
    reset = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return ScopeCheck("key:k", (BudgetCheck(f"d:{day}", 1_000_000, reset),), rpm=1000, tpm=10**6)


async def test_settled_requests_and_ended_windows_are_forgotten() -> None:
    clock = Clock()
    store = MemoryCounters(clock=clock)
    for i in range(50):
        rid = f"r{i}"
        await store.admit(AdmissionRequest(rid, (day_check(clock.now),), 10, 10, clock.now, 60))
        assert await store.settle(rid, 7, 7)
    assert await store.spent("key:k", "d:2026-11-22") == 350
    assert not await store.settle("r0", 7, 7)  # remembered: a second settlement is a no-op

    # Well after the record grace, within the window's grace: the day's counter is still there.
    clock.now = START + timedelta(seconds=RECORD_GRACE_SECONDS + 1)
    await store.admit(AdmissionRequest("tick", (day_check(clock.now),), 0, 0, clock.now, 60))
    assert len(store._requests) == 1  # only "tick" is still remembered
    assert await store.spent("key:k", "d:2026-11-22") == 350

    # After the day ended and its grace ran out, its counter is gone too.
    clock.now = datetime(2026, 11, 23, tzinfo=UTC) + timedelta(seconds=WINDOW_GRACE_SECONDS + 1)
    await store.admit(AdmissionRequest("tock", (day_check(clock.now),), 0, 0, clock.now, 60))
    assert await store.spent("key:k", "d:2026-11-22") == 0
    assert ("key:k", "d:2026-11-22") not in store._budgets


async def test_an_expired_lease_is_forgotten_after_the_grace_too() -> None:
    clock = Clock()
    store = MemoryCounters(clock=clock)
    check = ScopeCheck("key:k", max_parallel=1)
    await store.admit(AdmissionRequest("lost", (check,), 0, 0, clock.now, 5))
    later = START + timedelta(seconds=5 + RECORD_GRACE_SECONDS + 1)
    clock.now = later
    assert isinstance(await store.admit(AdmissionRequest("x", (check,), 0, 0, later, 5)), Admitted)
    assert not await store.settle("lost", 1, 1)  # its record is gone: nothing to settle
    assert set(store._requests) == {"x"}


async def test_concurrent_admissions_of_many_scopes_stay_exact() -> None:
    store = MemoryCounters()
    now = datetime.now(UTC)

    async def one(i: int) -> bool:
        scopes = (
            ScopeCheck(f"key:{i % 7}", (BudgetCheck("all", 1000, None),)),
            ScopeCheck("team:shared", (BudgetCheck("all", 5000, None),), max_parallel=60),
        )
        outcome = await store.admit(AdmissionRequest(f"r{i}", scopes, 100, 0, now, 60))
        return isinstance(outcome, Admitted)

    results = await asyncio.gather(*(one(i) for i in range(300)))
    # The team's $5000 µ$ admits 50 of 100 µ$ each; each key's 1000 µ$ admits 10, 7 keys = 70.
    assert sum(results) == 50


async def test_memory_is_bounded_by_minutes_of_traffic_not_by_the_lease() -> None:
    """A soak found the store growing by every request for a whole lease (15 minutes): settled
    requests now leave a shared marker for a minute and the lease heap sheds their entries."""
    clock = Clock()
    store = MemoryCounters(clock=clock)
    budget_only = ScopeCheck("key:k", day_check(clock.now).budgets)
    for i in range(10_000):
        rid = f"r{i}"
        await store.admit(AdmissionRequest(rid, (budget_only,), 10, 10, clock.now, 900))
        assert await store.settle(rid, 7, 7)
    assert len(store._deadlines) <= 1024  # no request is active: the heap was compacted
    assert len({id(record) for record in store._requests.values()}) == 1  # one shared marker
    assert not await store.settle("r9999", 7, 7)  # still remembered: settles once
    clock.now = START + timedelta(seconds=61)
    await store.admit(AdmissionRequest("tick", (budget_only,), 0, 0, clock.now, 900))
    assert set(store._requests) == {"tick"}
    assert await store.spent("key:k", f"d:{START.date().isoformat()}") == 70_000


async def test_a_request_in_flight_through_heap_compactions_still_loses_its_lease() -> None:
    clock = Clock()
    store = MemoryCounters(clock=clock)
    budget_only = ScopeCheck("key:k", day_check(clock.now).budgets)
    window = ("key:k", f"d:{START.date().isoformat()}")
    await store.admit(AdmissionRequest("long", (budget_only,), 100, 0, clock.now, 60))
    for i in range(5_000):  # compacted four times while "long" is in flight
        rid = f"r{i}"
        await store.admit(AdmissionRequest(rid, (budget_only,), 10, 10, clock.now, 900))
        assert await store.settle(rid, 7, 7)
    assert len(store._deadlines) <= 1025
    assert store._budgets[window].reserved == 100  # "long" still holds its reservation
    clock.now = START + timedelta(seconds=60)
    await store.admit(AdmissionRequest("tick", (budget_only,), 0, 0, clock.now, 900))
    assert store._budgets[window].reserved == 0  # its lease ran out: given back
    assert await store.settle("long", 50, 0)  # a late settlement still lands
    assert await store.spent(*window) == 35_050


async def test_sliding_logs_stay_exact_and_bounded_over_many_minutes() -> None:
    """The logs drop what left the minute in bulk: the counts and token totals are still those
    of exactly the admissions of the last minute, and a log holds at most two minutes of them."""
    clock = Clock()
    store = MemoryCounters(clock=clock)
    check = ScopeCheck("key:k", rpm=10**6, tpm=10**9)
    admitted_at: list[tuple[float, str, int]] = []  # (epoch s, id, tokens after settling)
    rng = random.Random(5)
    for i in range(3_000):  # ten minutes, at uneven steps of 0 to 0.4 s
        clock.now += timedelta(seconds=rng.choice([0.0, 0.05, 0.2, 0.4]))
        rid, tokens = f"r{i}", rng.randrange(1, 500)
        outcome = await store.admit(AdmissionRequest(rid, (check,), 0, tokens, clock.now, 60))
        assert isinstance(outcome, Admitted)
        actual = rng.randrange(0, tokens + 1)
        assert await store.settle(rid, 0, actual)
        admitted_at.append((clock.now.timestamp(), rid, actual))
        cutoff = clock.now.timestamp() - 60
        live = [a for a in admitted_at if a[0] > cutoff]
        requests, tokens_state = outcome.rates
        # What the admission saw: every admission of the minute, its own with its reservation.
        assert requests.remaining == 10**6 - len(live)
        assert tokens_state.remaining == 10**9 - sum(t for _, _, t in live[:-1]) - tokens
        assert requests.reset_s == pytest.approx(max(0.0, live[0][0] + 60 - clock.now.timestamp()))
        for log in (store._rpm["key:k"], store._tpm["key:k"]):
            assert log.count == len(live)
            assert len(log.entries) <= 2 * len(live) + 1
        assert store._tpm["key:k"].total == sum(t for _, _, t in live)
