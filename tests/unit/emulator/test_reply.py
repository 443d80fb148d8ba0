"""The deterministic reply: text, tool calls, tool results, stop sequences, maxTokens, usage."""

from __future__ import annotations

import math
import re

import pytest

from stargate.emulator.prompt import Prompt, ToolChoice, ToolSpec
from stargate.emulator.reply import (
    QUOTE_LIMIT,
    TextBlock,
    ToolUseBlock,
    compose_reply,
    fragments,
    quote_text,
    text_deltas,
)
from stargate.emulator.tokens import tokens_for_chars

WEATHER = ToolSpec(
    "get_weather",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
)
CLOCK = ToolSpec("get_time", {"type": "object", "properties": {}})


def prompt(text: str, **fields: object) -> Prompt:
    return Prompt(last_user_text=text, input_tokens=7, turn=1, **fields)  # type: ignore[arg-type]


def only_text(blocks: tuple[object, ...]) -> str:
    [block] = blocks
    assert isinstance(block, TextBlock)
    return block.text


def test_a_plain_prompt_is_answered_with_a_sentence_quoting_it() -> None:
    reply = compose_reply(prompt("Hello   there\n[[fault:slow-chunks=5]] friend"))

    assert only_text(reply.blocks) == (
        'This is the Stargate Bedrock emulator. You said: "Hello there friend".'
    )
    assert reply.stop_reason == "end_turn"
    assert reply.stop_sequence is None


def test_usage_is_the_token_rule_over_what_is_returned() -> None:
    reply = compose_reply(prompt("Hi"))

    assert reply.input_tokens == 7
    assert reply.output_tokens == math.ceil(len(only_text(reply.blocks)) / 4)


def test_long_prompts_are_quoted_up_to_the_limit() -> None:
    quoted = quote_text("word " * 100)

    assert len(quoted) == QUOTE_LIMIT + 3
    assert quoted.endswith("...")


def test_naming_an_offered_tool_calls_it_with_input_from_schema_and_prompt() -> None:
    reply = compose_reply(prompt("Please call get_weather for city=Paris.", tools=(WEATHER,)))

    lead, call = reply.blocks
    assert lead == TextBlock("I will use the get_weather tool.")
    assert isinstance(call, ToolUseBlock)
    assert call.name == "get_weather"
    assert call.input == {"city": "Paris"}
    assert re.fullmatch(r"tooluse_[A-Za-z0-9_-]{22}", call.tool_use_id)
    assert reply.stop_reason == "tool_use"
    assert reply.output_tokens == tokens_for_chars(
        len(lead.text) + len("get_weather") + len('{"city":"Paris"}')
    )


@pytest.mark.parametrize(
    "text",
    ["use the get_weather tool", "Use get_weather now", "using GET_WEATHER", "invoke get_weather"],
)
def test_the_documented_phrasings_trigger_a_tool_call(text: str) -> None:
    reply = compose_reply(prompt(text, tools=(WEATHER,)))

    assert reply.stop_reason == "tool_use"


@pytest.mark.parametrize(
    "text", ["what is the weather?", "call get_weather_v2", "get_weather", "recall get_weather"]
)
def test_prompts_that_do_not_ask_for_a_tool_get_text(text: str) -> None:
    reply = compose_reply(prompt(text, tools=(WEATHER,)))

    assert reply.stop_reason == "end_turn"
    assert len(reply.blocks) == 1


def test_several_named_tools_are_called_in_the_order_mentioned() -> None:
    reply = compose_reply(prompt("use get_time then call get_weather", tools=(WEATHER, CLOCK)))

    names = [block.name for block in reply.blocks if isinstance(block, ToolUseBlock)]
    ids = {block.tool_use_id for block in reply.blocks if isinstance(block, ToolUseBlock)}
    assert names == ["get_time", "get_weather"]
    assert len(ids) == 2


def test_tool_choice_any_and_tool_force_a_call_without_lead_text() -> None:
    forced_any = compose_reply(
        prompt("hello", tools=(WEATHER, CLOCK), tool_choice=ToolChoice("any"))
    )
    forced_tool = compose_reply(
        prompt("hello", tools=(WEATHER, CLOCK), tool_choice=ToolChoice("tool", "get_time"))
    )

    assert [type(block) for block in forced_any.blocks] == [ToolUseBlock]
    assert forced_any.blocks[0].name == "get_weather"  # type: ignore[union-attr]
    assert forced_tool.blocks[0].name == "get_time"  # type: ignore[union-attr]


def test_tool_ids_are_deterministic_per_conversation() -> None:
    first = compose_reply(prompt("call get_weather", tools=(WEATHER,)))
    again = compose_reply(prompt("call get_weather", tools=(WEATHER,)))
    later = compose_reply(Prompt("call get_weather", 7, turn=3, tools=(WEATHER,)))

    assert first.blocks[1] == again.blocks[1]
    assert first.blocks[1] != later.blocks[1]


def test_tool_results_are_quoted_back() -> None:
    reply = compose_reply(prompt("", tools=(WEATHER,), tool_results=('{"tempC":18}', "sunny")))

    assert only_text(reply.blocks) == 'The tool returned: "{"tempC":18} sunny".'
    assert reply.stop_reason == "end_turn"


def test_a_stop_sequence_cuts_the_text_before_it() -> None:
    reply = compose_reply(prompt("alpha STOP beta", stop_sequences=("STOP", "beta")))

    assert only_text(reply.blocks) == 'This is the Stargate Bedrock emulator. You said: "alpha '
    assert reply.stop_reason == "stop_sequence"
    assert reply.stop_sequence == "STOP"
    assert reply.output_tokens == tokens_for_chars(len(only_text(reply.blocks)))


def test_a_stop_sequence_in_the_lead_text_drops_the_tool_call() -> None:
    reply = compose_reply(prompt("call get_weather", tools=(WEATHER,), stop_sequences=("use",)))

    assert only_text(reply.blocks) == "I will "
    assert reply.stop_reason == "stop_sequence"


@pytest.mark.parametrize("max_tokens", [1, 2, 5])
def test_max_tokens_truncates_the_text_to_that_many_tokens(max_tokens: int) -> None:
    reply = compose_reply(prompt("a long enough prompt", max_tokens=max_tokens))

    assert only_text(reply.blocks) == "This is the Stargate Bedrock emulator."[: 4 * max_tokens]
    assert reply.output_tokens == max_tokens
    assert reply.stop_reason == "max_tokens"


def test_max_tokens_that_fit_the_reply_change_nothing() -> None:
    full = compose_reply(prompt("hi"))
    roomy = compose_reply(prompt("hi", max_tokens=full.output_tokens))

    assert roomy == full


def test_max_tokens_drop_a_tool_call_that_does_not_fit_whole() -> None:
    reply = compose_reply(prompt("call get_weather city=Paris", tools=(WEATHER,), max_tokens=10))

    assert only_text(reply.blocks) == "I will use the get_weather tool."
    assert reply.stop_reason == "max_tokens"
    assert reply.output_tokens == 8


def test_a_stop_sequence_beyond_the_token_budget_loses_to_max_tokens() -> None:
    reply = compose_reply(prompt("alpha STOP", stop_sequences=("STOP",), max_tokens=2))

    assert reply.stop_reason == "max_tokens"
    assert reply.stop_sequence is None


def test_text_streams_in_at_least_three_deltas_that_join_to_the_text() -> None:
    for text in ("abc", "one two", 'This is the Stargate Bedrock emulator. You said: "x".'):
        deltas = text_deltas(text)
        assert len(deltas) >= 3
        assert "".join(deltas) == text


def test_fragments_cover_the_text_in_order() -> None:
    assert fragments('{"city":"Paris"}', 3) == ['{"city', '":"Pa', 'ris"}']
    assert fragments("ab", 3) == ["a", "b"]
