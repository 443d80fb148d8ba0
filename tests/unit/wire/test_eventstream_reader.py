"""The gateway's event-stream reader against botocore's decoder: the same frames out of the same
bytes, however they are split, and the same bytes refused."""

from __future__ import annotations

import random
import struct
import zlib

import pytest
from botocore.eventstream import EventStreamBuffer, ParserError

from stargate.wire.eventstream import (
    FrameError,
    FrameReader,
    HeaderValue,
    encode_event,
    encode_exception,
    encode_frame,
    read_headers,
)


def _typed_frame(headers: list[tuple[str, int, bytes]], payload: bytes) -> bytes:
    """A frame with headers of any value type (``encode_frame`` writes strings only)."""
    raw = b"".join(
        struct.pack("!B", len(name.encode())) + name.encode() + struct.pack("!B", kind) + value
        for name, kind, value in headers
    )
    prelude = struct.pack("!II", 16 + len(raw) + len(payload), len(raw))
    head = prelude + struct.pack("!I", zlib.crc32(prelude))
    body = head + raw + payload
    return body + struct.pack("!I", zlib.crc32(body))


def _random_headers(rng: random.Random) -> list[tuple[str, int, bytes]]:
    headers: list[tuple[str, int, bytes]] = []
    for index in range(rng.randint(0, 6)):
        kind = rng.randint(0, 9)
        match kind:
            case 0 | 1:
                value = b""
            case 2:
                value = struct.pack("!b", rng.randint(-128, 127))
            case 3:
                value = struct.pack("!h", rng.randint(-(2**15), 2**15 - 1))
            case 4:
                value = struct.pack("!i", rng.randint(-(2**31), 2**31 - 1))
            case 5 | 8:
                value = struct.pack("!q", rng.randint(-(2**63), 2**63 - 1))
            case 6:
                raw = rng.randbytes(rng.randint(0, 40))
                value = struct.pack("!H", len(raw)) + raw
            case 7:
                text = "".join(rng.choices("abcé☃ :-", k=rng.randint(0, 30))).encode()
                value = struct.pack("!H", len(text)) + text
            case _:
                value = rng.randbytes(16)
        headers.append((f":h{index}-{kind}", kind, value))
    return headers


def _botocore(data: bytes) -> list[tuple[dict[str, HeaderValue], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(message.headers), message.payload) for message in buffer]


def _ours(data: bytes, rng: random.Random) -> list[tuple[dict[str, HeaderValue], bytes]]:
    reader = FrameReader()
    frames: list[tuple[dict[str, HeaderValue], bytes]] = []
    position = 0
    while position < len(data):
        step = rng.randint(1, 64)
        frames += reader.feed(data[position : position + step])
        position += step
    return frames


def test_generated_frames_read_as_botocore_reads_them() -> None:
    rng = random.Random(3)
    for _ in range(300):
        frames = [
            _typed_frame(_random_headers(rng), rng.randbytes(rng.randint(0, 200)))
            for _ in range(rng.randint(1, 5))
        ]
        data = b"".join(frames)
        assert _ours(data, rng) == _botocore(data)


def test_the_emulators_frames_round_trip() -> None:
    data = encode_event("contentBlockDelta", {"delta": {"text": "hé"}}) + encode_exception(
        "throttlingException", "slow down"
    )
    frames = FrameReader().feed(data)
    assert [headers[":message-type"] for headers, _ in frames] == ["event", "exception"]
    assert frames == _botocore(data)


def test_a_partial_frame_waits_for_the_rest() -> None:
    frame = encode_frame({":event-type": "messageStop"}, b"{}")
    reader = FrameReader()
    assert reader.feed(frame[:11]) == []
    assert reader.feed(frame[11:-1]) == []
    assert reader.feed(frame[-1:]) == [({":event-type": "messageStop"}, b"{}")]


def _refused_by_both(data: bytes, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        FrameReader().feed(data)
    with pytest.raises((ParserError, KeyError, UnicodeDecodeError, struct.error)):
        _botocore(data)


def test_corrupt_bytes_are_refused_as_botocore_refuses_them() -> None:
    frame = encode_frame({":event-type": "metadata"}, b'{"usage":{}}')
    flipped_payload = frame[:-6] + bytes([frame[-6] ^ 1]) + frame[-5:]
    _refused_by_both(flipped_payload, "message's checksum")
    flipped_prelude = bytes([frame[0] ^ 1]) + frame[1:]
    _refused_by_both(flipped_prelude, "prelude's checksum")
    duplicate = _typed_frame([(":a", 0, b""), (":a", 1, b"")], b"")
    _refused_by_both(duplicate, "duplicate header")
    unknown_type = _typed_frame([(":a", 12, b"")], b"")
    _refused_by_both(unknown_type, "unknown header value type")
    not_utf8 = _typed_frame([(":a", 7, struct.pack("!H", 2) + b"\xff\xfe")], b"")
    _refused_by_both(not_utf8, "not UTF-8")


def test_impossible_lengths_are_refused_before_the_frame_arrives() -> None:
    huge_headers = struct.pack("!II", 200_000, 150_000)
    with pytest.raises(FrameError, match="headers section"):
        FrameReader().feed(huge_headers + struct.pack("!I", zlib.crc32(huge_headers)))
    negative_payload = struct.pack("!II", 16, 10)
    with pytest.raises(FrameError, match="a frame of 16 bytes"):
        FrameReader().feed(negative_payload + struct.pack("!I", zlib.crc32(negative_payload)))


def test_a_repeated_header_section_reads_the_same_and_is_never_shared() -> None:
    frame = encode_frame({":event-type": "contentBlockDelta", ":message-type": "event"}, b"{}")
    reader = FrameReader()
    (first, _), (second, _) = reader.feed(frame + frame)
    assert first == second == {":event-type": "contentBlockDelta", ":message-type": "event"}
    first[":event-type"] = "changed by a caller"
    ((third, _),) = reader.feed(frame)
    assert third[":event-type"] == "contentBlockDelta"


def _pieces_on_frame_boundaries(frames: list[bytes], rng: random.Random) -> list[bytes]:
    """Whole frames per piece (one or several), now and then a piece ending inside a frame and
    the next one finishing it: both the reader's paths (nothing held back, and a remainder)."""
    pieces: list[bytes] = []
    position = 0
    while position < len(frames):
        count = rng.randint(1, 3)
        piece = b"".join(frames[position : position + count])
        position += count
        if rng.random() < 0.3 and position < len(frames):
            cut = rng.randint(1, len(frames[position]) - 1)
            piece += frames[position][:cut]
            pieces.append(piece)
            piece = frames[position][cut:]
            position += 1
        pieces.append(piece)
    return pieces


def test_whole_frames_per_piece_read_as_botocore_reads_them() -> None:
    rng = random.Random(11)
    for _ in range(200):
        frames = [
            _typed_frame(_random_headers(rng), rng.randbytes(rng.randint(0, 200)))
            for _ in range(rng.randint(1, 8))
        ]
        reader = FrameReader()
        ours: list[tuple[dict[str, HeaderValue], bytes]] = []
        for piece in _pieces_on_frame_boundaries(frames, rng):
            ours += reader.feed(piece)
        assert ours == _botocore(b"".join(frames))
        assert reader.feed(b"") == []


def test_sections_are_the_raw_headers_and_the_payload() -> None:
    first = encode_event("contentBlockDelta", {"delta": {"text": "a"}})
    second = encode_exception("throttlingException", "slow down")
    headers_length = struct.unpack("!I", first[4:8])[0]
    reader = FrameReader()
    assert reader.sections(first + second[:20]) == [
        (first[12 : 12 + headers_length], b'{"delta":{"text":"a"}}')
    ]
    ((section, payload),) = reader.sections(second[20:])
    assert read_headers(section) == {
        ":exception-type": "throttlingException",
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    assert payload == b'{"message":"slow down"}'


def test_a_corrupt_piece_is_refused_on_either_path() -> None:
    frame = encode_frame({":event-type": "metadata"}, b'{"usage":{}}')
    flipped = frame[:-6] + bytes([frame[-6] ^ 1]) + frame[-5:]
    with pytest.raises(FrameError, match="message's checksum"):
        FrameReader().feed(frame + flipped)  # nothing held back
    reader = FrameReader()
    assert reader.feed(frame + flipped[:5]) == [({":event-type": "metadata"}, b'{"usage":{}}')]
    with pytest.raises(FrameError, match="message's checksum"):
        reader.feed(flipped[5:])  # completing a remainder


def test_a_bad_headers_section_is_refused_when_read() -> None:
    with pytest.raises(FrameError, match="duplicate header"):
        read_headers(b"\x02:a\x00\x02:a\x01")
