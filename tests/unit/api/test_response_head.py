"""ResponseCycle writes the head uvicorn writes, with the same state after it, or the same error."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from starlette.responses import Response
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from stargate.api.http_protocol import HttpProtocol
from stargate.api.response_head import ResponseCycle
from tests.unit.api.transports import Recorded

DATE = [(b"date", b"Sun, 23 Nov 2025 07:53:58 GMT")]
OK = [(b"x-request-id", b"req_1"), (b"X-RateLimit-Remaining", b"9"), (b"content-type", b"a/b")]
HEADS: list[tuple[str, int, list[Any]]] = [
    ("POST", 200, [*OK, (b"content-length", b"2")]),
    ("POST", 200, OK),  # no length: chunked
    ("HEAD", 200, OK),
    ("POST", 204, OK),
    ("POST", 304, []),
    ("GET", 200, [(b"content-length", b"2"), (b"Content-Length", b"7"), (b"x", b"a\tb")]),
    ("GET", 200, [(b"content-length", b"x2")]),  # not a number
    ("GET", 200, [(b"content-length", b"x2"), (b"bad name", b"1")]),
    ("GET", 200, [*OK, (b"connection", b"keep-alive, Close")]),
    ("GET", 200, [*OK, (b"Transfer-Encoding", b"chunked"), (b"content-length", b"5")]),
    ("GET", 200, [(b"content-length", b"5"), (b"transfer-encoding", b"Chunked")]),
    ("GET", 200, [*OK, (b"bad:name", b"1")]),
    ("GET", 200, [*OK, (b"x-bad", b"one\r\ntwo")]),
    ("GET", 200, [(b"x-bad", b"\x00"), (b"bad name", b"1")]),
    ("GET", 200, [(b"x", "text")]),  # not bytes
    ("GET", 200, [("x", b"1")]),
    ("GET", 200, [(b"x",)]),
    ("GET", 999, OK),  # no such status
    ("GET", 200, (header for header in OK)),  # any iterable, read once
]


async def _start(cls: type[RequestResponseCycle], method: str, status: int, headers: Any,
                 *, keep_alive: bool = True) -> tuple[Any, ...]:  # fmt: skip
    transport = Recorded()
    cycle = cls(
        scope={"type": "http", "method": method, "headers": []},  # type: ignore[typeddict-item]
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=None,  # type: ignore[arg-type]
        access_logger=None,  # type: ignore[arg-type]
        access_log=False,
        default_headers=DATE,
        message_event=asyncio.Event(),
        expect_100_continue=True,
        keep_alive=keep_alive,
        on_response=lambda: None,
    )
    error = None
    try:
        await cycle.send({"type": "http.response.start", "status": status, "headers": headers})
    except Exception as exc:
        error = (type(exc), str(exc))
    state = {name: getattr(cycle, name) for name in ("response_started", "chunked_encoding",
             "expected_content_length", "keep_alive", "waiting_for_100_continue")}  # fmt: skip
    return transport.writes, transport.closed, error, state


@pytest.mark.parametrize("keep_alive", [True, False])
@pytest.mark.parametrize(("method", "status", "headers"), HEADS)
async def test_the_head_and_the_state_are_uvicorns(
    method: str, status: int, headers: Any, keep_alive: bool
) -> None:
    if not isinstance(headers, list):  # one generator per cycle
        ours = await _start(ResponseCycle, method, status, iter(OK), keep_alive=keep_alive)
        theirs = await _start(RequestResponseCycle, method, status, iter(OK), keep_alive=keep_alive)
    else:
        ours = await _start(ResponseCycle, method, status, headers, keep_alive=keep_alive)
        theirs = await _start(RequestResponseCycle, method, status, headers, keep_alive=keep_alive)
    assert ours == theirs


async def test_a_name_is_checked_once_and_lowered() -> None:
    writes, _, error, _ = await _start(ResponseCycle, "GET", 200, [(b"X-Once", b"1")] * 2)
    assert error is None
    assert writes == [b"HTTP/1.1 200 OK\r\ndate: Sun, 23 Nov 2025 07:53:58 GMT\r\nx-once: 1\r\n"
                      b"x-once: 1\r\ntransfer-encoding: chunked\r\n\r\n"]  # fmt: skip


async def test_uvicorn_serves_with_it() -> None:
    cycles: list[type] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        cycles.append(type(send.__self__))
        await Response(b"plain body", media_type="text/plain", headers={"X-Mine": "1"})(
            scope, receive, send
        )

    config = uvicorn.Config(app, host="127.0.0.1", port=0, http=HttpProtocol, log_config=None,
                            lifespan="off", loop="none")  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(2):  # one keep-alive connection
                answer = await client.get("/plain")
                assert (answer.status_code, answer.content) == (200, b"plain body")
                assert answer.headers["x-mine"] == "1"
                assert answer.headers["content-length"] == "10"
    finally:
        server.should_exit = True
        await task
    assert cycles == [ResponseCycle, ResponseCycle]
