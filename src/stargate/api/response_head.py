"""uvicorn's request-response cycle, its response head made with fewer checks per header.

For every response uvicorn searches each header's name for characters a header name may not
hold and its value for control characters, one regular expression per name and per value, and
lowers each name: two dozen searches for the API's JSON answers, more than the rest of the head
costs. :class:`ResponseCycle` checks a name once per process (the names come from a small set)
and every value of a head in one search (values joined by a tab, which a value may hold), and
builds the same head. Anything else uvicorn's head handles (a ``connection`` or
``transfer-encoding`` header the app sets, a name or value it refuses, an access log, a paused
or closed connection) is left to uvicorn's own code, as are the body and everything after.
"""

from __future__ import annotations

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    RequestResponseCycle,
)

__all__ = ["ResponseCycle"]

_NAMES: dict[bytes, bytes] = {}  # names found to be tokens, lowered
_MAX_NAMES = 1024  # names mostly come from the gateway's code; a bound all the same
_UVICORNS_OWN = frozenset({b"connection", b"transfer-encoding"})  # left to uvicorn's code


def _lowered(name: bytes) -> bytes | None:
    """``name`` lowered, or ``None`` when uvicorn refuses it (not a token)."""
    if HEADER_RE.search(name):
        return None
    lowered = name.lower()
    if len(_NAMES) < _MAX_NAMES:
        _NAMES[name] = lowered
    return lowered


def _clean(values: list[bytes]) -> bool:
    """No value holds a character uvicorn refuses in one (nor is other than bytes)."""
    try:
        return HEADER_VALUE_RE.search(b"\t".join(values)) is None
    except TypeError:  # not bytes: uvicorn's code says so
        return False


class ResponseCycle(RequestResponseCycle):
    """uvicorn's cycle; ``http.response.start`` writes the head uvicorn writes, with the same
    state changes in the same order (an error raised where uvicorn raises it)."""

    async def send(self, message: ASGISendEvent) -> None:
        if (
            self.response_started
            or self.disconnected
            or self.access_log
            or self.flow.write_paused
            or message["type"] != "http.response.start"
        ):
            await super().send(message)
            return
        waiting = self.waiting_for_100_continue
        self.response_started = True
        self.waiting_for_100_continue = False
        status_code = message["status"]
        given = list(message.get("headers", []))
        headers = self.default_headers + given
        content = [STATUS_LINE[status_code]]
        names = _NAMES
        length: bytes | None = None
        for name, value in headers:
            lowered = (names.get(name) or _lowered(name)) if name.__class__ is bytes else None
            if lowered is None or lowered in _UVICORNS_OWN:
                break
            if lowered == b"content-length" and length is None:
                length = value
            content += (lowered, b": ", value, b"\r\n")
        else:
            if _clean(content[3::4]):
                if length is not None:
                    self.expected_content_length = int(length.decode())
                    self.chunked_encoding = False
                if not self.keep_alive:
                    content.append(b"connection: close\r\n")
                if (
                    self.chunked_encoding is None
                    and self.scope["method"] != "HEAD"
                    and status_code not in (204, 304)
                ):
                    self.chunked_encoding = True
                    content.append(b"transfer-encoding: chunked\r\n")
                content.append(b"\r\n")
                self.transport.write(b"".join(content))
                return
        # As it was before this head: uvicorn's code takes it from the start.
        self.response_started = False
        self.waiting_for_100_continue = waiting
        await super().send({**message, "headers": given})
