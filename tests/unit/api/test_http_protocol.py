"""A response's head goes out with its body in one write, and never later than its loop turn."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2 as httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from stargate.api.http_protocol import HttpProtocol, _HeadHolder


class Recorded:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


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
