from __future__ import annotations

import pytest

from stargate.core import (
    CacheControl,
    ChatRequest,
    DocumentPart,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
)
from stargate.errors import InvalidRequest
from stargate.providers.bedrock.converse_request import render_converse_request

WEATHER = ToolSpec(
    name="get_weather",
    description="Get weather",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
)


def render(request: ChatRequest, default_max_tokens: int = 4096) -> dict:
    return render_converse_request(request, default_max_tokens=default_max_tokens)


def request(*messages: Message, **fields: object) -> ChatRequest:
    return ChatRequest(model="m", messages=list(messages), **fields)  # type: ignore[arg-type]


def test_text_message_and_inference_config() -> None:
    body = render(
        request(
            Message("user", [TextPart("Hi")]),
            max_tokens=100,
            temperature=0.5,
            top_p=0.9,
            stop=["\n\nHuman:"],
        )
    )
    assert body == {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "inferenceConfig": {
            "maxTokens": 100,
            "temperature": 0.5,
            "topP": 0.9,
            "stopSequences": ["\n\nHuman:"],
        },
    }


def test_missing_max_tokens_uses_the_default_given() -> None:
    body = render(request(Message("user", [TextPart("Hi")])), default_max_tokens=2048)
    assert body["inferenceConfig"] == {"maxTokens": 2048}


def test_system_blocks_with_cache_point_and_blank_text_left_out() -> None:
    body = render(
        request(
            Message("user", [TextPart("Hi")]),
            system=[TextPart("You are terse.", cache=CacheControl()), TextPart("")],
        )
    )
    assert body["system"] == [{"text": "You are terse."}, {"cachePoint": {"type": "default"}}]


def test_image_bytes_and_format_from_media_type() -> None:
    body = render(
        request(
            Message(
                "user",
                [
                    ImagePart("image/png", "iVBORw0KGgo="),
                    ImagePart("image/jpeg", "/9j/4AAQ"),
                    ImagePart("image/webp", "UklGR"),
                    ImagePart("image/gif", "R0lGOD"),
                ],
            )
        )
    )
    formats = [block["image"]["format"] for block in body["messages"][0]["content"]]
    assert formats == ["png", "jpeg", "webp", "gif"]
    assert body["messages"][0]["content"][0]["image"]["source"] == {"bytes": "iVBORw0KGgo="}


def test_unsupported_image_type_is_the_callers_error() -> None:
    with pytest.raises(InvalidRequest, match="image/bmp"):
        render(request(Message("user", [ImagePart("image/bmp", "Qk0=")])))


def test_document_block() -> None:
    body = render(request(Message("user", [DocumentPart("brief", "pdf", "JVBERi0=")])))
    assert body["messages"][0]["content"] == [
        {"document": {"format": "pdf", "name": "brief", "source": {"bytes": "JVBERi0="}}}
    ]


def test_cache_points_follow_marked_parts_with_ttl() -> None:
    body = render(
        request(
            Message(
                "user",
                [
                    TextPart("long context", cache=CacheControl(ttl="1h")),
                    TextPart("question", cache=CacheControl(ttl="5m")),
                ],
            )
        )
    )
    assert body["messages"][0]["content"] == [
        {"text": "long context"},
        {"cachePoint": {"type": "default", "ttl": "1h"}},
        {"text": "question"},
        {"cachePoint": {"type": "default", "ttl": "5m"}},
    ]


def test_cache_ttl_bedrock_does_not_take_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="'5m' or '1h'"):
        render(request(Message("user", [TextPart("x", cache=CacheControl(ttl="2h"))])))


def test_tool_use_tool_result_and_reasoning_round() -> None:
    body = render(
        request(
            Message("user", [TextPart("Weather in Paris?")]),
            Message(
                "assistant",
                [
                    ReasoningPart(text="Need weather tool.", signature="EqQB"),
                    ToolUsePart("tooluse_1", "get_weather", {"city": "Paris"}),
                ],
            ),
            Message(
                "user",
                [
                    ToolResultPart(
                        "tooluse_1",
                        [TextPart("sunny", cache=CacheControl())],
                    )
                ],
            ),
            tools=[WEATHER],
        )
    )
    assistant, result = body["messages"][1], body["messages"][2]
    assert assistant["content"] == [
        {
            "reasoningContent": {
                "reasoningText": {"text": "Need weather tool.", "signature": "EqQB"}
            }
        },
        {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
    ]
    assert result["content"] == [
        {
            "toolResult": {
                "toolUseId": "tooluse_1",
                "content": [{"text": "sunny"}],
                "status": "success",
            }
        },
        {"cachePoint": {"type": "default"}},
    ]


def test_error_tool_result_and_media_inside_it() -> None:
    body = render(
        request(
            Message(
                "user",
                [
                    ToolResultPart(
                        "t1", [TextPart("boom"), ImagePart("image/png", "AAAA")], is_error=True
                    )
                ],
            )
        )
    )
    assert body["messages"][0]["content"][0]["toolResult"] == {
        "toolUseId": "t1",
        "content": [{"text": "boom"}, {"image": {"format": "png", "source": {"bytes": "AAAA"}}}],
        "status": "error",
    }


def test_redacted_reasoning() -> None:
    body = render(request(Message("assistant", [ReasoningPart(redacted="b64==")])))
    assert body["messages"][0]["content"] == [{"reasoningContent": {"redactedContent": "b64=="}}]


def test_consecutive_same_role_messages_are_merged() -> None:
    body = render(
        request(
            Message("user", [TextPart("a")]),
            Message("user", [ToolResultPart("t1", [TextPart("r1")])]),
            Message("assistant", [TextPart("b")]),
        )
    )
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    assert len(body["messages"][0]["content"]) == 2


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, None),
        (ToolChoice("auto"), {"auto": {}}),
        (ToolChoice("any"), {"any": {}}),
        (ToolChoice("tool", "get_weather"), {"tool": {"name": "get_weather"}}),
    ],
)
def test_tool_config_and_choice(choice: ToolChoice | None, expected: dict | None) -> None:
    body = render(request(Message("user", [TextPart("x")]), tools=[WEATHER], tool_choice=choice))
    assert body["toolConfig"]["tools"] == [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Get weather",
                "inputSchema": {"json": WEATHER.input_schema},
            }
        }
    ]
    assert body["toolConfig"].get("toolChoice") == expected


def test_tool_without_description_omits_it() -> None:
    body = render(
        request(Message("user", [TextPart("x")]), tools=[ToolSpec("t", None, {"type": "object"})])
    )
    assert body["toolConfig"]["tools"][0]["toolSpec"] == {
        "name": "t",
        "inputSchema": {"json": {"type": "object"}},
    }


def test_tool_choice_none_drops_tools_when_the_conversation_has_no_tool_blocks() -> None:
    body = render(
        request(Message("user", [TextPart("x")]), tools=[WEATHER], tool_choice=ToolChoice("none"))
    )
    assert "toolConfig" not in body


def test_tool_choice_none_keeps_tools_bedrock_needs_for_tool_history() -> None:
    body = render(
        request(
            Message("assistant", [ToolUsePart("t1", "get_weather", {})]),
            Message("user", [ToolResultPart("t1", [TextPart("sunny")])]),
            tools=[WEATHER],
            tool_choice=ToolChoice("none"),
        )
    )
    assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert "toolChoice" not in body["toolConfig"]


def test_named_tool_choice_without_name_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="tool name"):
        render(
            request(
                Message("user", [TextPart("x")]), tools=[WEATHER], tool_choice=ToolChoice("tool")
            )
        )


def test_no_tools_means_no_tool_config() -> None:
    body = render(request(Message("user", [TextPart("x")]), tool_choice=ToolChoice("auto")))
    assert "toolConfig" not in body


def test_extra_becomes_additional_model_request_fields() -> None:
    extra = {"top_k": 250, "thinking": {"type": "enabled", "budget_tokens": 2048}}
    body = render(request(Message("user", [TextPart("x")]), extra=extra))
    assert body["additionalModelRequestFields"] == extra
