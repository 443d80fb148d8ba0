"""Converse request checks and the input-token rule."""

from __future__ import annotations

import math

import orjson
import pytest

from stargate.emulator.converse_request import parse_converse_request
from stargate.emulator.errors import BedrockError
from stargate.emulator.models import ResolvedModel, resolve_model
from stargate.emulator.prompt import ToolChoice

NOVA = resolve_model("amazon.nova-micro-v1:0")
MISTRAL_7B = resolve_model("mistral.mistral-7b-instruct-v0:2")
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


def parse(body: object, model: ResolvedModel = NOVA):  # type: ignore[no-untyped-def]
    return parse_converse_request(orjson.dumps(body), model)


def refusal(body: object, model: ResolvedModel = NOVA) -> BedrockError:
    with pytest.raises(BedrockError) as caught:
        parse(body, model)
    assert caught.value.status == 400
    return caught.value


def user(*blocks: object) -> dict[str, object]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: object) -> dict[str, object]:
    return {"role": "assistant", "content": list(blocks)}


def test_input_tokens_count_system_messages_and_tool_specs() -> None:
    tool_use = {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}
    body = {
        "system": [{"text": "You are terse."}, {"cachePoint": {"type": "default"}}],
        "messages": [
            user({"text": "weather?"}, {"image": {"format": "png", "source": {"bytes": "AAAA"}}}),
            assistant({"toolUse": tool_use}),
            user(
                {
                    "toolResult": {
                        "toolUseId": "t1",
                        "content": [{"json": {"tempC": 18}}, {"text": "sunny"}],
                    }
                }
            ),
        ],
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_weather",
                        "description": "Get weather",
                        "inputSchema": {"json": WEATHER_SCHEMA},
                    }
                },
                {"cachePoint": {"type": "default"}},
            ]
        },
    }
    chars = (
        len("You are terse.")
        + len("weather?")
        + 1600
        + len("get_weather") + len('{"city":"Paris"}')
        + len('{"tempC":18}') + len("sunny")
        + len("get_weather") + len("Get weather") + len(orjson.dumps(WEATHER_SCHEMA))
    )  # fmt: skip

    request = parse(body)

    assert request.prompt.input_tokens == math.ceil(chars / 4)
    assert request.prompt.tool_results == ('{"tempC":18} sunny',)
    assert request.prompt.last_user_text == ""
    assert request.prompt.turn == 3
    assert [tool.name for tool in request.prompt.tools] == ["get_weather"]


def test_the_last_user_message_is_read_even_before_an_assistant_prefill() -> None:
    body = {
        "messages": [user({"text": "first"}, {"text": "second"}), assistant({"text": "Sure"})],
        "inferenceConfig": {"maxTokens": 12, "stopSequences": ["END"]},
        "additionalModelResponseFieldPaths": ["/stop_sequence"],
    }

    request = parse(body)

    assert request.prompt.last_user_text == "first\nsecond"
    assert (request.prompt.max_tokens, request.prompt.stop_sequences) == (12, ("END",))
    assert request.response_field_paths == ("/stop_sequence",)


def test_tool_choice_is_read() -> None:
    tools = {"tools": [{"toolSpec": {"name": "a", "inputSchema": {"json": {}}}}]}

    forced = parse(
        {
            "messages": [user({"text": "x"})],
            "toolConfig": {**tools, "toolChoice": {"tool": {"name": "a"}}},
        }
    )
    anything = parse(
        {"messages": [user({"text": "x"})], "toolConfig": {**tools, "toolChoice": {"any": {}}}}
    )

    assert forced.prompt.tool_choice == ToolChoice("tool", "a")
    assert anything.prompt.tool_choice == ToolChoice("any")


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ({"messages": []}, "at 'messages'"),
        ({}, "Value 'null' at 'messages'"),
        ({"messages": [assistant({"text": "x"})]}, "must start with a user message"),
        ({"messages": [user({"text": "a"}), user({"text": "b"})]}, "must alternate"),
        ({"messages": [{"role": "robot", "content": []}]}, "messages.0.role"),
        ({"messages": [user({"text": "a", "image": {}})]}, "exactly one member"),
        ({"messages": [user({"sticker": {}})]}, "unknown member 'sticker'"),
        (
            {"messages": [user({"toolResult": {"toolUseId": "t", "content": [{"text": "r"}]}})]},
            "The toolConfig field must be defined",
        ),
        (
            {"messages": [user({"text": "a"})], "inferenceConfig": {"maxTokens": 0}},
            "greater than or equal to 1",
        ),
        ({"messages": [user({"text": "a"})], "toolConfig": {"tools": []}}, "toolConfig.tools"),
        (
            {
                "messages": [user({"text": "a"})],
                "toolConfig": {
                    "tools": [{"toolSpec": {"name": "a", "inputSchema": {"json": {}}}}],
                    "toolChoice": {"tool": {"name": "b"}},
                },
            },
            "toolChoice",
        ),
        ({"messages": [user({"text": "a"})], "system": [{"image": {}}]}, "system.0"),
    ],
)
def test_malformed_requests_are_validation_errors(body: object, phrase: str) -> None:
    error = refusal(body)

    assert error.code == "ValidationException"
    assert phrase in error.message


def test_tools_for_a_model_without_tool_use_are_refused() -> None:
    body = {
        "messages": [user({"text": "a"})],
        "toolConfig": {"tools": [{"toolSpec": {"name": "a", "inputSchema": {"json": {}}}}]},
    }

    assert refusal(body, MISTRAL_7B).message == "This model doesn't support tool use."


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]"])
def test_a_body_that_is_not_a_json_object_is_a_serialization_error(raw: bytes) -> None:
    with pytest.raises(BedrockError) as caught:
        parse_converse_request(raw, NOVA)

    assert (caught.value.code, caught.value.status) == ("SerializationException", 400)
