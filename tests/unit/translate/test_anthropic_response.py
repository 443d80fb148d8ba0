"""render_message: the canonical response -> Anthropic's ``message`` object."""

from __future__ import annotations

import pytest
from anthropic.types import Message as SdkMessage

from stargate.core import (
    ChatResponse,
    DocumentPart,
    ImagePart,
    ReasoningPart,
    StopReason,
    TextPart,
    ToolResultPart,
    ToolUsePart,
    Usage,
)
from stargate.errors import UpstreamBadResponse
from stargate.translate.anthropic_response import render_message, stop_reason

USAGE = Usage(input_tokens=11, output_tokens=22, cache_read_tokens=33, cache_write_tokens=44)


def response(*content: object, reason: StopReason = StopReason.END_TURN) -> ChatResponse:
    return ChatResponse(
        id="msg_bdrk_1",
        model="amazon.nova-pro-v1:0",
        content=list(content),  # type: ignore[arg-type]
        stop_reason=reason,
        usage=USAGE,
    )


def test_a_full_turn_renders_every_block_and_the_usage() -> None:
    rendered = render_message(
        response(
            ReasoningPart("thinking it over", "sig"),
            ReasoningPart(redacted="opaque"),
            TextPart("Calling a tool."),
            ToolUsePart("toolu_1", "get_weather", {"city": "Paris"}),
            reason=StopReason.TOOL_USE,
        ),
        request_model="claude-opus-4-8",
    )
    assert rendered == {
        "id": "msg_bdrk_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-8",
        "content": [
            {"type": "thinking", "thinking": "thinking it over", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "Calling a tool."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 11,
            "output_tokens": 22,
            "cache_creation_input_tokens": 44,
            "cache_read_input_tokens": 33,
        },
    }
    parsed = SdkMessage.model_validate(rendered)
    assert parsed.usage.cache_read_input_tokens == 33
    assert parsed.content[3].type == "tool_use"


def test_the_stop_sequence_is_echoed() -> None:
    resp = response(TextPart("a"), reason=StopReason.STOP_SEQUENCE)
    resp.stop_sequence = "END"
    rendered = render_message(resp, request_model="m")
    assert (rendered["stop_reason"], rendered["stop_sequence"]) == ("stop_sequence", "END")


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (StopReason.END_TURN, "end_turn"),
        (StopReason.MAX_TOKENS, "max_tokens"),
        (StopReason.STOP_SEQUENCE, "stop_sequence"),
        (StopReason.TOOL_USE, "tool_use"),
        (StopReason.PAUSE_TURN, "pause_turn"),
        (StopReason.REFUSAL, "refusal"),
        (StopReason.CONTENT_FILTERED, "refusal"),
        (StopReason.CONTEXT_WINDOW_EXCEEDED, "model_context_window_exceeded"),
    ],
)
def test_every_stop_reason_has_an_anthropic_value(reason: StopReason, expected: str) -> None:
    assert stop_reason(reason) == expected
    SdkMessage.model_validate(render_message(response(reason=reason), request_model="m"))


def test_the_stop_reason_table_is_total() -> None:
    assert {stop_reason(reason) for reason in StopReason} >= {"end_turn", "refusal"}


@pytest.mark.parametrize(
    "part",
    [
        ImagePart("image/png", "x"),
        DocumentPart("d", "pdf", "x"),
        ToolResultPart("t", []),
    ],
)
def test_input_only_parts_in_an_answer_are_a_bad_response(part: object) -> None:
    with pytest.raises(UpstreamBadResponse):
        render_message(response(part), request_model="m")
