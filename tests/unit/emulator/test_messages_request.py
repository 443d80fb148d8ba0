"""InvokeModel body checks for Claude (each rejection with Bedrock's message) and the input rule."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from stargate.emulator.claude_rules import CLAUDE_RULES, NEVER_ACCEPTED_BETAS, ClaudeRules
from stargate.emulator.errors import BedrockError
from stargate.emulator.messages_request import MessagesRequest, parse_messages_request
from stargate.emulator.prompt import ToolChoice

HAIKU_45 = CLAUDE_RULES["anthropic.claude-haiku-4-5-20251001-v1:0"]
SONNET_4 = CLAUDE_RULES["anthropic.claude-sonnet-4-20250514-v1:0"]
SONNET_45 = CLAUDE_RULES["anthropic.claude-sonnet-4-5-20250929-v1:0"]
SONNET_46 = CLAUDE_RULES["anthropic.claude-sonnet-4-6"]
OPUS_41 = CLAUDE_RULES["anthropic.claude-opus-4-1-20250805-v1:0"]
OPUS_45 = CLAUDE_RULES["anthropic.claude-opus-4-5-20251101-v1:0"]
HAIKU_3 = CLAUDE_RULES["anthropic.claude-3-haiku-20240307-v1:0"]
READ_TOOL = {
    "name": "Read",
    "description": "Read a file",
    "input_schema": {
        "type": "object",
        "properties": {"file_path": {"type": "string"}},
        "required": ["file_path"],
    },
}
MALFORMED = "Malformed input request: {}, please reformat your input and try again."


def body(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return {**base, **fields}


def parse(data: object, rules: ClaudeRules = HAIKU_45) -> MessagesRequest:
    return parse_messages_request(orjson.dumps(data), rules)


def refusal(data: object, rules: ClaudeRules = HAIKU_45) -> str:
    with pytest.raises(BedrockError) as caught:
        parse(data, rules)
    assert (caught.value.code, caught.value.status) == ("ValidationException", 400)
    return caught.value.message


def text(value: str, **extra: object) -> dict[str, object]:
    return {"type": "text", "text": value, **extra}


# --- Bedrock's schema layer --------------------------------------------------------------------


@pytest.mark.parametrize("key", ["anthropic_version", "max_tokens", "messages"])
def test_a_missing_required_key_is_named(key: str) -> None:
    data = body()
    del data[key]

    assert refusal(data) == MALFORMED.format(f"#: required key [{key}] not found")


@pytest.mark.parametrize("key", ["model", "stream", "metadata", "service_tier"])
def test_an_extraneous_key_is_not_permitted(key: str) -> None:
    assert refusal(body(**{key: "x"})) == MALFORMED.format(
        f"#: extraneous key [{key}] is not permitted"
    )


def test_every_schema_violation_is_reported_in_one_message() -> None:
    data = body(model="claude", stream=True)
    del data["max_tokens"]

    assert refusal(data) == MALFORMED.format(
        "#: required key [max_tokens] not found"
        "#: extraneous key [model] is not permitted"
        "#: extraneous key [stream] is not permitted"
    )


def test_context_management_needs_its_beta() -> None:
    edits = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}

    refused = refusal(body(context_management=edits))
    parse(body(context_management=edits, anthropic_beta=["context-management-2025-06-27"]))

    assert refused == MALFORMED.format("#: extraneous key [context_management] is not permitted")


def test_output_config_needs_the_effort_beta_and_holds_only_effort() -> None:
    beta = ["effort-2025-11-24"]

    without_beta = refusal(body(output_config={"effort": "high"}), OPUS_45)
    with_format = refusal(
        body(output_config={"effort": "high", "format": {}}, anthropic_beta=beta), OPUS_45
    )
    parse(body(output_config={"effort": "high"}, anthropic_beta=beta), OPUS_45)

    assert without_beta == MALFORMED.format("#: extraneous key [output_config] is not permitted")
    assert with_format == MALFORMED.format(
        "#/output_config: extraneous key [format] is not permitted"
    )


def test_anthropic_version_must_be_the_bedrock_one() -> None:
    assert refusal(body(anthropic_version="2023-06-01")) == MALFORMED.format(
        "#/anthropic_version: 2023-06-01 is not a valid enum value"
    )


def test_top_level_values_of_the_wrong_type_are_named() -> None:
    assert refusal(body(max_tokens="10")) == MALFORMED.format(
        "#/max_tokens: expected type: Integer, found: String"
    )
    assert refusal(body(messages={})) == MALFORMED.format(
        "#/messages: expected type: JSONArray, found: JSONObject"
    )
    assert refusal(body(anthropic_beta=[1])) == MALFORMED.format(
        "#/anthropic_beta/0: expected type: String, found: Integer"
    )


def test_a_body_that_is_not_a_json_object_is_malformed() -> None:
    with pytest.raises(BedrockError) as caught:
        parse_messages_request(b"[1]", HAIKU_45)

    assert caught.value.message == MALFORMED.format(
        "#: expected type: JSONObject, found: JSONArray"
    )


# --- the model's checks ------------------------------------------------------------------------


@pytest.mark.parametrize("beta", sorted(NEVER_ACCEPTED_BETAS))
def test_betas_bedrock_never_accepts_are_invalid_flags(beta: str) -> None:
    betas = ["interleaved-thinking-2025-05-14", beta]

    assert refusal(body(anthropic_beta=betas)) == f"invalid beta flag: {beta}"


@pytest.mark.parametrize(
    ("rules", "beta", "accepted"),
    [
        (SONNET_45, "context-1m-2025-08-07", True),
        (SONNET_4, "context-1m-2025-08-07", True),
        (HAIKU_45, "context-1m-2025-08-07", False),
        (OPUS_45, "effort-2025-11-24", True),
        (SONNET_46, "effort-2025-11-24", True),
        (SONNET_45, "effort-2025-11-24", False),
        (OPUS_41, "token-efficient-tools-2025-02-19", True),
        (HAIKU_3, "interleaved-thinking-2025-05-14", False),
    ],
)
def test_betas_are_checked_per_model_family(rules: ClaudeRules, beta: str, accepted: bool) -> None:
    data = body(anthropic_beta=[beta])

    if accepted:
        parse(data, rules)
    else:
        assert refusal(data, rules) == f"invalid beta flag: {beta}"


def test_max_tokens_must_be_positive() -> None:
    assert refusal(body(max_tokens=0)) == "max_tokens: Input should be greater than or equal to 1"


def test_roles_other_than_user_and_assistant_are_refused() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "system", "content": "skills"},
    ]

    assert refusal(body(messages=messages)) == (
        "messages.1.role: Input should be 'user' or 'assistant'"
    )


def test_an_empty_conversation_is_refused() -> None:
    assert refusal(body(messages=[])) == "messages: at least one message is required"


def test_unknown_block_types_and_missing_fields_are_named_by_path() -> None:
    unknown = refusal(body(messages=[{"role": "user", "content": [{"type": "video"}]}]))
    untyped = refusal(body(messages=[{"role": "user", "content": [{"text": "x"}]}]))
    no_text = refusal(body(messages=[{"role": "user", "content": [{"type": "text"}]}]))

    assert unknown.startswith(
        "messages.0.content.0: Input tag 'video' found using 'type' does not match any of the "
        "expected tags: 'text', 'image',"
    )
    assert untyped == "messages.0.content.0: Unable to extract tag using discriminator 'type'"
    assert no_text == "messages.0.content.0.text.text: Field required"


@pytest.mark.parametrize("rules", [SONNET_4, OPUS_41, HAIKU_3])
def test_a_cache_ttl_is_extra_input_before_the_45_family(rules: ClaudeRules) -> None:
    one_hour = {"type": "ephemeral", "ttl": "1h"}

    in_message = refusal(
        body(messages=[{"role": "user", "content": [text("hi", cache_control=one_hour)]}]), rules
    )
    in_system = refusal(body(system=[text("terse", cache_control=one_hour)]), rules)
    in_tools = refusal(body(tools=[{**READ_TOOL, "cache_control": one_hour}]), rules)

    assert (
        in_message == "messages.0.content.0.text.cache_control.ttl: Extra inputs are not permitted"
    )
    assert in_system == "system.0.cache_control.ttl: Extra inputs are not permitted"
    assert in_tools == "tools.0.custom.cache_control.ttl: Extra inputs are not permitted"


@pytest.mark.parametrize("rules", [HAIKU_45, SONNET_45, OPUS_45, SONNET_46])
def test_a_cache_ttl_is_accepted_from_the_45_family_on(rules: ClaudeRules) -> None:
    control = {"type": "ephemeral", "ttl": "1h"}

    request = parse(body(system=[text("terse", cache_control=control)]), rules)

    assert request.segments[0].breakpoint == "1h"


def test_cache_control_must_be_ephemeral_with_a_known_ttl() -> None:
    def with_control(control: object) -> dict[str, Any]:
        return body(messages=[{"role": "user", "content": [text("hi", cache_control=control)]}])

    path = "messages.0.content.0.text.cache_control"
    assert (
        refusal(with_control({"type": "persistent"})) == f"{path}.type: Input should be 'ephemeral'"
    )
    assert refusal(with_control({"type": "ephemeral", "ttl": "10m"})) == (
        f"{path}.ttl: Input should be '5m' or '1h'"
    )
    assert refusal(with_control({"type": "ephemeral", "scope": "x"})) == (
        f"{path}.scope: Extra inputs are not permitted"
    )


def test_thinking_blocks_cannot_carry_cache_control() -> None:
    thinking = {
        "type": "thinking",
        "thinking": "hmm",
        "signature": "sig",
        "cache_control": {"type": "ephemeral"},
    }
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [thinking, text("hello")]},
        {"role": "user", "content": "again"},
    ]

    assert refusal(body(messages=messages)) == (
        "messages.1.content.0.thinking.cache_control: Extra inputs are not permitted"
    )


def test_at_most_four_blocks_may_carry_cache_control() -> None:
    cached = {"cache_control": {"type": "ephemeral"}}
    system = [text(f"part {index}", **cached) for index in range(4)]
    messages = [{"role": "user", "content": [text("hi", **cached)]}]

    assert refusal(body(system=system, messages=messages)) == (
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    )


def test_adaptive_thinking_only_on_the_models_that_have_it() -> None:
    adaptive = {"type": "adaptive"}

    assert refusal(body(thinking=adaptive), HAIKU_45) == (
        "adaptive thinking is not supported on this model"
    )
    assert refusal(body(thinking=adaptive), OPUS_45) == (
        "adaptive thinking is not supported on this model"
    )
    assert parse(body(thinking=adaptive), SONNET_46).thinking == "adaptive"


def test_a_thinking_budget_is_at_least_1024_and_below_max_tokens() -> None:
    def thinking(budget: int, max_tokens: int = 4096, **fields: Any) -> dict[str, Any]:
        return body(
            max_tokens=max_tokens, thinking={"type": "enabled", "budget_tokens": budget}, **fields
        )

    low = refusal(thinking(1000))
    high = refusal(thinking(4096))
    interleaved = parse(thinking(31999, 32000, anthropic_beta=["interleaved-thinking-2025-05-14"]))
    beyond = parse(thinking(8000, 4096, anthropic_beta=["interleaved-thinking-2025-05-14"]))

    assert low == "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    assert high.startswith("`max_tokens` must be greater than `thinking.budget_tokens`.")
    assert parse(thinking(1024)).thinking == "enabled"
    assert (interleaved.thinking, beyond.thinking) == ("enabled", "enabled")


def test_thinking_types_are_enabled_disabled_or_adaptive() -> None:
    assert parse(body(thinking={"type": "disabled"})).thinking is None
    assert refusal(body(thinking={"type": "on"})).startswith(
        "thinking: Input tag 'on' found using 'type' does not match"
    )
    assert refusal(body(thinking={"type": "enabled", "budget_tokens": 2048}), HAIKU_3) == (
        "extended thinking is not supported on this model"
    )


def test_tool_blocks_need_tools() -> None:
    messages = [
        {"role": "user", "content": "read it"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]},
    ]

    assert refusal(body(messages=messages)) == (
        "Requests which include `tool_use` or `tool_result` blocks must define tools."
    )
    assert parse(body(messages=messages, tools=[READ_TOOL])).prompt.tool_results == ("x",)


# --- what is read ------------------------------------------------------------------------------


def test_input_characters_count_tools_system_and_every_block() -> None:
    thinking = {"type": "thinking", "thinking": "mm", "signature": "s"}
    tool_use = {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/a"}}
    image = {"type": "image", "source": {"type": "base64"}}
    result = {"type": "tool_result", "tool_use_id": "t1", "content": [text("line one"), image]}
    messages = [
        {"role": "user", "content": [text("hello"), text("there")]},
        {"role": "assistant", "content": [thinking, tool_use]},
        {"role": "user", "content": [result]},
    ]
    schema = orjson.dumps(READ_TOOL["input_schema"]).decode()

    request = parse(body(tools=[READ_TOOL], system="Be terse.", messages=messages))

    chars = (
        len("Read") + len("Read a file") + len(schema)
        + len("Be terse.")
        + len("hello") + len("there")
        + len("mm") + len("Read") + len('{"file_path":"/a"}')
        + len("line one") + 1600
    )  # fmt: skip
    assert request.input_chars == chars
    assert request.prompt.input_tokens == math.ceil(chars / 4)
    assert request.prompt.turn == 3


def test_the_prompt_quotes_all_text_blocks_of_the_last_user_message() -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [text("<system-reminder>x</system-reminder>"), text("second")]},
    ]

    prompt = parse(body(messages=messages)).prompt

    assert prompt.last_user_text == "<system-reminder>x</system-reminder>\nsecond"
    assert prompt.tool_results == ()


def test_tool_results_are_read_from_string_and_block_content() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "a", "name": "Read", "input": {}},
            {"type": "tool_use", "id": "b", "name": "Read", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "a", "content": "1\tfirst line\n"},
            {"type": "tool_result", "tool_use_id": "b", "content": [text("one"), text("two")]},
        ]},
    ]  # fmt: skip

    prompt = parse(body(messages=messages, tools=[READ_TOOL])).prompt

    assert prompt.tool_results == ("1\tfirst line\n", "one two")


def test_tools_stop_sequences_and_tool_choice_reach_the_prompt() -> None:
    auto = parse(body(tools=[READ_TOOL], stop_sequences=["END"])).prompt
    forced = parse(body(tools=[READ_TOOL], tool_choice={"type": "tool", "name": "Read"})).prompt
    any_tool = parse(body(tools=[READ_TOOL], tool_choice={"type": "any"})).prompt
    none = parse(body(tools=[READ_TOOL], tool_choice={"type": "none"}))

    assert [tool.name for tool in auto.tools] == ["Read"]
    assert (auto.max_tokens, auto.stop_sequences) == (4096, ("END",))
    assert forced.tool_choice == ToolChoice("tool", "Read")
    assert any_tool.tool_choice == ToolChoice("any")
    assert none.prompt.tools == ()
    assert none.input_chars == auto_chars(READ_TOOL)


def auto_chars(tool: dict[str, Any]) -> int:
    return (
        len(tool["name"])
        + len(tool["description"])
        + len(orjson.dumps(tool["input_schema"]))
        + len("hi")
    )


def test_string_content_and_one_text_block_are_the_same_input() -> None:
    as_string = parse(body(messages=[{"role": "user", "content": "hi"}]))
    as_block = parse(
        body(
            messages=[
                {"role": "user", "content": [text("hi", cache_control={"type": "ephemeral"})]}
            ]
        )
    )

    assert as_string.segments[0].identity == as_block.segments[0].identity
    assert (as_string.segments[0].breakpoint, as_block.segments[0].breakpoint) == (None, "5m")
