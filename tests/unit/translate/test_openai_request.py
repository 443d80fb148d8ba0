"""parse_chat_request: top-level fields, tools, tool_choice and their rejections."""

from __future__ import annotations

from typing import Any

import pytest

from stargate.core import ChatRequest, Message, TextPart, ToolChoice, ToolSpec
from stargate.errors import InvalidRequest
from stargate.translate.openai_request import (
    MAX_STOP_SEQUENCES,
    parse_chat_request,
    stream_include_usage,
)

HELLO = [{"role": "user", "content": "hello"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def parse(**fields: Any) -> ChatRequest:
    return parse_chat_request({"model": "gw-main", "messages": HELLO, **fields})


def rejects(body: object, param: str | None, *, drop_unknown: bool = False) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_chat_request(body, drop_unknown=drop_unknown)
    assert caught.value.param == param
    assert caught.value.status == 400
    if param is not None:
        assert param in caught.value.message
    return caught.value


def test_minimal_request_has_canonical_defaults() -> None:
    request = parse()
    assert request == ChatRequest(model="gw-main", messages=[Message("user", [TextPart("hello")])])


def test_body_must_be_an_object() -> None:
    rejects([{"model": "m"}], None)


@pytest.mark.parametrize("model", [None, "", 7])
def test_model_must_be_a_non_empty_string(model: object) -> None:
    body = {"messages": HELLO} if model is None else {"model": model, "messages": HELLO}
    rejects(body, "model")


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_either_token_limit_sets_max_tokens(field: str) -> None:
    assert parse(**{field: 256}).max_tokens == 256


def test_equal_token_limits_are_accepted_together() -> None:
    assert parse(max_tokens=64, max_completion_tokens=64).max_tokens == 64


def test_conflicting_token_limits_are_rejected() -> None:
    rejects(
        {"model": "m", "messages": HELLO, "max_tokens": 64, "max_completion_tokens": 65},
        "max_completion_tokens",
    )


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
@pytest.mark.parametrize("value", [0, -1, 1.5, "10", True])
def test_token_limit_must_be_a_positive_integer(field: str, value: object) -> None:
    rejects({"model": "m", "messages": HELLO, field: value}, field)


def test_null_means_absent() -> None:
    request = parse(
        max_tokens=None,
        temperature=None,
        top_p=None,
        stop=None,
        tools=None,
        tool_choice=None,
        stream=None,
        user=None,
        n=None,
        logprobs=None,
        response_format=None,
        seed=None,
    )
    assert request == parse()


@pytest.mark.parametrize("value", [0, 0.7, 1, 1.5, 2])
def test_temperature_keeps_the_openai_range_and_passes_through(value: float) -> None:
    request = parse(temperature=value)
    assert request.temperature == value
    assert isinstance(request.temperature, float)


@pytest.mark.parametrize("value", [-0.1, 2.01, "1", True])
def test_temperature_outside_zero_to_two_is_rejected(value: object) -> None:
    err = rejects({"model": "m", "messages": HELLO, "temperature": value}, "temperature")
    assert "between 0 and 2" in err.message


def test_top_p_is_translated_and_range_checked() -> None:
    assert parse(top_p=0.9).top_p == 0.9
    rejects({"model": "m", "messages": HELLO, "top_p": 1.5}, "top_p")


def test_top_k_extension_goes_to_extra() -> None:
    assert parse(top_k=40).extra == {"top_k": 40}
    rejects({"model": "m", "messages": HELLO, "top_k": -1}, "top_k")
    rejects({"model": "m", "messages": HELLO, "top_k": 0.5}, "top_k")


def test_stop_accepts_a_string_or_a_list() -> None:
    assert parse(stop="END").stop == ["END"]
    assert parse(stop=["a", "b", "c", "d", "e"]).stop == ["a", "b", "c", "d", "e"]
    assert parse(stop=[]).stop == []


def test_stop_accepts_up_to_the_bedrock_limit() -> None:
    many = [f"s{i}" for i in range(MAX_STOP_SEQUENCES)]
    assert parse(stop=many).stop == many
    rejects({"model": "m", "messages": HELLO, "stop": [*many, "one-more"]}, "stop")


@pytest.mark.parametrize(
    ("stop", "param"), [(["ok", 3], "stop[1]"), (["ok", ""], "stop[1]"), ("", "stop"), (5, "stop")]
)
def test_stop_entries_must_be_non_empty_strings(stop: object, param: str) -> None:
    rejects({"model": "m", "messages": HELLO, "stop": stop}, param)


def test_stream_flag_and_options() -> None:
    body = {
        "model": "m",
        "messages": HELLO,
        "stream": True,
        "stream_options": {"include_usage": True, "include_obfuscation": False},
    }
    assert parse_chat_request(body).stream is True
    assert stream_include_usage(body) is True
    assert stream_include_usage({"model": "m", "messages": HELLO, "stream": True}) is False
    assert parse(stream=False).stream is False


def test_stream_options_are_type_checked() -> None:
    rejects({"model": "m", "messages": HELLO, "stream": "yes"}, "stream")
    rejects({"model": "m", "messages": HELLO, "stream_options": []}, "stream_options")
    rejects(
        {"model": "m", "messages": HELLO, "stream_options": {"include_usage": "yes"}},
        "stream_options.include_usage",
    )


def test_user_is_kept() -> None:
    assert parse(user="alice@example.com").user == "alice@example.com"
    assert parse(user="").user is None
    rejects({"model": "m", "messages": HELLO, "user": 42}, "user")


def test_reasoning_effort_goes_to_extra_for_the_provider() -> None:
    assert parse(reasoning_effort="high").extra == {"reasoning_effort": "high"}
    err = rejects(
        {"model": "m", "messages": HELLO, "reasoning_effort": "turbo"}, "reasoning_effort"
    )
    assert "medium" in err.message


def test_response_format_text_needs_nothing() -> None:
    assert parse(response_format={"type": "text"}).extra == {}


def test_response_format_json_modes_are_passed_to_the_provider() -> None:
    assert parse(response_format={"type": "json_object"}).extra == {
        "response_format": {"type": "json_object"}
    }
    spec = {"name": "answer", "schema": {"type": "object"}, "strict": True}
    assert parse(response_format={"type": "json_schema", "json_schema": spec}).extra == {
        "response_format": {"type": "json_schema", "json_schema": spec}
    }


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ("json", "response_format"),
        ({"type": "yaml"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        (
            {"type": "json_schema", "json_schema": {"schema": {}}},
            "response_format.json_schema.name",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "a", "schema": "x"}},
            "response_format.json_schema.schema",
        ),
    ],
)
def test_malformed_response_format_is_rejected(response_format: object, param: str) -> None:
    rejects({"model": "m", "messages": HELLO, "response_format": response_format}, param)


# --- tools ---------------------------------------------------------------------------------------


def test_function_tools_become_tool_specs() -> None:
    bare = {"type": "function", "function": {"name": "ping"}}
    request = parse(tools=[WEATHER, bare])
    assert request.tools == [
        ToolSpec(
            name="get_weather",
            description="Weather for a city",
            input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
        ),
        ToolSpec(name="ping", description=None, input_schema={"type": "object", "properties": {}}),
    ]


def test_strict_flag_on_a_tool_is_accepted() -> None:
    strict = {"type": "function", "function": {**WEATHER["function"], "strict": True}}  # type: ignore[dict-item]
    assert parse(tools=[strict]).tools[0].name == "get_weather"


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        ({"type": "custom", "custom": {"name": "x"}}, "tools[0].type"),
        ({"function": {"name": "x"}}, "tools[0].type"),
        ({"type": "function"}, "tools[0].function"),
        ({"type": "function", "function": {}}, "tools[0].function.name"),
        ({"type": "function", "function": {"name": "has space"}}, "tools[0].function.name"),
        ({"type": "function", "function": {"name": "x" * 65}}, "tools[0].function.name"),
        (
            {"type": "function", "function": {"name": "x", "parameters": []}},
            "tools[0].function.parameters",
        ),
        (
            {"type": "function", "function": {"name": "x", "description": 1}},
            "tools[0].function.description",
        ),
    ],
)
def test_malformed_tools_are_rejected(tool: object, param: str) -> None:
    rejects({"model": "m", "messages": HELLO, "tools": [tool]}, param)


def test_tools_must_be_an_array_of_unique_names() -> None:
    rejects({"model": "m", "messages": HELLO, "tools": WEATHER}, "tools")
    rejects(
        {"model": "m", "messages": HELLO, "tools": [WEATHER, WEATHER]}, "tools[1].function.name"
    )


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", ToolChoice("auto")),
        ("none", ToolChoice("none")),
        ("required", ToolChoice("any")),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            ToolChoice("tool", "get_weather"),
        ),
    ],
)
def test_tool_choice_is_translated(choice: object, expected: ToolChoice) -> None:
    assert parse(tools=[WEATHER], tool_choice=choice).tool_choice == expected


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_tool_choice_without_tools_says_nothing(choice: str) -> None:
    assert parse(tool_choice=choice).tool_choice is None


@pytest.mark.parametrize(
    ("choice", "tools", "param"),
    [
        ("required", None, "tool_choice"),
        ({"type": "function", "function": {"name": "get_weather"}}, None, "tool_choice"),
        (
            {"type": "function", "function": {"name": "other"}},
            [WEATHER],
            "tool_choice.function.name",
        ),
        ({"type": "function"}, [WEATHER], "tool_choice.function"),
        ({"type": "allowed_tools", "allowed_tools": {}}, [WEATHER], "tool_choice.type"),
        ("sometimes", [WEATHER], "tool_choice"),
    ],
)
def test_bad_tool_choice_is_rejected(choice: object, tools: object, param: str) -> None:
    body: dict[str, Any] = {"model": "m", "messages": HELLO, "tool_choice": choice}
    if tools is not None:
        body["tools"] = tools
    rejects(body, param)


def test_parallel_tool_calls_is_accepted_either_way() -> None:
    assert parse(tools=[WEATHER], parallel_tool_calls=False).tools[0].name == "get_weather"
    assert parse(tools=[WEATHER], parallel_tool_calls=True).tools[0].name == "get_weather"
