"""The Bedrock provider's Messages dialect (InvokeModel), CountTokens and thinking on Converse,
against a scripted server."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from stargate.config.deployment import ModelInfo
from stargate.core import ChatRequest, Message, TextPart, Usage, UsageReport
from stargate.errors import (
    ConfigError,
    InternalError,
    UpstreamBadResponse,
    UpstreamInvalidRequest,
    UpstreamServerError,
    UpstreamThrottled,
    UpstreamTimeout,
)
from stargate.providers.base import CallContext, MessagesNative, TokenCounter
from stargate.providers.bedrock.claude_features import FEATURES_ENV
from stargate.providers.registry import ProviderSet
from stargate.translate.anthropic_tokens import estimate_input_tokens, estimate_request_tokens
from tests.unit.providers.bedrock.claude_code import BETAS, claude_code_body
from tests.unit.providers.bedrock.conftest import ProviderFactory, hello, make_deployment
from tests.unit.providers.bedrock.fakes import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    FakeBedrock,
    chunk,
    converse_body,
    exception_frame,
    invoke_body,
    invoke_turn,
    text_turn,
    verify_sigv4,
)

CALL = CallContext(request_id="req-test")
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
HAIKU_PATH = "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0"
HAIKU_BASE_PATH = "/model/anthropic.claude-haiku-4-5-20251001-v1%3A0"
NOVA = "us.amazon.nova-pro-v1:0"
APP_PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
SMALL = {"model": "claude", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
CANNOT_COUNT = "The provided model doesn't support counting tokens."


def assert_signed(fake: FakeBedrock) -> None:
    seen = fake.requests[-1]
    secrets = {ACCESS_KEY_ID: SECRET_ACCESS_KEY}
    assert verify_sigv4(seen.method, seen.raw_path, seen.headers, seen.body, secrets) is None


async def drain(stream: Any) -> list[dict[str, Any]]:
    async with contextlib.aclosing(stream) as events:
        return [event async for event in events]


def test_claude_deployments_speak_messages_and_count_tokens(
    make_provider: ProviderFactory,
) -> None:
    claude = make_provider(HAIKU, api="auto")
    assert isinstance(claude, MessagesNative)
    assert isinstance(claude, TokenCounter)
    assert claude.speaks_messages()
    assert make_provider(HAIKU, api="invoke").speaks_messages()
    assert not make_provider(HAIKU, api="converse").speaks_messages()
    assert not make_provider(NOVA, api="auto").speaks_messages()
    with pytest.raises(InternalError, match="does not take the Anthropic Messages dialect"):
        make_provider(NOVA, api="auto").prepare_messages(SMALL, [])


# --- messages ---------------------------------------------------------------------------------


async def test_messages_sends_the_prepared_body_signed_and_returns_the_message(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json(invoke_body("Hi!"))
    provider = make_provider(HAIKU, api="auto")
    body = claude_code_body("claude-opus-4-8", stream=False)
    result = await provider.messages(body, [BETAS], CALL)
    assert result.body == invoke_body("Hi!")
    assert result.usage == Usage(10, 3, 2000, 100)
    assert result.upstream_request_id == "11111111-2222-3333-4444-555555555555"
    seen = fake.requests[-1]
    assert seen.raw_path == f"{HAIKU_PATH}/invoke"
    assert seen.headers["accept"] == "application/json"
    sent = seen.json()
    assert sent == provider.prepare_messages(body, [BETAS]).body
    assert "model" not in sent
    assert "metadata" not in sent
    assert sent["anthropic_version"] == "bedrock-2023-05-31"
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 32000}
    assert_signed(fake)


async def test_messages_maps_http_errors_and_bad_bodies(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    provider = make_provider(HAIKU, api="auto")
    fake.answer_error(400, "ValidationException", "invalid beta flag: x")
    with pytest.raises(UpstreamInvalidRequest, match="invalid beta flag"):
        await provider.messages(SMALL, [], CALL)
    fake.answer_error(429, "ThrottlingException", "Too many requests")
    with pytest.raises(UpstreamThrottled) as throttled:
        await provider.messages(SMALL, [], CALL)
    assert throttled.value.retry_after
    fake.answer_json(["not", "a", "message"])
    with pytest.raises(UpstreamBadResponse):
        await provider.messages(SMALL, [], CALL)
    fake.answer_json({"id": "m", "content": []})
    with pytest.raises(UpstreamBadResponse, match="usage"):
        await provider.messages(SMALL, [], CALL)


async def test_messages_times_out_like_converse(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    async def slow(_: FakeBedrock, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response()

    fake.handler = slow
    with pytest.raises(UpstreamTimeout):
        await make_provider(HAIKU, api="auto", timeout=0.2).messages(SMALL, [], CALL)


# --- messages_stream --------------------------------------------------------------------------


async def test_messages_stream_yields_anthropic_events_without_bedrock_metrics(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    turn = invoke_turn("Hello there")
    fake.answer_stream([chunk(event) for event in turn], split=11)
    provider = make_provider(HAIKU, api="auto")
    events = await drain(provider.messages_stream(claude_code_body(), [BETAS], CALL))
    assert events[:-1] == turn[:-1]
    assert events[-1] == {"type": "message_stop"}
    seen = fake.requests[-1]
    assert seen.raw_path == f"{HAIKU_PATH}/invoke-with-response-stream"
    assert seen.headers["accept"] == "application/vnd.amazon.eventstream"
    assert seen.headers["x-amzn-bedrock-accept"] == "application/json"
    assert "stream" not in seen.json()
    assert_signed(fake)


async def test_messages_stream_raises_mid_stream_exceptions(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    turn = invoke_turn()
    fake.answer_stream(
        [chunk(turn[0]), chunk(turn[1]), exception_frame("modelStreamErrorException", "boom")]
    )
    received: list[dict[str, Any]] = []
    with pytest.raises(UpstreamServerError, match="boom"):
        async for event in make_provider(HAIKU, api="auto").messages_stream(SMALL, [], CALL):
            received.append(event)
    assert [e["type"] for e in received] == ["message_start", "content_block_start"]


async def test_messages_stream_that_ends_before_message_stop_is_a_bad_response(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream([chunk(event) for event in invoke_turn()[:-1]])
    with pytest.raises(UpstreamBadResponse, match="ended early"):
        await drain(make_provider(HAIKU, api="auto").messages_stream(SMALL, [], CALL))


async def test_messages_stream_http_error_comes_before_any_event(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_error(400, "ValidationException", "Malformed input request")
    with pytest.raises(UpstreamInvalidRequest):
        await drain(make_provider(HAIKU, api="auto").messages_stream(SMALL, [], CALL))


async def test_closing_a_messages_stream_closes_the_upstream_at_once(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream([chunk(invoke_turn()[0])], then_trickle=True)
    stream = make_provider(HAIKU, api="auto").messages_stream(SMALL, [], CALL)
    assert (await anext(stream))["type"] == "message_start"
    await stream.aclose()
    await asyncio.wait_for(fake.disconnected.wait(), 5)


async def test_cancelling_a_messages_stream_consumer_closes_the_upstream(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream([chunk(invoke_turn()[0])], then_trickle=True)
    first = asyncio.Event()

    async def consume() -> None:
        stream = make_provider(HAIKU, api="auto").messages_stream(SMALL, [], CALL)
        async with contextlib.aclosing(stream) as events:
            async for _ in events:
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(fake.disconnected.wait(), 5)


# --- token counting ---------------------------------------------------------------------------


async def test_count_message_tokens_is_exact_against_the_base_model_id(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json({"inputTokens": 1234})
    provider = make_provider(HAIKU, api="auto")
    count_body = {
        "model": "claude",
        "messages": [{"role": "user", "content": "x" * 100}],
        "tools": [],
    }
    count = await provider.count_message_tokens(count_body, ["token-counting-2024-11-01"], CALL)
    assert (count.input_tokens, count.exact) == (1234, True)
    seen = fake.requests[-1]
    assert seen.raw_path == f"{HAIKU_BASE_PATH}/count-tokens"
    sent = orjson.loads(base64.b64decode(seen.json()["input"]["invokeModel"]["body"]))
    assert sent["max_tokens"] == 4096  # the deployment default stands in
    assert "model" not in sent
    assert "anthropic_beta" not in sent
    assert_signed(fake)


async def test_count_message_tokens_makes_room_for_a_thinking_budget(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json({"inputTokens": 5})
    body = {**SMALL, "thinking": {"type": "enabled", "budget_tokens": 8000}}
    del body["max_tokens"]
    await make_provider(HAIKU, api="auto").count_message_tokens(body, [], CALL)
    sent = orjson.loads(base64.b64decode(fake.requests[-1].json()["input"]["invokeModel"]["body"]))
    assert sent["max_tokens"] == 8001


async def test_counting_falls_back_to_the_estimate_when_bedrock_cannot_count(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_error(400, "ValidationException", CANNOT_COUNT)
    body = claude_code_body()
    count = await make_provider(HAIKU, api="auto").count_message_tokens(body, [BETAS], CALL)
    assert (count.input_tokens, count.exact) == (estimate_input_tokens(body), False)


async def test_counting_an_opaque_arn_estimates_without_calling_bedrock(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    count = await make_provider(APP_PROFILE, api="invoke").count_message_tokens(SMALL, [], CALL)
    assert (count.input_tokens, count.exact) == (estimate_input_tokens(SMALL), False)
    assert fake.requests == []


async def test_other_count_errors_are_raised(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_error(429, "ThrottlingException", "slow down")
    with pytest.raises(UpstreamThrottled):
        await make_provider(HAIKU, api="auto").count_message_tokens(SMALL, [], CALL)


async def test_count_tokens_uses_the_converse_form(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json({"inputTokens": 9})
    provider = make_provider(NOVA, api="auto")
    count = await provider.count_tokens(hello("Count me", max_tokens=10), CALL)
    assert (count.input_tokens, count.exact) == (9, True)
    seen = fake.requests[-1]
    assert seen.raw_path == "/model/amazon.nova-pro-v1%3A0/count-tokens"
    assert seen.json() == {
        "input": {"converse": {"messages": [{"role": "user", "content": [{"text": "Count me"}]}]}}
    }
    fake.answer_error(400, "ValidationException", CANNOT_COUNT)
    request = hello("Count me")
    estimated = await provider.count_tokens(request, CALL)
    assert (estimated.input_tokens, estimated.exact) == (estimate_request_tokens(request), False)


# --- thinking on Converse ---------------------------------------------------------------------


def thinking_request(thinking: dict[str, Any], max_tokens: int | None = None) -> ChatRequest:
    return ChatRequest(
        model="m",
        messages=[Message("user", [TextPart("hi")])],
        max_tokens=max_tokens,
        extra={"thinking": thinking, "top_k": 5},
    )


async def test_converse_passes_thinking_to_claude_and_not_to_other_models(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json(converse_body())
    request = thinking_request({"type": "adaptive"}, max_tokens=8000)
    await make_provider(NOVA, api="auto").complete(request, CALL)
    assert fake.requests[-1].json()["additionalModelRequestFields"] == {"top_k": 5}
    await make_provider(HAIKU, api="converse").complete(request, CALL)
    assert fake.requests[-1].json()["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 4000},
        "top_k": 5,
    }
    assert request.extra["thinking"] == {"type": "adaptive"}, "the request is not modified"
    enabled = thinking_request({"type": "enabled", "budget_tokens": 2000})
    await make_provider(HAIKU, api="converse").complete(enabled, CALL)
    assert fake.requests[-1].json()["additionalModelRequestFields"]["thinking"] == {
        "type": "enabled",
        "budget_tokens": 2000,
    }
    tight = make_provider(HAIKU, api="converse", info=ModelInfo(max_tokens=1000))
    await tight.complete(thinking_request({"type": "adaptive"}), CALL)
    assert "thinking" not in fake.requests[-1].json()["additionalModelRequestFields"]
    claude_3 = make_provider("us.anthropic.claude-3-haiku-20240307-v1:0", api="converse")
    await claude_3.complete(enabled, CALL)
    assert "thinking" not in fake.requests[-1].json()["additionalModelRequestFields"]


# --- the provider set -------------------------------------------------------------------------


async def test_the_provider_set_reads_the_feature_table_once_and_refuses_a_bad_one(
    tmp_path: Path,
) -> None:
    keys = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
    deployments = [
        make_deployment(HAIKU, id="haiku", api="auto", **keys),
        make_deployment("us.anthropic.claude-opus-4-6-v1", id="opus", api="auto", **keys),
    ]
    override = tmp_path / "features.json"
    override.write_text(
        '{"families": {"claude-opus-4-6": '
        '{"betas": ["effort-2025-11-24"], "cache_ttl": true, "extended_thinking": true, '
        '"adaptive_thinking": true}}}'
    )
    async with await ProviderSet.open(deployments, environ={FEATURES_ENV: str(override)}) as ps:
        haiku, opus = ps.get("haiku"), ps.get("opus")
        assert isinstance(haiku, MessagesNative)
        assert isinstance(opus, MessagesNative)
        prepared = opus.prepare_messages(
            SMALL, ["effort-2025-11-24", "interleaved-thinking-2025-05-14"]
        )  # type: ignore[attr-defined]
        assert prepared.betas == ["effort-2025-11-24"]
        assert haiku.identity.family.name == "unknown Claude family"  # type: ignore[attr-defined]
    override.write_text("{}")
    with pytest.raises(ConfigError, match=FEATURES_ENV):
        await ProviderSet.open(deployments, environ={FEATURES_ENV: str(override)})


async def test_streams_survive_reads_that_hold_no_whole_frame(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream([chunk(event) for event in invoke_turn()], split=5, delay=0.002)
    events = await drain(make_provider(HAIKU, api="auto").messages_stream(SMALL, [], CALL))
    assert events[-1] == {"type": "message_stop"}
    fake.answer_stream(text_turn(), split=5, delay=0.002)
    provider = make_provider(HAIKU, api="converse")
    async with contextlib.aclosing(provider.stream(hello(), CALL)) as stream:
        converse_events = [event async for event in stream]
    assert isinstance(converse_events[-1], UsageReport)
