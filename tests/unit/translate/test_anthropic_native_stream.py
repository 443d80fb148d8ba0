"""NativeStreamRelay: byte for byte and count for count what the native relay did before it
(StreamUsage, then the model rename, output characters and message_stop, then
render_native_event), event by event."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from stargate.core import Usage
from stargate.errors import UpstreamBadResponse
from stargate.translate.anthropic_native_stream import NativeStreamRelay
from stargate.translate.anthropic_stream import render_native_event, render_sse
from stargate.translate.anthropic_usage import StreamUsage


@dataclass
class Meter:
    usage: Usage | None = None
    complete: bool = False
    output_chars: int = 0


def reference(events: list[dict[str, Any]], model: str, meter: Meter) -> list[bytes]:
    """The relay as it was written before NativeStreamRelay (api/anthropic.py)."""
    usage = StreamUsage()
    out = []
    for event in events:
        usage.feed(event)
        meter.usage = usage.usage
        kind = event.get("type")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            event["message"]["model"] = model
        elif kind == "content_block_delta" and isinstance(delta := event.get("delta"), dict):
            meter.output_chars += sum(
                len(v) for k, v in delta.items() if k != "type" and isinstance(v, str)
            )
        elif kind == "message_stop":
            meter.complete = True
        out.append(render_native_event(event))
    return out


def relayed(events: list[dict[str, Any]], model: str, meter: Meter) -> list[bytes]:
    relay = NativeStreamRelay(model, meter)
    return [relay.relay(event) for event in events]


USAGE_START = {
    "input_tokens": 10,
    "cache_creation_input_tokens": 4,
    "cache_read_input_tokens": 2,
    "cache_creation": {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 1,
}
STREAM: list[dict[str, Any]] = [
    {"type": "ping"},
    {
        "type": "message_start",
        "message": {
            "model": "claude-sonnet-4-5-20250929",
            "id": "msg_bdrk_012G",
            "type": "message",
            "role": "assistant",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": USAGE_START,
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking"}},
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "thinking_delta", "thinking": "Let me think… über"}},
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "signature_delta", "signature": "EqQBCkgIARABGAIiQL+/=="}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1,
     "content_block": {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 2,
     "delta": {"type": "text_delta", "text": "Hi \"there\"\n\u2028 😀 \x01 </script>"}},
    {"type": "ping"},
    {"type": "content_block_stop", "index": 2},
    {"type": "content_block_start", "index": 3,
     "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}}},
    {"type": "content_block_delta", "index": 3,
     "delta": {"type": "input_json_delta", "partial_json": ""}},
    {"type": "content_block_delta", "index": 3,
     "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Paris\", \"n\": 1.5e3}"}},
    {"type": "content_block_delta", "index": 3, "delta": {"type": "future_delta", "a": "xy",
                                                          "n": 3, "b": None, "c": ["z"]}},
    {"type": "content_block_delta", "index": 3, "delta": "not an object"},
    {"type": "content_block_stop", "index": 3},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"output_tokens": 42, "input_tokens": 10, "cache_read_input_tokens": 2}},
    {"type": "some_future_event", "value": [1, 2.5, True, None, {"k": "v"}]},
    {"type": "message_stop"},
]  # fmt: skip


def test_a_whole_stream_is_relayed_as_before() -> None:
    old_meter, new_meter = Meter(), Meter()
    old = reference(copy.deepcopy(STREAM), "claude-sonnet-4-5", old_meter)
    events = copy.deepcopy(STREAM)
    new = relayed(events, "claude-sonnet-4-5", new_meter)
    assert new == old
    assert new_meter == old_meter
    assert new_meter.complete
    assert new_meter.usage == Usage(
        input_tokens=10, output_tokens=42, cache_read_tokens=2, cache_write_tokens=4
    )
    assert b'"model":"claude-sonnet-4-5"' in new[1]
    assert events[1]["message"]["model"] == "claude-sonnet-4-5"  # renamed in place, as before


@pytest.mark.parametrize("index", range(len(STREAM)))
def test_each_event_and_the_meter_after_it_match(index: int) -> None:
    old_meter, new_meter = Meter(), Meter()
    old = reference(copy.deepcopy(STREAM[: index + 1]), "alias", old_meter)
    new = relayed(copy.deepcopy(STREAM[: index + 1]), "alias", new_meter)
    assert new == old
    assert new_meter == old_meter


def test_the_framing_of_representative_events() -> None:
    relay = NativeStreamRelay("alias", Meter())
    assert relay.relay({"type": "ping"}) == b'event: ping\ndata: {"type":"ping"}\n\n'
    start = {"type": "message_start", "message": {"model": "upstream", "usage": {}}}
    assert relay.relay(start) == (
        b'event: message_start\ndata: {"type":"message_start","message":'
        b'{"model":"alias","usage":{}}}\n\n'
    )
    delta = {"type": "content_block_delta", "index": 0,
             "delta": {"type": "text_delta", "text": "é"}}  # fmt: skip
    assert relay.relay(delta) == (
        b"event: content_block_delta\n"
        b'data: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"\xc3\xa9"}}\n\n'
    )
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    assert relay.relay(error) == (
        b'event: error\ndata: {"type":"error","error":'
        b'{"type":"overloaded_error","message":"busy"}}\n\n'
    )


@pytest.mark.parametrize(
    "event",
    [
        {"index": 0},
        {"type": ""},
        {"type": None},
        {"type": 5},
        {"type": ["content_block_delta"]},
        {"type": {"k": "v"}},
    ],
)
def test_an_event_without_a_type_fails_as_before(event: dict[str, Any]) -> None:
    old_meter, new_meter = Meter(), Meter()
    with pytest.raises(UpstreamBadResponse) as old:
        reference([{"type": "ping"}, copy.deepcopy(event)], "m", old_meter)
    with pytest.raises(UpstreamBadResponse) as new:
        relayed([{"type": "ping"}, copy.deepcopy(event)], "m", new_meter)
    assert new.value.message == old.value.message
    assert new_meter == old_meter


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message_start"},
        {"type": "message_start", "message": "x"},
        {"type": "message_start", "message": {"usage": {"input_tokens": -1}}},
        {"type": "message_delta", "usage": {"output_tokens": "3"}},
        {"type": "message_delta", "usage": [1]},
    ],
)
def test_malformed_usage_fails_as_before(event: dict[str, Any]) -> None:
    old_meter, new_meter = Meter(), Meter()
    with pytest.raises(UpstreamBadResponse) as old:
        reference([copy.deepcopy(event)], "m", old_meter)
    with pytest.raises(UpstreamBadResponse) as new:
        relayed([copy.deepcopy(event)], "m", new_meter)
    assert new.value.message == old.value.message
    assert new_meter == old_meter
    assert new_meter.usage is None


def test_sse_framing() -> None:
    assert render_sse("content_block_delta", b"{}") == b"event: content_block_delta\ndata: {}\n\n"
    assert render_sse("brand_new", b"{}") == b"event: brand_new\ndata: {}\n\n"
    with pytest.raises(UpstreamBadResponse):
        render_native_event({"type": ""})
