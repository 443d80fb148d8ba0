"""A streaming HTTP response that notices the client leaving.

Starlette's ``StreamingResponse`` cancels its sender on disconnect but leaves the body iterator
to the garbage collector. Here the iterator is closed explicitly the moment the client goes, so
the upstream call it drives is cancelled at once (and money settles) rather than whenever the
generator happens to be finalised.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Mapping

from starlette.types import Receive, Scope, Send

__all__ = ["EventStreamResponse"]


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
        self._lock = asyncio.Lock()
        self._last_sent = 0.0
        self._finished = False
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
            await send(
                {"type": "http.response.start", "status": self.status_code,
                 "headers": self.raw_headers}
            )  # fmt: skip
            self._last_sent = asyncio.get_running_loop().time()
            pump = asyncio.ensure_future(self._pump(send))
            tasks += (pump, asyncio.ensure_future(self._watch(receive)))
            if self.keepalive is not None:
                tasks.append(asyncio.ensure_future(self._tick(send, *self.keepalive)))
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.body.aclose()
        if pump.done() and not pump.cancelled() and (exc := pump.exception()) is not None:
            raise exc

    async def _pump(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        async for chunk in self.body:
            async with self._lock:
                if self._finished:
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self._last_sent = loop.time()
        async with self._lock:
            self._finished = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _tick(self, send: Send, interval: float, chunk: bytes) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, self._last_sent + interval - loop.time()))
            if loop.time() - self._last_sent < interval:
                continue
            async with self._lock:
                if self._finished:
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self._last_sent = loop.time()

    @staticmethod
    async def _watch(receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
