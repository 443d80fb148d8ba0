from __future__ import annotations

import asyncio
import contextlib

import pytest
from aiohttp import web

from stargate.config.deployment import ModelInfo
from stargate.core import (
    BlockStop,
    ChatResponse,
    MessageStart,
    MessageStop,
    StopReason,
    TextDelta,
    TextPart,
    ToolSpec,
    ToolUseDelta,
    ToolUsePart,
    ToolUseStart,
    Usage,
    UsageReport,
)
from stargate.errors import (
    ConfigError,
    UpstreamAccessDenied,
    UpstreamBadResponse,
    UpstreamInvalidRequest,
    UpstreamServerError,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from stargate.providers.base import CallContext, Provider
from stargate.providers.bedrock.provider import DEFAULT_MAX_TOKENS, BedrockProvider
from stargate.providers.bedrock.signing import BearerToken
from stargate.providers.http1 import Http1Pool
from tests.unit.providers.bedrock.conftest import (
    MODEL,
    ProviderFactory,
    hello,
    make_deployment,
)
from tests.unit.providers.bedrock.fakes import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    FakeBedrock,
    converse_body,
    corrupt,
    error_frame,
    event,
    exception_frame,
    text_turn,
    verify_sigv4,
)

CALL = CallContext(request_id="req-test")
ARN = (
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
)


async def collect(provider: BedrockProvider) -> list:
    return [event async for event in provider.stream(hello(), CALL)]


def assert_signed(fake: FakeBedrock) -> None:
    seen = fake.requests[-1]
    secrets = {ACCESS_KEY_ID: SECRET_ACCESS_KEY}
    assert verify_sigv4(seen.method, seen.raw_path, seen.headers, seen.body, secrets) is None


def test_the_provider_meets_the_protocol(make_provider: ProviderFactory) -> None:
    assert isinstance(make_provider(), Provider)


# --- complete ----------------------------------------------------------------------------------


async def test_complete_sends_a_signed_converse_call_and_parses_the_answer(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json(converse_body("Hello there"))
    response = await make_provider().complete(hello(max_tokens=50), CALL)
    assert isinstance(response, ChatResponse)
    assert response.content == [TextPart("Hello there")]
    assert response.stop_reason is StopReason.END_TURN
    assert response.usage == Usage(7, 3)
    assert response.upstream_request_id == "11111111-2222-3333-4444-555555555555"
    assert response.model == MODEL
    seen = fake.requests[-1]
    assert seen.raw_path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    assert seen.json()["inferenceConfig"] == {"maxTokens": 50}
    assert seen.headers["content-type"] == "application/json"
    assert_signed(fake)


async def test_arn_model_ids_are_sent_encoded_and_signed(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json(converse_body())
    await make_provider(ARN).complete(hello(), CALL)
    assert fake.requests[-1].raw_path.startswith(
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus."
    )
    assert_signed(fake)


async def test_bearer_credentials_send_the_api_key(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json(converse_body())
    await make_provider(credentials=BearerToken("api-key-1")).complete(hello(), CALL)
    assert fake.requests[-1].headers["authorization"] == "Bearer api-key-1"


async def test_max_tokens_defaults_to_model_info_then_4096(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json(converse_body())
    await make_provider().complete(hello(), CALL)
    assert fake.requests[-1].json()["inferenceConfig"]["maxTokens"] == DEFAULT_MAX_TOKENS == 4096
    await make_provider(info=ModelInfo(max_tokens=1234)).complete(hello(), CALL)
    assert fake.requests[-1].json()["inferenceConfig"]["maxTokens"] == 1234


async def test_forward_headers_are_sent_but_cannot_touch_auth(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json(converse_body())
    call = CallContext(
        "r1",
        forward_headers={
            "X-Amzn-Trace-Id": "Root=1-abc",
            "Authorization": "Bearer stolen",
            "X-Amz-Security-Token": "forged",
        },
    )
    await make_provider().complete(hello(), call)
    headers = fake.requests[-1].headers
    assert headers["x-amzn-trace-id"] == "Root=1-abc"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256")
    assert "x-amz-security-token" not in headers
    assert_signed(fake)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (429, "ThrottlingException", UpstreamThrottled),
        (403, "AccessDeniedException", UpstreamAccessDenied),
        (400, "ValidationException", UpstreamInvalidRequest),
        (500, "InternalServerException", UpstreamServerError),
        (503, "ServiceUnavailableException", UpstreamUnavailable),
        (403, "InvalidSignatureException", UpstreamServerError),
    ],
)
async def test_http_errors_map_through_the_table(
    fake: FakeBedrock,
    make_provider: ProviderFactory,
    status: int,
    code: str,
    cls: type[Exception],
) -> None:
    fake.answer_error(status, code, "upstream message")
    with pytest.raises(cls) as caught:
        await make_provider().complete(hello(), CALL)
    assert type(caught.value) is cls


async def test_throttling_over_http_carries_retry_after(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_error(429, "ThrottlingException", "Too many requests")
    with pytest.raises(UpstreamThrottled) as caught:
        await make_provider().complete(hello(), CALL)
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0
    assert "Too many requests" in caught.value.message


async def test_a_body_that_is_not_json_is_a_bad_response(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    async def handler(_: FakeBedrock, request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"<html>", content_type="text/html")

    fake.handler = handler
    with pytest.raises(UpstreamBadResponse):
        await make_provider().complete(hello(), CALL)


async def test_complete_timeout_is_an_upstream_timeout(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    async def handler(_: FakeBedrock, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response()

    fake.handler = handler
    with pytest.raises(UpstreamTimeout):
        await make_provider(timeout=0.2).complete(hello(), CALL)


async def test_unreachable_upstream_is_unavailable(
    pool: Http1Pool, static_credentials: object
) -> None:
    deployment = make_deployment(aws_bedrock_runtime_endpoint="http://127.0.0.1:9")
    provider = BedrockProvider(deployment, pool, static_credentials, environ={})  # type: ignore[arg-type]
    with pytest.raises(UpstreamUnavailable, match="could not reach"):
        await provider.complete(hello(), CALL)
    with pytest.raises(UpstreamUnavailable):
        await collect(provider)


async def test_a_cut_off_answer_is_a_bad_response(
    pool: Http1Pool, static_credentials: object
) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )  # fmt: skip
        await reader.readexactly(length)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"output"')
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    deployment = make_deployment(aws_bedrock_runtime_endpoint=f"http://127.0.0.1:{port}")
    provider = BedrockProvider(deployment, pool, static_credentials, environ={})  # type: ignore[arg-type]
    try:
        with pytest.raises(UpstreamBadResponse, match="was cut off"):
            await provider.complete(hello(), CALL)
        with pytest.raises(UpstreamBadResponse, match="was cut off"):
            await collect(provider)
    finally:
        server.close()
        await server.wait_closed()


def test_timeouts_come_from_params_with_defaults(make_provider: ProviderFactory) -> None:
    defaults = make_provider().timeouts
    assert (defaults.total, defaults.stream_idle) == (600.0, 120.0)
    tuned = make_provider(timeout="30", stream_timeout=5, connect_timeout=2).timeouts
    assert (tuned.total, tuned.stream_idle, tuned.connect) == (30.0, 5.0, 2.0)
    assert make_provider(timeout=30).timeouts.stream_idle == 30.0
    with pytest.raises(ConfigError, match="timeout"):
        make_provider(timeout="soon")
    with pytest.raises(ConfigError, match="positive"):
        make_provider(stream_timeout=0)


def test_the_invoke_route_takes_claude_and_refuses_other_models_at_start_up(
    make_provider: ProviderFactory,
) -> None:
    assert make_provider(api="invoke").speaks_messages()
    with pytest.raises(ConfigError, match="invoke/ takes Claude models only"):
        make_provider("us.amazon.nova-micro-v1:0", api="invoke")


# --- stream ------------------------------------------------------------------------------------


async def test_stream_yields_canonical_events(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream(text_turn("Hello there"), split=7)
    events = await collect(make_provider())
    assert events == [
        MessageStart(
            "msg_bdrk_aaaaaaaabbbbccccddddeeeeeeeeeeee",
            MODEL,
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        ),
        TextDelta(0, "Hello"),
        TextDelta(0, " there"),
        BlockStop(0),
        MessageStop(StopReason.END_TURN),
        UsageReport(Usage(7, 3)),
    ]
    seen = fake.requests[-1]
    assert seen.raw_path.endswith("%3A0/converse-stream")
    assert seen.headers["accept"] == "application/vnd.amazon.eventstream"
    assert_signed(fake)


async def test_stream_tool_use(fake: FakeBedrock, make_provider: ProviderFactory) -> None:
    fake.answer_stream(
        [
            event("messageStart", {"role": "assistant"}),
            event(
                "contentBlockStart",
                {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "f"}}},
            ),
            event(
                "contentBlockDelta",
                {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"a"'}}},
            ),
            event(
                "contentBlockDelta",
                {"contentBlockIndex": 0, "delta": {"toolUse": {"input": ":1}"}}},
            ),
            event("contentBlockStop", {"contentBlockIndex": 0}),
            event("messageStop", {"stopReason": "tool_use"}),
            event(
                "metadata",
                {"usage": {"inputTokens": 1, "outputTokens": 2}, "metrics": {"latencyMs": 1}},
            ),
        ]
    )
    events = await collect(make_provider())
    assert events[1:5] == [
        ToolUseStart(0, "t1", "f"),
        ToolUseDelta(0, '{"a"'),
        ToolUseDelta(0, ":1}"),
        BlockStop(0),
    ]
    assert events[5] == MessageStop(StopReason.TOOL_USE)


async def test_stream_http_error_is_raised_before_any_event(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_error(429, "ThrottlingException", "slow down")
    with pytest.raises(UpstreamThrottled):
        await collect(make_provider())


async def test_mid_stream_exception_is_raised_from_the_iterator(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream([*text_turn()[:2], exception_frame("throttlingException", "Too many")])
    received = []
    with pytest.raises(UpstreamThrottled, match="Too many"):
        async for item in make_provider().stream(hello(), CALL):
            received.append(item)
    assert [type(e) for e in received] == [MessageStart, TextDelta]


async def test_mid_stream_unmodeled_error_frame_is_mapped(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream([*text_turn()[:2], error_frame("InternalFailure", "broke")])
    with pytest.raises(UpstreamServerError, match="broke"):
        await collect(make_provider())


@pytest.mark.parametrize("cut", [1, 4, 5])
async def test_a_stream_that_ends_early_is_a_bad_response(
    fake: FakeBedrock, make_provider: ProviderFactory, cut: int
) -> None:
    fake.answer_stream(text_turn()[:cut])
    with pytest.raises(UpstreamBadResponse, match="ended early"):
        await collect(make_provider())


async def test_a_corrupt_frame_is_a_bad_response(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    frames = text_turn()
    fake.answer_stream([*frames[:2], corrupt(frames[2]), *frames[3:]])
    with pytest.raises(UpstreamBadResponse, match="corrupt"):
        await collect(make_provider())


async def test_silence_between_chunks_is_an_upstream_timeout(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream(text_turn(), delay=0.5)
    with pytest.raises(UpstreamTimeout):
        await collect(make_provider(stream_timeout=0.1))


async def test_slow_but_steady_streams_are_not_cut_by_a_total_deadline(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream(text_turn(), delay=0.05)
    events = await collect(make_provider(timeout=0.2, stream_timeout=1))
    assert isinstance(events[-1], UsageReport)


# --- cancellation ------------------------------------------------------------------------------


async def test_closing_the_iterator_closes_the_upstream_at_once(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream(text_turn()[:2], then_trickle=True)
    stream = make_provider().stream(hello(), CALL)
    assert isinstance(await anext(stream), MessageStart)
    await stream.aclose()
    await asyncio.wait_for(fake.disconnected.wait(), 5)


async def test_cancelling_the_consumer_task_closes_the_upstream(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream(text_turn()[:2], then_trickle=True)
    first = asyncio.Event()

    async def consume() -> None:
        async with contextlib.aclosing(make_provider().stream(hello(), CALL)) as stream:
            async for _ in stream:
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(fake.disconnected.wait(), 5)


async def test_provider_aclose_closes_open_streams(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_stream(text_turn()[:2], then_trickle=True)
    provider = make_provider()
    stream = provider.stream(hello(), CALL)
    await anext(stream)
    await provider.aclose()
    await asyncio.wait_for(fake.disconnected.wait(), 5)
    with pytest.raises((UpstreamBadResponse, UpstreamUnavailable)):
        async for _ in stream:
            pass


async def test_tools_go_out_in_tool_config(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    fake.answer_json(
        {
            **converse_body(),
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}],
                }
            },
            "stopReason": "tool_use",
        }
    )
    request = hello(tools=[ToolSpec("f", "does f", {"type": "object"})])
    response = await make_provider().complete(request, CALL)
    assert response.content == [ToolUsePart("t1", "f", {})]
    assert fake.requests[-1].json()["toolConfig"]["tools"][0]["toolSpec"]["name"] == "f"
