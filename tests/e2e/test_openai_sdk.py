"""The official openai SDK against a real gateway process in front of the Bedrock emulator."""

from __future__ import annotations

import json

import openai
import pytest

from tests.e2e.processes import Gateway

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.master_key, max_retries=0)


def test_completion_returns_text_usage_and_stop(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="claude-haiku-4-5",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hello there!"},
        ],
        max_tokens=200,
    )
    choice = result.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert "Hello there!" in choice.message.content
    assert result.model == "claude-haiku-4-5"
    usage = result.usage
    assert usage is not None
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_max_tokens_cut_reports_length(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="claude-haiku-4-5",
        messages=[{"role": "user", "content": "Tell me a long story about the sea."}],
        max_tokens=2,
    )
    assert result.choices[0].finish_reason == "length"
    assert result.usage is not None
    assert result.usage.completion_tokens == 2


def test_stream_with_include_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "Stream me something"}],
        max_tokens=200,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert "Stream me something" in text
    assert finish == ["stop"]
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 3
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens


def test_stream_helper_accumulates(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="claude-haiku-4-5",
        messages=[{"role": "user", "content": "Say hi"}],
        max_tokens=100,
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "stop"
    assert "Say hi" in (final.choices[0].message.content or "")


def test_tool_call_non_stream(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="claude-haiku-4-5",
        messages=[{"role": "user", "content": "Please call get_weather with city=Paris"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        max_tokens=300,
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None
    assert len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    follow_up = client.chat.completions.create(
        model="claude-haiku-4-5",
        messages=[
            {"role": "user", "content": "Please call get_weather with city=Paris"},
            choice.message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "18 degrees and sunny"},
        ],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        max_tokens=300,
    )
    assert follow_up.choices[0].finish_reason == "stop"
    assert "18 degrees and sunny" in (follow_up.choices[0].message.content or "")


def test_tool_call_streamed(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="claude-haiku-4-5",
        messages=[{"role": "user", "content": "Please call get_weather with city=Oslo"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        max_tokens=300,
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Oslo"}
    assert calls[0].id
