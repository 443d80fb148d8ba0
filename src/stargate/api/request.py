"""The request an API route's endpoint reads (:class:`ApiRequest`), lighter than Starlette's.

A hot route reads half a dozen headers, the path and the body, once each. Starlette's
``Request`` looks every header up by scanning the scope's raw list (lowering the name and
decoding on each call) and reads the body through an async generator; here the headers are
decoded into a plain ``dict`` once, and the body is read in one loop.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

__all__ = ["ApiRequest"]


class ApiRequest:
    """An HTTP request's scope, headers and body.

    ``headers`` maps each (lowercase) header name to its first value, as Starlette's
    ``Headers.get`` answers; :meth:`header_values` gives every value of a repeated header.
    """

    __slots__ = ("_body", "_receive", "headers", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self._receive = receive
        self._body: bytes | None = None
        # Reversed, so that the first of repeated headers is the one kept.
        self.headers: dict[str, str] = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in reversed(scope["headers"])
        }

    @property
    def path(self) -> str:
        path: str = self.scope["path"]
        return path

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (lowercase), in the order they came."""
        key = name.encode("latin-1")
        return [value.decode("latin-1") for raw, value in self.scope["headers"] if raw == key]

    async def body(self) -> bytes:
        """The whole body (read once; later calls give it again). A client that leaves before
        it is all in raises Starlette's :class:`~starlette.requests.ClientDisconnect`."""
        if self._body is not None:
            return self._body
        chunks: list[bytes] = []
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "http.request":
                chunk: bytes = message.get("body", b"")
                if not message.get("more_body", False):
                    if chunks:
                        chunks.append(chunk)
                        chunk = b"".join(chunks)
                    self._body = chunk
                    return chunk
                if chunk:
                    chunks.append(chunk)
            elif kind == "http.disconnect":
                raise ClientDisconnect()
