"""Allotments (``stargate.store.counters_allotments``): one replica admitting busy plans from
allotments answers exactly what the one-by-one path answers and leaves exactly the same counters
in Redis; several replicas never exceed a limit together; an allotment that is never given back
(a killed replica) stops holding anything when its lease ends.

Redis is ``$STARGATE_TEST_REDIS_URL`` or redis://127.0.0.1:6379/0; each test uses key prefixes of
its own, deleted afterwards. Unreachable Redis skips these tests, or fails them under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from tests.integration.test_counters_contract import Clock
from tests.integration.test_counters_redis import Proxy
from tests.redis_service import forget_prefix, require_redis

from stargate.errors import ServiceUnavailable
from stargate.governance.admission import (
    Admission,
    AdmissionRequest,
    Admitted,
    BudgetCheck,
    Refused,
    ScopeCheck,
    ScopeChecks,
)
from stargate.store import counters_allotments
from stargate.store.counters_allotments import (
    ALLOT_LEASE_SECONDS,
    DEMAND,
    AllottedCounters,
)
from stargate.store.counters_redis import RedisCounters

pytestmark = pytest.mark.redis

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    made = redis.Redis.from_url(redis_url)
    yield made
    made.close()


@pytest.fixture
def prefixes(redis_url: str) -> Iterator[list[str]]:
    """Fresh key prefixes (``prefixes.append`` is not needed: use :func:`new_prefix`)."""
    names: list[str] = []
    yield names
    for name in names:
        forget_prefix(name, redis_url)


def new_prefix(prefixes: list[str]) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    prefixes.append(name)
    return name


class Observed:
    """Counts Redis round trips by operation."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def __call__(self, operation: str, _seconds: float) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1


def counters_state(client: redis.Redis, prefix: str, now_ms: int) -> dict[str, Any]:
    """What the counters under ``prefix`` say, in terms that do not depend on when entries were
    purged or which path wrote them: budgets' spent and reserved, the RPM and TPM logs of the
    last minute (and the TPM total over it), leases in flight, and each request's state."""
    cutoff = now_ms - 60_000
    state: dict[str, Any] = {}
    head = f"{{{prefix}}}:"
    for raw in client.scan_iter(match=head + "*", count=1000):
        key = raw.decode()[len(head) :]
        if "allot:" in key:
            continue  # an allotment's own record
        if key.startswith("b:"):
            found = {k.decode(): int(v) for k, v in client.hgetall(raw).items() if k != b"e"}
            state[key] = (found.get("spent", 0), found.get("reserved", 0))
        elif key.startswith("r:"):
            record = client.hgetall(raw)
            fields = ("st", "m", "k") if record.get(b"st") == b"a" else ("st",)
            state[key] = tuple(record.get(f.encode()) for f in fields)
        elif key.startswith(("q:", "l:")):
            entries = client.zrange(raw, 0, -1, withscores=True)
            floor = cutoff if key.startswith("q:") else float("-inf")
            state[key] = sorted((m.decode(), s) for m, s in entries if s > floor)
        elif key.startswith("t:"):
            scope = key[2:]
            tokens = client.hgetall(head + "tk:" + scope)
            entries = client.zrange(raw, 0, -1, withscores=True)
            recent = sorted((m.decode(), s, int(tokens[m])) for m, s in entries if s > cutoff)
            gone = sum(int(tokens.get(m, 0)) for m, s in entries if s <= cutoff)
            state[key] = (int(tokens.get(b"", 0)) - gone, recent)
    return {k: v for k, v in state.items() if v not in ([], (0, 0), (0, []))}


def comparable(outcome: Admission | BaseException, figures: bool) -> object:
    """What to compare of an answer: with ``figures``, an admission's budgets and rates too."""
    if isinstance(outcome, BaseException):
        return type(outcome).__name__
    if isinstance(outcome, Admitted):
        return ("admitted", outcome.budgets, outcome.rates) if figures else "admitted"
    return outcome


def plans(now: datetime) -> list[ScopeChecks]:
    """Two keys of one user: their plans share the user's budget and RPM limit."""
    user = ScopeCheck("user:u", (BudgetCheck("all", 3_000_000, None),), rpm=900)
    day = BudgetCheck("d:2026-11-23@UTC", 2_000_000, datetime(2026, 11, 24, tzinfo=UTC))
    return [
        ScopeChecks(
            [
                ScopeCheck("key:a", (day,), rpm=10_000, tpm=2_000_000, max_parallel=200),
                user,
                ScopeCheck("team:t", (BudgetCheck("all", 10**9, None),), rpm=5_000),
            ]
        ),
        ScopeChecks([ScopeCheck("key:b", (), tpm=400_000, max_parallel=64), user]),
    ]


async def run_workload(
    store: RedisCounters, clock: Clock, seed: int, *, shared: bool
) -> list[object]:
    """Admissions, settlements, repeats and the clock moving, the same for every store given
    the same seed; what each call answered. With ``shared``, two plans share a scope.

    The admissions' figures are left out: an allotment's are those of its grant less what its
    own requests used, so they miss what changed since in Redis (a request admitted before it
    that settles meanwhile, the other plan's allotment in a shared scope, entries leaving the
    minute). :func:`test_a_busy_plan_is_admitted_in_memory_between_grants` compares figures
    where nothing else changes."""
    rng = random.Random(seed)
    checks = plans(clock.now)[: 2 if shared else 1]
    flying: list[tuple[str, int, int, ScopeChecks]] = []
    settled: list[str] = []
    answers: list[object] = []
    since_jump = 0.0
    for step in range(1500):
        roll = rng.random()
        if roll < 0.62 or not flying:
            plan = checks[rng.random() < 0.35] if shared else checks[0]
            micro, tokens = rng.randint(0, 4_000), rng.randint(1, 3_000)
            rid = f"req-{seed}-{step}"
            request = AdmissionRequest(rid, plan, micro, tokens, clock.now, 300)
            outcome = await store.admit(request)
            answers.append(comparable(outcome, False))
            if isinstance(outcome, Admitted):
                flying.append((rid, micro, tokens, plan))
        elif roll < 0.9:
            rid, micro, tokens, _ = flying.pop(rng.randrange(len(flying)))
            actual = 0 if rng.random() < 0.1 else rng.randint(0, micro)
            used = rng.randint(0, tokens + 200)
            answers.append(await store.settle(rid, actual, used))
            settled.append(rid)
        elif roll < 0.93 and settled:
            answers.append(await store.settle(rng.choice(settled), 1, 1))  # a repeat: False
        elif roll < 0.95:
            rid, micro, tokens, plan = rng.choice(flying)
            again = AdmissionRequest(rid, plan, micro, tokens, clock.now, 300)
            try:
                answers.append(("again", comparable(await store.admit(again), False)))
            except ValueError as exc:  # its lease ran out: no longer admitted
                answers.append(comparable(exc, False))
        elif roll < 0.995 or since_jump > 40:
            step_s = rng.choice((0.001, 0.05, 0.4, 1.2))
            clock.advance(step_s)
            since_jump += step_s
        else:
            clock.advance(61)  # every admission so far leaves the sliding minute
            since_jump = 0.0
    return answers


async def test_one_replica_answers_and_counts_exactly_as_admitting_one_by_one(
    redis_url: str, client: redis.Redis, prefixes: list[str]
) -> None:
    """The same workload through the exact path and through allotments: every answer (which
    requests are admitted, refusals with their reasons and retry times, repeated settlements
    and admissions) and every counter agree."""
    for seed, shared in ((1, False), (2, True), (3, True)):
        results = []
        observed = Observed()
        for kind in (RedisCounters, AllottedCounters):
            prefix = new_prefix(prefixes)
            clock = Clock(START)
            store = kind(redis_url, prefix, clock=clock, observe=observed)
            try:
                answers = await run_workload(store, clock, seed, shared=shared)
            finally:
                await store.aclose()
            now_ms = int(clock.now.timestamp() * 1000)
            results.append((answers, counters_state(client, prefix, now_ms)))
        (exact, exact_state), (allotted, allotted_state) = results
        assert allotted == exact
        assert allotted_state == exact_state
        assert any(isinstance(a, Refused) for a in exact)  # the limits were reached
        assert observed.calls.get("allot", 0) >= 20  # and allotments were used
        allotments = list(client.scan_iter(match=f"{{{prefix}}}:r:allot:*", count=1000))
        assert allotments  # granted, and every one given back
        assert {client.hget(key, "st") for key in allotments} == {b"s"}


async def test_a_busy_plan_is_admitted_in_memory_between_grants(
    redis_url: str, prefixes: list[str]
) -> None:
    """Requests of one plan, one after the other: after the first few, most are admitted and
    settled without a round trip, with the figures (headers) the exact path gives."""
    answers = []
    observed = Observed()
    for kind in (RedisCounters, AllottedCounters):
        clock = Clock(START)
        store = kind(redis_url, new_prefix(prefixes), clock=clock, observe=observed)
        plan = plans(clock.now)[0]
        seen = []
        try:
            for i in range(400):
                request = AdmissionRequest(f"r{i}", plan, 100 + i, 100, clock.now, 300)
                outcome = await store.admit(request)
                seen.append(comparable(outcome, True))
                assert await store.settle(f"r{i}", 50 + i % 7, 80 + i % 40)
                clock.advance(0.001)
        finally:
            await store.aclose()
        answers.append(seen)
        if kind is RedisCounters:
            observed.calls.clear()
    assert answers[1] == answers[0]
    round_trips = sum(observed.calls.get(op, 0) for op in ("admit", "settle", "allot"))
    assert observed.calls["admit"] >= DEMAND - 1
    assert round_trips < 400 / 4  # most admissions and settlements never left the process


async def test_replicas_with_allotments_never_exceed_a_budget_or_rpm_together(
    redis_url: str, client: redis.Redis, prefixes: list[str]
) -> None:
    """Three replicas, 900 concurrent requests: the spend recorded never exceeds the budget, the
    requests admitted in the minute never exceed the RPM, and nothing stays reserved."""
    prefix = new_prefix(prefixes)
    clock = Clock(START)
    stores = [AllottedCounters(redis_url, prefix, clock=clock, timeout_s=5.0) for _ in range(3)]
    budget, rpm = 600_000, 700
    plan = ScopeChecks(
        [ScopeCheck("key:k", (BudgetCheck("all", budget, None),), rpm=rpm, max_parallel=400)]
    )
    spent: list[int] = []

    async def one(i: int) -> None:
        store = stores[i % 3]
        rid = f"c{i}"
        outcome = await store.admit(AdmissionRequest(rid, plan, 1_000, 10, clock.now, 300))
        if isinstance(outcome, Admitted):
            await asyncio.sleep(random.random() / 100)
            cost = random.randint(300, 1_000)
            await store.settle(rid, cost, 10)
            spent.append(cost)

    try:
        for i in range(3 * DEMAND):  # warm: each replica's plan is busy and has been admitted
            await one(i)
        await asyncio.gather(*(one(i) for i in range(3 * DEMAND, 900)))
    finally:
        for store in stores:
            await store.aclose()
    key = f"{{{prefix}}}:b:key:k|all"
    assert int(client.hget(key, "spent")) == sum(spent) <= budget
    assert int(client.hget(key, "reserved")) == 0
    assert len(spent) <= rpm
    assert client.zcard(f"{{{prefix}}}:q:key:k") == len(spent)
    assert client.zcard(f"{{{prefix}}}:l:key:k") == 0
    assert len(spent) >= 500  # allotments did not starve the replicas


@pytest.mark.parametrize(("lease", "hold"), [(300, ALLOT_LEASE_SECONDS), (5, 5), (1, 3)])
async def test_an_allotment_never_given_back_stops_holding_when_its_lease_ends(
    redis_url: str, client: redis.Redis, prefixes: list[str], lease: int, hold: int
) -> None:
    """A replica killed with an allotment: its reservation and slots go when the allotment's
    lease ends (ALLOT_LEASE_SECONDS, or the requests' lease if shorter but never under
    ALLOT_LEASE_FLOOR), at the next admission in its scopes; its RPM entries when the minute
    ends."""
    prefix = new_prefix(prefixes)
    clock = Clock(START)
    plan = ScopeChecks(
        [ScopeCheck("key:k", (BudgetCheck("all", 10**9, None),), rpm=10_000, max_parallel=1_000)]
    )
    dead = AllottedCounters(redis_url, prefix, clock=clock)
    for i in range(DEMAND + 1):
        request = AdmissionRequest(f"d{i}", plan, 10, 1, clock.now, lease)
        assert isinstance(await dead.admit(request), Admitted)
    assert dead._open, "an allotment was granted"
    dead._open.clear()  # killed: nothing is given back
    await RedisCounters.aclose(dead)
    head = f"{{{prefix}}}:"
    held = int(client.hget(head + "b:key:k|all", "reserved"))
    assert held > DEMAND * 10  # the allotment's reservation, beyond its requests'

    live = RedisCounters(redis_url, prefix, clock=clock)
    try:
        clock.advance(hold - 0.5)
        await live.admit(AdmissionRequest("before", plan, 10, 1, clock.now, 300))
        slots = [m.decode() for m in client.zrange(head + "l:key:k", 0, -1)]
        assert any(m.startswith("allot:") for m in slots)  # still held
        clock.advance(1)
        await live.admit(AdmissionRequest("after", plan, 10, 1, clock.now, 300))
        # What is left: the requests admitted one by one before the allotment (while their own
        # leases run) and the new ones; the allotment's hold and slots are gone.
        by_one = [m.decode() for m in client.zrange(head + "l:key:k", 0, -1)]
        assert all(not m.startswith("allot:") for m in by_one)
        assert int(client.hget(head + "b:key:k|all", "reserved")) == 10 * len(by_one)
        clock.advance(61)
        await live.admit(AdmissionRequest("later", plan, 10, 1, clock.now, 300))
        entries = [m.decode() for m in client.zrange(head + "q:key:k", 0, -1)]
        assert entries == ["later"]
    finally:
        await live.aclose()


async def test_a_request_in_flight_when_its_allotment_goes_back_settles_through_redis(
    redis_url: str, client: redis.Redis, prefixes: list[str]
) -> None:
    prefix = new_prefix(prefixes)
    clock = Clock(START)
    plan = ScopeChecks(
        [ScopeCheck("key:k", (BudgetCheck("all", 10**9, None),), tpm=10**7, max_parallel=100)]
    )
    store = AllottedCounters(redis_url, prefix, clock=clock)
    head = f"{{{prefix}}}:"
    try:
        for i in range(DEMAND):
            await store.admit(AdmissionRequest(f"w{i}", plan, 10, 5, clock.now, 300))
            await store.settle(f"w{i}", 10, 5)
        for rid in ("long", "longer", "short"):
            request = AdmissionRequest(rid, plan, 700, 90, clock.now, 300)
            assert isinstance(await store.admit(request), Admitted)
            assert rid in store._owner  # admitted from an allotment
        assert await store.settle("short", 300, 40)  # in memory
        clock.advance(2)  # the allotment's time is up: the next admission gives it back
        # A settlement called while the return is on its way goes after it on the wire.
        following = AdmissionRequest("next", plan, 10, 5, clock.now, 300)
        _, settled = await asyncio.gather(store.admit(following), store.settle("long", 400, 60))
        assert settled
        assert not store._owner.keys() & {"long", "longer", "short"}
        assert client.hget(head + "r:long", "st") == b"s"
        assert int(client.hget(head + "tk:key:k", "long")) == 60
        assert client.zscore(head + "l:key:k", "long") is None
        # Still in flight: a reservation, a slot, a lease and a TPM entry of its own.
        assert client.hmget(head + "r:longer", "st", "m", "k") == [b"a", b"700", b"90"]
        assert client.zscore(head + "l:key:k", "longer") == pytest.approx(
            (clock.now.timestamp() - 2 + 300) * 1000
        )
        assert int(client.hget(head + "tk:key:k", "longer")) == 90
        assert await store.settle("longer", 500, 70)
        assert not await store.settle("longer", 500, 70)
        assert int(client.hget(head + "tk:key:k", "longer")) == 70
        # Settled in memory: Redis knows it as settled.
        assert client.hget(head + "r:short", "st") == b"s"
        assert not await store.settle("short", 300, 40)
        with pytest.raises(ValueError, match="already settled"):
            await store.admit(AdmissionRequest("short", plan, 10, 5, clock.now, 300))
        budget = client.hmget(head + "b:key:k|all", "spent", "reserved")
        assert budget == [str(DEMAND * 10 + 300 + 400 + 500).encode(), b"10"]  # "next" reserved
    finally:
        await store.aclose()


async def test_a_plan_near_its_limit_is_admitted_one_by_one(
    redis_url: str, prefixes: list[str]
) -> None:
    """Fewer than MIN_REQUESTS requests fit in a SHARE of what is left: no allotment is asked."""
    clock = Clock(START)
    observed = Observed()
    store = AllottedCounters(redis_url, new_prefix(prefixes), clock=clock, observe=observed)
    reserve = 1_000
    fit = counters_allotments.SHARE * counters_allotments.MIN_REQUESTS - 1
    plan = ScopeChecks([ScopeCheck("key:k", (BudgetCheck("all", fit * reserve, None),))])
    admitted = 0
    try:
        for i in range(fit + 10):
            outcome = await store.admit(AdmissionRequest(f"n{i}", plan, reserve, 1, clock.now, 300))
            admitted += isinstance(outcome, Admitted)
            await store.settle(f"n{i}", reserve, 1)
    finally:
        await store.aclose()
    assert admitted == fit
    assert "allot" not in observed.calls
    assert observed.calls["admit"] == fit + 10


async def test_redis_lost_while_an_allotment_is_open(
    redis_url: str, prefixes: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """What an open allotment admits was reserved before Redis went away; once it is used up,
    the failure policy decides; the allotment that could not go back is logged."""
    proxy = Proxy(redis_url)
    await proxy.start()
    clock = Clock(START)
    store = AllottedCounters(proxy.url, new_prefix(prefixes), clock=clock)
    plan = ScopeChecks([ScopeCheck("key:k", (BudgetCheck("all", 10**9, None),), rpm=10**6)])

    def request(rid: str) -> AdmissionRequest:
        return AdmissionRequest(rid, plan, 10, 1, clock.now, 300)

    try:
        for i in range(DEMAND + 1):
            assert isinstance(await store.admit(request(f"w{i}")), Admitted)
        assert store._open
        await proxy.stop()
        assert isinstance(await store.admit(request("x")), Admitted)
        assert await store.settle("x", 5, 1)
        clock.advance(2)
        with pytest.raises(ServiceUnavailable):
            await store.admit(request("y"))
        assert "could not give back allotment" in caplog.text
        await proxy.start()
        assert isinstance(await store.admit(request("z")), Admitted)
        assert await store.settle("z", 5, 1)
    finally:
        await store.aclose()
        await proxy.stop()
