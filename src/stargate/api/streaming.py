"""A streaming HTTP response that notices the client leaving, and writes what is ready at once.

Starlette's ``StreamingResponse`` cancels its sender on disconnect but leaves the body iterator
to the garbage collector. Here the iterator is closed explicitly the moment the client goes, so
the upstream call it drives is cancelled at once (and money settles) rather than whenever the
generator happens to be finalised.

The body is read by one task and written by another: every chunk the body produced before it
had to wait (the events decoded from one upstream read, say) goes out in one write, with no
delay added: the writer runs as soon as the reader waits. A stream of a dozen events costs a
few writes (system calls, TCP segments) instead of a dozen. Past ``MAX_PENDING`` unwritten
bytes (a client slower than the upstream) the reader waits for the writer, so the upstream is
read no faster than the client takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Mapping

from starlette.types import Receive, Scope, Send

__all__ = ["MAX_PENDING", "EventStreamResponse"]

MAX_PENDING = 256 * 1024


class EventStreamResponse:
    media_type = "text/event-stream"

    def __init__(
        self,
        body: AsyncGenerator[bytes, None],
        *,
        headers: Mapping[str, str] | None = None,
        status_code: int = 200,
        keepalive: tuple[float, bytes] | None = None,
    ) -> None:
        """``keepalive`` is ``(seconds, chunk)``: send ``chunk`` whenever the body has been
        silent that long (Anthropic ``ping`` events, so idle timers in clients never fire)."""
        self.body = body
        self.status_code = status_code
        self.keepalive = keepalive
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        # Something to write, or the body or the client is done: ``_signal``, and the writer's
        # future while it waits for it (a bare future: cheaper than an asyncio.Event).
        self._signal = False
        self._waiter: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None  # the reader waits for the writer
        self._last_sent = 0.0
        self._timer: asyncio.TimerHandle | None = None
        raw = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        for name, value in (headers or {}).items():
            raw.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        self.raw_headers = raw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reader: asyncio.Task[None] | None = None
        watcher: asyncio.Task[None] | None = None
        try:  # the body is closed (its upstream call ended, its cost settled) whatever happens
            loop = asyncio.get_running_loop()
            self._last_sent = loop.time()
            reader = loop.create_task(self._read(loop))
            reader.add_done_callback(self._wake)
            watcher = loop.create_task(self._watch(receive))
            watcher.add_done_callback(self._wake)
            if self.keepalive is not None:
                self._timer = loop.call_at(self._last_sent + self.keepalive[0], self._tick, loop)
            await self._write(send, reader, watcher, loop)
        finally:
            if self._timer is not None:
                self._timer.cancel()
            if watcher is not None:
                watcher.cancel()  # it only waits for the client: not waited for
            if reader is not None and not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader  # out of the body before it is closed
            await self.body.aclose()

    async def _write(
        self,
        send: Send,
        reader: asyncio.Future[None],
        watcher: asyncio.Future[None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """Send the head with the first chunk (the pipeline only answers once the upstream's
        first event is in, so it is ready at once: the two go out in one write), then whatever
        the reader queued each time it had to wait."""
        started = False
        pending = self._pending
        while True:
            if not self._signal:
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
            self._signal = False
            if watcher.done():
                return  # the client left: nothing more to write
            last = reader.done()
            failure = None if not last or reader.cancelled() else reader.exception()
            if not started and (pending or last):
                started = True
                await send({"type": "http.response.start", "status": self.status_code,
                            "headers": self.raw_headers})  # fmt: skip
            if failure is not None:
                raise failure  # the body failed: the response ends unfinished
            if pending or last:
                body = b"".join(pending)
                pending.clear()
                self._pending_bytes = 0
                room = self._room
                if room is not None:
                    self._room = None
                    if not room.done():
                        room.set_result(None)
                await send({"type": "http.response.body", "body": body, "more_body": not last})
                self._last_sent = loop.time()
            if last:
                return

    def _wake(self, _: object = None) -> None:
        self._signal = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = self._pending
        async for chunk in self.body:
            pending.append(chunk)
            self._pending_bytes += len(chunk)
            if not self._signal:
                self._wake()
            if self._pending_bytes > MAX_PENDING:
                self._room = room = loop.create_future()
                await room

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        """The keepalive timer: a ping when the body has been silent an interval and nothing is
        waiting to be written; due again an interval after the last write."""
        assert self.keepalive is not None
        interval, chunk = self.keepalive
        now = loop.time()
        if now - self._last_sent >= interval and not self._pending:
            self._pending.append(chunk)
            self._pending_bytes += len(chunk)
            self._wake()
            self._last_sent = now  # the next ping is due an interval from now
        due = self._last_sent + interval
        self._timer = loop.call_at(due if due > now else now + interval, self._tick, loop)

    @staticmethod
    async def _watch(receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
