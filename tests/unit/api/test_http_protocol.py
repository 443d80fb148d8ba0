"""A response's head goes out with its body in one write, never later than its loop turn; one
keep-alive timer per connection closes it idle the timeout after its last answer."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2 as httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from uvicorn.server import ServerState

from stargate.api.http_protocol import HttpProtocol, _HeadHolder
from tests.unit.api.transports import Recorded


def holder() -> tuple[_HeadHolder, Recorded]:
    transport = Recorded()
    return _HeadHolder(transport, asyncio.get_running_loop()), transport  # type: ignore[arg-type]


async def test_head_and_body_go_in_one_write() -> None:
    held, transport = holder()
    held.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    held.write(b"{}")
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    await asyncio.sleep(0)
    assert len(transport.writes) == 1


async def test_a_head_alone_goes_out_at_the_end_of_the_loop_turn() -> None:
    held, transport = holder()
    held.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    assert transport.writes == []
    await asyncio.sleep(0)
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]
    held.write(b"5\r\nhello\r\n")  # the body, later: as it is
    assert transport.writes[-1] == b"5\r\nhello\r\n"


async def test_order_is_kept_and_close_sends_what_is_held() -> None:
    held, transport = holder()
    held.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    held.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")  # a pipelined next answer
    held.write(b"HTTP/1.1 404 Not Found\r\n\r\n")
    held.close()
    assert b"".join(transport.writes) == (
        b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
        b"HTTP/1.1 404 Not Found\r\n\r\n"
    )
    assert transport.closed
    assert held.get_extra_info("peername") == ("127.0.0.1", 1)


async def test_uvicorn_serves_plain_head_and_streamed_responses_through_it() -> None:
    async def plain(request: Request) -> Response:
        return Response(b"plain body", media_type="text/plain")

    async def streamed(request: Request) -> StreamingResponse:
        async def chunks() -> Any:
            yield b"one,"
            await asyncio.sleep(0.05)
            yield b"two"

        return StreamingResponse(chunks(), media_type="text/plain")

    app = Starlette(routes=[Route("/plain", plain, methods=["GET", "HEAD"]),
                            Route("/streamed", streamed)])  # fmt: skip
    config = uvicorn.Config(app, host="127.0.0.1", port=0, http=HttpProtocol, log_config=None,
                            lifespan="off", loop="none")  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(3):  # one keep-alive connection, several answers
                answer = await client.get("/plain")
                assert (answer.status_code, answer.content) == (200, b"plain body")
            head = await client.head("/plain")
            assert head.status_code == 200
            assert head.headers["content-length"] == "10"
            answer = await client.get("/streamed")
            assert answer.content == b"one,two"
    finally:
        server.should_exit = True
        await task


class Timer:
    def __init__(self, when: float, callback: Any) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """A loop's time and timers, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[Timer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Any) -> Timer:
        timer = Timer(when, callback)
        self.timers.append(timer)
        return timer

    def advance(self, to: float) -> None:
        self.now = to
        for timer in [t for t in self.timers if t.when <= to and not t.cancelled]:
            self.timers.remove(timer)
            timer.callback()

    def armed(self) -> list[float]:
        return [t.when for t in self.timers if not t.cancelled]


def keep_alive_protocol(clock: Clock) -> tuple[HttpProtocol, Recorded]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    config = uvicorn.Config(app, http=HttpProtocol, lifespan="off", log_config=None,
                            loop="none", timeout_keep_alive=5)  # fmt: skip
    protocol = HttpProtocol(config, ServerState(), {}, _loop=clock)  # type: ignore[arg-type]
    socket = Recorded()
    protocol.connection_made(socket)  # type: ignore[arg-type]
    return protocol, socket


def test_an_idle_connection_closes_the_keep_alive_timeout_after_its_last_answer() -> None:
    clock = Clock()
    protocol, socket = keep_alive_protocol(clock)
    protocol.on_response_complete()
    assert clock.armed() == [5.0]
    clock.advance(1.0)
    protocol.data_received(b"GET / HTTP/1.1\r\n")  # the next request begins: busy
    clock.advance(2.0)
    protocol.on_response_complete()  # answered: idle from 2.0; the armed timer is kept
    assert clock.armed() == [5.0]
    clock.advance(5.0)
    assert not socket.closed
    assert clock.armed() == [7.0]  # the rest of the timeout
    clock.advance(6.9)
    assert not socket.closed
    clock.advance(7.0)
    assert socket.closed
    assert clock.armed() == []


def test_a_connection_busy_when_the_timer_fires_waits_for_its_next_answer() -> None:
    clock = Clock()
    protocol, socket = keep_alive_protocol(clock)
    protocol.on_response_complete()
    clock.advance(1.0)
    protocol.data_received(b"GET / HTTP/1.1\r\n")
    clock.advance(5.0)
    assert (socket.closed, clock.armed()) == (False, [])  # no timer while a request is under way
    clock.advance(30.0)
    protocol.on_response_complete()
    assert clock.armed() == [35.0]
    protocol.connection_lost(None)
    assert clock.armed() == []  # a lost connection leaves no timer behind
