"""AWS event-stream frames for the Bedrock provider (read by the wire's ``FrameReader``).

A frame is one of three kinds (reference/bedrock.md §3.4): an ``event`` named by ``:event-type``
with a JSON payload; a modeled ``exception`` named by ``:exception-type`` (lowerCamel, such as
``throttlingException``) with ``{"message": ...}``; or an unmodeled ``error`` carrying
``:error-code`` and ``:error-message`` headers. A corrupt frame (bad CRC, impossible lengths,
duplicate headers) is :class:`UpstreamBadResponse`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from stargate.errors import UpstreamBadResponse
from stargate.wire.eventstream import FrameError, FrameReader, HeaderValue, read_headers

__all__ = ["Frame", "FrameDecoder", "decode_payload"]


class Frame(NamedTuple):
    """One frame (a named tuple: immutable, and built at half the cost of a frozen dataclass,
    once per frame of a stream)."""

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
            sections = self._reader.sections(data)
            frames = []
            for section, payload in sections:
                kind = _KINDS.get(section)
                if kind is None:
                    kind = _remember(section)
                frames.append(Frame(kind[0], kind[1], payload, kind[2]))
            return frames
        except FrameError as exc:
            raise UpstreamBadResponse(f"Bedrock sent a corrupt event-stream frame ({exc})") from exc


# What a frame's headers section says (message type, name, error message), per distinct section:
# a stream repeats a few sections byte for byte, so each is read once.
_KINDS: dict[bytes, tuple[str, str, str | None]] = {}
_KINDS_MAX = 64


def _remember(section: bytes) -> tuple[str, str, str | None]:
    kind = _kind(read_headers(section))
    if len(_KINDS) >= _KINDS_MAX:
        _KINDS.clear()
    _KINDS[section] = kind
    return kind


def _kind(headers: dict[str, HeaderValue]) -> tuple[str, str, str | None]:
    message_type = _header(headers, ":message-type") or "event"
    if message_type == "exception":
        name = _header(headers, ":exception-type") or _header(headers, ":error-code") or ""
        return message_type, name, None
    if message_type == "error":
        return (
            message_type,
            _header(headers, ":error-code") or "",
            _header(headers, ":error-message"),
        )
    return message_type, _header(headers, ":event-type") or "", None


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
