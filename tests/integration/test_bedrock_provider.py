"""The Bedrock provider against the real emulator (``stargate.emulator``) over loopback HTTP:
real SigV4 verification, real event-stream framing, scripted faults."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson
import pytest

from stargate.config.deployment import Deployment
from stargate.core import (
    BlockStop,
    ChatRequest,
    Message,
    MessageStart,
    MessageStop,
    StopReason,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    ToolUseDelta,
    ToolUsePart,
    ToolUseStart,
    UsageReport,
)
from stargate.emulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, EmulatorConfig, serve
from stargate.errors import (
    UpstreamAccessDenied,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamInvalidRequest,
    UpstreamServerError,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from stargate.providers.base import CallContext, Provider
from stargate.providers.registry import ProviderSet

REGION = "us-east-1"
BEARER = "emulator-bearer-token"
PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
CALL = CallContext(request_id="it-1")
WEATHER = ToolSpec(
    name="get_weather",
    description="Get the weather for a city",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def emulator() -> AsyncIterator[str]:
    config = EmulatorConfig(
        TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, bearer_token=BEARER, region=REGION
    )
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


def deployment(base_url: str, model: str = PROFILE, **params: Any) -> Deployment:
    credentials = params.pop(
        "credentials",
        {"aws_access_key_id": TEST_ACCESS_KEY_ID, "aws_secret_access_key": TEST_SECRET_ACCESS_KEY},
    )
    return Deployment(
        id=params.pop("id", "haiku"),
        model_name="haiku",
        provider="bedrock",
        model=model,
        params={
            "aws_region_name": REGION,
            "aws_bedrock_runtime_endpoint": base_url,
            **credentials,
            **params,
        },
    )


OpenProvider = Callable[..., Any]


@pytest.fixture
async def open_provider(emulator: str) -> AsyncIterator[OpenProvider]:
    sets: list[ProviderSet] = []

    async def build(model: str = PROFILE, **params: Any) -> Provider:
        providers = await ProviderSet.open([deployment(emulator, model, **params)], environ={})
        sets.append(providers)
        return providers.get(params.get("id", "haiku"))

    yield build
    for providers in sets:
        await providers.aclose()


async def stats(base_url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{base_url}/_emulator/stats") as r:
        body: dict[str, Any] = orjson.loads(await r.read())
        return body


def ask(text: str, **fields: Any) -> ChatRequest:
    return ChatRequest(model="haiku", messages=[Message("user", [TextPart(text)])], **fields)


async def collect(provider: Provider, request: ChatRequest, call: CallContext = CALL) -> list:
    async with contextlib.aclosing(provider.stream(request, call)) as stream:
        return [event async for event in stream]


def streamed_text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --- the happy paths ---------------------------------------------------------------------------


async def test_complete(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    response = await provider.complete(ask("Hello emulator"), CALL)
    assert response.content == [
        TextPart('This is the Stargate Bedrock emulator. You said: "Hello emulator".')
    ]
    assert response.stop_reason is StopReason.END_TURN
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0
    assert response.upstream_request_id


async def test_stream_matches_complete(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    whole = await provider.complete(ask("Stream me"), CALL)
    events = await collect(provider, ask("Stream me"))
    assert isinstance(events[0], MessageStart)
    assert events[0].upstream_request_id
    assert isinstance(events[-2], MessageStop)
    assert events[-2].stop_reason is StopReason.END_TURN
    assert isinstance(events[-1], UsageReport)
    assert events[-1].usage == whole.usage
    assert sum(isinstance(e, TextDelta) for e in events) >= 3
    assert [TextPart(streamed_text(events))] == whole.content
    assert BlockStop(0) in events


async def test_stop_sequence_and_max_tokens(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    stopped = await provider.complete(ask("Hello emulator", stop=["emulator"]), CALL)
    assert stopped.stop_reason is StopReason.STOP_SEQUENCE
    short = await provider.complete(ask("Hello emulator", max_tokens=2), CALL)
    assert short.stop_reason is StopReason.MAX_TOKENS
    assert short.usage.output_tokens <= 2


async def test_tools_complete_and_tool_result_round_trip(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    request = ask("Please call get_weather city=Paris", tools=[WEATHER])
    response = await provider.complete(request, CALL)
    assert response.stop_reason is StopReason.TOOL_USE
    calls = [part for part in response.content if isinstance(part, ToolUsePart)]
    assert len(calls) == 1
    assert calls[0].name == "get_weather"
    assert calls[0].input == {"city": "Paris"}

    follow_up = ChatRequest(
        model="haiku",
        messages=[
            *request.messages,
            Message("assistant", response.content),
            Message("user", [ToolResultPart(calls[0].id, [TextPart("18C and sunny")])]),
        ],
        tools=[WEATHER],
    )
    answer = await provider.complete(follow_up, CALL)
    assert answer.stop_reason is StopReason.END_TURN
    assert "18C and sunny" in answer.content[0].text  # type: ignore[union-attr]


async def test_tools_stream(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    events = await collect(
        provider,
        ask("anything", tools=[WEATHER], tool_choice=ToolChoice("tool", "get_weather")),
    )
    starts = [e for e in events if isinstance(e, ToolUseStart)]
    assert len(starts) == 1
    assert starts[0].name == "get_weather"
    fragments = [e.partial_json for e in events if isinstance(e, ToolUseDelta)]
    assert orjson.loads("".join(fragments)) == {"city": "sample"}
    assert BlockStop(starts[0].index) in events
    stop = next(e for e in events if isinstance(e, MessageStop))
    assert stop.stop_reason is StopReason.TOOL_USE


# --- signatures and model ids ------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ],
)
async def test_signature_holds_for_profile_ids_and_arns(
    open_provider: OpenProvider, emulator: str, model: str
) -> None:
    provider = await open_provider(model)
    assert (await provider.complete(ask("hi"), CALL)).content
    assert isinstance((await collect(provider, ask("hi")))[-1], UsageReport)
    assert not (await stats(emulator))["errors"]


async def test_session_credentials_and_bearer_api_keys_are_accepted(
    open_provider: OpenProvider,
) -> None:
    session = await open_provider(
        credentials={
            "aws_access_key_id": TEST_ACCESS_KEY_ID,
            "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
            "aws_session_token": "session-token-1",
        }
    )
    assert (await session.complete(ask("hi"), CALL)).content
    bearer = await open_provider(credentials={"aws_bedrock_api_key": BEARER})
    assert (await bearer.complete(ask("hi"), CALL)).content
    assert isinstance((await collect(bearer, ask("hi")))[-1], UsageReport)


async def test_wrong_secret_blames_the_gateways_credentials(open_provider: OpenProvider) -> None:
    provider = await open_provider(
        credentials={"aws_access_key_id": TEST_ACCESS_KEY_ID, "aws_secret_access_key": "wrong"}
    )
    with pytest.raises(UpstreamServerError, match="gateway's AWS credentials") as caught:
        await provider.complete(ask("hi"), CALL)
    assert caught.value.code == "InvalidSignatureException"
    assert "wrong" not in caught.value.message


async def test_unknown_key_and_bad_bearer_are_refused_credentials(
    open_provider: OpenProvider,
) -> None:
    unknown = await open_provider(
        credentials={"aws_access_key_id": "AKIDUNKNOWN", "aws_secret_access_key": "x"}
    )
    with pytest.raises(UpstreamServerError, match="gateway's AWS credentials"):
        await unknown.complete(ask("hi"), CALL)
    bad_bearer = await open_provider(credentials={"aws_bedrock_api_key": "nope"})
    with pytest.raises(UpstreamServerError, match="gateway's AWS credentials"):
        await collect(bad_bearer, ask("hi"))


async def test_on_demand_base_id_and_unknown_model_pass_bedrocks_message(
    open_provider: OpenProvider,
) -> None:
    base = await open_provider("anthropic.claude-sonnet-4-5-20250929-v1:0")
    with pytest.raises(UpstreamInvalidRequest, match="inference profile"):
        await base.complete(ask("hi"), CALL)
    unknown = await open_provider("us.vendor.no-such-model-v1:0")
    with pytest.raises(UpstreamInvalidRequest, match="model identifier is invalid"):
        await unknown.complete(ask("hi"), CALL)


# --- faults ------------------------------------------------------------------------------------

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
    with pytest.raises(cls) as from_complete:
        await provider.complete(ask(f"hi [[fault:{fault}]]"), CALL)
    assert type(from_complete.value) is cls
    with pytest.raises(cls) as from_stream:
        await collect(provider, ask(f"hi [[fault:{fault}]]"))
    assert type(from_stream.value) is cls


async def test_throttling_carries_a_retry_hint_and_access_denied_names_the_model(
    open_provider: OpenProvider,
) -> None:
    provider = await open_provider()
    with pytest.raises(UpstreamThrottled) as throttled:
        await provider.complete(ask("[[fault:throttle]]"), CALL)
    assert throttled.value.retry_after
    with pytest.raises(UpstreamAccessDenied) as denied:
        await provider.complete(ask("[[fault:access-denied]]"), CALL)
    assert "Model access is not granted" in denied.value.message
    assert PROFILE in denied.value.message


async def test_a_fault_header_forwarded_by_the_caller(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    call = CallContext("it-2", forward_headers={"x-emulator-fault": "unavailable"})
    with pytest.raises(UpstreamUnavailable):
        await provider.complete(ask("hi"), call)


@pytest.mark.parametrize(
    ("fault", "cls"),
    [("midstream-throttle", UpstreamThrottled), ("midstream-error", UpstreamServerError)],
)
async def test_mid_stream_faults_are_raised_from_the_iterator(
    open_provider: OpenProvider, fault: str, cls: type[UpstreamError]
) -> None:
    provider = await open_provider()
    received: list[StreamEvent] = []
    with pytest.raises(cls):
        async with contextlib.aclosing(
            provider.stream(ask(f"A longer message to stream [[fault:{fault}]]"), CALL)
        ) as stream:
            async for event in stream:
                received.append(event)
    assert isinstance(received[0], MessageStart)
    assert not any(isinstance(e, UsageReport) for e in received)


async def test_a_truncated_stream_ended_early(open_provider: OpenProvider) -> None:
    provider = await open_provider()
    with pytest.raises(UpstreamBadResponse, match="ended early"):
        await collect(provider, ask("Cut me off [[fault:truncate]]"))


async def test_slow_chunks_beyond_the_stream_timeout(open_provider: OpenProvider) -> None:
    provider = await open_provider(stream_timeout=0.2)
    with pytest.raises(UpstreamTimeout):
        await collect(provider, ask("slow [[fault:slow-chunks=1000]]"))


async def test_slow_chunks_within_the_stream_timeout_complete(open_provider: OpenProvider) -> None:
    provider = await open_provider(stream_timeout=2)
    events = await collect(provider, ask("slow [[fault:slow-chunks=20]]"))
    assert isinstance(events[-1], UsageReport)


async def test_slow_first_byte_beyond_the_timeout(open_provider: OpenProvider) -> None:
    provider = await open_provider(timeout=0.2)
    with pytest.raises(UpstreamTimeout):
        await provider.complete(ask("slow [[fault:slow-first-byte=1000]]"), CALL)


# --- cancellation ------------------------------------------------------------------------------


async def _wait_for_cancelled(base_url: str, expected: int) -> dict[str, Any]:
    for _ in range(200):
        streams = (await stats(base_url))["streams"]
        if streams["cancelled"] >= expected:
            return streams
        await asyncio.sleep(0.02)
    return streams


async def test_closing_the_stream_cancels_it_upstream(
    open_provider: OpenProvider, emulator: str
) -> None:
    provider = await open_provider()
    stream = provider.stream(ask("A long answer please [[fault:slow-chunks=100]]"), CALL)
    assert isinstance(await anext(stream), MessageStart)
    await stream.aclose()
    streams = await _wait_for_cancelled(emulator, 1)
    assert streams["cancelled"] == 1
    assert streams["completed"] == 0


async def test_cancelling_the_consumer_cancels_the_stream_upstream(
    open_provider: OpenProvider, emulator: str
) -> None:
    provider = await open_provider()
    first = asyncio.Event()

    async def consume() -> None:
        async with contextlib.aclosing(
            provider.stream(ask("A long answer please [[fault:slow-chunks=100]]"), CALL)
        ) as stream:
            async for _ in stream:
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    streams = await _wait_for_cancelled(emulator, 1)
    assert streams["cancelled"] == 1
    assert streams["in_progress"] == 0
