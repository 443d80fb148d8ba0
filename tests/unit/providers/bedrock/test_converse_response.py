from __future__ import annotations

import logging

import pytest

from stargate.core import ChatResponse, ReasoningPart, StopReason, TextPart, ToolUsePart, Usage
from stargate.errors import UpstreamBadResponse
from stargate.providers.bedrock.converse_response import (
    BedrockStopReason,
    message_id,
    parse_converse_response,
    parse_stop_reason,
    parse_usage,
)


def parse(payload: object, request_id: str | None = "req-1") -> object:
    return parse_converse_response(payload, model="m", upstream_request_id=request_id)


def body(content: list, stop: str = "end_turn", **usage: int) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 12, "outputTokens": 48, "totalTokens": 60, **usage},
        "metrics": {"latencyMs": 842},
    }


def test_text_reasoning_and_tool_use_parts() -> None:
    response = parse_converse_response(
        body(
            [
                {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"c": 1}}},
            ],
            stop="tool_use",
        ),
        model="us.anthropic.claude",
        upstream_request_id="1111-2222",
    )
    assert response.content == [
        ReasoningPart(text="hmm", signature="sig"),
        TextPart("Let me check."),
        ToolUsePart("tooluse_1", "get_weather", {"c": 1}),
    ]
    assert response.stop_reason is StopReason.TOOL_USE
    assert response.model == "us.anthropic.claude"
    assert response.upstream_request_id == "1111-2222"
    assert response.id == "msg_bdrk_11112222"
    assert response.extra == {"upstream_latency_ms": 842}


def test_redacted_reasoning_part() -> None:
    response = parse_converse_response(
        body([{"reasoningContent": {"redactedContent": "b64=="}}]),
        model="m",
        upstream_request_id=None,
    )
    assert response.content == [ReasoningPart(redacted="b64==")]
    assert response.id.startswith("msg_bdrk_")


def test_usage_with_cache_tokens_keeps_bedrock_convention() -> None:
    response = parse_converse_response(
        body([{"text": "x"}], cacheReadInputTokens=1500, cacheWriteInputTokens=30),
        model="m",
        upstream_request_id=None,
    )
    assert response.usage == Usage(
        input_tokens=12, output_tokens=48, cache_read_tokens=1500, cache_write_tokens=30
    )
    assert response.usage.prompt_tokens == 1542


def test_citations_content_keeps_its_text() -> None:
    response = parse_converse_response(
        body([{"citationsContent": {"content": [{"text": "a"}, {"text": "b"}], "citations": []}}]),
        model="m",
        upstream_request_id=None,
    )
    assert response.content == [TextPart("ab")]


def test_unknown_block_is_dropped_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        response = parse_converse_response(
            body([{"video": {}}, {"text": "x"}]), model="m", upstream_request_id=None
        )
    assert response.content == [TextPart("x")]
    assert "video" in caplog.text


def test_stop_sequence_from_additional_fields() -> None:
    payload = body([{"text": "x"}], stop="stop_sequence")
    payload["additionalModelResponseFields"] = {"stop_sequence": "END"}
    response = parse_converse_response(payload, model="m", upstream_request_id=None)
    assert response.stop_reason is StopReason.STOP_SEQUENCE
    assert response.stop_sequence == "END"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("end_turn", StopReason.END_TURN),
        ("tool_use", StopReason.TOOL_USE),
        ("max_tokens", StopReason.MAX_TOKENS),
        ("stop_sequence", StopReason.STOP_SEQUENCE),
        ("guardrail_intervened", StopReason.CONTENT_FILTERED),
        ("content_filtered", StopReason.CONTENT_FILTERED),
        ("malformed_model_output", StopReason.END_TURN),
        ("malformed_tool_use", StopReason.END_TURN),
        ("model_context_window_exceeded", StopReason.CONTEXT_WINDOW_EXCEEDED),
    ],
)
def test_every_documented_stop_reason_maps(value: str, expected: StopReason) -> None:
    assert parse_stop_reason(value) is expected


def test_the_table_covers_every_documented_stop_reason() -> None:
    assert {reason.value for reason in BedrockStopReason} == {
        "end_turn",
        "tool_use",
        "max_tokens",
        "stop_sequence",
        "guardrail_intervened",
        "content_filtered",
        "malformed_model_output",
        "malformed_tool_use",
        "model_context_window_exceeded",
    }


def test_unknown_stop_reason_is_end_turn_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert parse_stop_reason("brand_new_reason") is StopReason.END_TURN
    assert "brand_new_reason" in caplog.text


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"stopReason": "end_turn", "usage": {"inputTokens": 1, "outputTokens": 1}},
        {"output": {"message": {"content": "nope"}}, "stopReason": "end_turn"},
        {"output": {"message": {"content": []}}, "usage": {"inputTokens": 1, "outputTokens": 1}},
        {"output": {"message": {"content": []}}, "stopReason": "end_turn"},
        {
            "output": {"message": {"content": [{"toolUse": {"toolUseId": "t", "name": "n"}}]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 1, "outputTokens": 1},
        },
    ],
)
def test_malformed_responses_are_bad_responses(payload: object) -> None:
    with pytest.raises(UpstreamBadResponse):
        parse(payload)


@pytest.mark.parametrize(
    "usage",
    [{"outputTokens": 1}, {"inputTokens": -1, "outputTokens": 1}, {"inputTokens": "3"}],
)
def test_malformed_usage_is_a_bad_response(usage: dict) -> None:
    with pytest.raises(UpstreamBadResponse, match="usage"):
        parse_usage(usage)


def test_message_id_is_derived_from_the_request_id() -> None:
    assert message_id("ab-cd") == "msg_bdrk_abcd"
    assert message_id(None) != message_id(None)


def test_every_field_of_the_response_lands_in_its_place() -> None:
    payload = body([{"text": "x"}], stop="stop_sequence", cacheReadInputTokens=5)
    payload["additionalModelResponseFields"] = {"stop_sequence": "STOP"}
    response = parse_converse_response(payload, model="the-model", upstream_request_id="a-b")
    assert response == ChatResponse(
        id="msg_bdrk_ab",
        model="the-model",
        content=[TextPart("x")],
        stop_reason=StopReason.STOP_SEQUENCE,
        usage=Usage(input_tokens=12, output_tokens=48, cache_read_tokens=5),
        stop_sequence="STOP",
        upstream_request_id="a-b",
        extra={"upstream_latency_ms": 842},
    )


@pytest.mark.parametrize(
    "usage",
    [
        {"inputTokens": True, "outputTokens": 1},
        {"inputTokens": 1, "outputTokens": -1},
        {"inputTokens": 1, "outputTokens": 1.0},
        {"inputTokens": 1, "outputTokens": 1, "cacheReadInputTokens": -2},
        {"inputTokens": 1, "outputTokens": 1, "cacheWriteInputTokens": "3"},
        {"outputTokens": 1},
    ],
)
def test_a_malformed_usage_count_is_a_bad_response(usage: dict) -> None:
    with pytest.raises(UpstreamBadResponse, match="usage"):
        parse_usage(usage)


def test_absent_or_null_cache_counts_are_zero() -> None:
    usage = {"inputTokens": 1, "outputTokens": 2, "cacheReadInputTokens": None}
    assert parse_usage(usage) == Usage(1, 2, 0, 0)


@pytest.mark.parametrize("value", [["end_turn"], None, 7, "END_TURN"])
def test_an_unknown_stop_reason_of_any_type_is_end_turn(value: object) -> None:
    assert parse_stop_reason(value) is StopReason.END_TURN


def test_a_text_block_that_is_no_string_is_a_bad_response() -> None:
    with pytest.raises(UpstreamBadResponse, match="text"):
        parse(body([{"text": 5}]))
