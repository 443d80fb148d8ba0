"""ChatStreamRenderer: chunk sequences, the usage chunk, errors, and the openai SDK's view."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

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
from stargate.errors import UpstreamThrottled
from stargate.translate.openai_stream import DONE, ChatStreamRenderer

USAGE = Usage(input_tokens=12, output_tokens=7, cache_read_tokens=30, cache_write_tokens=0)

TEXT_TURN: list[StreamEvent] = [
    MessageStart(id="msg_1", model="upstream-model"),
    TextDelta(0, "Hel"),
    TextDelta(0, ""),
    TextDelta(0, 'lo "there"'),
    BlockStop(0),
    MessageStop(StopReason.END_TURN),
    UsageReport(USAGE),
]

TWO_TOOLS_TURN: list[StreamEvent] = [
    MessageStart(id="msg_2", model="upstream-model"),
    ReasoningDelta(0, text="Need both tools."),
    ReasoningDelta(0, signature="EqQBCkYI"),
    BlockStop(0),
    TextDelta(1, "Checking."),
    BlockStop(1),
    ToolUseStart(2, id="tooluse_a", name="get_weather"),
    ToolUseDelta(2, '{"city": '),
    ToolUseDelta(2, '"Paris"}'),
    BlockStop(2),
    ToolUseStart(3, id="tooluse_b", name="get_time"),
    ToolUseDelta(3, ""),
    ToolUseDelta(3, '{"tz": "CET"}'),
    BlockStop(3),
    MessageStop(StopReason.TOOL_USE),
    UsageReport(USAGE),
]


def renderer(*, include_usage: bool = False) -> ChatStreamRenderer:
    return ChatStreamRenderer(
        response_id="chatcmpl-xyz",
        request_model="gw-main",
        created=1_700_000_000,
        include_usage=include_usage,
    )


def run(events: list[StreamEvent], *, include_usage: bool = False) -> list[bytes]:
    stream = renderer(include_usage=include_usage)
    lines = [line for event in events for line in stream.feed(event)]
    return lines + stream.finish()


def payloads(lines: list[bytes]) -> list[Any]:
    """The JSON of each ``data:`` line, checking the SSE framing on the way."""
    out = []
    for line in lines:
        assert line.startswith(b"data: ")
        assert line.endswith(b"\n\n")
        assert line.count(b"\n") == 2
        if line != DONE:
            out.append(orjson.loads(line[6:]))
    return out


def deltas(lines: list[bytes]) -> list[tuple[dict[str, Any], str | None]]:
    return [
        (c["choices"][0]["delta"], c["choices"][0]["finish_reason"])
        for c in payloads(lines)
        if c["choices"]
    ]


def test_text_stream_sequence() -> None:
    lines = run(TEXT_TURN)
    assert deltas(lines) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Hel"}, None),
        ({"content": 'lo "there"'}, None),
        ({}, "stop"),
    ]
    assert lines[-1] == b"data: [DONE]\n\n"
    assert all("usage" not in chunk for chunk in payloads(lines))


def test_every_chunk_carries_the_envelope() -> None:
    for chunk in payloads(run(TWO_TOOLS_TURN)):
        assert chunk["id"] == "chatcmpl-xyz"
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["created"] == 1_700_000_000
        assert chunk["model"] == "gw-main"
        assert chunk["system_fingerprint"] is None
        assert chunk["choices"][0]["index"] == 0
        assert chunk["choices"][0]["logprobs"] is None


def test_two_tool_calls_are_indexed_from_zero_counting_tool_calls_only() -> None:
    assert deltas(run(TWO_TOOLS_TURN)) == [
        ({"role": "assistant", "content": ""}, None),
        ({"reasoning_content": "Need both tools."}, None),
        ({"content": "Checking."}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "tooluse_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "tooluse_b",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 1, "function": {"arguments": '{"tz": "CET"}'}}]}, None),
        ({}, "tool_calls"),
    ]


def test_usage_chunk_comes_last_before_done_with_empty_choices() -> None:
    lines = run(TEXT_TURN, include_usage=True)
    assert lines[-1] == DONE
    chunks = payloads(lines)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 42,
        "completion_tokens": 7,
        "total_tokens": 49,
        "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    assert all(chunk["usage"] is None for chunk in chunks[:-1])


def test_usage_is_zero_when_the_upstream_reported_none() -> None:
    lines = run(TEXT_TURN[:-1], include_usage=True)
    assert payloads(lines)[-1]["usage"]["total_tokens"] == 0


def test_the_role_chunk_is_sent_even_without_message_start() -> None:
    assert deltas(run([TextDelta(0, "hi"), MessageStop(StopReason.MAX_TOKENS)])) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "hi"}, None),
        ({}, "length"),
    ]


def test_events_without_output_return_nothing() -> None:
    stream = renderer()
    stream.feed(MessageStart(id="m", model="x"))
    for event in (
        BlockStop(0),
        TextDelta(0, ""),
        ReasoningDelta(0, signature="s"),
        UsageReport(USAGE),
    ):
        assert stream.feed(event) == []


def test_error_event_ends_the_stream() -> None:
    stream = renderer(include_usage=True)
    lines = [line for event in TEXT_TURN[:2] for line in stream.feed(event)]
    error = stream.error_event(UpstreamThrottled("Too many tokens, please wait.", code="throttled"))
    assert error == [
        b'data: {"error":{"message":"Too many tokens, please wait.","type":"rate_limit_exceeded",'
        b'"param":null,"code":"throttled"}}\n\n'
    ]
    assert len(lines) == 2
    assert stream.feed(TextDelta(0, "more")) == []
    assert stream.finish() == []
    assert stream.error_event(UpstreamThrottled("again")) == []


def test_finish_is_idempotent() -> None:
    stream = renderer()
    assert stream.finish() == [DONE]
    assert stream.finish() == []


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("events", [TEXT_TURN, TWO_TOOLS_TURN], ids=["text", "tools"])
def test_every_chunk_validates_as_an_sdk_chunk(
    events: list[StreamEvent], include_usage: bool
) -> None:
    for chunk in payloads(run(events, include_usage=include_usage)):
        ChatCompletionChunk.model_validate(chunk)


def test_the_sdk_accumulator_reassembles_content_and_tool_arguments() -> None:
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for chunk in payloads(run(TWO_TOOLS_TURN, include_usage=True)):
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    final = state.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    calls = choice.message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, orjson.loads(c.function.arguments)) for c in calls] == [
        ("tooluse_a", "get_weather", {"city": "Paris"}),
        ("tooluse_b", "get_time", {"tz": "CET"}),
    ]
    assert final.usage is not None
    assert final.usage.total_tokens == 49
    assert final.model == "gw-main"


@pytest.mark.parametrize("include_usage", [False, True])
def test_a_content_chunk_is_these_bytes(include_usage: bool) -> None:
    stream = renderer(include_usage=include_usage)
    stream.feed(MessageStart(id="msg_1", model="upstream-model"))
    usage = ',"usage":null' if include_usage else ""
    for text in ("Hel", 'lo "there"\n', "\u00e9\u2028</\x00\U0001f600"):
        expected = (
            'data: {"id":"chatcmpl-xyz","object":"chat.completion.chunk","created":1700000000,'
            '"model":"gw-main","system_fingerprint":null,"choices":[{"index":0,"delta":'
            f'{{"content":{orjson.dumps(text).decode()}}},"logprobs":null,"finish_reason":null}}]'
            f"{usage}}}\n\n"
        )
        assert stream.feed(TextDelta(0, text)) == [expected.encode()]
