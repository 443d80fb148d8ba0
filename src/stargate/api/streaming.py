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
        self._ready = asyncio.Event()  # something to write, or the body or the client is done
        self._room = asyncio.Event()  # the writer caught up (the reader may go on)
        self._last_sent = 0.0
        raw = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        for name, value in (headers or {}).items():
            raw.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        self.raw_headers = raw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tasks: list[asyncio.Future[None]] = []
        try:  # the body is closed (its upstream call ended, its cost settled) whatever happens
            loop = asyncio.get_running_loop()
            self._last_sent = loop.time()
            reader = asyncio.ensure_future(self._read())
            watcher = asyncio.ensure_future(self._watch(receive))
            tasks += (reader, watcher)
            for task in tasks:
                task.add_done_callback(self._wake)
            if self.keepalive is not None:
                tasks.append(asyncio.ensure_future(self._tick(*self.keepalive)))
            await self._write(send, reader, watcher, loop)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
        while True:
            await self._ready.wait()
            self._ready.clear()
            if watcher.done():
                return  # the client left: nothing more to write
            last = reader.done()
            failure = None if not last or reader.cancelled() else reader.exception()
            if not started and (self._pending or last):
                started = True
                await send({"type": "http.response.start", "status": self.status_code,
                            "headers": self.raw_headers})  # fmt: skip
            if failure is not None:
                raise failure  # the body failed: the response ends unfinished
            if self._pending or last:
                body = b"".join(self._pending)
                self._pending.clear()
                self._pending_bytes = 0
                self._room.set()
                await send({"type": "http.response.body", "body": body, "more_body": not last})
                self._last_sent = loop.time()
            if last:
                return

    def _wake(self, _: object = None) -> None:
        self._ready.set()

    def _queue(self, chunk: bytes) -> None:
        self._pending.append(chunk)
        self._pending_bytes += len(chunk)
        self._ready.set()

    async def _read(self) -> None:
        async for chunk in self.body:
            self._queue(chunk)
            if self._pending_bytes > MAX_PENDING:
                self._room.clear()
                await self._room.wait()

    async def _tick(self, interval: float, chunk: bytes) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, self._last_sent + interval - loop.time()))
            if loop.time() - self._last_sent >= interval and not self._pending:
                self._queue(chunk)
                self._last_sent = loop.time()  # the next ping is due an interval from now

    @staticmethod
    async def _watch(receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
