"""The upstream HTTP/1.1 client against real sockets on 127.0.0.1 (no timed assertions)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvloop

from stargate.providers.http1 import (
    HIGH_WATER,
    BadResponse,
    ConnectFailed,
    ConnectionDropped,
    Http1Pool,
    Timeouts,
)

OK = Timeouts(total=30, pool=30, connect=30, read=30)


@dataclass
class Request:
    line: str
    headers: dict[str, str]
    body: bytes
    conn: int  # which connection (0, 1, ...) carried it
    index: int  # its number on that connection

    @property
    def path(self) -> str:
        return self.line.split(" ")[1]


HOLD = "hold"  # answer no more: wait for the client to close the connection
Respond = Callable[[Request, asyncio.StreamWriter], Awaitable[bool | str | None]]


async def plain(request: Request, writer: asyncio.StreamWriter) -> None:
    body = b"echo:" + request.path.encode() + b":" + request.body
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


@dataclass
class Server:
    """Answers each request with ``respond`` (which returns False to drop the connection);
    records requests and the connections it saw open and close."""

    respond: Respond = plain
    ssl: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    opened: int = 0
    closed: int = 0
    closed_event: asyncio.Event = field(default_factory=asyncio.Event)
    raw_heads: list[bytes] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.ssl is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = self.opened
        self.opened += 1
        self.writers.append(writer)
        index = 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.raw_heads.append(head)
                line, *rest = head[:-4].decode("latin-1").split("\r\n")
                headers = {}
                for text in rest:
                    name, _, value = text.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(line, headers, body, conn, index)
                index += 1
                self.requests.append(request)
                action = await self.respond(request, writer)
                if action is False:
                    writer.transport.abort()
                    return
                if action == HOLD:
                    await writer.drain()
                    return
                if writer.is_closing():
                    return
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                await reader.read()  # until the client closes
            self.closed += 1
            self.closed_event.set()
            writer.close()

    async def wait_closed_count(self, count: int) -> None:
        while self.closed < count:
            self.closed_event.clear()
            await self.closed_event.wait()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    running = Server()
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def pool() -> AsyncIterator[Http1Pool]:
    client = Http1Pool()
    yield client
    await client.aclose()


async def test_sequential_calls_reuse_one_keep_alive_connection(
    server: Server, pool: Http1Pool
) -> None:
    for n in range(5):
        response = await pool.request("POST", server.url(f"/n{n}"), {}, b"x", OK)
        assert (response.status, response.body) == (200, f"echo:/n{n}:x".encode())
    assert server.opened == 1
    assert [r.index for r in server.requests] == [0, 1, 2, 3, 4]


async def test_concurrent_calls_each_get_their_own_answer(server: Server, pool: Http1Pool) -> None:
    async def one(n: int) -> bytes:
        response = await pool.request("POST", server.url(f"/c/{n}"), {}, str(n).encode(), OK)
        return response.body

    bodies = await asyncio.gather(*(one(n) for n in range(200)))
    assert bodies == [f"echo:/c/{n}:{n}".encode() for n in range(200)]
    again = await asyncio.gather(*(one(n) for n in range(200)))
    assert again == bodies
    assert server.opened <= 200  # the second round reused the first round's connections


async def test_request_bytes_path_host_and_default_headers(server: Server, pool: Http1Pool) -> None:
    path = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse?a=%2F%20b"
    await pool.request("POST", server.url(path), {"X-Amz-Date": "20250101T000000Z"}, b"{}", OK)
    head = server.raw_heads[0]
    assert head.startswith(f"POST {path} HTTP/1.1\r\n".encode())
    request = server.requests[0]
    assert request.headers["host"] == f"127.0.0.1:{server.port}"
    assert request.headers["content-length"] == "2"
    assert request.headers["user-agent"] == "stargate-gateway"
    assert request.headers["x-amz-date"] == "20250101T000000Z"
    assert "accept-encoding" not in request.headers
    await pool.request("POST", server.url("/"), {"User-Agent": "mine"}, b"", OK)
    assert server.requests[1].headers["user-agent"] == "mine"


def test_host_header_leaves_out_a_default_port() -> None:
    pool = Http1Pool()
    origin, data = pool._encode("POST", "https://bedrock.example:443/p%3A", {}, b"")
    assert origin == ("https", "bedrock.example", 443)
    assert data.startswith(b"POST /p%3A HTTP/1.1\r\nHost: bedrock.example\r\n")
    origin, data = pool._encode("GET", "http://[::1]:8080", {}, b"")
    assert origin == ("http", "::1", 8080)
    assert data.startswith(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n")
    with pytest.raises(ValueError, match="line break"):
        pool._encode("POST", "http://h/", {"X-Evil": "a\r\nInjected: 1"}, b"")


async def test_chunked_and_close_delimited_bodies(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool | None:
        if request.path == "/chunked":
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Amzn-RequestId: r1\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            return None
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()
        return None

    server = Server(respond)
    await server.start()
    try:
        chunked = await pool.request("POST", server.url("/chunked"), {}, b"", OK)
        assert chunked.body == b"hello world"
        assert chunked.headers["x-amzn-requestid"] == "r1"
        assert chunked.headers.get("X-AMZN-REQUESTID") == "r1"
        assert "X-Amzn-RequestId" in chunked.headers
        closed = await pool.request("POST", server.url("/close"), {}, b"", OK)
        assert closed.body == b"until the end"
        assert closed.headers["content-type"] == "text/plain"
        # The chunked answer's connection was kept; the close-delimited one was not.
        again = await pool.request("POST", server.url("/chunked"), {}, b"", OK)
        assert again.body == b"hello world"
        assert server.opened == 2
        stream = await pool.stream("POST", server.url("/close"), {}, b"", OK)
        assert await stream.read() == b"until the end"
        stream.release()
        assert [r.conn for r in server.requests] == [0, 0, 1, 1]
        await pool.request("POST", server.url("/chunked"), {}, b"", OK)
        assert server.opened == 3
    finally:
        await server.stop()


async def test_a_connection_asked_to_close_is_not_reused(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    server = Server(respond)
    await server.start()
    try:
        for _ in range(3):
            assert (await pool.request("POST", server.url(), {}, b"", OK)).body == b"ok"
        assert server.opened == 3
    finally:
        await server.stop()


async def test_a_stream_is_read_piece_by_piece_with_reading_paused(pool: Http1Pool) -> None:
    total = 1024 * 1024

    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        for _ in range(total // 16384):
            writer.write(b"z" * 16384)
            await writer.drain()

    server = Server(respond)
    await server.start()
    try:
        stream = await pool.stream("POST", server.url("/s"), {}, b"", OK)
        assert stream.status == 200
        received, largest = 0, 0
        while piece := await stream.readany():
            received += len(piece)
            largest = max(largest, len(piece))
            for _ in range(20):  # a slow reader
                await asyncio.sleep(0)
        assert received == total
        assert stream.pauses > 0
        # Never more than the high-water mark plus one socket read waited in memory.
        assert largest <= HIGH_WATER + 256 * 1024
        stream.release()
        assert (await pool.request("POST", server.url("/"), {}, b"", OK)).status == 200
        assert server.opened == 1  # read to the end: the connection went back to the pool
    finally:
        await server.stop()


async def test_leaving_a_stream_early_drops_its_connection(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> str:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await writer.drain()
        return HOLD  # never finishes on its own

    server = Server(respond)
    await server.start()
    try:
        stream = await pool.stream("POST", server.url("/s"), {}, b"", OK)
        assert await stream.readany() == b"first"
        stream.close()
        await server.wait_closed_count(1)
        stream.close()  # idempotent
        assert server.closed == 1
    finally:
        await server.stop()


async def test_cancelling_a_call_mid_body_drops_its_connection(pool: Http1Pool) -> None:
    started = asyncio.Event()

    async def respond(request: Request, writer: asyncio.StreamWriter) -> str:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
        await writer.drain()
        started.set()
        return HOLD

    server = Server(respond)
    await server.start()
    try:
        call = asyncio.create_task(pool.request("POST", server.url(), {}, b"", OK))
        await started.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await server.wait_closed_count(1)

        async def read_stream() -> None:
            stream = await pool.stream("POST", server.url(), {}, b"", OK)
            try:
                while await stream.readany():
                    pass
            finally:
                stream.close()

        started.clear()
        reader = asyncio.create_task(read_stream())
        await started.wait()
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        await server.wait_closed_count(2)
        # Both slots came back: a limited pool still serves.
        assert pool._busy == 0
    finally:
        await server.stop()


async def test_a_stale_keep_alive_connection_is_retried_once_on_a_new_one(
    pool: Http1Pool,
) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool | None:
        if request.index == 1:
            return False  # the server dropped the idle connection as we wrote
        await plain(request, writer)
        return None

    server = Server(respond)
    await server.start()
    try:
        assert (await pool.request("POST", server.url("/a"), {}, b"", OK)).body == b"echo:/a:"
        assert (await pool.request("POST", server.url("/b"), {}, b"", OK)).body == b"echo:/b:"
        assert server.opened == 2
        assert [(r.conn, r.path) for r in server.requests] == [(0, "/a"), (0, "/b"), (1, "/b")]
        # The same for a stream.
        stream = await pool.stream("POST", server.url("/c"), {}, b"", OK)
        assert await stream.read() == b"echo:/c:"
        stream.release()
        assert server.opened == 3
        assert [(r.conn, r.path) for r in server.requests[3:]] == [(1, "/c"), (2, "/c")]
    finally:
        await server.stop()


async def test_a_dropped_new_connection_is_not_retried(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        return False

    server = Server(respond)
    await server.start()
    try:
        with pytest.raises(ConnectionDropped):
            await pool.request("POST", server.url(), {}, b"", OK)
        with pytest.raises(ConnectionDropped):
            await pool.stream("POST", server.url(), {}, b"", OK)
        assert server.opened == 2
    finally:
        await server.stop()


async def test_a_failure_after_the_answer_began_is_not_retried(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool | None:
        if request.index == 0:
            await plain(request, writer)
            return None
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        return False

    server = Server(respond)
    await server.start()
    try:
        await pool.request("POST", server.url(), {}, b"", OK)
        with pytest.raises(BadResponse, match="before the end"):
            await pool.request("POST", server.url(), {}, b"", OK)
        assert server.opened == 1
        assert len(server.requests) == 2
        await pool.request("POST", server.url(), {}, b"", OK)  # a new connection
        stream = await pool.stream("POST", server.url(), {}, b"", OK)  # reusing it
        with pytest.raises(BadResponse):
            await stream.read()
        stream.close()
        assert server.opened == 2
        assert len(server.requests) == 4
    finally:
        await server.stop()


async def test_a_malformed_answer_is_a_bad_response(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")

    server = Server(respond)
    await server.start()
    try:
        with pytest.raises(BadResponse, match="not valid HTTP"):
            await pool.request("POST", server.url(), {}, b"", OK)
    finally:
        await server.stop()


async def test_connection_refused_and_unknown_hosts_fail_to_connect(pool: Http1Pool) -> None:
    with pytest.raises(ConnectFailed, match=r"127\.0\.0\.1:9"):
        await pool.request("POST", "http://127.0.0.1:9/", {}, b"", OK)

    async def no_such_name(*_: object) -> list[tuple[int, str]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    pool._resolve = no_such_name  # type: ignore[method-assign]
    with pytest.raises(ConnectFailed, match="gaierror"):
        await pool.request("POST", "http://name.invalid/", {}, b"", OK)
    assert pool._busy == 0


async def test_timeouts_raise_timeout_error(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> str:
        if request.path == "/head":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n")
        return HOLD

    server = Server(respond)
    await server.start()
    try:
        with pytest.raises(TimeoutError):
            await pool.request("POST", server.url(), {}, b"", Timeouts(total=0.05))
        with pytest.raises(TimeoutError):
            await pool.stream("POST", server.url(), {}, b"", Timeouts(read=0.05))
        stream = await pool.stream("POST", server.url("/head"), {}, b"", Timeouts(read=0.05))
        assert await stream.readany() == b"a"
        with pytest.raises(TimeoutError):
            await stream.readany()
        stream.close()
        await server.wait_closed_count(3)
        assert pool._busy == 0
    finally:
        await server.stop()


async def test_callers_past_the_per_host_limit_wait_for_a_slot(server: Server) -> None:
    pool = Http1Pool(limit_per_host=1)
    try:
        stream = await pool.stream("POST", server.url("/first"), {}, b"", OK)
        waiting = asyncio.create_task(pool.request("POST", server.url("/second"), {}, b"", OK))
        with pytest.raises(TimeoutError):
            await pool.request("POST", server.url("/late"), {}, b"", Timeouts(pool=0.05))
        assert not waiting.done()
        assert await stream.read() == b"echo:/first:"
        stream.release()
        assert (await waiting).body == b"echo:/second:"
        assert server.opened == 1  # the waiter took the connection the stream gave back
        assert [r.path for r in server.requests] == ["/first", "/second"]
    finally:
        await pool.aclose()


async def test_the_limit_in_all_holds_across_hosts(server: Server) -> None:
    other = Server()
    await other.start()
    pool = Http1Pool(limit=1)
    try:
        stream = await pool.stream("POST", server.url("/held"), {}, b"", OK)
        with pytest.raises(TimeoutError):
            await pool.request("POST", other.url("/b"), {}, b"", Timeouts(pool=0.05))
        waiting = asyncio.create_task(pool.request("POST", other.url("/b"), {}, b"", OK))
        await asyncio.sleep(0)
        assert not waiting.done()
        stream.close()
        assert (await waiting).body == b"echo:/b:"
    finally:
        await pool.aclose()
        await other.stop()


async def test_a_connection_the_server_closed_while_idle_is_not_reused(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        await plain(request, writer)
        await writer.drain()
        writer.close()  # keep-alive was offered, then the server changed its mind
        return False

    server = Server(respond)
    await server.start()
    try:
        await pool.request("POST", server.url("/a"), {}, b"", OK)
        await server.wait_closed_count(1)
        while pool._hosts[("http", "127.0.0.1", server.port)].idle:
            await asyncio.sleep(0)  # the client sees the close
        assert (await pool.request("POST", server.url("/b"), {}, b"", OK)).body == b"echo:/b:"
        assert [(r.conn, r.path) for r in server.requests] == [(0, "/a"), (1, "/b")]
    finally:
        await server.stop()


async def test_idle_connections_are_closed_after_the_keep_alive(server: Server) -> None:
    pool = Http1Pool(keepalive_seconds=0.01)
    try:
        await pool.request("POST", server.url(), {}, b"", OK)
        await server.wait_closed_count(1)  # the sweeper closed it
        await pool.request("POST", server.url(), {}, b"", OK)
        assert server.opened == 2
    finally:
        await pool.aclose()


async def test_a_closed_pool_closes_its_connections_and_refuses_calls(server: Server) -> None:
    pool = Http1Pool()
    await pool.request("POST", server.url(), {}, b"", OK)
    await pool.aclose()
    await server.wait_closed_count(1)
    with pytest.raises(ConnectFailed, match="closed"):
        await pool.request("POST", server.url(), {}, b"", OK)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_https_to_a_self_signed_local_server(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    server = Server(ssl=server_context)
    await server.start()
    trusting = Http1Pool(ssl_context=ssl.create_default_context(cafile=str(cert)))
    default = Http1Pool()
    try:
        for n in range(3):
            url = server.url(f"/tls/{n}", host="localhost")
            response = await trusting.request("POST", url, {}, b"s", OK)
            assert response.body == f"echo:/tls/{n}:s".encode()
        assert server.opened == 1
        assert names == ["localhost"]
        assert server.requests[0].headers["host"] == f"localhost:{server.port}"
        # The default context trusts only the system's authorities.
        with pytest.raises(ConnectFailed, match="SSL"):
            await default.request("POST", server.url("/", host="localhost"), {}, b"", OK)
    finally:
        await trusting.aclose()
        await default.aclose()
        await server.stop()


async def test_call_deadlines_short_and_long_together(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> str | None:
        if request.path.startswith("/hold"):
            return HOLD
        await plain(request, writer)
        return None

    server = Server(respond)
    await server.start()
    try:
        async with asyncio.timeout(10):  # a guard against a hang, not a measure
            held = asyncio.create_task(
                pool.request("POST", server.url("/hold/long"), {}, b"", Timeouts(total=30))
            )
            while not server.requests:
                await asyncio.sleep(0.001)
            short = [
                pool.request("POST", server.url(f"/hold/{n}"), {}, b"", Timeouts(total=delay))
                for n, delay in enumerate((0.08, 0.02, 0.05))
            ]
            answered = pool.request("POST", server.url("/now"), {}, b"", Timeouts(total=30))
            outcomes = await asyncio.gather(*short, answered, return_exceptions=True)
            assert [type(outcome) for outcome in outcomes[:3]] == [TimeoutError] * 3
            assert outcomes[3].body == b"echo:/now:"  # type: ignore[union-attr]
            assert not held.done()
            held.cancel()  # a cancellation from outside stays a cancellation
            with pytest.raises(asyncio.CancelledError):
                await held
        assert pool._deadlines is not None
        assert not pool._deadlines._live
    finally:
        await server.stop()


async def test_a_call_deadline_inside_an_outer_timeout(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> str:
        return HOLD

    server = Server(respond)
    await server.start()
    try:
        task = asyncio.current_task()
        assert task is not None
        async with asyncio.timeout(10) as outer:  # the call's own deadline comes first
            with pytest.raises(TimeoutError):
                await pool.request("POST", server.url(), {}, b"", Timeouts(total=0.02))
        assert not outer.expired()
        assert task.cancelling() == 0
        with pytest.raises(TimeoutError):  # the outer one comes first: it is the outer's
            async with asyncio.timeout(0.02) as outer:
                await pool.request("POST", server.url(), {}, b"", Timeouts(total=30))
        assert outer.expired()
        assert task.cancelling() == 0
        assert pool._deadlines is not None
        assert not pool._deadlines._live
    finally:
        await server.stop()


async def test_stream_read_deadlines_are_dropped_once_read(pool: Http1Pool) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> str:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"a", b"b", b"c"):
            await asyncio.sleep(0.005)
            writer.write(b"1\r\n%s\r\n" % piece)
        writer.write(b"0\r\n\r\n")
        return "done"

    server = Server(respond)
    await server.start()
    try:
        stream = await pool.stream("POST", server.url(), {}, b"", Timeouts(read=30))
        assert await stream.read() == b"abc"
        stream.release()
        assert pool._deadlines is not None
        assert not pool._deadlines._live
    finally:
        await server.stop()


_ON_UVLOOP = [
    value
    for name, value in list(globals().items())
    if name.startswith("test_") and inspect.iscoroutinefunction(value)
]


@pytest.mark.parametrize("case", _ON_UVLOOP, ids=lambda case: case.__name__)
def test_on_uvloop(case: Callable[..., Awaitable[None]], certificate: tuple[Path, Path]) -> None:
    """Every test above again on uvloop (the gateway's loop, whose transports differ)."""

    async def main() -> None:
        wanted = inspect.signature(case).parameters
        running = Server()
        await running.start()
        client = Http1Pool()
        given = {"server": running, "pool": client, "certificate": certificate}
        try:
            await case(**{name: given[name] for name in wanted})
        finally:
            await client.aclose()
            await running.stop()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
