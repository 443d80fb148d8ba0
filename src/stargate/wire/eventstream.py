"""The AWS event-stream framing (``application/vnd.amazon.eventstream``), both ways.

The encoder (the emulator's) is byte-exact with botocore's decoder; the decoder
(:class:`FrameReader`, the gateway's, on every streamed chunk) accepts and refuses what botocore's
``EventStreamBuffer`` does, in a fraction of its calls per frame. A frame is, big-endian
throughout::

    total_length:u32  headers_length:u32  prelude_crc:u32  headers  payload  message_crc:u32

``prelude_crc`` is the CRC32 of the first 8 bytes and ``message_crc`` the CRC32 of everything
before it. Every header written here is a string header (value type 7), which is all Bedrock uses:
``name_len:u8 name 0x07 value_len:u16 value``; the decoder reads all ten value types.

Bedrock event payloads are the members of the event's shape, not wrapped in the event name
(``{"contentBlockIndex":0,"delta":{"text":"Hi"}}`` for a ``contentBlockDelta``).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

import orjson

__all__ = [
    "MAX_HEADERS_BYTES",
    "MAX_PAYLOAD_BYTES",
    "FrameError",
    "FrameReader",
    "HeaderValue",
    "encode_event",
    "encode_exception",
    "encode_frame",
    "read_headers",
]

MAX_HEADERS_BYTES = 128 * 1024
"""The largest headers section botocore's decoder accepts."""

MAX_PAYLOAD_BYTES = 24 * 1024 * 1024
"""The largest payload botocore's decoder accepts."""

_STRING_TYPE = b"\x07"
_PRELUDE = struct.Struct("!II")
_U32 = struct.Struct("!I")
_U8 = struct.Struct("!B")
_U16 = struct.Struct("!H")
_PRELUDE_CHECKED = struct.Struct("!III")
# Fixed-size header values by type: byte, short, integer, long, timestamp (ms since the epoch).
_FIXED = {2: struct.Struct("!b"), 3: struct.Struct("!h"), 4: struct.Struct("!i"),
          5: struct.Struct("!q"), 8: struct.Struct("!q")}  # fmt: skip

HeaderValue = bool | int | bytes | str


def _encode_header(name: str, value: str) -> bytes:
    raw_name = name.encode("utf-8")
    raw_value = value.encode("utf-8")
    if not 0 < len(raw_name) <= 255:
        raise ValueError(f"event-stream header name must be 1-255 bytes: {name!r}")
    if len(raw_value) > 0xFFFF:
        raise ValueError(f"event-stream header value too long for {name!r}")
    return b"".join(
        (_U8.pack(len(raw_name)), raw_name, _STRING_TYPE, _U16.pack(len(raw_value)), raw_value)
    )


def encode_frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """Encode one event-stream message with string headers, in the mapping's order."""
    header_bytes = b"".join(_encode_header(name, value) for name, value in headers.items())
    if len(header_bytes) > MAX_HEADERS_BYTES:
        raise ValueError("event-stream headers exceed 128 KiB")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError("event-stream payload exceeds 24 MiB")
    prelude = _PRELUDE.pack(16 + len(header_bytes) + len(payload), len(header_bytes))
    prelude_crc = zlib.crc32(prelude)
    head = prelude + _U32.pack(prelude_crc)
    message_crc = zlib.crc32(payload, zlib.crc32(header_bytes, zlib.crc32(head)))
    return b"".join((head, header_bytes, payload, _U32.pack(message_crc)))


def encode_event(event_type: str, payload_obj: object) -> bytes:
    """Encode a normal event: ``:event-type``, JSON ``:content-type``, ``:message-type: event``."""
    return encode_frame(
        {
            ":event-type": event_type,
            ":content-type": "application/json",
            ":message-type": "event",
        },
        orjson.dumps(payload_obj),
    )


def encode_exception(exception_type: str, message: str) -> bytes:
    """Encode a modeled exception frame, e.g. ``throttlingException``, body ``{"message":...}``."""
    return encode_frame(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        orjson.dumps({"message": message}),
    )


class FrameError(ValueError):
    """A frame that is not one: a checksum mismatch, impossible lengths, a header that runs
    past its section, an unknown header type, a duplicate header or a name that is not UTF-8."""


class FrameReader:
    """Feed it a body's bytes in whatever pieces they arrive; it returns the whole frames, each
    as its headers and its payload (:meth:`feed`), or as its raw headers section and its payload
    (:meth:`sections`, for a caller that reads the few distinct sections of a stream once, with
    :func:`read_headers`). After a :class:`FrameError` the stream cannot be trusted."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[dict[str, HeaderValue], bytes]]:
        return [(read_headers(section), payload) for section, payload in self.sections(data)]

    def sections(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """The whole frames completed by ``data``, as (headers section, payload), checksums and
        lengths checked; the headers section is not read (:func:`read_headers` does)."""
        buffer = self._buffer
        if buffer:
            buffer += data
            frames, used = _split(buffer)
            if used:
                del buffer[:used]
            return frames
        # Nothing held back (the usual case: a piece is one or more whole frames): read the
        # piece itself, and keep only what is left of it.
        frames, used = _split(data)
        if used < len(data):
            buffer += data[used:] if used else data
        return frames


def _split(data: bytes | bytearray) -> tuple[list[tuple[bytes, bytes]], int]:
    """The whole frames at the start of ``data`` and how many bytes they take."""
    frames: list[tuple[bytes, bytes]] = []
    start, available = 0, len(data)
    crc32, prelude, u32 = zlib.crc32, _PRELUDE_CHECKED.unpack_from, _U32.unpack_from
    while available - start >= 12:
        total, headers_length, prelude_crc = prelude(data, start)
        if crc32(data[start : start + 8]) != prelude_crc:
            raise FrameError("the prelude's checksum does not match")
        if headers_length > MAX_HEADERS_BYTES:
            raise FrameError(f"a headers section of {headers_length} bytes")
        payload_length = total - headers_length - 16
        if not 0 <= payload_length <= MAX_PAYLOAD_BYTES:
            raise FrameError(f"a frame of {total} bytes with {headers_length} of headers")
        end = start + total
        if available < end:
            break
        if crc32(data[start : end - 4]) != u32(data, end - 4)[0]:
            raise FrameError("the message's checksum does not match")
        payload_start = start + 12 + headers_length
        if type(data) is bytes:  # a piece read in place: its slices are new bytes already
            frames.append((data[start + 12 : payload_start], data[payload_start : end - 4]))
        else:  # the held-back buffer: a bytearray's slices are copied to bytes
            frames.append(
                (bytes(data[start + 12 : payload_start]), bytes(data[payload_start : end - 4]))
            )
        start = end
    return frames, start


def read_headers(data: bytes) -> dict[str, HeaderValue]:
    """A frame's headers section read (and checked: :class:`FrameError` when it is not one),
    as a new dict."""
    headers: dict[str, HeaderValue] = {}
    position, end = 0, len(data)
    try:
        while position < end:
            size = data[position]
            name = data[position + 1 : position + 1 + size].decode()
            position += 1 + size
            kind = data[position]
            position += 1
            value: HeaderValue
            if kind == 7 or kind == 6:
                (size,) = _U16.unpack_from(data, position)
                raw = data[position + 2 : position + 2 + size]
                position += 2 + size
                value = raw.decode() if kind == 7 else raw
            elif kind == 0 or kind == 1:
                value = kind == 0
            elif kind == 9:
                value = data[position : position + 16]
                position += 16
            elif (fixed := _FIXED.get(kind)) is not None:
                (value,) = fixed.unpack_from(data, position)
                position += fixed.size
            else:
                raise FrameError(f"unknown header value type {kind}")
            if name in headers:
                raise FrameError(f"duplicate header {name!r}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise FrameError(f"a header runs past its section or is not UTF-8 ({exc})") from exc
    if position != end:
        raise FrameError("a header runs past its section")
    return headers
