from __future__ import annotations

import pytest

from stargate.core import (
    BlockStop,
    MessageStart,
    MessageStop,
    ReasoningDelta,
    StopReason,
    TextDelta,
    ToolUseDelta,
    ToolUseStart,
    Usage,
    UsageReport,
)
from stargate.errors import UpstreamBadResponse
from stargate.providers.bedrock.converse_stream import ConverseStreamState

START = MessageStart("msg_1", "model-x", "req-1")


def run(*events: tuple[str, dict]) -> tuple[ConverseStreamState, list]:
    state = ConverseStreamState("msg_1", "model-x", "req-1")
    out: list = []
    for name, payload in events:
        out.extend(state.feed(name, payload))
    return state, out


METADATA = (
    "metadata",
    {
        "usage": {
            "inputTokens": 20,
            "outputTokens": 9,
            "totalTokens": 29,
            "cacheReadInputTokens": 5,
            "cacheWriteInputTokens": 2,
        },
        "metrics": {"latencyMs": 321},
        "p": "abcdefg",
    },
)


def test_full_turn_with_reasoning_text_and_tool_use() -> None:
    state, events = run(
        ("messageStart", {"role": "assistant", "p": "abc"}),
        (
            "contentBlockDelta",
            {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "The user"}}},
        ),
        (
            "contentBlockDelta",
            {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "EqQB"}}},
        ),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Let me check"}}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": " the weather."}}),
        ("contentBlockStop", {"contentBlockIndex": 1}),
        (
            "contentBlockStart",
            {
                "contentBlockIndex": 2,
                "start": {"toolUse": {"toolUseId": "tooluse_abc", "name": "get_weather"}},
            },
        ),
        (
            "contentBlockDelta",
            {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"city": '}}},
        ),
        (
            "contentBlockDelta",
            {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '"Paris"}'}}},
        ),
        ("contentBlockStop", {"contentBlockIndex": 2}),
        ("messageStop", {"stopReason": "tool_use"}),
        METADATA,
    )
    assert events == [
        START,
        ReasoningDelta(0, text="The user"),
        ReasoningDelta(0, signature="EqQB"),
        BlockStop(0),
        TextDelta(1, "Let me check"),
        TextDelta(1, " the weather."),
        BlockStop(1),
        ToolUseStart(2, "tooluse_abc", "get_weather"),
        ToolUseDelta(2, '{"city": '),
        ToolUseDelta(2, '"Paris"}'),
        BlockStop(2),
        MessageStop(StopReason.TOOL_USE),
        UsageReport(Usage(20, 9, 5, 2)),
    ]
    state.finish()


def test_redacted_reasoning_delta() -> None:
    _, events = run(
        (
            "contentBlockDelta",
            {"contentBlockIndex": 0, "delta": {"reasoningContent": {"redactedContent": "b64"}}},
        ),
    )
    assert events == [START, ReasoningDelta(0, redacted="b64")]


def test_message_start_is_emitted_even_when_bedrock_skips_it() -> None:
    _, events = run(("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}))
    assert events == [START, TextDelta(0, "x")]


def test_stop_sequence_in_message_stop() -> None:
    _, events = run(
        (
            "messageStop",
            {
                "stopReason": "stop_sequence",
                "additionalModelResponseFields": {"stop_sequence": "END"},
            },
        )
    )
    assert events[-1] == MessageStop(StopReason.STOP_SEQUENCE, "END")


def test_blocks_the_core_cannot_carry_are_skipped_without_a_gap() -> None:
    _, events = run(
        ("contentBlockStart", {"contentBlockIndex": 0, "start": {"image": {"format": "png"}}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"image": {"source": {}}}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "after"}}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"citation": {"title": "t"}}}),
        ("contentBlockStop", {"contentBlockIndex": 1}),
    )
    assert events == [START, TextDelta(0, "after"), BlockStop(0)]


def test_unknown_events_and_members_are_ignored() -> None:
    _, events = run(
        ("somethingNew", {"x": 1}),
        (
            "contentBlockDelta",
            {"contentBlockIndex": 0, "delta": {"text": "x", "extra": 1}, "p": "pad"},
        ),
        (
            "contentBlockDelta",
            {"contentBlockIndex": 0, "delta": {"reasoningContent": {"novel": 1}}},
        ),
    )
    assert events == [START, TextDelta(0, "x")]


def test_finish_after_stop_and_metadata_passes() -> None:
    state, _ = run(("messageStop", {"stopReason": "end_turn"}), METADATA)
    assert state.complete
    state.finish()


@pytest.mark.parametrize(
    ("events", "missing"),
    [
        ((), "messageStop or metadata"),
        ((("messageStop", {"stopReason": "end_turn"}),), "metadata"),
        ((METADATA,), "messageStop"),
    ],
)
def test_stream_without_stop_or_metadata_ended_early(events: tuple, missing: str) -> None:
    state, _ = run(*events)
    with pytest.raises(UpstreamBadResponse, match=f"ended early \\(no {missing}"):
        state.finish()


@pytest.mark.parametrize(
    "bad",
    [
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{"}}}),
        ("contentBlockDelta", {"contentBlockIndex": "0", "delta": {"text": "x"}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": 5}}),
        ("contentBlockDelta", {"contentBlockIndex": 0}),
        ("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"name": "n"}}}),
        ("metadata", {"usage": {"inputTokens": 1}}),
    ],
)
def test_malformed_events_are_bad_responses(bad: tuple[str, dict]) -> None:
    with pytest.raises(UpstreamBadResponse):
        run(bad)


def test_a_delta_of_another_kind_for_an_open_block_is_a_bad_response() -> None:
    with pytest.raises(UpstreamBadResponse, match="reasoning delta for a text block"):
        run(
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}),
            (
                "contentBlockDelta",
                {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "y"}}},
            ),
        )
