from __future__ import annotations

import pytest

from stargate.errors import UpstreamBadResponse
from stargate.providers.bedrock.eventstream import Frame, FrameDecoder, decode_payload
from tests.unit.providers.bedrock.fakes import (
    corrupt,
    error_frame,
    event,
    exception_frame,
    text_turn,
)


def test_frames_split_at_every_byte_boundary_decode_whole() -> None:
    data = b"".join(text_turn())
    decoder = FrameDecoder()
    frames: list[Frame] = []
    for i in range(len(data)):
        frames.extend(decoder.feed(data[i : i + 1]))
    assert [f.name for f in frames] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert all(f.message_type == "event" for f in frames)
    assert decode_payload(frames[1]) == {
        "contentBlockIndex": 0,
        "delta": {"text": "Hello"},
        "p": "abcdefghijklmnop",
    }


def test_exception_and_error_frames() -> None:
    frames = FrameDecoder().feed(
        exception_frame("throttlingException", "slow down") + error_frame("Boom", "it broke")
    )
    assert frames[0] == Frame("exception", "throttlingException", b'{"message":"slow down"}')
    assert decode_payload(frames[0]) == {"message": "slow down"}
    assert frames[1] == Frame("error", "Boom", b"", "it broke")


def test_a_corrupt_frame_is_a_bad_response() -> None:
    with pytest.raises(UpstreamBadResponse, match="checksum does not match"):
        FrameDecoder().feed(corrupt(event("messageStop", {"stopReason": "end_turn"})))


def test_a_payload_that_is_not_a_json_object_is_a_bad_response() -> None:
    with pytest.raises(UpstreamBadResponse, match="not JSON"):
        decode_payload(Frame("event", "metadata", b"{nope"))
    with pytest.raises(UpstreamBadResponse, match="not a JSON object"):
        decode_payload(Frame("event", "metadata", b"[1]"))


def test_repeated_sections_decode_the_same_whichever_came_first() -> None:
    data = b"".join(
        [
            event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "a"}}),
            exception_frame("throttlingException", "slow down"),
            event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "b"}}),
            error_frame("Boom", "it broke"),
            error_frame("Boom", "another message"),
            exception_frame("throttlingException", "again"),
        ]
    )
    for _ in range(2):  # the second round reads every section from what the first one kept
        frames = FrameDecoder().feed(data)
        assert [(f.message_type, f.name, f.error_message) for f in frames] == [
            ("event", "contentBlockDelta", None),
            ("exception", "throttlingException", None),
            ("event", "contentBlockDelta", None),
            ("error", "Boom", "it broke"),
            ("error", "Boom", "another message"),
            ("exception", "throttlingException", None),
        ]
        assert decode_payload(frames[2])["delta"] == {"text": "b"}
        assert decode_payload(frames[5]) == {"message": "again"}
        assert frames[3] == Frame("error", "Boom", b"", "it broke")


def test_many_distinct_sections_stay_right() -> None:
    decoder = FrameDecoder()
    for _ in range(2):  # more sections than are kept: some are read again
        for number in range(200):
            (frame,) = decoder.feed(event(f"event{number}", {"n": number}, pad=False))
            assert frame.name == f"event{number}"
            assert decode_payload(frame) == {"n": number}
