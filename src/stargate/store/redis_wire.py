"""A lean Redis client for the counters' hot path: one pipelined connection, hiredis parsing.

Why it exists: every governed request makes two Redis round trips (a script to admit, one to
settle). redis-py's asyncio client spent about 0.3 ms of gateway CPU per call on its machinery
(a blocking pool and its condition variable, connection checkout and release, the Script
wrapper, the retry object, response parsing). This module does only what
:class:`~stargate.store.counters_redis.RedisCounters` needs, in a few microseconds a call:

- One connection, opened on first use and again on the first call after it failed (one
  attempt at a time; concurrent callers wait for the same one). No pool, no lock: every call
  writes its command (a transaction: its whole MULTI … EXEC group) with one ``transport.write``
  and waits on a future; replies are matched to the waiting futures in FIFO order, which is the
  order Redis answers one connection in. A command sent while nothing is in flight is written
  at once; while others are, the commands of one turn of the event loop are written together at
  its end (one system call for a burst of requests' admissions and settlements, in order).
- Bounds: connecting (with AUTH, SELECT and CLIENT SETNAME from the URL) takes at most
  ``timeout``, and so does each round trip. A call that times out leaves its place in the queue:
  its late reply is read and dropped, so the FIFO never shifts. A connection that owes replies and
  has sent nothing for a whole ``timeout`` is taken for dead: it is dropped, every call waiting on
  it fails with :class:`RedisUnavailable`, and the next call reconnects. A lost connection (Redis
  stopped or restarted, the connection killed) fails its waiting calls the same way.
- Error replies come back as :class:`RedisReplyError`. :meth:`RedisWire.evalsha` sends a script by
  its SHA-1 and, when Redis answers ``NOSCRIPT`` (restarted, ``SCRIPT FLUSH``), sends the body with
  EVAL, which also loads it again.

URLs, as redis-py's ``from_url`` reads them: ``redis://[[user]:password@]host[:port][/db]``,
``rediss://`` (TLS), ``unix:///path``; the query may give ``db``, ``client_name`` and, with TLS,
``ssl_cert_reqs`` (``required``, ``optional``, ``none``), ``ssl_ca_certs``, ``ssl_certfile``,
``ssl_keyfile``, ``ssl_check_hostname``. Any other option is refused (``ValueError``) rather than
silently ignored. The client speaks RESP2 and decodes bulk strings as UTF-8.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis

from stargate.wire.deadlines import Deadlines

__all__ = [
    "Endpoint",
    "RedisReplyError",
    "RedisUnavailable",
    "RedisWire",
    "Script",
    "parse_redis_url",
]

Arg = str | bytes | int
_OPTIONS = {
    "db",
    "client_name",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
}
_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


class RedisReplyError(Exception):
    """Redis answered with an error reply (``-ERR …``, ``-NOSCRIPT …``, a failing script)."""


class RedisUnavailable(ConnectionError):
    """No connection could be made, or it was lost, stalled or closed while a call waited."""


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script and its SHA-1 (what EVALSHA names it by)."""

    body: bytes
    sha: str

    @classmethod
    def of(cls, text: str) -> Script:
        body = text.encode()
        return cls(body, hashlib.sha1(body, usedforsecurity=False).hexdigest())


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to connect, read from a URL by :func:`parse_redis_url`."""

    host: str = "localhost"
    port: int = 6379
    path: str | None = None  # a Unix socket instead of host and port
    tls: ssl.SSLContext | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0
    client_name: str | None = None

    def handshake(self) -> list[tuple[Arg, ...]]:
        """The commands a new connection sends before any other: AUTH, SELECT, CLIENT SETNAME."""
        commands: list[tuple[Arg, ...]] = []
        if self.username or self.password:
            user = (self.username,) if self.username else ()
            commands.append(("AUTH", *user, self.password or ""))
        if self.db:
            commands.append(("SELECT", self.db))
        if self.client_name:
            commands.append(("CLIENT", "SETNAME", self.client_name))
        return commands


def parse_redis_url(url: str) -> Endpoint:
    """Read ``redis://``, ``rediss://`` and ``unix://`` URLs as redis-py's ``from_url`` does."""
    parts = urlsplit(url)
    options = {name: values[0] for name, values in parse_qs(parts.query).items()}
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise ValueError(
            f"Redis URL option(s) {', '.join(unknown)} not supported by the counters' client "
            f"(supported: {', '.join(sorted(_OPTIONS))})"
        )
    tls_options = {name for name in options if name.startswith("ssl_")}
    if tls_options and parts.scheme != "rediss":
        raise ValueError(f"Redis URL option(s) {', '.join(sorted(tls_options))} need rediss://")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    client_name = options.get("client_name")
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError("a unix:// Redis URL names the socket's path")
        db = _int_option("db", options.get("db", "0"))
        return Endpoint(
            path=unquote(parts.path),
            username=username,
            password=password,
            db=db,
            client_name=client_name,
        )
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
    if "db" in options:
        db = _int_option("db", options["db"])
    else:
        number = unquote(parts.path).replace("/", "")
        db = _int_option("db (the URL's path)", number) if number else 0
    return Endpoint(
        host=unquote(parts.hostname) if parts.hostname else "localhost",
        port=parts.port or 6379,
        tls=_tls_context(options) if parts.scheme == "rediss" else None,
        username=username,
        password=password,
        db=db,
        client_name=client_name,
    )


def _int_option(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"Redis URL: {name} must be a number, not {value!r}") from None


def _tls_context(options: dict[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    if "ssl_certfile" in options:
        context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
    requirement = options.get("ssl_cert_reqs", "required").lower()
    if requirement not in _CERT_REQS:
        raise ValueError(f"Redis URL: ssl_cert_reqs is one of {', '.join(_CERT_REQS)}")
    check = options.get("ssl_check_hostname", "true").lower() not in ("0", "f", "false", "n", "no")
    context.check_hostname = check and requirement != "none"
    context.verify_mode = _CERT_REQS[requirement]
    return context


# RESP encoding in C (hiredis's stub types the argument as a 1-tuple).
_pack = cast("Callable[[tuple[Arg, ...]], bytes]", hiredis.pack_command)


class _Connection(asyncio.Protocol):
    """One connection: writes commands, hands each reply to the oldest waiting future.

    ``pending`` holds one entry per reply still owed, in order: a future, or ``None`` for a reply
    nobody reads (the commands of a transaction before its EXEC)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader(replyError=RedisReplyError, encoding="utf-8")
        self.pending: deque[asyncio.Future[Any] | None] = deque()
        self.failure: RedisUnavailable | None = None  # set once the connection is unusable
        self.owed_since = 0.0  # since when the oldest owed reply has been awaited without news
        self.gone: asyncio.Future[None] = loop.create_future()
        # Every round trip's bound, on one timer (a timer per call cost more than the call).
        self.deadlines = Deadlines(loop)
        # Commands submitted while others are in flight, written together at the end of the turn.
        self.outgoing: list[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def submit(self, payload: bytes, replies: int = 1) -> asyncio.Future[Any]:
        """Write ``payload`` (``replies`` commands); the future gets the last command's reply."""
        assert self.transport is not None
        future = self.loop.create_future()
        if self.failure is not None:  # lost between connecting and this first call
            future.set_exception(type(self.failure)(*self.failure.args))
            return future
        pending = self.pending
        if not pending:
            self.owed_since = self.loop.time()
        if replies > 1:
            pending.extend([None] * (replies - 1))
        pending.append(future)
        if self.outgoing is not None:
            self.outgoing.append(payload)
        elif len(pending) == replies:  # nothing else in flight: at once
            self.transport.write(payload)
        else:  # calls in flight: what this turn of the loop sends goes in one write
            self.outgoing = [payload]
            self.loop.call_soon(self._write_outgoing)
        return future

    def _write_outgoing(self) -> None:
        outgoing, self.outgoing = self.outgoing, None
        transport = self.transport
        if outgoing and self.failure is None and transport and not transport.is_closing():
            transport.write(b"".join(outgoing))

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        pending = self.pending
        reader.feed(data)
        try:
            reply = reader.gets()
            while reply is not False:
                waiter = pending.popleft()
                if waiter is not None and not waiter.done():
                    waiter.set_result(reply)
                reply = reader.gets()
        except IndexError:
            self.abort(RedisUnavailable("Redis sent a reply that nothing was waiting for"))
            return
        except Exception as exc:  # hiredis.ProtocolError, or a reply that is not UTF-8
            self.abort(RedisUnavailable(f"unreadable reply from Redis: {exc}"))
            return
        self.owed_since = self.loop.time()

    def eof_received(self) -> bool:
        return False  # the transport closes; connection_lost fails what is pending

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc else ""
        self._fail(RedisUnavailable(f"the connection to Redis was lost{reason}"))
        if not self.gone.done():
            self.gone.set_result(None)

    def abort(self, error: RedisUnavailable) -> None:
        """Drop the connection now: every waiting call fails with ``error``."""
        self._fail(error)
        if self.transport is not None:
            self.transport.abort()

    async def close(self) -> None:
        self._fail(RedisUnavailable("the connection to Redis was closed"))
        if self.transport is None:
            return
        self.transport.close()
        try:
            async with asyncio.timeout(1.0):
                await asyncio.shield(self.gone)
        except TimeoutError:
            self.transport.abort()

    def _fail(self, error: RedisUnavailable) -> None:
        if self.failure is None:
            self.failure = error
        self.deadlines.stop()
        pending = self.pending
        while pending:
            waiter = pending.popleft()
            if waiter is not None and not waiter.done():
                waiter.set_exception(type(error)(*error.args))


class RedisWire:
    """One pipelined connection to the Redis at ``url``; every round trip bounded by ``timeout``."""

    def __init__(self, url: str, *, timeout: float = 1.0) -> None:
        self.endpoint = parse_redis_url(url)
        self._timeout = timeout
        self._conn: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None

    async def command(self, *args: Arg, timeout: float | None = None) -> Any:
        """Send one command; its reply, or :class:`RedisReplyError`. ``timeout`` overrides the
        wire's bound for this call only."""
        reply = await self._round_trip(_pack(args), 1, timeout)
        if type(reply) is RedisReplyError:
            raise reply
        return reply

    async def evalsha(self, script: Script, *args: Arg) -> Any:
        """Run ``script`` with no keys and ``args`` as ARGV; reloads it if Redis forgot it."""
        reply = await self._round_trip(_pack(("EVALSHA", script.sha, 0, *args)), 1, None)
        if type(reply) is RedisReplyError:
            if not str(reply).startswith("NOSCRIPT"):
                raise reply
            reply = await self._round_trip(_pack(("EVAL", script.body, 0, *args)), 1, None)
            if type(reply) is RedisReplyError:
                raise reply
        return reply

    async def transaction(self, *commands: tuple[Arg, ...]) -> list[Any]:
        """MULTI, ``commands``, EXEC in one write (so they stay together on the connection); the
        replies of the commands, or the first error among them."""
        group = (("MULTI",), *commands, ("EXEC",))
        reply = await self._round_trip(b"".join(map(_pack, group)), len(group), None)
        if type(reply) is RedisReplyError:
            raise reply
        if reply is None:
            raise RedisReplyError("the transaction was aborted")
        for item in reply:
            if type(item) is RedisReplyError:
                raise item
        return list(reply)

    async def aclose(self) -> None:
        """Close the connection (a later call would open a new one)."""
        task, self._connecting = self._connecting, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    # --- inside ----------------------------------------------------------------------------------

    async def _round_trip(self, payload: bytes, replies: int, timeout: float | None) -> Any:
        conn = self._conn
        if conn is None or conn.failure is not None:
            conn = await self._connected()
        future = conn.submit(payload, replies)
        bound = self._timeout if timeout is None else timeout
        deadline = conn.deadlines.add(bound, self._expire, (conn, future, bound))
        try:
            return await future
        finally:
            conn.deadlines.discard(deadline)

    def _expire(self, call: tuple[_Connection, asyncio.Future[Any], float]) -> None:
        conn, future, bound = call
        if future.done():
            return
        # The reply's place stays in the queue: when it comes, it is read and dropped.
        future.set_exception(TimeoutError(f"Redis did not answer within {bound:g} s"))
        if conn.pending and conn.loop.time() - conn.owed_since >= self._timeout:
            conn.abort(RedisUnavailable(f"Redis sent nothing for {self._timeout:g} s"))

    async def _connected(self) -> _Connection:
        task = self._connecting
        if task is None:
            task = asyncio.ensure_future(self._connect())
            task.add_done_callback(_consume)
            self._connecting = task
        return await asyncio.shield(task)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        endpoint = self.endpoint
        try:
            async with asyncio.timeout(self._timeout):
                if endpoint.path is not None:
                    _, conn = await loop.create_unix_connection(
                        lambda: _Connection(loop), endpoint.path
                    )
                else:
                    _, conn = await loop.create_connection(
                        lambda: _Connection(loop),
                        endpoint.host,
                        endpoint.port,
                        ssl=endpoint.tls,
                        server_hostname=endpoint.host if endpoint.tls else None,
                    )
                try:
                    for command in endpoint.handshake():
                        reply = await conn.submit(_pack(command))
                        if type(reply) is RedisReplyError:
                            raise RedisUnavailable(f"Redis refused {command[0]!r}: {reply}")
                except BaseException:
                    conn.abort(RedisUnavailable("the connection failed while it was set up"))
                    raise
            self._conn = conn
            return conn
        finally:
            if self._connecting is asyncio.current_task():
                self._connecting = None


def _consume(task: asyncio.Task[_Connection]) -> None:
    # Every waiter may have given up: the outcome is read here so asyncio does not report it.
    if not task.cancelled():
        task.exception()
