"""What only the Redis counters do: share one budget and one RPM limit across OS processes,
forget a killed replica's holds when their leases end, make one script call per admission and
per settlement, keep every key under its prefix with an expiry, and follow the failure policy
within a bounded latency when Redis is away.

Redis is ``$STARGATE_TEST_REDIS_URL`` or redis://127.0.0.1:6379/0; each test uses a key prefix of
its own, deleted afterwards. Unreachable Redis skips these tests, or fails them under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import hiredis
import pytest
import redis
from tests.redis_service import forget_prefix, require_redis

from stargate.errors import InternalError, ServiceUnavailable
from stargate.governance.admission import (
    AdmissionRequest,
    Admitted,
    BudgetCheck,
    Refused,
    ScopeCheck,
)
from stargate.governance.counters import RECORD_GRACE_SECONDS, WINDOW_GRACE_SECONDS
from stargate.store import redis_wire
from stargate.store.counters_redis import RedisCounters
from stargate.store.redis_wire import Script

pytestmark = pytest.mark.redis

BUDGET_MICRO, RESERVE_MICRO = 1_000_000, 50_000
RPM = 37


@pytest.fixture(scope="module")
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    forget_prefix(name, redis_url)


@pytest.fixture
async def counters(redis_url: str, prefix: str) -> AsyncIterator[RedisCounters]:
    store = RedisCounters(redis_url, prefix)
    yield store
    await store.aclose()


def lifetime_check(scope: str, **limits: Any) -> ScopeCheck:
    return ScopeCheck(scope, (BudgetCheck("all", BUDGET_MICRO, None),), **limits)


def admission(rid: str, *checks: ScopeCheck, micro: int = 0, lease: int = 300) -> AdmissionRequest:
    return AdmissionRequest(rid, checks, micro, 10, datetime.now(UTC), lease)


def commands_written(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every command the counters write to Redis from now on, in order."""
    names: list[str] = []
    original = redis_wire._Connection.submit

    def counting(conn: Any, payload: bytes, replies: int = 1) -> Any:
        reader = hiredis.Reader()
        reader.feed(payload)
        while (command := reader.gets()) is not False:
            names.append(command[0].decode())
        return original(conn, payload, replies)

    monkeypatch.setattr(redis_wire._Connection, "submit", counting)
    return names


# --- several OS processes --------------------------------------------------------------------


async def _hammer(url: str, prefix: str, start_at: float, worker: int) -> tuple[list[int], int]:
    counters = RedisCounters(url, prefix, timeout_s=5.0)
    rng = random.Random(worker)
    await asyncio.sleep(max(0.0, start_at - time.time()))

    async def spend(i: int) -> int | None:
        rid = f"w{worker}-b{i}"
        outcome = await counters.admit(
            admission(rid, lifetime_check("key:race"), micro=RESERVE_MICRO)
        )
        if isinstance(outcome, Refused):
            return None
        await asyncio.sleep(rng.uniform(0.001, 0.02))
        cost = rng.randint(10_000, RESERVE_MICRO)
        assert await counters.settle(rid, cost, 10)
        return cost

    async def request(i: int) -> bool:
        outcome = await counters.admit(admission(f"w{worker}-q{i}", ScopeCheck("key:rpm", rpm=RPM)))
        return isinstance(outcome, Admitted)

    try:
        costs = await asyncio.gather(*(spend(i) for i in range(100)))
        admitted = await asyncio.gather(*(request(i) for i in range(100)))
    finally:
        await counters.aclose()
    return [c for c in costs if c is not None], sum(admitted)


def hammer(url: str, prefix: str, start_at: float, worker: int) -> tuple[list[int], int]:
    return asyncio.run(_hammer(url, prefix, start_at, worker))


def test_four_processes_share_one_budget_and_one_rpm_limit(redis_url: str, prefix: str) -> None:
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 5  # every process is up and connected before the burst
    with context.Pool(4) as pool:
        results = pool.starmap(hammer, [(redis_url, prefix, start_at, w) for w in range(4)])
    costs = [c for worker_costs, _ in results for c in worker_costs]
    assert sum(costs) <= BUDGET_MICRO
    assert len(costs) >= BUDGET_MICRO // RESERVE_MICRO
    assert sum(admitted for _, admitted in results) == RPM  # 400 requests within one minute

    async def check() -> None:
        counters = RedisCounters(redis_url, prefix)
        try:
            assert await counters.spent("key:race", "all") == sum(costs)
            rest = BUDGET_MICRO - sum(costs)  # no reservation is left behind
            check = lifetime_check("key:race")
            assert isinstance(await counters.admit(admission("x", check, micro=rest + 1)), Refused)
            assert isinstance(await counters.admit(admission("y", check, micro=rest)), Admitted)
        finally:
            await counters.aclose()

    asyncio.run(check())


async def _reserve_and_hang(url: str, prefix: str, ready: Any) -> None:
    counters = RedisCounters(url, prefix, timeout_s=5.0)
    for i in range(10):
        reserved = await counters.admit(
            admission(f"doomed-{i}", lifetime_check("key:killed"), micro=RESERVE_MICRO, lease=2)
        )
        assert isinstance(reserved, Admitted)
    ready.set()
    await asyncio.sleep(3600)  # mid-flight, forever: the parent kills us here


def reserve_and_hang(url: str, prefix: str, ready: Any) -> None:
    asyncio.run(_reserve_and_hang(url, prefix, ready))


def test_a_killed_replicas_reservations_expire_with_their_leases(
    redis_url: str, prefix: str
) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    replica = context.Process(target=reserve_and_hang, args=(redis_url, prefix, ready))
    replica.start()
    try:
        assert ready.wait(60)
    finally:
        assert replica.pid is not None
        os.kill(replica.pid, signal.SIGKILL)
        replica.join(10)
    assert replica.exitcode == -signal.SIGKILL

    async def check() -> None:
        counters = RedisCounters(redis_url, prefix)
        try:
            half = BUDGET_MICRO - 10 * RESERVE_MICRO
            check = lifetime_check("key:killed")
            assert isinstance(await counters.admit(admission("a", check, micro=half + 1)), Refused)
            await asyncio.sleep(2.1)  # the dead replica's leases end
            whole = await counters.admit(admission("b", check, micro=BUDGET_MICRO))
            assert isinstance(whole, Admitted)
            assert await counters.spent("key:killed", "all") == 0
        finally:
            await counters.aclose()

    asyncio.run(check())


# --- the wire --------------------------------------------------------------------------------


async def test_one_script_call_per_admission_and_per_settlement(
    counters: RedisCounters, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = ScopeCheck(
        "team:t", (BudgetCheck("all", BUDGET_MICRO, None),), rpm=100, tpm=10_000, max_parallel=9
    )
    await counters.admit(admission("warm-up", check))  # loads both scripts once
    await counters.settle("warm-up", 0, 0)
    calls = commands_written(monkeypatch)
    other = ScopeCheck("key:k", (BudgetCheck("all", BUDGET_MICRO, None),), rpm=100)
    assert isinstance(await counters.admit(admission("r", check, other, micro=5)), Admitted)
    assert calls == ["EVALSHA"]
    assert await counters.settle("r", 3, 5)
    assert calls == ["EVALSHA", "EVALSHA"]


async def test_every_round_trip_is_reported_by_operation(redis_url: str, prefix: str) -> None:
    seen: list[tuple[str, float]] = []
    counters = RedisCounters(redis_url, prefix, observe=lambda op, s: seen.append((op, s)))
    try:
        await counters.admit(admission("r", lifetime_check("key:k")))
        await counters.settle("r", 1, 1)
        await counters.spent("key:k", "all")
        await counters.rebuild("key:k", "all", 5)
    finally:
        await counters.aclose()
    assert [op for op, _ in seen] == ["admit", "settle", "read", "rebuild"]
    assert all(seconds > 0 for _, seconds in seen)


async def test_a_burst_queues_on_the_connection_instead_of_failing(
    counters: RedisCounters,
) -> None:
    """Hundreds of concurrent admissions share the one pipelined connection: they wait their turn
    (local queueing) rather than being refused as if Redis were away."""
    check = ScopeCheck("key:burst", (BudgetCheck("all", BUDGET_MICRO, None),))
    outcomes = await asyncio.gather(
        *(counters.admit(admission(f"b{n}", check, micro=1)) for n in range(320))
    )
    assert all(isinstance(outcome, Admitted) for outcome in outcomes)


async def test_scripts_are_reloaded_after_redis_forgets_them(
    counters: RedisCounters, redis_url: str
) -> None:
    await counters.admit(admission("a", lifetime_check("key:k")))
    client = redis.Redis.from_url(redis_url)
    try:
        client.script_flush()
    finally:
        client.close()
    assert isinstance(await counters.admit(admission("b", lifetime_check("key:k"))), Admitted)
    assert await counters.settle("b", 1, 1)


async def test_every_key_lives_under_the_prefix_and_expires_unless_it_must_not(
    counters: RedisCounters, redis_url: str, prefix: str
) -> None:
    now = datetime.now(UTC)
    reset = now + timedelta(hours=3)
    check = ScopeCheck(
        "key:k",
        (BudgetCheck("d:today", 10_000, reset), BudgetCheck("all", 10_000, None)),
        rpm=5,
        tpm=500,
        max_parallel=2,
    )
    await counters.admit(AdmissionRequest("r", (check,), 100, 50, now, 60))
    assert await counters.settle("r", 40, 20)

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = set(client.scan_iter(match="*key:k*", count=1000)) | set(
            client.scan_iter(match=f"{{{prefix}}}:*", count=1000)
        )
        ours = {k for k in keys if k.startswith(f"{{{prefix}}}:")}
        assert {k.removeprefix(f"{{{prefix}}}:") for k in ours} == {
            "b:key:k|d:today",
            "b:key:k|all",
            "q:key:k",
            "t:key:k",
            "tk:key:k",
            "r:r",
        }  # the lease set emptied on settlement, so it is gone
        ttl = {k.removeprefix(f"{{{prefix}}}:"): client.pttl(k) for k in ours}
        day_ttl = (timedelta(hours=3) + timedelta(seconds=WINDOW_GRACE_SECONDS)).total_seconds()
        assert ttl["b:key:k|d:today"] == pytest.approx(day_ttl * 1000, abs=5_000)
        assert ttl["b:key:k|all"] == -1  # a lifetime budget never expires
        for log in ("q:key:k", "t:key:k", "tk:key:k"):  # set at most once a second, for 62 s
            assert 0 < ttl[log] <= 62_000
        assert 0 < ttl["r:r"] <= RECORD_GRACE_SECONDS * 1000
        ends = int((reset + timedelta(seconds=WINDOW_GRACE_SECONDS)).timestamp() * 1000)
        assert client.hgetall(f"{{{prefix}}}:b:key:k|d:today") == {
            "spent": "40",
            "reserved": "0",
            "e": str(ends),  # the expiry set on it, so later admissions need not set it again
        }
    finally:
        client.close()


async def test_a_budget_counters_expiry_is_set_once_and_each_window_gets_its_own(
    counters: RedisCounters, redis_url: str, prefix: str
) -> None:
    """The expiry is set by the admission that makes the counter (and kept in it, as ``e``), not
    again by later ones; the next window's counter gets its own."""
    now = datetime.now(UTC)
    grace = timedelta(seconds=WINDOW_GRACE_SECONDS)
    today, tomorrow = now + timedelta(hours=3), now + timedelta(hours=27)
    key = f"{{{prefix}}}:b:key:k|"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        check = ScopeCheck("key:k", (BudgetCheck("d:1", 10_000, today),))
        await counters.admit(AdmissionRequest("a", (check,), 10, 0, now, 60))
        expected = (today + grace - now).total_seconds() * 1000
        assert client.pttl(key + "d:1") == pytest.approx(expected, abs=5_000)
        assert client.hget(key + "d:1", "e") == str(int((today + grace).timestamp() * 1000))
        client.pexpire(key + "d:1", 3_600_000)  # were it set again, it would be seen
        await counters.admit(AdmissionRequest("b", (check,), 10, 0, now, 60))
        assert client.pttl(key + "d:1") <= 3_600_000
        assert client.hget(key + "d:1", "reserved") == "20"

        later = ScopeCheck("key:k", (BudgetCheck("d:2", 10_000, tomorrow),))
        await counters.admit(AdmissionRequest("c", (later,), 10, 0, now, 60))
        expected = (tomorrow + grace - now).total_seconds() * 1000
        assert client.pttl(key + "d:2") == pytest.approx(expected, abs=5_000)
        assert client.pttl(key + "d:1") > 0  # the old window's counter still goes in time

        client.delete(key + "d:2")  # gone (evicted, say): made again, with its expiry
        await counters.admit(AdmissionRequest("d", (later,), 10, 0, now, 60))
        assert client.pttl(key + "d:2") == pytest.approx(expected, abs=5_000)
    finally:
        client.close()


async def test_the_sliding_logs_expiry_is_set_at_most_once_a_second_and_never_lost(
    counters: RedisCounters, redis_url: str, prefix: str
) -> None:
    """A scope with a TPM limit sets its logs' expiry (62 s) at most once a second, so each
    log still lives at least 61 s after its last entry and vanishes when idle; a log made
    again within that second (evicted, say) gets its expiry at once. A scope with only an RPM
    limit sets it (61 s) on every admission."""
    now = datetime.now(UTC)
    logs = [f"{{{prefix}}}:{kind}:key:k" for kind in ("q", "t", "tk")]
    team = f"{{{prefix}}}:q:team:t"
    key_check = ScopeCheck("key:k", rpm=1000, tpm=10**9)
    team_check = ScopeCheck("team:t", rpm=1000)
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    async def admit(rid: str, at: datetime) -> None:
        outcome = await counters.admit(AdmissionRequest(rid, (key_check, team_check), 0, 5, at, 60))
        assert isinstance(outcome, Admitted)

    try:
        await admit("a", now)
        assert all(61_000 < client.pttl(log) <= 62_000 for log in logs)
        assert 60_000 < client.pttl(team) <= 61_000
        for log in [*logs, team]:
            client.pexpire(log, 30_000)  # were it set again, it would be seen
        await admit("b", now + timedelta(milliseconds=900))  # within the second: left alone
        assert all(0 < client.pttl(log) <= 30_000 for log in logs)
        assert 60_000 < client.pttl(team) <= 61_000  # RPM only: set every time
        await admit("c", now + timedelta(milliseconds=1000))  # a second on: set again
        assert all(61_000 < client.pttl(log) <= 62_000 for log in logs)

        client.delete(logs[0], logs[1])  # gone within the second: made again with an expiry
        await admit("d", now + timedelta(milliseconds=1100))
        assert all(61_000 < client.pttl(log) <= 62_000 for log in logs)
        assert client.zcard(logs[0]) == 1
        assert client.hget(logs[2], "") == "20"  # every admission's tokens still counted

        await admit("e", now - timedelta(seconds=5))  # a replica whose clock is behind
        assert all(61_000 < client.pttl(log) <= 62_000 for log in logs)
    finally:
        client.close()


async def test_an_idle_sliding_log_vanishes(
    counters: RedisCounters, redis_url: str, prefix: str
) -> None:
    """Shortened by hand (the real one is 62 s): with no admission to set it again, it goes."""
    now = datetime.now(UTC)
    check = ScopeCheck("key:k", rpm=1000, tpm=10**9)
    await counters.admit(AdmissionRequest("a", (check,), 0, 5, now, 60))
    assert await counters.settle("a", 0, 3)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        logs = [f"{{{prefix}}}:{kind}:key:k" for kind in ("q", "t", "tk")]
        assert all(client.pttl(log) > 0 for log in logs)  # the settlement left them as they were
        for log in logs:
            client.pexpire(log, 50)
        await asyncio.sleep(0.2)
        assert client.exists(*logs) == 0
    finally:
        client.close()


async def test_prefixes_keep_counters_apart_and_shared_prefixes_share_them(
    redis_url: str, prefix: str
) -> None:
    other_prefix = f"{prefix}-other"
    first, same, other = (
        RedisCounters(redis_url, prefix),
        RedisCounters(redis_url, prefix),
        RedisCounters(redis_url, other_prefix),
    )
    try:
        await first.rebuild("key:k", "all", 700)
        assert await same.spent("key:k", "all") == 700
        assert await other.spent("key:k", "all") == 0
    finally:
        for store in (first, same, other):
            await store.aclose()
        client = redis.Redis.from_url(redis_url)
        try:
            client.delete(*client.keys(f"{{{other_prefix}}}:*") or ["-"])
        finally:
            client.close()
    with pytest.raises(ValueError, match="braces"):
        RedisCounters(redis_url, "a{b}")


# --- when Redis is away ----------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_redis_fails_closed_quickly_by_default() -> None:
    counters = RedisCounters(f"redis://127.0.0.1:{_closed_port()}/0", "down")
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as caught:
            await counters.admit(admission("r", lifetime_check("key:k")))
        assert time.monotonic() - started < 1.0
        assert caught.value.status == 503
        assert caught.value.openai_type == "service_unavailable"
        assert not await counters.settle("r", 10, 10)  # logged, not raised: settle runs in finally
        with pytest.raises(ServiceUnavailable):
            await counters.spent("key:k", "all")
    finally:
        await counters.aclose()


async def test_the_open_policy_admits_without_counting() -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    counters = RedisCounters(url, "down", failure_policy="open")
    try:
        outcome = await counters.admit(admission("r", lifetime_check("key:k")))
        assert outcome == Admitted("r", counted=False)
    finally:
        await counters.aclose()


async def test_a_redis_that_never_answers_is_given_up_on_within_the_timeout() -> None:
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()  # swallow everything, answer nothing, until the client leaves
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    counters = RedisCounters(f"redis://127.0.0.1:{port}/0", "silent")
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            await counters.admit(admission("r", lifetime_check("key:k")))
        elapsed = time.monotonic() - started
        assert 0.2 <= elapsed < 8.0  # bounded (the timeout is 1 s), not hanging
        assert connections  # it did connect: the read timed out
    finally:
        await counters.aclose()
        server.close()
        await server.wait_closed()


# --- Redis stopped and started again, script errors, rebuild -------------------------------------


class Proxy:
    """A TCP relay to Redis on a port of its own, that can stop (dropping every connection and
    refusing new ones) and start again on the same port, as a restarted Redis would."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


async def test_redis_stopped_and_started_again_mid_run(redis_url: str, prefix: str) -> None:
    proxy = Proxy(redis_url)
    await proxy.start()
    closed = RedisCounters(proxy.url, prefix)
    opened = RedisCounters(proxy.url, prefix, failure_policy="open")
    check = lifetime_check("key:k")
    try:
        assert isinstance(await closed.admit(admission("a", check, micro=5)), Admitted)
        assert (await opened.admit(admission("b", check, micro=5))).counted
        await proxy.stop()
        with pytest.raises(ServiceUnavailable):
            await closed.admit(admission("c", check, micro=5))
        assert await opened.admit(admission("d", check, micro=5)) == Admitted("d", counted=False)
        assert not await closed.settle("a", 3, 1)  # logged and dropped
        await proxy.start()  # the same port again
        assert isinstance(await closed.admit(admission("e", check, micro=5)), Admitted)
        assert await closed.settle("e", 4, 1)
        assert await opened.settle("b", 3, 1)
        assert await closed.spent("key:k", "all") == 7
    finally:
        await closed.aclose()
        await opened.aclose()
        await proxy.stop()


async def test_a_failing_script_is_an_internal_error_and_a_settlement_dropped(
    counters: RedisCounters,
) -> None:
    failing = Script.of("return redis.error_reply('broken script')")
    counters._admit_script = failing
    counters._settle_script = failing
    with pytest.raises(InternalError):
        await counters.admit(admission("r", lifetime_check("key:k")))
    assert not await counters.settle("r", 1, 1)
    assert await counters.spent("key:k", "all") == 0  # the connection is still in step


async def test_a_rebuild_is_one_transaction_in_one_write(
    counters: RedisCounters, monkeypatch: pytest.MonkeyPatch, redis_url: str, prefix: str
) -> None:
    writes: list[bytes] = []
    original = redis_wire._Connection.submit

    def recording(conn: Any, payload: bytes, replies: int = 1) -> Any:
        writes.append(payload)
        return original(conn, payload, replies)

    monkeypatch.setattr(redis_wire._Connection, "submit", recording)
    reset = datetime.now(UTC) + timedelta(hours=1)
    await counters.rebuild("key:k", "d:today", 1234, reset_at=reset)
    assert len(writes) == 1
    reader = hiredis.Reader(encoding="utf-8")
    reader.feed(writes[0])
    names = []
    while (command := reader.gets()) is not False:
        names.append(command[0])
    assert names == ["MULTI", "HSET", "PEXPIRE", "EXEC"]
    assert await counters.spent("key:k", "d:today") == 1234
    with contextlib.closing(redis.Redis.from_url(redis_url)) as client:
        assert client.pttl(f"{{{prefix}}}:b:key:k|d:today") > 0
        client.set(f"{{{prefix}}}:b:key:k|wrong", "not a hash")
    with pytest.raises(InternalError):
        await counters.rebuild("key:k", "wrong", 1)
