"""parse_messages_request: the Anthropic Messages body -> the canonical request."""

from __future__ import annotations

import base64
from typing import Any

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
from stargate.translate.anthropic_request import parse_messages_request

HELLO = [{"role": "user", "content": "hello"}]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
PNG = "iVBORw0KGgo="


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 100, "messages": HELLO, **fields}


def parse(**fields: Any) -> ChatRequest:
    return parse_messages_request(body(**fields))


def refused(payload: object) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_messages_request(payload)
    return caught.value


def test_a_minimal_body_becomes_a_canonical_request() -> None:
    request = parse()
    assert request == ChatRequest(
        model="m", messages=[Message("user", [TextPart("hello")])], max_tokens=100
    )


def test_sampling_fields_stop_sequences_stream_and_user() -> None:
    request = parse(
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        stop_sequences=["END", "STOP"],
        stream=True,
        metadata={"user_id": '{"device_id":"d1","session_id":"s1"}'},
        service_tier="auto",
    )
    assert (request.temperature, request.top_p) == (0.2, 0.9)
    assert request.extra == {"top_k": 40}
    assert request.stop == ["END", "STOP"]
    assert request.stream is True
    assert request.user == '{"device_id":"d1","session_id":"s1"}'


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "10"}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"model": ""}, "model"),
        ({"model": None}, "model"),
        ({"messages": []}, "messages"),
        ({"messages": None}, "messages"),
        ({"temperature": 1.5}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        ({"stop_sequences": ["ok", 3]}, "stop_sequences.1"),
        ({"stream": "yes"}, "stream"),
        ({"metadata": {"user_id": 7}}, "metadata.user_id"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
        (
            {"messages": [{"role": "user", "content": [{"type": "audio"}]}]},
            "messages.0.content.0.type",
        ),
        ({"system": [{"type": "image"}]}, "system.0.type"),
        ({"system": 3}, "system"),
    ],
)
def test_bad_fields_are_400s_naming_the_field(fields: dict[str, Any], param: str) -> None:
    assert refused(body(**fields)).param == param


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert refused([1, 2]).status == 400


def test_system_string_blocks_and_cache_control() -> None:
    request = parse(
        system=[
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=1;"},
            {
                "type": "text",
                "text": "You are Claude Code.",
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "text", "text": "", "cache_control": {"type": "ephemeral"}},
            {
                "type": "text",
                "text": "Main prompt",
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            },
        ]
    )
    assert request.system == [
        TextPart("x-anthropic-billing-header: cc_version=1;"),
        TextPart("You are Claude Code.", CacheControl()),
        TextPart("Main prompt", CacheControl("1h")),
    ]
    assert parse(system="Be terse.").system == [TextPart("Be terse.")]


@pytest.mark.parametrize(
    ("cache", "param"),
    [
        ({"type": "persistent"}, "messages.0.content.0.cache_control.type"),
        ({"type": "ephemeral", "ttl": "2h"}, "messages.0.content.0.cache_control.ttl"),
        ("ephemeral", "messages.0.content.0.cache_control"),
    ],
)
def test_bad_cache_control_is_refused(cache: object, param: str) -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "a", "cache_control": cache}]}
    ]
    assert refused(body(messages=messages)).param == param


def test_system_role_messages_are_appended_to_the_system_prompt() -> None:
    request = parse(
        system="Main",
        messages=[
            {"role": "user", "content": "first"},
            {"role": "system", "content": "Agents: a, b"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
            {"role": "system", "content": [{"type": "text", "text": "Skills: c"}]},
        ],
    )
    assert request.system == [TextPart("Main"), TextPart("Agents: a, b"), TextPart("Skills: c")]
    # the user turns on either side of a system message merge into one
    assert request.messages == [Message("user", [TextPart("first"), TextPart("second")])]


def test_a_conversation_with_only_system_messages_is_refused() -> None:
    assert refused(body(messages=[{"role": "system", "content": "x"}])).param == "messages"


def test_a_tool_conversation_round_trips_every_block_kind() -> None:
    pdf = base64.b64encode(b"%PDF-1.4 ...").decode()
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/PNG", "data": PNG},
                },
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": pdf},
                    "title": "report.v2 (final)",
                    "cache_control": {"type": "ephemeral"},
                },
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "plain words"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Let me look.", "signature": "sig-1"},
                {"type": "redacted_thinking", "data": "b64redacted"},
                {"type": "text", "text": "Reading it."},
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "a"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "1\tline",
                    "cache_control": {"type": "ephemeral"},
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [
                        {"type": "text", "text": "failed"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"},
                        },
                    ],
                    "is_error": True,
                },
                {"type": "tool_result", "tool_use_id": "toolu_3"},
            ],
        },
    ]
    request = parse(messages=messages)
    assert request.messages == [
        Message(
            "user",
            [
                TextPart("What is this?"),
                ImagePart("image/png", PNG),
                DocumentPart("report v2 (final)", "pdf", pdf, CacheControl()),
                DocumentPart(
                    "document messages 0 content 3",
                    "txt",
                    base64.b64encode(b"plain words").decode(),
                ),
            ],
        ),
        Message(
            "assistant",
            [
                ReasoningPart("Let me look.", "sig-1"),
                ReasoningPart(redacted="b64redacted"),
                TextPart("Reading it."),
                ToolUsePart("toolu_1", "Read", {"path": "a"}),
            ],
        ),
        Message(
            "user",
            [
                ToolResultPart("toolu_1", [TextPart("1\tline")], cache=CacheControl()),
                ToolResultPart(
                    "toolu_2", [TextPart("failed"), ImagePart("image/gif", "R0lG")], is_error=True
                ),
                ToolResultPart("toolu_3", []),
            ],
        ),
    ]


@pytest.mark.parametrize(
    ("block", "param", "text"),
    [
        (
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            "messages.0.content.0.source.type",
            "does not fetch URLs",
        ),
        (
            {"type": "document", "source": {"type": "url", "url": "https://x/y.pdf"}},
            "messages.0.content.0.source.type",
            "does not fetch URLs",
        ),
        (
            {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
            "messages.0.content.0.source.type",
            "no Files API",
        ),
        (
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/tiff", "data": "x"},
            },
            "messages.0.content.0.source.media_type",
            "image/tiff",
        ),
        (
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "text/csv", "data": "x"},
            },
            "messages.0.content.0.source.media_type",
            "application/pdf",
        ),
        (
            {"type": "document", "source": {"type": "content", "content": []}},
            "messages.0.content.0.source.type",
            "'base64' or 'text'",
        ),
        (
            {"type": "tool_use", "id": "t", "name": "f", "input": {}},
            "messages.0.content.0.type",
            "not allowed in user messages",
        ),
        (
            {"type": "search_result", "source": "s", "title": "t", "content": []},
            "messages.0.content.0.type",
            "server-side tools",
        ),
        (
            {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "tool_result"}]},
            "messages.0.content.0.content.0.type",
            "not allowed in tool results",
        ),
        (
            {"type": "tool_result", "tool_use_id": "t", "is_error": "no"},
            "messages.0.content.0.is_error",
            "boolean",
        ),
    ],
)
def test_user_blocks_that_cannot_be_carried_are_refused(
    block: dict[str, Any], param: str, text: str
) -> None:
    err = refused(body(messages=[{"role": "user", "content": [block]}]))
    assert err.param == param
    assert text in err.message


@pytest.mark.parametrize(
    ("block", "param"),
    [
        (
            {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}},
            "messages.1.content.0.type",
        ),
        (
            {"type": "web_search_tool_result", "tool_use_id": "s", "content": []},
            "messages.1.content.0.type",
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}},
            "messages.1.content.0.type",
        ),
        ({"type": "tool_use", "id": "t", "name": "f", "input": "{}"}, "messages.1.content.0.input"),
        ({"type": "thinking", "thinking": 3}, "messages.1.content.0.thinking"),
    ],
)
def test_assistant_blocks_that_cannot_be_carried_are_refused(
    block: dict[str, Any], param: str
) -> None:
    messages = [*HELLO, {"role": "assistant", "content": [block]}]
    assert refused(body(messages=messages)).param == param


def test_empty_text_is_dropped_and_same_role_turns_merge() -> None:
    request = parse(
        messages=[
            {"role": "user", "content": "a"},
            {
                "role": "user",
                "content": [{"type": "text", "text": ""}, {"type": "text", "text": "b"}],
            },
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "c"},
        ]
    )
    assert request.messages == [Message("user", [TextPart("a"), TextPart("b"), TextPart("c")])]


# --- tools ----------------------------------------------------------------------------------


def test_custom_tools_and_every_tool_choice() -> None:
    tools = [
        {"name": "get_weather", "description": "Weather", "input_schema": SCHEMA},
        {
            "type": "custom",
            "name": "Read",
            "input_schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": False,
            },
            "cache_control": {"type": "ephemeral"},
        },
    ]
    request = parse(tools=tools)
    assert request.tools[0] == ToolSpec("get_weather", "Weather", SCHEMA)
    assert request.tools[1].name == "Read"
    assert request.tools[1].description is None
    assert request.tool_choice is None
    choices = {
        "auto": ToolChoice("auto"),
        "any": ToolChoice("any"),
        "none": ToolChoice("none"),
    }
    for kind, expected in choices.items():
        chosen = parse(tools=tools, tool_choice={"type": kind, "disable_parallel_tool_use": True})
        assert chosen.tool_choice == expected
    named = parse(tools=tools, tool_choice={"type": "tool", "name": "Read"})
    assert named.tool_choice == ToolChoice("tool", "Read")


def test_auto_and_none_without_tools_mean_nothing() -> None:
    assert parse(tool_choice={"type": "auto"}).tool_choice is None
    assert parse(tool_choice={"type": "none"}).tool_choice is None


@pytest.mark.parametrize(
    ("fields", "param", "text"),
    [
        (
            {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
            "tools.0.type",
            "built-in",
        ),
        ({"tools": [{"type": "bash_20250124", "name": "bash"}]}, "tools.0.type", "built-in"),
        ({"tools": [{"name": "bad name", "input_schema": SCHEMA}]}, "tools.0.name", "letters"),
        ({"tools": [{"name": "f"}]}, "tools.0.input_schema", "required"),
        (
            {"tools": [{"name": "f", "input_schema": {"type": "array"}}]},
            "tools.0.input_schema.type",
            "object",
        ),
        (
            {
                "tools": [
                    {"name": "f", "input_schema": SCHEMA},
                    {"name": "f", "input_schema": SCHEMA},
                ]
            },
            "tools.1.name",
            "unique",
        ),
        ({"tool_choice": {"type": "any"}}, "tool_choice", "'tools'"),
        ({"tool_choice": {"type": "tool", "name": "f"}}, "tool_choice", "'tools'"),
        (
            {
                "tools": [{"name": "f", "input_schema": SCHEMA}],
                "tool_choice": {"type": "tool", "name": "g"},
            },
            "tool_choice.name",
            "no tool named",
        ),
        ({"tool_choice": {"type": "required"}}, "tool_choice.type", "'auto'"),
        ({"tool_choice": "auto"}, "tool_choice", "object"),
    ],
)
def test_bad_tools_and_tool_choices_are_refused(
    fields: dict[str, Any], param: str, text: str
) -> None:
    err = refused(body(**fields))
    assert err.param == param
    assert text in err.message


# --- thinking and output_config -------------------------------------------------------------


def test_thinking_travels_in_extra_and_disabled_is_dropped() -> None:
    assert parse(thinking={"type": "adaptive"}).extra == {"thinking": {"type": "adaptive"}}
    enabled = parse(max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 2048})
    assert enabled.extra == {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert parse(thinking={"type": "disabled"}).extra == {}


@pytest.mark.parametrize(
    ("thinking", "param"),
    [
        ({"type": "enabled", "budget_tokens": 512}, "thinking.budget_tokens"),
        ({"type": "enabled", "budget_tokens": 5000}, "thinking.budget_tokens"),
        ({"type": "enabled"}, "thinking.budget_tokens"),
        ({"type": "auto"}, "thinking.type"),
        ("on", "thinking"),
    ],
)
def test_bad_thinking_is_refused(thinking: object, param: str) -> None:
    assert refused(body(max_tokens=4096, thinking=thinking)).param == param


def test_output_config_effort_is_accepted_and_format_is_refused() -> None:
    assert parse(output_config={"effort": "high"}).extra == {}
    err = refused(
        body(output_config={"effort": "low", "format": {"type": "json_schema", "schema": {}}})
    )
    assert err.param == "output_config.format"
    assert "structured output" in err.message
