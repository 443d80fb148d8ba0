"""The counters' own Redis client (``stargate.store.redis_wire``) against a real Redis: replies
matched to their callers in order under heavy concurrency, scripts reloaded after ``SCRIPT
FLUSH``, timeouts that never shift a later reply onto the wrong caller, lost connections failing
what waits on them and the next call reconnecting, AUTH and SELECT from the URL, replies larger
than a socket read, error replies.

Redis is ``$STARGATE_TEST_REDIS_URL`` or redis://127.0.0.1:6379/0; keys live under a prefix of
each test's own, deleted afterwards. Unreachable Redis skips these tests, or fails them under
``CI=true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import hiredis
import pytest
import redis
from tests.redis_service import require_redis

from stargate.store import redis_wire
from stargate.store.redis_wire import RedisReplyError, RedisUnavailable, RedisWire, Script

pytestmark = pytest.mark.redis

ECHO = Script.of("return ARGV[1]")


@pytest.fixture(scope="module")
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"test-wire-{uuid.uuid4().hex[:12]}"
    yield name
    with contextlib.closing(redis.Redis.from_url(redis_url)) as client:
        keys = list(client.scan_iter(match=f"{name}:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
async def wire(redis_url: str) -> AsyncIterator[RedisWire]:
    client = RedisWire(redis_url, timeout=5.0)
    yield client
    await client.aclose()


def with_url(
    url: str, *, netloc: str | None = None, path: str | None = None, query: str = ""
) -> str:
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, netloc or parts.netloc, parts.path if path is None else path, query, "")
    )


def written(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every write from now on, as the command names it holds."""
    writes: list[list[str]] = []
    original = redis_wire._Connection.submit

    def recording(conn: Any, payload: bytes, replies: int = 1) -> Any:
        reader = hiredis.Reader()
        reader.feed(payload)
        names = []
        while (command := reader.gets()) is not False:
            names.append(command[0].decode())
        writes.append(names)
        return original(conn, payload, replies)

    monkeypatch.setattr(redis_wire._Connection, "submit", recording)
    return writes


# --- replies go to their callers ---------------------------------------------------------------


async def test_two_thousand_concurrent_calls_each_get_their_own_reply(
    wire: RedisWire, prefix: str
) -> None:
    key = f"{prefix}:h"
    await wire.transaction(*(("HSET", key, f"f{i}", f"v{i}") for i in range(2000)))

    async def read(i: int) -> tuple[int, Any]:
        return i, await wire.command("HGET", key, f"f{i}")

    async def echo(i: int) -> tuple[int, Any]:
        return i, await wire.evalsha(ECHO, f"e{i}")

    calls = [read(i) if i % 2 else echo(i) for i in range(2000)]
    for i, reply in await asyncio.gather(*calls):
        assert reply == (f"v{i}" if i % 2 else f"e{i}")


async def test_calls_made_while_others_are_in_flight_share_one_write(wire: RedisWire) -> None:
    assert await wire.command("ECHO", "connected") == "connected"
    conn = wire._conn
    assert conn is not None
    transport = conn.transport
    writes: list[bytes] = []

    class Spy:
        def write(self, data: bytes) -> None:
            writes.append(data)
            transport.write(data)  # type: ignore[union-attr]

        def __getattr__(self, name: str) -> Any:
            return getattr(transport, name)

    conn.transport = Spy()  # type: ignore[assignment]
    replies = await asyncio.gather(*(wire.command("ECHO", f"m{i}") for i in range(10)))
    assert replies == [f"m{i}" for i in range(10)]
    assert len(writes) == 2  # the first at once (nothing in flight), the nine others together
    assert await wire.command("ECHO", "alone") == "alone"
    assert len(writes) == 3  # nothing in flight again: at once


async def test_scripts_are_sent_again_after_script_flush(
    wire: RedisWire, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await wire.evalsha(ECHO, "before") == "before"
    with contextlib.closing(redis.Redis.from_url(redis_url)) as client:
        client.script_flush()
    writes = written(monkeypatch)
    assert await wire.evalsha(ECHO, "after") == "after"
    assert await wire.evalsha(ECHO, "again") == "again"
    assert writes == [["EVALSHA"], ["EVAL"], ["EVALSHA"]]  # EVAL loaded it again


async def test_a_transaction_is_one_write_and_reports_an_error_inside_it(
    wire: RedisWire, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = written(monkeypatch)
    replies = await wire.transaction(
        ("HSET", f"{prefix}:t", "a", 1), ("PEXPIRE", f"{prefix}:t", 60_000)
    )
    assert replies == [1, 1]
    assert writes == [["MULTI", "HSET", "PEXPIRE", "EXEC"]]
    await wire.command("SET", f"{prefix}:s", "text")
    with pytest.raises(RedisReplyError, match="WRONGTYPE"):
        await wire.transaction(("SET", f"{prefix}:s2", "x"), ("HSET", f"{prefix}:s", "a", 1))
    with pytest.raises(RedisReplyError, match="EXECABORT"):
        await wire.transaction(
            ("HSET", f"{prefix}:t"),
        )  # wrong arity: refused while queued
    assert await wire.command("GET", f"{prefix}:s2") == "x"  # the rest of the transaction ran
    assert await wire.command("ECHO", "still in step") == "still in step"


async def test_error_replies_are_raised_and_the_connection_stays_in_step(wire: RedisWire) -> None:
    with pytest.raises(RedisReplyError, match="wrong number of arguments"):
        await wire.command("HGET", "only-a-key")
    with pytest.raises(RedisReplyError, match="boom"):
        await wire.evalsha(Script.of("return redis.error_reply('boom')"))
    with pytest.raises(RedisReplyError):
        await wire.evalsha(Script.of("this is not lua"))
    assert await wire.command("ECHO", "next") == "next"


async def test_replies_larger_than_a_socket_read_arrive_whole(wire: RedisWire, prefix: str) -> None:
    value = "x" * 3_000_000 + "end"
    await wire.command("SET", f"{prefix}:big", value)
    many = Script.of("local t = {} for i = 1, 200000 do t[i] = i end return t")
    got, numbers, echoed = await asyncio.gather(
        wire.command("GET", f"{prefix}:big"), wire.evalsha(many), wire.command("ECHO", "small")
    )
    assert got == value
    assert numbers == list(range(1, 200_001))
    assert echoed == "small"


# --- timeouts and lost connections --------------------------------------------------------------


async def test_a_timed_out_call_does_not_shift_its_late_reply_onto_the_next_caller(
    wire: RedisWire, redis_url: str, prefix: str
) -> None:
    queue = f"{prefix}:q"
    await wire.command("PING")
    conn = wire._conn
    with pytest.raises(TimeoutError):
        await wire.command("BLPOP", queue, 2, timeout=0.2)  # blocks in Redis past its bound
    waiting = asyncio.ensure_future(wire.command("ECHO", "mine"))  # queued behind the BLPOP
    with contextlib.closing(redis.Redis.from_url(redis_url)) as client:
        client.lpush(queue, "late")  # the BLPOP's late reply is a real value now
    assert await waiting == "mine"
    assert await wire.command("ECHO", "next") == "next"
    assert wire._conn is conn  # the same connection, still in step
    assert await wire.command("LLEN", queue) == 0  # the late reply was consumed, not replayed


async def test_a_connection_that_answers_nothing_for_the_timeout_is_dropped(
    redis_url: str, prefix: str
) -> None:
    wire = RedisWire(redis_url, timeout=0.3)
    try:
        await wire.command("PING")
        conn = wire._conn
        blocked = asyncio.ensure_future(wire.command("BLPOP", f"{prefix}:q", 3))
        behind = asyncio.ensure_future(wire.command("ECHO", "behind"))
        with pytest.raises(TimeoutError):
            await blocked
        with pytest.raises(RedisUnavailable):
            await behind  # failed with the connection, never given the BLPOP's reply
        assert await wire.command("ECHO", "fresh") == "fresh"
        assert wire._conn is not conn
    finally:
        await wire.aclose()


async def test_a_killed_connection_fails_what_waits_and_the_next_call_reconnects(
    wire: RedisWire, redis_url: str, prefix: str
) -> None:
    first_id = await wire.command("CLIENT", "ID")
    blocked = asyncio.ensure_future(wire.command("BLPOP", f"{prefix}:q", 3))
    behind = asyncio.ensure_future(wire.command("ECHO", "behind"))
    await asyncio.sleep(0.1)  # both are written and waiting
    with contextlib.closing(redis.Redis.from_url(redis_url)) as client:
        assert client.execute_command("CLIENT", "KILL", "ID", first_id) == 1
    for call in (blocked, behind):
        with pytest.raises(RedisUnavailable):
            await call
    assert await wire.command("ECHO", "again") == "again"
    assert await wire.command("CLIENT", "ID") != first_id


async def test_closing_fails_what_waits_and_a_later_call_opens_a_new_connection(
    wire: RedisWire, prefix: str
) -> None:
    await wire.command("PING")
    blocked = asyncio.ensure_future(wire.command("BLPOP", f"{prefix}:q", 3))
    await asyncio.sleep(0.05)
    await wire.aclose()
    with pytest.raises(RedisUnavailable):
        await blocked
    assert await wire.command("ECHO", "reopened") == "reopened"


async def test_a_call_on_a_connection_already_lost_fails_at_once(wire: RedisWire) -> None:
    await wire.command("PING")
    conn = wire._conn
    assert conn is not None
    conn.abort(RedisUnavailable("gone"))
    with pytest.raises(RedisUnavailable, match="gone"):
        await conn.submit(b"*1\r\n$4\r\nPING\r\n")
    assert await wire.command("ECHO", "reconnected") == "reconnected"


# --- the URL -------------------------------------------------------------------------------------


async def test_the_database_in_the_url_is_selected(redis_url: str, prefix: str) -> None:
    wire = RedisWire(with_url(redis_url, path="/7"))
    try:
        await wire.command("SET", f"{prefix}:in-seven", "yes")
    finally:
        await wire.aclose()
    seven = redis.Redis.from_url(with_url(redis_url, path="/7"), decode_responses=True)
    zero = redis.Redis.from_url(with_url(redis_url, path="/0"), decode_responses=True)
    with contextlib.closing(seven), contextlib.closing(zero):
        try:
            assert seven.get(f"{prefix}:in-seven") == "yes"
            assert zero.get(f"{prefix}:in-seven") is None
        finally:
            seven.delete(f"{prefix}:in-seven")


async def test_a_user_and_password_in_the_url_authenticate(redis_url: str) -> None:
    user, password = f"stargate-test-{uuid.uuid4().hex[:8]}", "p@ss:w/rd %1"
    admin = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        admin.execute_command("ACL", "SETUSER", user, "on", f">{password}", "~*", "+@all")
    except redis.ResponseError as exc:  # ACLs unavailable: the handshake is checked in unit tests
        admin.close()
        pytest.skip(f"this Redis refuses ACL SETUSER: {exc}")
    host = urlsplit(redis_url).netloc.rpartition("@")[2]
    good = RedisWire(with_url(redis_url, netloc=f"{user}:{quote(password, safe='')}@{host}"))
    bad = RedisWire(with_url(redis_url, netloc=f"{user}:wrong@{host}"))
    try:
        assert await good.command("ACL", "WHOAMI") == user
        with pytest.raises(RedisUnavailable, match="AUTH"):
            await bad.command("PING")
    finally:
        await good.aclose()
        await bad.aclose()
        admin.execute_command("ACL", "DELUSER", user)
        admin.close()


async def test_the_client_name_in_the_url_is_set(redis_url: str) -> None:
    name = f"stargate-test-{uuid.uuid4().hex[:8]}"
    wire = RedisWire(with_url(redis_url, query=f"client_name={name}"))
    try:
        assert await wire.command("CLIENT", "GETNAME") == name
    finally:
        await wire.aclose()
