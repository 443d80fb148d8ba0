"""render_chat_response: the chat.completion shape, finish reasons and usage."""

from __future__ import annotations

import orjson
import pytest
from openai.types.chat import ChatCompletion

from stargate.core import (
    ChatResponse,
    ContentPart,
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
from stargate.translate.openai_response import finish_reason, render_chat_response

USAGE = Usage(input_tokens=10, output_tokens=5, cache_read_tokens=100, cache_write_tokens=20)


def render(content: list[ContentPart], stop: StopReason = StopReason.END_TURN) -> dict[str, object]:
    response = ChatResponse(
        id="msg_upstream",
        model="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        content=content,
        stop_reason=stop,
        usage=USAGE,
    )
    return render_chat_response(
        response, request_model="gw-main", created=1_700_000_000, response_id="chatcmpl-abc"
    )


def test_text_response_has_the_openai_shape() -> None:
    rendered = render([TextPart("Hello"), TextPart(", world")])
    assert rendered == {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gw-main",
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello, world", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 130,
            "completion_tokens": 5,
            "total_tokens": 135,
            "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    parsed = ChatCompletion.model_validate(rendered)
    assert parsed.choices[0].message.content == "Hello, world"
    assert parsed.usage is not None
    assert parsed.usage.prompt_tokens_details is not None
    assert parsed.usage.prompt_tokens_details.cached_tokens == 100


def test_tool_calls_only_give_null_content_and_compact_json_arguments() -> None:
    rendered = render(
        [
            ToolUsePart(id="tooluse_1", name="get_weather", input={"city": "Paris", "days": 2}),
            ToolUsePart(id="tooluse_2", name="get_time", input={}),
        ],
        StopReason.TOOL_USE,
    )
    parsed = ChatCompletion.model_validate(rendered)
    choice = parsed.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert calls is not None
    assert [(c.id, c.type, c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
        ("tooluse_1", "function", "get_weather", '{"city":"Paris","days":2}'),
        ("tooluse_2", "function", "get_time", "{}"),
    ]


def test_text_and_tool_calls_together() -> None:
    rendered = render(
        [TextPart("Let me check."), ToolUsePart(id="t", name="f", input={"a": [1]})],
        StopReason.TOOL_USE,
    )
    message = ChatCompletion.model_validate(rendered).choices[0].message
    assert message.content == "Let me check."
    assert message.tool_calls is not None
    assert orjson.loads(message.tool_calls[0].function.arguments) == {"a": [1]}  # type: ignore[union-attr]


def test_empty_turn_has_empty_string_content_and_no_tool_calls_key() -> None:
    rendered = render([], StopReason.MAX_TOKENS)
    message = rendered["choices"][0]["message"]  # type: ignore[index]
    assert message == {"role": "assistant", "content": "", "refusal": None}
    assert ChatCompletion.model_validate(rendered).choices[0].finish_reason == "length"


def test_reasoning_is_reasoning_content_and_signatures_stay_out() -> None:
    rendered = render(
        [
            ReasoningPart(text="The user wants ", signature=None),
            ReasoningPart(text="a greeting.", signature="EqQBCkYI"),
            ReasoningPart(redacted="c2VjcmV0"),
            TextPart("Hi!"),
        ]
    )
    message = rendered["choices"][0]["message"]  # type: ignore[index]
    assert message["reasoning_content"] == "The user wants a greeting."
    assert message["content"] == "Hi!"
    assert "EqQBCkYI" not in orjson.dumps(rendered).decode()
    parsed = ChatCompletion.model_validate(rendered).choices[0].message
    assert parsed.model_extra == {"reasoning_content": "The user wants a greeting."}


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (StopReason.END_TURN, "stop"),
        (StopReason.STOP_SEQUENCE, "stop"),
        (StopReason.PAUSE_TURN, "stop"),
        (StopReason.MAX_TOKENS, "length"),
        (StopReason.CONTEXT_WINDOW_EXCEEDED, "length"),
        (StopReason.TOOL_USE, "tool_calls"),
        (StopReason.CONTENT_FILTERED, "content_filter"),
        (StopReason.REFUSAL, "content_filter"),
    ],
)
def test_every_stop_reason_has_a_finish_reason(reason: StopReason, expected: str) -> None:
    assert finish_reason(reason) == expected
    assert (
        ChatCompletion.model_validate(render([TextPart("x")], reason)).choices[0].finish_reason
        == expected
    )


def test_the_finish_reason_table_is_total() -> None:
    assert {finish_reason(reason) for reason in StopReason} == {
        "stop",
        "length",
        "tool_calls",
        "content_filter",
    }


@pytest.mark.parametrize(
    "part",
    [
        ImagePart("image/png", "AA=="),
        DocumentPart("d", "pdf", "AA=="),
        ToolResultPart(tool_use_id="t", content=[]),
    ],
)
def test_input_only_parts_in_an_answer_are_an_upstream_error(part: ContentPart) -> None:
    with pytest.raises(UpstreamBadResponse):
        render([part])
