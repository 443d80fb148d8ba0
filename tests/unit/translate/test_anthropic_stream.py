"""MessagesStreamRenderer and the native framing: exact SSE bytes, and the anthropic SDK's view."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic._streaming import SSEDecoder
from anthropic.lib.streaming._messages import accumulate_event

from stargate.core import (
    BlockStop,
    MessageStart,
    MessageStop,
    ReasoningDelta,
    StopReason,
    StreamEvent,
    TextDelta,
    ToolUseDelta,
    ToolUseStart,
    Usage,
    UsageReport,
)
from stargate.errors import UpstreamBadResponse, UpstreamOverloaded
from stargate.translate.anthropic_stream import (
    PING,
    MessagesStreamRenderer,
    render_native_event,
)

USAGE = Usage(input_tokens=12, output_tokens=7, cache_read_tokens=30, cache_write_tokens=5)

THINK_TEXT_TOOL: list[StreamEvent] = [
    MessageStart(id="msg_bdrk_1", model="upstream"),
    ReasoningDelta(0, "Let me "),
    ReasoningDelta(0, "think."),
    ReasoningDelta(0, signature="sig-abc"),
    BlockStop(0),
    TextDelta(1, "Hel"),
    TextDelta(1, ""),
    TextDelta(1, 'lo "there"'),
    BlockStop(1),
    ToolUseStart(2, "toolu_1", "get_weather"),
    ToolUseDelta(2, '{"city":'),
    ToolUseDelta(2, ""),
    ToolUseDelta(2, '"Paris"}'),
    BlockStop(2),
    MessageStop(StopReason.TOOL_USE),
    UsageReport(USAGE),
]


def render(events: list[StreamEvent], model: str = "claude-opus-4-8") -> bytes:
    renderer = MessagesStreamRenderer(request_model=model)
    return b"".join(chunk for event in events for chunk in renderer.feed(event))


def decode(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    return [(sse.event or "", sse.json()) for sse in SSEDecoder().iter_bytes(iter([raw]))]


def test_every_event_is_framed_with_an_event_line() -> None:
    raw = render(THINK_TEXT_TOOL)
    frames = raw.split(b"\n\n")
    assert frames[-1] == b""
    for frame in frames[:-1]:
        event_line, data_line = frame.split(b"\n")
        name = event_line.removeprefix(b"event: ")
        assert orjson.loads(data_line.removeprefix(b"data: "))["type"] == name.decode()


def test_the_event_sequence_is_anthropics() -> None:
    names = [name for name, _ in decode(render(THINK_TEXT_TOOL))]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_block_starts_and_deltas_are_exact() -> None:
    events = [data for _, data in decode(render(THINK_TEXT_TOOL))]
    assert events[0]["message"] == {
        "id": "msg_bdrk_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-8",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    assert events[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    assert events[4]["delta"] == {"type": "signature_delta", "signature": "sig-abc"}
    assert events[6]["content_block"] == {"type": "text", "text": ""}
    assert events[8]["delta"] == {"type": "text_delta", "text": 'lo "there"'}
    assert events[10]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {},
    }
    assert events[11]["delta"] == {"type": "input_json_delta", "partial_json": '{"city":'}
    assert events[14] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {
            "input_tokens": 12,
            "output_tokens": 7,
            "cache_creation_input_tokens": 5,
            "cache_read_input_tokens": 30,
        },
    }
    assert events[15] == {"type": "message_stop"}


def test_the_anthropic_sdk_accumulates_the_whole_message() -> None:
    snapshot = None
    buffers: dict[int, bytes] = {}
    for _, data in decode(render(THINK_TEXT_TOOL)):
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs=buffers)  # type: ignore[arg-type]
    assert snapshot is not None
    assert [block.type for block in snapshot.content] == ["thinking", "text", "tool_use"]
    assert snapshot.content[0].thinking == "Let me think."  # type: ignore[union-attr]
    assert snapshot.content[0].signature == "sig-abc"  # type: ignore[union-attr]
    assert snapshot.content[1].text == 'Hello "there"'  # type: ignore[union-attr]
    assert snapshot.content[2].input == {"city": "Paris"}  # type: ignore[union-attr]
    assert snapshot.stop_reason == "tool_use"
    assert snapshot.usage.input_tokens == 12
    assert snapshot.usage.output_tokens == 7
    assert snapshot.usage.cache_read_input_tokens == 30
    assert snapshot.usage.cache_creation_input_tokens == 5


def test_usage_before_stop_and_open_blocks_are_closed_at_the_stop() -> None:
    events: list[StreamEvent] = [
        MessageStart("m1", "u"),
        TextDelta(0, "cut"),
        UsageReport(USAGE),
        MessageStop(StopReason.MAX_TOKENS, None),
    ]
    decoded = decode(render(events))
    assert [name for name, _ in decoded][-4:] == [
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert decoded[-2][1]["delta"]["stop_reason"] == "max_tokens"


def test_redacted_thinking_starts_whole_and_a_missing_start_is_filled_in() -> None:
    decoded = decode(
        render(
            [
                ReasoningDelta(0, redacted="opaque"),
                BlockStop(0),
                MessageStop(StopReason.END_TURN),
                UsageReport(Usage()),
            ]
        )
    )
    assert decoded[0][0] == "message_start"
    assert decoded[0][1]["message"]["id"].startswith("msg_")
    assert decoded[1][1]["content_block"] == {"type": "redacted_thinking", "data": "opaque"}
    assert decoded[2][0] == "content_block_stop"


def test_nothing_follows_message_stop() -> None:
    renderer = MessagesStreamRenderer(request_model="m")
    for event in THINK_TEXT_TOOL:
        renderer.feed(event)
    assert renderer.closed
    assert renderer.feed(TextDelta(0, "late")) == []
    assert renderer.error_event(UpstreamOverloaded("late")) == []


@pytest.mark.parametrize(
    "events",
    [
        [MessageStart("m", "u"), ToolUseDelta(0, "{}")],
        [MessageStart("m", "u"), TextDelta(0, "a"), ToolUseDelta(0, "{}")],
        [MessageStart("m", "u"), TextDelta(0, "a"), ReasoningDelta(0, "b")],
        [MessageStart("m", "u"), ToolUseStart(0, "t", "f"), ToolUseStart(0, "t", "f")],
    ],
)
def test_contradictory_events_are_a_bad_response(events: list[StreamEvent]) -> None:
    with pytest.raises(UpstreamBadResponse):
        render(events)


def test_a_mid_stream_error_is_an_error_event_and_ends_the_stream() -> None:
    renderer = MessagesStreamRenderer(request_model="m")
    renderer.feed(MessageStart("m1", "u"))
    [raw] = renderer.error_event(UpstreamOverloaded("Bedrock is busy"), request_id="req_1")
    assert raw == (
        b"event: error\n"
        b'data: {"type":"error","error":{"type":"overloaded_error","message":"Bedrock is busy"},'
        b'"request_id":"req_1"}\n\n'
    )
    assert renderer.closed
    assert renderer.feed(TextDelta(0, "x")) == []


def test_ping_and_native_framing() -> None:
    assert MessagesStreamRenderer(request_model="m").ping() == PING
    assert PING == b'event: ping\ndata: {"type":"ping"}\n\n'
    event = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "é"},
    }
    assert render_native_event(event) == (
        b"event: content_block_delta\n"
        b'data: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"\xc3\xa9"}}\n\n'
    )
    with pytest.raises(UpstreamBadResponse):
        render_native_event({"index": 0})
