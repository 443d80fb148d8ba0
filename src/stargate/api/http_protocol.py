"""uvicorn's HTTP/1.1 protocol (httptools), writing a response's head and body together.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, and its body at ``http.response.body``: two writes, so two system calls
and two TCP segments for every answer the gateway gives, when the app sends both at once. Here
the connection's transport holds a response head until the next write (the body, sent in the
same step) and sends both as one; a head with nothing after it in the same turn of the event
loop (a stream whose first event is not ready yet) goes out at the end of that turn. Holding
only ever delays bytes within one turn; it never reorders them.
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

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # uvicorn makes the cycle where it parses the request; each cycle comes here (now, or
        # when the pipelined ones before it are answered) before the app has seen its send.
        if cycle.__class__ is RequestResponseCycle:
            cycle.__class__ = ResponseCycle
        super()._start_asgi_task(cycle, app)
