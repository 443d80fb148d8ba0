"""The gateway's upstream HTTP/1.1 client: a keep-alive connection pool and nothing more.

Every provider call goes through :class:`Http1Pool`: one ``asyncio.Protocol`` per connection,
responses parsed by ``httptools`` (llhttp), a request written with one ``transport.write``. It
does only what the providers need (aiohttp's client cost twice the CPU per call):

- connections pooled per origin (scheme, host, port) and reused last in, first out; a limit on
  connections in use in all and per host (a caller waits for a free slot, bounded by
  :attr:`Timeouts.pool`); idle connections closed after ``keepalive_seconds``; a connection the
  server closed (or asked to close, or that cannot be kept alive) is never reused;
- HTTPS with the default context (or the one given) and SNI; the request target sent exactly as
  given (SigV4 signs the encoded path: nothing is quoted or unquoted here); ``Host``,
  ``Content-Length`` and ``User-Agent`` added unless given; no compression asked for;
- a whole response (:meth:`Http1Pool.request`) or a streamed one (:meth:`Http1Pool.stream`:
  pieces as they arrive, reading paused while more than :data:`HIGH_WATER` bytes wait);
- a request on a reused connection that fails before any byte of the answer arrived (the server
  closed an idle connection as we wrote) is sent once more on a new connection; nothing else is
  retried.

Errors: :class:`ConnectFailed` (no connection: refused, DNS, TLS, a closed pool),
:class:`ConnectionDropped` (the connection closed before the answer began), :class:`BadResponse`
(the answer was cut off or malformed), all :class:`HttpClientError`; timeouts raise
``TimeoutError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

from stargate.wire.deadlines import Deadlines

__all__ = [
    "HIGH_WATER",
    "BadResponse",
    "ConnectFailed",
    "ConnectionDropped",
    "Headers",
    "Http1Pool",
    "HttpClientError",
    "Response",
    "StreamResponse",
    "Timeouts",
]

HIGH_WATER = 64 * 1024  # bytes a stream buffers before it pauses reading
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, host, port


class HttpClientError(Exception):
    """A call that failed below HTTP (no answer, or no whole answer)."""


class ConnectFailed(HttpClientError):
    """No connection could be opened (refused, name not found, TLS refused, pool closed)."""


class ConnectionDropped(HttpClientError):
    """The connection closed (reset, EOF) before any byte of the answer arrived."""


class BadResponse(HttpClientError):
    """The answer was cut off or is not HTTP."""


@dataclass(slots=True, frozen=True)
class Timeouts:
    """Bounds of one call, in seconds (``None``: unbounded)."""

    total: float | None = None  # the whole call, body included
    pool: float | None = None  # waiting for a free connection slot
    connect: float | None = None  # opening a connection (TCP and TLS)
    read: float | None = None  # silence: waiting for the answer, and between body pieces


class Headers(Mapping[str, str]):
    """Response headers, looked up without regard to case (names kept lower-cased); a repeated
    header's values are joined with ``", "``."""

    __slots__ = ("_items",)

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        return self._items.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(slots=True, frozen=True)
class Response:
    status: int
    headers: Headers
    body: bytes


class _Conn(asyncio.Protocol):
    """One connection and the answer it is reading. Parser callbacks fill the state; the caller
    waits on :attr:`_waiter`, which any change it cares about resolves."""

    def __init__(self, pool: Http1Pool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.lost = False  # the transport is gone
        self.reusable = True
        self.reused = False  # served a request before the current one
        self.idle_since = 0.0
        self.pauses = 0  # times reading was paused (flow control)
        self._reset(streaming=False)
        self._busy = False

    def _reset(self, *, streaming: bool) -> None:
        self._busy = True
        self._streaming = streaming
        self._got_bytes = False
        self._headers_done = False
        self._complete = False
        self._until_close = False
        self._error: HttpClientError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._names: list[str] = []
        self._values: list[str] = []
        self._headers: Headers | None = None
        self._status = 0
        self._body: list[bytes] = []
        self._buffered = 0
        self._paused = False

    # --- the protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.reusable = False
        if self._busy and not self._complete and self._error is None:
            if self._headers_done and self._until_close:
                self._complete = True  # a body delimited by the end of the connection
            elif not self._got_bytes:
                self._error = ConnectionDropped(
                    "the connection closed before the answer began"
                    + (f" ({type(exc).__name__})" if exc is not None else "")
                )
            else:
                self._error = BadResponse("the connection closed before the end of the answer")
            self._wake()
        self.pool._lost(self)

    def data_received(self, data: bytes) -> None:
        if not self._busy or self._complete:
            self._drop()  # bytes nobody asked for: the connection is out of step
            return
        self._got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(BadResponse("the answer switched protocols"))
        except httptools.HttpParserError as exc:
            if self._error is None:
                self._fail(BadResponse(f"the answer is not valid HTTP/1.1: {exc}"))

    def eof_received(self) -> bool | None:
        return None  # close; connection_lost settles the answer

    # --- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._complete:
            self.reusable = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self._names.append(name.decode("latin-1").lower())
        self._values.append(value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        items: dict[str, str] = {}
        for name, value in zip(self._names, self._values, strict=True):
            known = items.get(name)
            items[name] = value if known is None else f"{known}, {value}"
        self._status = self.parser.get_status_code()
        if 100 <= self._status < 200:
            return  # informational: the real answer follows
        self._headers = Headers(items)
        self._headers_done = True
        if (
            "content-length" not in items
            and "chunked" not in items.get("transfer-encoding", "").lower()
            and self._status not in (204, 304)
        ):
            self._until_close = True
            self.reusable = False
        if "close" in items.get("connection", "").lower():
            self.reusable = False
        if self._streaming:
            self._wake()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        if self._streaming:
            self._buffered += len(body)
            if self._buffered > HIGH_WATER and not self._paused and self.transport is not None:
                self._paused = True
                self.pauses += 1
                self.transport.pause_reading()
            self._wake()

    def on_message_complete(self) -> None:
        if not self._headers_done:  # the end of an informational answer
            self._names, self._values = [], []
            return
        if not self.parser.should_keep_alive():
            self.reusable = False
        self._complete = True
        self._wake()

    # --- the caller's side --------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: HttpClientError) -> None:
        if self._error is None:
            self._error = error
        self._drop()
        self._wake()

    def _drop(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        try:
            if timeout is None:
                await waiter
            else:
                deadlines = self.pool._deadlines_on(loop)
                deadline = deadlines.add(timeout, _time_out, waiter)
                try:
                    await waiter
                finally:
                    deadlines.discard(deadline)
        finally:
            self._waiter = None

    def send(self, data: bytes, *, streaming: bool) -> None:
        self._reset(streaming=streaming)
        assert self.transport is not None
        self.transport.write(data)

    async def whole(self, read_timeout: float | None) -> Response:
        """Wait for the whole answer (the caller bounds the total)."""
        while not self._complete:
            if self._error is not None:
                raise self._error
            await self._wait(read_timeout)
        assert self._headers is not None
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._body = []
        return Response(self._status, self._headers, body)

    async def head(self, read_timeout: float | None) -> None:
        while not self._headers_done:
            if self._error is not None:
                raise self._error
            await self._wait(read_timeout)

    async def readany(self, read_timeout: float | None) -> bytes:
        while not self._body:
            if self._complete:
                return b""
            if self._error is not None:
                raise self._error
            await self._wait(read_timeout)
        chunks, self._body = self._body, []
        self._buffered = 0
        if self._paused:
            self._paused = False
            if self.transport is not None and not self.lost:
                self.transport.resume_reading()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def finished(self) -> None:
        """The answer was handled; whether the connection can serve another is settled."""
        self._busy = False
        if not (self._complete and not self._body and self.reusable and not self.lost):
            self._drop()


class StreamResponse:
    """An answer whose body is read piece by piece. :meth:`release` (after the body was read to
    the end) gives the connection back to the pool; :meth:`close` drops it."""

    __slots__ = ("_closed", "_conn", "_done", "_read_timeout", "headers", "status")

    def __init__(self, conn: _Conn, read_timeout: float | None) -> None:
        self._conn = conn
        self._read_timeout = read_timeout
        self._done = False
        self._closed = False
        assert conn._headers is not None
        self.status: int = conn._status
        self.headers: Headers = conn._headers

    @property
    def pauses(self) -> int:
        """How many times reading was paused because the reader fell behind."""
        return self._conn.pauses

    async def readany(self) -> bytes:
        """The bytes that arrived since the last call (waiting for some); ``b""`` at the end.
        Reading a closed stream is an :class:`HttpClientError`."""
        if self._done:
            if self._closed:
                raise HttpClientError("the stream was closed")
            return b""
        return await self._conn.readany(self._read_timeout)

    async def read(self) -> bytes:
        """The rest of the body."""
        pieces = []
        while piece := await self.readany():
            pieces.append(piece)
        return b"".join(pieces)

    def release(self) -> None:
        """Back to the pool if the body was read to the end, else closed."""
        if not self._done:
            self._done = True
            self._conn.pool._give_back(self._conn)

    def close(self) -> None:
        if not self._done:
            self._done = self._closed = True
            self._conn._drop()
            self._conn.pool._give_back(self._conn)


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()


class _Host:
    __slots__ = ("busy", "idle")

    def __init__(self) -> None:
        self.idle: list[_Conn] = []  # the last one in is reused first
        self.busy = 0  # slots taken (connections in use or being opened)


class Http1Pool:
    """Keep-alive HTTP/1.1 connections per origin, shared by every provider call."""

    def __init__(
        self,
        *,
        limit: int = 1024,
        limit_per_host: int = 512,
        keepalive_seconds: float = 60.0,
        dns_cache_seconds: float = 300.0,
        user_agent: str = "stargate-gateway",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.limit = limit
        self.limit_per_host = limit_per_host
        self.keepalive_seconds = keepalive_seconds
        self.dns_cache_seconds = dns_cache_seconds
        self.user_agent = user_agent
        self._ssl_context = ssl_context
        self._hosts: dict[Origin, _Host] = {}
        self._busy = 0
        self._waiters: deque[tuple[Origin, asyncio.Future[None]]] = deque()
        self._conns: set[_Conn] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._dns: dict[tuple[str, int], tuple[float, list[tuple[int, str]]]] = {}
        self._targets: dict[str, tuple[Origin, str, str]] = {}
        self._deadlines: Deadlines | None = None
        self.closed = False

    def _deadlines_on(self, loop: asyncio.AbstractEventLoop) -> Deadlines:
        deadlines = self._deadlines
        if deadlines is None or deadlines.loop is not loop:
            deadlines = self._deadlines = Deadlines(loop)
        return deadlines

    # --- calls --------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
    ) -> Response:
        """One call answered whole: status, headers, body."""
        if timeouts.total is None:
            return await self._request(method, url, headers, body, timeouts)
        # asyncio.timeout(total), on the pool's shared timer: at the deadline the task is
        # cancelled, and that cancellation (if it is the only one) comes out as TimeoutError.
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Http1Pool.request must run in a task")
        cancelling = task.cancelling()
        deadlines = self._deadlines_on(asyncio.get_running_loop())
        deadline = deadlines.add(timeouts.total, _cancel, task)
        try:
            response = await self._request(method, url, headers, body, timeouts)
        except BaseException as exc:
            if deadlines.end(deadline, task, cancelling) and isinstance(
                exc, asyncio.CancelledError
            ):
                raise TimeoutError from exc
            raise
        deadlines.end(deadline, task, cancelling)
        return response

    async def _request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
    ) -> Response:
        conn, response = await self._exchange(method, url, headers, body, timeouts, stream=False)
        self._give_back(conn)
        assert response is not None  # a whole answer was read
        return response

    async def stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
    ) -> StreamResponse:
        """One call whose body is read piece by piece; ``timeouts.total`` is not applied (the
        reader bounds silence with ``timeouts.read``). The caller must :meth:`~StreamResponse.
        release` or :meth:`~StreamResponse.close` it."""
        conn, _ = await self._exchange(method, url, headers, body, timeouts, stream=True)
        return StreamResponse(conn, timeouts.read)

    async def _exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Timeouts,
        *,
        stream: bool,
    ) -> tuple[_Conn, Response | None]:
        """Send the request and read the answer's head (``stream``) or all of it, on a pooled
        connection; once more on a new one if a reused connection was dropped before any byte
        of the answer came (the server closed it as it sat idle)."""
        origin, data = self._encode(method, url, headers, body)
        host = await self._take_slot(origin, timeouts.pool)
        try:
            conn = await self._connection(origin, host, timeouts.connect)
            while True:
                conn.send(data, streaming=stream)
                try:
                    if stream:
                        await conn.head(timeouts.read)
                        return conn, None
                    return conn, await conn.whole(timeouts.read)
                except ConnectionDropped:
                    if not conn.reused:
                        raise
                    conn.finished()
                    self._forget(conn)
                    conn = await self._connect(origin, timeouts.connect)
                except BaseException:
                    conn._drop()
                    raise
        except BaseException:
            self._free_slot(origin, host)
            raise

    async def aclose(self) -> None:
        """Close every connection, idle or in use; later calls fail with :class:`ConnectFailed`."""
        self.closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._deadlines is not None:
            self._deadlines.stop()
        for conn in list(self._conns):
            conn._drop()
        self._conns.clear()
        for host in self._hosts.values():
            host.idle.clear()
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectFailed("the connection pool is closed"))
        # Let the transports run their close callbacks before the loop may stop.
        await asyncio.sleep(0)

    # --- the request's bytes ------------------------------------------------------------------

    def _target(self, url: str) -> tuple[Origin, str, str]:
        known = self._targets.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ConnectFailed(f"not an http(s) URL: {url!r}")
        hostname = parts.hostname
        port = parts.port or _DEFAULT_PORTS[scheme]
        host_text = f"[{hostname}]" if ":" in hostname else hostname
        if parts.port is not None and parts.port != _DEFAULT_PORTS[scheme]:
            host_text = f"{host_text}:{port}"
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        found = ((scheme, hostname, port), path, host_text)
        if len(self._targets) < 4096:
            self._targets[url] = found
        return found

    def _encode(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Origin, bytes]:
        origin, path, host_text = self._target(url)
        lines = [f"{method} {path} HTTP/1.1\r\n"]
        given = set()
        for name, value in headers.items():
            if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
                raise ValueError(f"header {name!r} holds a line break")
            given.add(name.lower())
            lines.append(f"{name}: {value}\r\n")
        if "host" not in given:
            lines.insert(1, f"Host: {host_text}\r\n")
        if "content-length" not in given:
            lines.append(f"Content-Length: {len(body)}\r\n")
        if "user-agent" not in given:
            lines.append(f"User-Agent: {self.user_agent}\r\n")
        lines.append("\r\n")
        return origin, "".join(lines).encode() + body

    # --- slots --------------------------------------------------------------------------------

    def _host(self, origin: Origin) -> _Host:
        host = self._hosts.get(origin)
        if host is None:
            host = self._hosts[origin] = _Host()
        return host

    async def _take_slot(self, origin: Origin, timeout: float | None) -> _Host:
        if self.closed:
            raise ConnectFailed("the connection pool is closed")
        host = self._host(origin)
        # Waiters only ever wait for a host (or the whole pool) that is full: room goes to them
        # the moment it appears (_free_slot), so a caller finding room takes it.
        if self._busy < self.limit and host.busy < self.limit_per_host:
            self._busy += 1
            host.busy += 1
            return host
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (origin, waiter)
        self._waiters.append(entry)
        try:
            if timeout is None:
                await waiter
            else:
                async with asyncio.timeout(timeout):
                    await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._free_slot(origin, host)  # handed a slot just as we gave up
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(entry)
            raise
        return host  # the slot was counted for us by _free_slot

    def _free_slot(self, origin: Origin, host: _Host) -> None:
        self._busy -= 1
        host.busy -= 1
        if not self._waiters:
            return
        for entry in self._waiters:
            waiting_origin, waiter = entry
            if waiter.done():
                continue
            waiting_host = self._host(waiting_origin)
            if self._busy < self.limit and waiting_host.busy < self.limit_per_host:
                self._waiters.remove(entry)
                self._busy += 1
                waiting_host.busy += 1
                waiter.set_result(None)
                return

    # --- connections --------------------------------------------------------------------------

    async def _connection(self, origin: Origin, host: _Host, timeout: float | None) -> _Conn:
        """An idle connection to ``origin`` (the last one in), else a new one."""
        idle = host.idle
        if idle:
            now = time.monotonic()
            while idle:
                conn = idle.pop()
                if conn.lost or not conn.reusable:
                    self._forget(conn)
                    continue
                if now - conn.idle_since >= self.keepalive_seconds:
                    conn._drop()
                    self._forget(conn)
                    continue
                conn.reused = True
                return conn
        return await self._connect(origin, timeout)

    async def _connect(self, origin: Origin, timeout: float | None) -> _Conn:
        if self.closed:
            raise ConnectFailed("the connection pool is closed")
        scheme, hostname, port = origin
        context: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = ssl.create_default_context()
            context = self._ssl_context
        loop = asyncio.get_running_loop()
        conn = _Conn(self, origin)
        try:
            if timeout is None:
                await self._open(loop, conn, hostname, port, context)
            else:
                async with asyncio.timeout(timeout):
                    await self._open(loop, conn, hostname, port, context)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(
                f"could not connect to {hostname}:{port}: {type(exc).__name__}: {exc}"
            ) from exc
        self._conns.add(conn)
        return conn

    async def _open(
        self,
        loop: asyncio.AbstractEventLoop,
        conn: _Conn,
        hostname: str,
        port: int,
        context: ssl.SSLContext | None,
    ) -> None:
        addresses = await self._resolve(loop, hostname, port)
        error: OSError | None = None
        for family, address in addresses:
            try:
                await loop.create_connection(
                    lambda: conn,
                    address,
                    port,
                    family=family,
                    ssl=context,
                    server_hostname=hostname if context is not None else None,
                )
            except OSError as exc:
                error = exc
                continue
            return
        assert error is not None
        raise error

    async def _resolve(
        self, loop: asyncio.AbstractEventLoop, hostname: str, port: int
    ) -> list[tuple[int, str]]:
        """The host's addresses, cached ``dns_cache_seconds`` (an IP literal is its own)."""
        now = time.monotonic()
        cached = self._dns.get((hostname, port))
        if cached is not None and cached[0] > now:
            return cached[1]
        infos = await loop.getaddrinfo(hostname, port, type=_SOCK_STREAM)
        addresses: list[tuple[int, str]] = []
        for family, _, _, _, sockaddr in infos:
            entry = (int(family), str(sockaddr[0]))
            if entry not in addresses:
                addresses.append(entry)
        if not addresses:
            raise OSError(f"no address for {hostname}")
        self._dns[(hostname, port)] = (now + self.dns_cache_seconds, addresses)
        return addresses

    def _give_back(self, conn: _Conn) -> None:
        """The call is over: the connection goes idle if it can serve again, and its slot is
        freed."""
        conn.finished()
        host = self._host(conn.origin)
        if conn.reusable and not conn.lost and not self.closed:
            conn.idle_since = time.monotonic()
            host.idle.append(conn)
            if self._sweeper is None:
                self._sweeper = asyncio.get_running_loop().call_later(
                    self.keepalive_seconds, self._sweep
                )
        else:
            self._forget(conn)
        self._free_slot(conn.origin, host)

    def _forget(self, conn: _Conn) -> None:
        self._conns.discard(conn)

    def _lost(self, conn: _Conn) -> None:
        """A connection closed (by either side); an idle one leaves its host's list."""
        self._conns.discard(conn)
        if conn._busy:
            return
        host = self._hosts.get(conn.origin)
        if host is not None:
            with contextlib.suppress(ValueError):
                host.idle.remove(conn)

    def _sweep(self) -> None:
        """Close the connections idle ``keepalive_seconds`` or more; come back for the rest."""
        self._sweeper = None
        now = time.monotonic()
        oldest: float | None = None
        for host in self._hosts.values():
            idle = host.idle
            while idle and now - idle[0].idle_since >= self.keepalive_seconds:
                conn = idle.pop(0)
                conn._drop()
                self._forget(conn)
            if idle and (oldest is None or idle[0].idle_since < oldest):
                oldest = idle[0].idle_since
        if oldest is not None and not self.closed:
            self._sweeper = asyncio.get_running_loop().call_later(
                max(oldest + self.keepalive_seconds - now, 0.01), self._sweep
            )


_SOCK_STREAM = 1  # socket.SOCK_STREAM, without importing socket for one constant
