"""The event-stream encoder against botocore's decoder and the reference bytes."""

from __future__ import annotations

import orjson
import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.parsers import EventStreamJSONParser

from stargate.wire.eventstream import encode_event, encode_exception, encode_frame

# bedrock.md section 3.3: a contentBlockDelta frame, 159 bytes.
REFERENCE_FRAME = bytes.fromhex(
    """
    00 00 00 9f 00 00 00 57 c3 7b ab ff 0b 3a 65 76
    65 6e 74 2d 74 79 70 65 07 00 11 63 6f 6e 74 65
    6e 74 42 6c 6f 63 6b 44 65 6c 74 61 0d 3a 63 6f
    6e 74 65 6e 74 2d 74 79 70 65 07 00 10 61 70 70
    6c 69 63 61 74 69 6f 6e 2f 6a 73 6f 6e 0d 3a 6d
    65 73 73 61 67 65 2d 74 79 70 65 07 00 05 65 76
    65 6e 74 7b 22 63 6f 6e 74 65 6e 74 42 6c 6f 63
    6b 49 6e 64 65 78 22 3a 30 2c 22 64 65 6c 74 61
    22 3a 7b 22 74 65 78 74 22 3a 22 48 69 22 7d 2c
    22 70 22 3a 22 61 62 63 64 22 7d f2 ac e5 ff
    """
)


def decode_all(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(message.headers), message.payload) for message in buffer]


def test_event_frame_matches_the_reference_bytes() -> None:
    frame = encode_event(
        "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}, "p": "abcd"}
    )

    assert frame == REFERENCE_FRAME
    assert len(frame) == 159


def test_botocore_decodes_frames_with_headers_in_order_and_exact_payload() -> None:
    payload = orjson.dumps({"role": "assistant", "p": "abc"})
    frame = encode_frame({":event-type": "messageStart", ":message-type": "event"}, payload)

    [(headers, decoded)] = decode_all(frame)

    assert headers == {":event-type": "messageStart", ":message-type": "event"}
    assert decoded == payload


def test_botocore_decodes_many_frames_split_at_arbitrary_boundaries() -> None:
    frames = b"".join(
        encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": word}})
        for word in ("h\u00e9llo ", "w\u00f6rld ", "\U0001f600")
    )
    buffer = EventStreamBuffer()
    texts = []
    for start in range(0, len(frames), 7):
        buffer.add_data(frames[start : start + 7])
        texts.extend(orjson.loads(message.payload)["delta"]["text"] for message in buffer)

    assert texts == ["h\u00e9llo ", "w\u00f6rld ", "\U0001f600"]


def test_an_empty_payload_and_non_ascii_header_values_round_trip() -> None:
    frame = encode_frame({":error-code": "\u00e9rror", ":message-type": "error"}, b"")

    [(headers, payload)] = decode_all(frame)

    assert headers == {":error-code": "\u00e9rror", ":message-type": "error"}
    assert payload == b""


def test_exception_frame_is_parsed_by_botocore_as_the_modeled_exception() -> None:
    frame = encode_exception("throttlingException", "Too many requests")
    [message] = list(_buffer(frame))
    service = ServiceModel(Loader().load_service_model("bedrock-runtime", "service-2"))
    shape = service.shape_for("ConverseStreamOutput")

    parsed = EventStreamJSONParser().parse(message.to_response_dict(), shape)

    assert message.headers[":message-type"] == "exception"
    assert parsed["Error"] == {"Code": "throttlingException", "Message": "Too many requests"}


def test_event_frame_is_parsed_by_botocore_into_the_unwrapped_member() -> None:
    frame = encode_event("messageStop", {"stopReason": "end_turn", "p": "abcdefg"})
    [message] = list(_buffer(frame))
    service = ServiceModel(Loader().load_service_model("bedrock-runtime", "service-2"))

    parsed = EventStreamJSONParser().parse(
        message.to_response_dict(), service.shape_for("ConverseStreamOutput")
    )

    assert parsed == {"messageStop": {"stopReason": "end_turn"}}


def test_oversized_or_unnamed_headers_are_refused() -> None:
    with pytest.raises(ValueError, match="name"):
        encode_frame({"": "x"}, b"")
    with pytest.raises(ValueError, match="too long"):
        encode_frame({"h": "x" * 70_000}, b"")


def _buffer(frame: bytes) -> EventStreamBuffer:
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    return buffer
