"""AWS event-stream frames for the Bedrock provider (read by the wire's ``FrameReader``).

A frame is one of three kinds (reference/bedrock.md §3.4): an ``event`` named by ``:event-type``
with a JSON payload; a modeled ``exception`` named by ``:exception-type`` (lowerCamel, such as
``throttlingException``) with ``{"message": ...}``; or an unmodeled ``error`` carrying
``:error-code`` and ``:error-message`` headers. A corrupt frame (bad CRC, impossible lengths,
duplicate headers) is :class:`UpstreamBadResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from stargate.errors import UpstreamBadResponse
from stargate.wire.eventstream import FrameError, FrameReader, HeaderValue

__all__ = ["Frame", "FrameDecoder", "decode_payload"]


@dataclass(slots=True, frozen=True)
class Frame:
    message_type: str  # "event", "exception" or "error"
    name: str  # the event type, the exception type, or the error code
    payload: bytes
    error_message: str | None = None  # only for "error" frames


class FrameDecoder:
    """Feed it the body's bytes in whatever pieces they arrive; it returns whole frames."""

    __slots__ = ("_reader",)

    def __init__(self) -> None:
        self._reader = FrameReader()

    def feed(self, data: bytes) -> list[Frame]:
        try:
            return [_frame(headers, payload) for headers, payload in self._reader.feed(data)]
        except FrameError as exc:
            raise UpstreamBadResponse(f"Bedrock sent a corrupt event-stream frame ({exc})") from exc


def _frame(headers: dict[str, HeaderValue], payload: bytes) -> Frame:
    message_type = _header(headers, ":message-type") or "event"
    if message_type == "exception":
        name = _header(headers, ":exception-type") or _header(headers, ":error-code") or ""
        return Frame(message_type, name, payload)
    if message_type == "error":
        return Frame(
            message_type,
            _header(headers, ":error-code") or "",
            payload,
            _header(headers, ":error-message"),
        )
    return Frame(message_type, _header(headers, ":event-type") or "", payload)


def _header(headers: dict[str, HeaderValue], name: str) -> str | None:
    value = headers.get(name)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def decode_payload(frame: Frame) -> dict[str, Any]:
    """The JSON object a frame carries; an empty payload is an empty object."""
    if not frame.payload:
        return {}
    try:
        value = orjson.loads(frame.payload)
    except orjson.JSONDecodeError as exc:
        raise UpstreamBadResponse(
            f"Bedrock sent a {frame.name or frame.message_type} frame that is not JSON"
        ) from exc
    if not isinstance(value, dict):
        raise UpstreamBadResponse(
            f"Bedrock sent a {frame.name or frame.message_type} frame that is not a JSON object"
        )
    return value
