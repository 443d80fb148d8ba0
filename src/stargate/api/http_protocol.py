"""uvicorn's HTTP/1.1 protocol (httptools), writing a response's head and body together.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, and its body at ``http.response.body``: two writes, so two system calls
and two TCP segments for every answer the gateway gives, when the app sends both at once. Here
the connection's transport holds a response head until the next write (the body, sent in the
same step) and sends both as one; a head with nothing after it in the same turn of the event
loop (a stream whose first event is not ready yet) goes out at the end of that turn. Holding
only ever delays bytes within one turn; it never reorders them.

The protocol also keeps one keep-alive timer per connection where uvicorn makes and cancels one
per request (the same close at the same moment), and serves its requests with
:class:`~stargate.api.response_head.ResponseCycle`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from stargate.api.response_head import ResponseCycle

__all__ = ["HttpProtocol"]

_HEAD = b"HTTP/"


class _HeadHolder:
    """A transport that sends a response head with whatever is written next."""

    __slots__ = ("_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
        elif data[:5] == _HEAD:
            self._head = data
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:  # the rest of the transport, as it is
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`_HeadHolder` transport, its requests served by
    :class:`~stargate.api.response_head.ResponseCycle`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        holder = _HeadHolder(transport, self.loop)
        super().connection_made(holder)  # type: ignore[arg-type]

    # uvicorn arms a keep-alive timer (``call_later``) after every answer and cancels it at
    # the next bytes of the connection: a timer made and dropped per request. Here one timer
    # per connection stays armed while answers come; when it fires it closes the connection
    # if it has been idle since an answer for the keep-alive timeout, else waits again for
    # the rest of it (or for the next answer, if a request is under way): the same close at
    # the same moment.
    _idle_since: float | None = None  # loop time of the last answer, None once bytes came

    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None

    def on_response_complete(self) -> None:
        # uvicorn's, arming the keep-alive timer only when none is armed.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = now = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_at(
                now + self.timeout_keep_alive, self._keep_alive_due
            )

    def _keep_alive_due(self) -> None:
        self.timeout_keep_alive_task = None
        idle_since = self._idle_since
        if idle_since is None:  # a request under way: its answer arms the timer again
            return
        due = idle_since + self.timeout_keep_alive
        if due > self.loop.time():
            self.timeout_keep_alive_task = self.loop.call_at(due, self._keep_alive_due)
        else:
            self.timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # uvicorn makes the cycle where it parses the request; each cycle comes here (now, or
        # when the pipelined ones before it are answered) before the app has seen its send.
        if cycle.__class__ is RequestResponseCycle:
            cycle.__class__ = ResponseCycle
        super()._start_asgi_task(cycle, app)
