"""The AWS event-stream frame encoder (``application/vnd.amazon.eventstream``).

botocore ships a decoder (``botocore.eventstream.EventStreamBuffer``) but no encoder; this module
is the encoder, byte-exact with that decoder. A frame is, big-endian throughout::

    total_length:u32  headers_length:u32  prelude_crc:u32  headers  payload  message_crc:u32

``prelude_crc`` is the CRC32 of the first 8 bytes and ``message_crc`` the CRC32 of everything
before it. Every header written here is a string header (value type 7), which is all Bedrock uses:
``name_len:u8 name 0x07 value_len:u16 value``.

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
    "encode_event",
    "encode_exception",
    "encode_frame",
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
