"""Endpoints send the response first and run the request's bookkeeping after, whatever happens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stargate.api.endpoint import Endpoint, HotPaths
from stargate.api.request import ApiRequest
from stargate.api.streaming import EventStreamResponse
from stargate.pipeline.after import AfterResponse


def scope(method: str = "POST", path: str = "/v1/chat/completions") -> Scope:
    return {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def test_the_bookkeeping_runs_after_the_response_is_sent() -> None:
    events: list[str] = []

    async def job() -> None:
        events.append("settled")

    async def handler(request: ApiRequest, after: AfterResponse) -> ASGIApp:
        assert after.add(job)
        return Response(b"{}", media_type="application/json")

    async def send(message: Message) -> None:
        events.append(message["type"])

    await Endpoint(handler)(scope(), receive, send)
    assert events == ["http.response.start", "http.response.body", "settled"]


async def test_the_bookkeeping_runs_when_the_send_fails_or_the_handler_raises() -> None:
    ran: list[str] = []

    async def handler(request: ApiRequest, after: AfterResponse) -> ASGIApp:
        async def job() -> None:
            ran.append(request.path)

        after.add(job)
        if request.path == "/raise":
            raise RuntimeError("a bug")
        return Response(b"{}")

    async def broken_send(message: Message) -> None:
        raise OSError("the client is gone")

    with pytest.raises(OSError):
        await Endpoint(handler)(scope(path="/send"), receive, broken_send)
    with pytest.raises(RuntimeError):
        await Endpoint(handler)(scope(path="/raise"), receive, broken_send)
    assert ran == ["/send", "/raise"]


async def test_every_job_runs_despite_a_failing_one_and_a_cancellation() -> None:
    after = AfterResponse()
    ran: list[int] = []

    async def fails() -> None:
        ran.append(1)
        raise ValueError("never raised by a real job")

    async def cancelled() -> None:
        ran.append(2)
        raise asyncio.CancelledError

    async def last() -> None:
        ran.append(3)

    for job in (fails, cancelled, last):
        after.add(job)
    with pytest.raises(asyncio.CancelledError):
        await after.run()
    assert ran == [1, 2, 3]
    assert after.closed
    assert not after.add(last)  # too late: the caller runs it itself


async def test_a_stream_whose_start_cannot_be_sent_is_still_closed() -> None:
    closed = asyncio.Event()

    async def body() -> AsyncGenerator[bytes, None]:
        try:
            yield b"data: 1\n\n"
        finally:
            closed.set()

    async def broken_send(message: Message) -> None:
        raise OSError("the client is gone")

    async def client_waits() -> Message:  # the request was read: nothing until it leaves
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    stream = body()
    await anext(stream)  # started, as the pipeline's relay is when the response is built
    with pytest.raises(OSError):
        await EventStreamResponse(stream)(scope(), client_waits, broken_send)
    assert closed.is_set()


async def test_hot_paths_go_straight_to_their_endpoint_and_the_rest_to_the_app() -> None:
    seen: list[str] = []

    def app(name: str) -> ASGIApp:
        async def call(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(f"{name} {scope.get('method')} {scope.get('path')}")

        return call

    hot = HotPaths(app("app"), {"/v1/messages": app("messages")})
    for method, path in (("POST", "/v1/messages"), ("GET", "/v1/messages"), ("POST", "/other")):
        await hot(scope(method, path), receive, app("send"))
    await hot({"type": "lifespan"}, receive, app("send"))
    assert seen == [
        "messages POST /v1/messages",
        "app GET /v1/messages",
        "app POST /other",
        "app None None",
    ]
