"""Claude through InvokeModel, and CountTokens, against the real emulator (``stargate.emulator``)
over loopback HTTP: the emulator checks every body as Bedrock does (extraneous keys, betas per
family, cache ttl, thinking), verifies SigV4, frames real event streams and scripts faults."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import orjson
import pytest

from stargate.config.deployment import Deployment
from stargate.core import ChatRequest, Message, TextPart
from stargate.emulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, EmulatorConfig, serve
from stargate.errors import (
    ConfigError,
    UpstreamAccessDenied,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamInvalidRequest,
    UpstreamServerError,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from stargate.providers.base import CallContext, MessagesNative, TokenCounter
from stargate.providers.registry import ProviderSet
from stargate.translate.anthropic_tokens import estimate_input_tokens
from stargate.translate.anthropic_usage import StreamUsage


def _claude_code_fixture() -> ModuleType:
    """The unit tests' Claude Code body (tests/integration is not a package, so it is loaded
    by path rather than imported)."""
    path = Path(__file__).parents[1] / "unit" / "providers" / "bedrock" / "claude_code.py"
    spec = importlib.util.spec_from_file_location("claude_code_fixture", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CLAUDE_CODE = _claude_code_fixture()
BETAS: str = _CLAUDE_CODE.BETAS
claude_code_body: Callable[..., dict[str, Any]] = _CLAUDE_CODE.claude_code_body

REGION = "us-east-1"
CALL = CallContext(request_id="it-invoke")
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
OPUS_46 = "global.anthropic.claude-opus-4-6-v1"
SONNET_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
APP_PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
CLAUDE_MODELS = [
    "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "us.anthropic.claude-opus-4-5-20251101-v1:0",
    "us.anthropic.claude-opus-4-1-20250805-v1:0",
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "us.anthropic.claude-sonnet-4-6",
    "global.anthropic.claude-opus-4-6-v1",
    "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
]
WEATHER = {
    "name": "get_weather",
    "description": "Get the weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def emulator() -> AsyncIterator[str]:
    config = EmulatorConfig(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, region=REGION)
    port = _free_port()
    ready = asyncio.Event()
    server = asyncio.create_task(serve(config, "127.0.0.1", port, ready=ready))
    ready_wait = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({server, ready_wait}, timeout=10, return_when="FIRST_COMPLETED")
    if server in done:
        ready_wait.cancel()
        server.result()  # raises why it stopped
    assert ready_wait in done, "the emulator did not start"
    yield f"http://127.0.0.1:{port}"
    server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server


def deployment(base_url: str, model: str, **params: Any) -> Deployment:
    return Deployment(
        id=params.pop("id", "claude"),
        model_name="claude",
        provider="bedrock",
        model=model,
        api=params.pop("api", "auto"),
        params={
            "aws_region_name": REGION,
            "aws_bedrock_runtime_endpoint": base_url,
            "aws_access_key_id": TEST_ACCESS_KEY_ID,
            "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
            **params,
        },
    )


OpenProvider = Callable[..., Any]


@pytest.fixture
async def open_provider(emulator: str) -> AsyncIterator[OpenProvider]:
    sets: list[ProviderSet] = []

    async def build(model: str = HAIKU, **params: Any) -> Any:
        providers = await ProviderSet.open([deployment(emulator, model, **params)], environ={})
        sets.append(providers)
        provider = providers.get(params.get("id", "claude"))
        assert isinstance(provider, MessagesNative)
        assert isinstance(provider, TokenCounter)
        return provider

    yield build
    for providers in sets:
        await providers.aclose()


async def emulator_json(base_url: str, path: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(f"{base_url}{path}") as r:
        return orjson.loads(await r.read())


def ask(text: str, **fields: Any) -> dict[str, Any]:
    return {
        "model": "claude-opus-4-8",
        "max_tokens": 2000,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
        **fields,
    }


async def collect(provider: Any, body: dict[str, Any], betas: list[str] | None = None) -> list:
    async with contextlib.aclosing(provider.messages_stream(body, betas or [], CALL)) as stream:
        return [event async for event in stream]


def accumulate(events: list[dict[str, Any]]) -> dict[str, Any]:
    """A message from stream events (text, thinking, tool input joined), as an SDK builds it."""
    blocks: list[dict[str, Any]] = []
    json_parts: dict[int, str] = {}
    stop_reason = None
    for event in events:
        match event["type"]:
            case "content_block_start":
                blocks.append(dict(event["content_block"]))
            case "content_block_delta":
                block, delta = blocks[event["index"]], event["delta"]
                match delta["type"]:
                    case "text_delta":
                        block["text"] += delta["text"]
                    case "thinking_delta":
                        block["thinking"] += delta["thinking"]
                    case "signature_delta":
                        block["signature"] = delta["signature"]
                    case "input_json_delta":
                        json_parts[event["index"]] = (
                            json_parts.get(event["index"], "") + delta["partial_json"]
                        )
            case "content_block_stop":
                if event["index"] in json_parts:
                    blocks[event["index"]]["input"] = orjson.loads(json_parts[event["index"]])
            case "message_delta":
                stop_reason = event["delta"]["stop_reason"]
    return {"content": blocks, "stop_reason": stop_reason}


def usage_of(events: list[dict[str, Any]]) -> Any:
    meter = StreamUsage()
    for event in events:
        meter.feed(event)
    return meter.usage


# --- messages and streams -------------------------------------------------------------------


async def test_messages_text_answer(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    result = await provider.messages(ask("Hello emulator"), [], CALL)
    body = result.body
    assert body["id"].startswith("msg_bdrk_")
    assert body["model"] == "claude-haiku-4-5-20251001"
    assert body["content"] == [
        {
            "type": "text",
            "text": 'This is the Stargate Bedrock emulator. You said: "Hello emulator".',
        }
    ]
    assert body["stop_reason"] == "end_turn"
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0
    assert result.upstream_request_id


async def test_the_stream_carries_the_same_answer_as_messages(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    whole = await provider.messages(ask("Stream me please"), [], CALL)
    events = await collect(provider, ask("Stream me please"))
    assert [e["type"] for e in events[:2]] == ["message_start", "content_block_start"]
    assert [e["type"] for e in events[-3:]] == [
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert sum(e["type"] == "content_block_delta" for e in events) >= 3
    assert events[-1] == {"type": "message_stop"}, "Bedrock's invocation metrics are removed"
    streamed = accumulate(events)
    assert streamed["content"] == whole.body["content"]
    assert streamed["stop_reason"] == "end_turn"
    assert usage_of(events) == whole.usage


async def test_tool_use_and_tool_result_round_trip(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    question = ask("Please call get_weather city=Paris", tools=[WEATHER])
    result = await provider.messages(question, [], CALL)
    assert result.body["stop_reason"] == "tool_use"
    [call] = [block for block in result.body["content"] if block["type"] == "tool_use"]
    assert (call["name"], call["input"]) == ("get_weather", {"city": "Paris"})
    assert call["id"].startswith("toolu_bdrk_")

    events = await collect(provider, question)
    streamed = accumulate(events)
    [streamed_call] = [b for b in streamed["content"] if b["type"] == "tool_use"]
    assert streamed_call["input"] == {"city": "Paris"}
    assert any(
        e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
        for e in events
    )

    follow_up = {
        **question,
        "messages": [
            *question["messages"],
            {"role": "assistant", "content": result.body["content"]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call["id"], "content": "18C and sunny"}
                ],
            },
        ],
    }
    answer = await provider.messages(follow_up, [], CALL)
    assert answer.body["stop_reason"] == "end_turn"
    assert "18C and sunny" in answer.body["content"][0]["text"]


@pytest.mark.parametrize("model", [OPUS_46, HAIKU])
async def test_thinking_adaptive_or_degraded_to_a_budget(
    open_provider: OpenProvider, model: str
) -> None:
    provider = await open_provider(model)
    body = ask("Think first", max_tokens=4000, thinking={"type": "adaptive"})
    result = await provider.messages(body, ["interleaved-thinking-2025-05-14"], CALL)
    thinking, text = result.body["content"][0], result.body["content"][-1]
    assert thinking["type"] == "thinking"
    assert thinking["thinking"]
    assert thinking["signature"]
    assert text["type"] == "text"

    events = await collect(provider, body)
    kinds = [e["delta"]["type"] for e in events if e["type"] == "content_block_delta"]
    assert "thinking_delta" in kinds
    assert "signature_delta" in kinds
    assert accumulate(events)["content"][0] == thinking

    # the signed thinking block goes back in the next turn's history
    next_turn = {
        **body,
        "messages": [
            *body["messages"],
            {"role": "assistant", "content": result.body["content"]},
            {"role": "user", "content": "And now?"},
        ],
    }
    assert (await provider.messages(next_turn, [], CALL)).body["content"]


async def test_cache_tokens_are_written_then_read(open_provider: OpenProvider) -> None:
    provider = await open_provider(SONNET_4)  # no ttl on this family: the gateway strips it
    system = [
        {
            "type": "text",
            "text": "A long and stable system prompt. " * 80,
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]
    first = await provider.messages(ask("first", system=system), [], CALL)
    assert first.usage.cache_write_tokens > 0
    assert first.usage.cache_read_tokens == 0
    second = usage_of(await collect(provider, ask("second", system=system)))
    assert second.cache_read_tokens == first.usage.cache_write_tokens
    assert second.cache_write_tokens == 0


# --- the Claude Code replay -----------------------------------------------------------------


@pytest.mark.parametrize("model", CLAUDE_MODELS)
async def test_claude_codes_body_succeeds_on_every_claude_family(
    open_provider: OpenProvider, emulator: str, model: str
) -> None:
    provider = await open_provider(model)
    for history in (False, True):
        body = claude_code_body(stream=False, history=history)
        result = await provider.messages(body, [BETAS], CALL)
        assert result.body["content"][-1]["type"] == "text"
        events = await collect(provider, claude_code_body(history=history), [BETAS])
        assert events[-1] == {"type": "message_stop"}
    stats = await emulator_json(emulator, "/_emulator/stats")
    assert not stats["errors"]


# --- token counting -------------------------------------------------------------------------


async def test_counting_is_exact_for_a_profile_id_and_matches_what_the_model_reads(
    open_provider: OpenProvider,
) -> None:
    provider = await open_provider(HAIKU)
    body = claude_code_body(stream=False)
    count = await provider.count_message_tokens(body, [BETAS], CALL)
    assert count.exact
    consumed = (await provider.messages(body, [BETAS], CALL)).usage
    assert count.input_tokens == consumed.prompt_tokens


async def test_claude_codes_count_tokens_request_is_counted_exactly(
    open_provider: OpenProvider,
) -> None:
    # what Claude Code sends before reading a large file (clients.md 1.2): no max_tokens
    body = {
        "model": "claude-opus-4-8",
        "messages": [{"role": "user", "content": "1\tsome file text\n" * 2000}],
        "tools": [],
    }
    betas = [
        "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
        "token-counting-2024-11-01"
    ]
    count = await (await open_provider(OPUS_46)).count_message_tokens(body, betas, CALL)
    assert count.exact
    assert 0 < count.input_tokens <= estimate_input_tokens(body)


async def test_counting_estimates_high_where_no_base_id_can_be_derived(
    open_provider: OpenProvider, emulator: str
) -> None:
    exact = await (await open_provider(HAIKU)).count_message_tokens(
        claude_code_body(), [BETAS], CALL
    )
    opaque = await open_provider(APP_PROFILE, api="invoke", id="opaque")
    before = await emulator_json(emulator, "/_emulator/stats")
    estimate = await opaque.count_message_tokens(claude_code_body(), [BETAS], CALL)
    assert not estimate.exact
    assert estimate.input_tokens == estimate_input_tokens(claude_code_body())
    assert estimate.input_tokens >= exact.input_tokens
    assert await emulator_json(emulator, "/_emulator/stats") == before, "no upstream call"


async def test_converse_counting_is_exact_for_claude_and_estimated_where_bedrock_cannot(
    open_provider: OpenProvider,
) -> None:
    request = ChatRequest(
        model="m", messages=[Message("user", [TextPart("How many tokens is this?")])]
    )
    claude = await open_provider(HAIKU, api="converse")
    assert (await claude.count_tokens(request, CALL)).exact
    nova = await open_provider("us.amazon.nova-micro-v1:0", id="nova")
    count = await nova.count_tokens(request, CALL)
    assert not count.exact
    assert count.input_tokens > 0


# --- start-up, model ids and faults ---------------------------------------------------------


async def test_invoke_for_a_model_that_is_not_claude_stops_start_up(emulator: str) -> None:
    nova = deployment(emulator, "us.amazon.nova-micro-v1:0", api="invoke")
    with pytest.raises(ConfigError, match="Claude models only"):
        await ProviderSet.open([nova], environ={})


async def test_a_claude_4_base_id_passes_bedrocks_on_demand_message(
    open_provider: OpenProvider,
) -> None:
    provider = await open_provider("anthropic.claude-haiku-4-5-20251001-v1:0")
    with pytest.raises(UpstreamInvalidRequest, match="inference profile"):
        await provider.messages(ask("hi"), [], CALL)


HTTP_FAULTS: list[tuple[str, type[UpstreamError]]] = [
    ("throttle", UpstreamThrottled),
    ("server-error", UpstreamServerError),
    ("unavailable", UpstreamUnavailable),
    ("access-denied", UpstreamAccessDenied),
    ("validation", UpstreamInvalidRequest),
    ("model-timeout", UpstreamTimeout),
]


@pytest.mark.parametrize(("fault", "cls"), HTTP_FAULTS)
async def test_http_faults_map_to_the_right_error(
    open_provider: OpenProvider, fault: str, cls: type[UpstreamError]
) -> None:
    provider = await open_provider()
    with pytest.raises(cls) as from_messages:
        await provider.messages(ask(f"hi [[fault:{fault}]]"), [], CALL)
    assert type(from_messages.value) is cls
    with pytest.raises(cls) as from_stream:
        await collect(provider, ask(f"hi [[fault:{fault}]]"))
    assert type(from_stream.value) is cls


@pytest.mark.parametrize(
    ("fault", "cls"),
    [("midstream-throttle", UpstreamThrottled), ("midstream-error", UpstreamServerError)],
)
async def test_mid_stream_faults_are_raised_from_the_iterator(
    open_provider: OpenProvider, fault: str, cls: type[UpstreamError]
) -> None:
    provider = await open_provider()
    received: list[dict[str, Any]] = []
    body = ask(f"A longer message to stream [[fault:{fault}]]")
    with pytest.raises(cls):
        async with contextlib.aclosing(provider.messages_stream(body, [], CALL)) as stream:
            async for event in stream:
                received.append(event)
    assert received[0]["type"] == "message_start"
    assert all(event["type"] != "message_stop" for event in received)


async def test_a_truncated_stream_ended_early(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    with pytest.raises(UpstreamBadResponse, match="ended early"):
        await collect(provider, ask("Cut me off [[fault:truncate]]"))


async def test_slow_chunks_beyond_the_stream_timeout(open_provider: OpenProvider) -> None:
    provider = await open_provider(stream_timeout=0.2)
    with pytest.raises(UpstreamTimeout):
        await collect(provider, ask("slow [[fault:slow-chunks=1000]]"))


# --- cancellation ---------------------------------------------------------------------------


async def _wait_for_cancelled(base_url: str) -> dict[str, Any]:
    for _ in range(200):
        streams: dict[str, Any] = (await emulator_json(base_url, "/_emulator/stats"))["streams"]
        if streams["cancelled"] >= 1:
            return streams
        await asyncio.sleep(0.02)
    return streams


async def test_closing_the_stream_cancels_it_upstream(
    open_provider: OpenProvider, emulator: str
) -> None:
    provider = await open_provider()
    stream = provider.messages_stream(
        ask("A long answer please [[fault:slow-chunks=100]]"), [], CALL
    )
    assert (await anext(stream))["type"] == "message_start"
    await stream.aclose()
    streams = await _wait_for_cancelled(emulator)
    assert (streams["cancelled"], streams["completed"]) == (1, 0)


async def test_cancelling_the_consumer_cancels_the_stream_upstream(
    open_provider: OpenProvider, emulator: str
) -> None:
    provider = await open_provider()
    first = asyncio.Event()

    async def consume() -> None:
        body = ask("A long answer please [[fault:slow-chunks=100]]")
        async with contextlib.aclosing(provider.messages_stream(body, [], CALL)) as stream:
            async for _ in stream:
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    streams = await _wait_for_cancelled(emulator)
    assert (streams["cancelled"], streams["completed"]) == (1, 0)
