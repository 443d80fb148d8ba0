"""The Anthropic-shape reply: text, thinking, tool use, tool results, limits, stream events."""

from __future__ import annotations

import math
import re
from typing import Any

import orjson
import pytest

from stargate.emulator.claude_rules import CLAUDE_RULES
from stargate.emulator.messages_reply import (
    ClaudeReply,
    compose_claude_reply,
    message_body,
    message_events,
    message_id,
)
from stargate.emulator.messages_request import MessagesRequest, parse_messages_request
from stargate.emulator.prompt_cache import CacheUsage

HAIKU_45 = CLAUDE_RULES["anthropic.claude-haiku-4-5-20251001-v1:0"]
SONNET_46 = CLAUDE_RULES["anthropic.claude-sonnet-4-6"]
READ_TOOL = {
    "name": "Read",
    "description": "Read a file",
    "input_schema": {
        "type": "object",
        "properties": {"file_path": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["file_path"],
    },
}
USAGE = CacheUsage(input_tokens=12, cache_read_input_tokens=30, ephemeral_1h_input_tokens=8)
MESSAGE_ID = message_id("7f3c5a1e-0000-4000-8000-000000000000")


def request(text: str | list[Any], rules: Any = HAIKU_45, **fields: Any) -> MessagesRequest:
    data = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": fields.pop("max_tokens", 4096),
        "messages": fields.pop("messages", None) or [{"role": "user", "content": text}],
        **fields,
    }
    return parse_messages_request(orjson.dumps(data), rules)


def reply_to(parsed: MessagesRequest) -> ClaudeReply:
    return compose_claude_reply(parsed.prompt, thinking=parsed.thinking is not None)


def body_of(parsed: MessagesRequest) -> dict[str, Any]:
    return message_body(
        reply_to(parsed), model_name=parsed.rules.model_name, message_id=MESSAGE_ID, usage=USAGE
    )


def test_a_plain_message_is_quoted_in_anthropic_shape() -> None:
    parsed = request([{"type": "text", "text": "Hello"}, {"type": "text", "text": "world"}])

    body = body_of(parsed)

    text = 'This is the Stargate Bedrock emulator. You said: "Hello world".'
    assert body == {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "cache_creation_input_tokens": 8,
            "cache_read_input_tokens": 30,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 8},
            "output_tokens": math.ceil(len(text) / 4),
        },
    }


def test_message_ids_are_bedrock_message_ids() -> None:
    assert re.fullmatch(r"msg_bdrk_01[0-9A-Za-z]{24}", MESSAGE_ID)
    assert message_id("7f3c5a1e-0000-4000-8000-000000000001") != MESSAGE_ID


def test_a_named_tool_is_called_with_input_from_the_prompt() -> None:
    parsed = request("Use the Read tool with file_path=/tmp/x/notes.txt", tools=[READ_TOOL])

    body = body_of(parsed)

    lead, call = body["content"]
    assert lead == {"type": "text", "text": "I will use the Read tool."}
    assert call["type"] == "tool_use"
    assert re.fullmatch(r"toolu_bdrk_01[0-9A-Za-z]{22}", call["id"])
    assert (call["name"], call["input"]) == ("Read", {"file_path": "/tmp/x/notes.txt"})
    assert body["stop_reason"] == "tool_use"
    assert body_of(parsed)["content"][1]["id"] == call["id"]


def test_tool_results_are_quoted_whether_string_or_blocks() -> None:
    def result(content: object) -> dict[str, Any]:
        call = {"type": "tool_use", "id": "t", "name": "Read", "input": {}}
        answer = {"type": "tool_result", "tool_use_id": "t", "content": content}
        messages = [
            {"role": "user", "content": "read"},
            {"role": "assistant", "content": [call]},
            {"role": "user", "content": [answer]},
        ]
        return body_of(request("", messages=messages, tools=[READ_TOOL]))

    as_string = result("1\tnotes line")
    as_blocks = result([{"type": "text", "text": "alpha"}, {"type": "text", "text": "beta"}])

    assert as_string["content"] == [{"type": "text", "text": 'The tool returned: "1 notes line".'}]
    assert as_blocks["content"] == [{"type": "text", "text": 'The tool returned: "alpha beta".'}]


def test_stop_sequences_and_max_tokens_set_the_stop_reason() -> None:
    stopped = body_of(request("alpha omega", stop_sequences=["omega"]))
    capped = body_of(request("hello", max_tokens=3))

    assert stopped["content"][0]["text"].endswith('You said: "alpha ')
    assert (stopped["stop_reason"], stopped["stop_sequence"]) == ("stop_sequence", "omega")
    assert capped["content"] == [{"type": "text", "text": "This is the "}]
    assert (capped["stop_reason"], capped["usage"]["output_tokens"]) == ("max_tokens", 3)


def test_thinking_comes_first_with_a_deterministic_signature() -> None:
    parsed = request("Why is the sky blue?", thinking={"type": "enabled", "budget_tokens": 1024})

    first, again = body_of(parsed), body_of(parsed)

    thinking, answer = first["content"]
    assert thinking["type"] == "thinking"
    assert thinking["thinking"] == 'Thinking about: "Why is the sky blue?".'
    assert re.fullmatch(r"[A-Za-z0-9+/]{86}==", thinking["signature"])
    assert again["content"][0] == thinking
    assert answer["type"] == "text"
    assert first["usage"]["output_tokens"] == math.ceil(
        (len(thinking["thinking"]) + len(answer["text"])) / 4
    )


def test_adaptive_thinking_thinks_where_the_model_allows_it() -> None:
    body = body_of(request("hi", SONNET_46, thinking={"type": "adaptive"}))

    assert [block["type"] for block in body["content"]] == ["thinking", "text"]


def test_thinking_counts_toward_max_tokens() -> None:
    adaptive = {"type": "adaptive"}
    thinking_chars = len('Thinking about: "hi".')

    tight = body_of(request("hi", SONNET_46, thinking=adaptive, max_tokens=7))
    starved = body_of(request("hi", SONNET_46, thinking=adaptive, max_tokens=2))

    assert [block["type"] for block in tight["content"]] == ["thinking", "text"]
    assert len(tight["content"][1]["text"]) == (7 * 4 - thinking_chars) // 4 * 4
    assert (tight["stop_reason"], tight["usage"]["output_tokens"]) == ("max_tokens", 7)
    assert starved["content"][0]["thinking"] == "Thinking"
    assert len(starved["content"]) == 1
    assert (starved["stop_reason"], starved["usage"]["output_tokens"]) == ("max_tokens", 2)


def events_of(parsed: MessagesRequest) -> list[dict[str, Any]]:
    return message_events(
        reply_to(parsed), model_name=parsed.rules.model_name, message_id=MESSAGE_ID, usage=USAGE
    )


def shape(event: dict[str, Any]) -> str:
    if event["type"] == "content_block_delta":
        return str(event["delta"]["type"])
    if event["type"] == "content_block_start":
        return f"start:{event['content_block']['type']}"
    return str(event["type"])


def test_a_stream_has_anthropics_event_order() -> None:
    parsed = request(
        "Use the Read tool with file_path=/tmp/x/notes.txt",
        tools=[READ_TOOL],
        thinking={"type": "enabled", "budget_tokens": 2048},
    )

    events = events_of(parsed)

    shapes = [shape(event) for event in events]
    assert shapes == [
        "message_start",
        "start:thinking", "thinking_delta", "thinking_delta", "thinking_delta", "thinking_delta",
        "signature_delta", "content_block_stop",
        "start:text", "text_delta", "text_delta", "text_delta", "content_block_stop",
        "start:tool_use", "input_json_delta", "input_json_delta", "input_json_delta",
        "content_block_stop",
        "message_delta",
    ]  # fmt: skip
    assert [event.get("index") for event in events[1:-1]] == [0] * 7 + [1] * 5 + [2] * 5


def test_stream_events_assemble_to_the_message() -> None:
    parsed = request(
        "Use the Read tool with file_path=/tmp/x/notes.txt",
        tools=[READ_TOOL],
        thinking={"type": "enabled", "budget_tokens": 2048},
    )
    body = body_of(parsed)

    events = events_of(parsed)

    start = events[0]["message"]
    assert start == {
        "model": "claude-haiku-4-5-20251001", "id": MESSAGE_ID, "type": "message",
        "role": "assistant", "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {**body["usage"], "output_tokens": 1},
    }  # fmt: skip
    deltas = [event["delta"] for event in events if event["type"] == "content_block_delta"]
    thinking = "".join(delta.get("thinking", "") for delta in deltas)
    signature = "".join(delta.get("signature", "") for delta in deltas)
    partial = "".join(delta.get("partial_json", "") for delta in deltas)
    tool_start = next(
        event["content_block"]
        for event in events
        if event["type"] == "content_block_start" and event["index"] == 2
    )
    thinking_block, _, tool_block = body["content"]
    assert (thinking, signature) == (thinking_block["thinking"], thinking_block["signature"])
    assert tool_start == {**tool_block, "input": {}}
    assert orjson.loads(partial) == tool_block["input"]
    assert events[-1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": body["usage"]["output_tokens"]},
    }


@pytest.mark.parametrize("text", ["x", "a longer sentence with several words in it"])
def test_text_streams_as_text_deltas_of_the_reply(text: str) -> None:
    parsed = request(text)

    deltas = [event["delta"]["text"] for event in events_of(parsed) if shape(event) == "text_delta"]

    assert "".join(deltas) == body_of(parsed)["content"][0]["text"]
    assert len(deltas) >= 3
