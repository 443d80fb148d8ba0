from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from starlette.types import Message

from stargate.api.streaming import EventStreamResponse


async def test_disconnect_closes_the_body_at_once() -> None:
    closed = asyncio.Event()
    sent: list[Message] = []

    async def body() -> AsyncGenerator[bytes, None]:
        try:
            yield b"data: 1\n\n"
            await asyncio.sleep(3600)  # an upstream that never sends again
            yield b"data: 2\n\n"
        finally:
            closed.set()

    disconnect = asyncio.Event()

    async def receive() -> Message:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message.get("body") == b"data: 1\n\n":
            disconnect.set()

    response = EventStreamResponse(body(), headers={"x-request-id": "r"})
    await asyncio.wait_for(response({"type": "http"}, receive, send), timeout=5)
    assert closed.is_set()
    assert sent[0]["type"] == "http.response.start"
    assert (b"x-request-id", b"r") in sent[0]["headers"]
    assert [m.get("body") for m in sent[1:]] == [b"data: 1\n\n"]


async def test_complete_stream_ends_the_response() -> None:
    async def body() -> AsyncGenerator[bytes, None]:
        for i in range(3):
            yield f"data: {i}\n\n".encode()

    never = asyncio.Event()

    async def receive() -> Message:
        await never.wait()
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(EventStreamResponse(body())({"type": "http"}, receive, send), 5)
    assert [m.get("body") for m in sent[1:]] == [
        b"data: 0\n\n",
        b"data: 1\n\n",
        b"data: 2\n\n",
        b"",
    ]
    assert sent[-1]["more_body"] is False


async def test_keepalive_pings_while_the_body_is_silent() -> None:
    release = asyncio.Event()

    async def body() -> AsyncGenerator[bytes, None]:
        yield b"event: message_start\n\n"
        await release.wait()
        yield b"event: message_stop\n\n"

    never = asyncio.Event()

    async def receive() -> Message:
        await never.wait()
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        pings = [m for m in sent if m.get("body") == b"event: ping\n\n"]
        if len(pings) == 3:
            release.set()

    response = EventStreamResponse(body(), keepalive=(0.02, b"event: ping\n\n"))
    await asyncio.wait_for(response({"type": "http"}, receive, send), timeout=5)
    bodies = [m.get("body") for m in sent[1:]]
    assert bodies[0] == b"event: message_start\n\n"
    assert bodies[1:4] == [b"event: ping\n\n"] * 3
    assert bodies[-2:] == [b"event: message_stop\n\n", b""]
    assert sent[-1]["more_body"] is False
