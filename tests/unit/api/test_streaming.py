from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from starlette.types import Message

from stargate.api.streaming import MAX_PENDING, EventStreamResponse


async def staying() -> Message:
    """A client that stays to the end: nothing more arrives from it."""
    await asyncio.Event().wait()
    return {"type": "http.disconnect"}


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

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(EventStreamResponse(body())({"type": "http"}, staying, send), 5)
    # Produced without a wait in between: written at once, with the end of the response.
    assert [m.get("body") for m in sent[1:]] == [b"data: 0\n\ndata: 1\n\ndata: 2\n\n"]
    assert sent[-1]["more_body"] is False


async def test_keepalive_pings_while_the_body_is_silent() -> None:
    release = asyncio.Event()

    async def body() -> AsyncGenerator[bytes, None]:
        yield b"event: message_start\n\n"
        await release.wait()
        yield b"event: message_stop\n\n"

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        pings = [m for m in sent if m.get("body") == b"event: ping\n\n"]
        if len(pings) == 3:
            release.set()

    response = EventStreamResponse(body(), keepalive=(0.02, b"event: ping\n\n"))
    await asyncio.wait_for(response({"type": "http"}, staying, send), timeout=5)
    bodies = [m.get("body") for m in sent[1:]]
    assert bodies[0] == b"event: message_start\n\n"
    assert bodies[1:4] == [b"event: ping\n\n"] * 3
    assert bodies[-1] == b"event: message_stop\n\n"
    assert sent[-1]["more_body"] is False


async def test_what_is_ready_goes_in_one_write_and_nothing_waits_for_more() -> None:
    upstream: asyncio.Queue[list[bytes]] = asyncio.Queue()

    async def body() -> AsyncGenerator[bytes, None]:
        while batch := await upstream.get():  # one upstream read: several events
            for event in batch:
                yield event

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def sent_count(count: int) -> None:
        while len(sent) < count:
            await asyncio.sleep(0)

    response = asyncio.ensure_future(EventStreamResponse(body())({"type": "http"}, staying, send))
    await upstream.put([b"a\n\n"])
    await asyncio.wait_for(sent_count(2), 5)  # written while the body waits for more
    await upstream.put([b"b\n\n", b"c\n\n", b"d\n\n"])
    await asyncio.wait_for(sent_count(3), 5)
    await upstream.put([])
    await asyncio.wait_for(response, 5)
    assert [m.get("body") for m in sent[1:]] == [b"a\n\n", b"b\n\nc\n\nd\n\n", b""]
    assert [m.get("more_body") for m in sent[1:]] == [True, True, False]


async def test_a_slow_client_slows_the_reading_of_the_body() -> None:
    produced = 0

    async def body() -> AsyncGenerator[bytes, None]:
        nonlocal produced
        for _ in range(64):
            produced += 1
            yield b"x" * (64 * 1024)

    client = asyncio.Event()
    sent: list[Message] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            await client.wait()  # the client does not read
        sent.append(message)

    response = asyncio.ensure_future(EventStreamResponse(body())({"type": "http"}, staying, send))
    for _ in range(50):
        await asyncio.sleep(0)
    assert produced <= 2 * (MAX_PENDING // (64 * 1024) + 1)  # bounded, not the whole body
    client.set()
    await asyncio.wait_for(response, 5)
    assert sum(len(m.get("body", b"")) for m in sent) == 64 * 64 * 1024


async def test_the_head_goes_with_the_first_chunk_in_the_same_loop_turn() -> None:
    async def body() -> AsyncGenerator[bytes, None]:
        yield b"data: first\n\n"  # ready at once: the pipeline answers after the first event
        await asyncio.sleep(0.01)
        yield b"data: later\n\n"

    seen: list[object] = []

    async def send(message: Message) -> None:
        seen.append(message["type"])

    async def turns() -> None:  # marks every turn of the event loop
        while True:
            seen.append("turn")
            await asyncio.sleep(0)

    ticker = asyncio.ensure_future(turns())
    await asyncio.wait_for(EventStreamResponse(body())({"type": "http"}, staying, send), 5)
    ticker.cancel()
    messages = [m for m in seen if m != "turn"]
    assert messages == ["http.response.start", "http.response.body", "http.response.body"]
    start = seen.index("http.response.start")
    assert seen[start + 1] == "http.response.body"  # no turn in between: one write with uvicorn
