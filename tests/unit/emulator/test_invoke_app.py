"""The invoke, invoke-with-response-stream and count-tokens routes in-process: wire shapes,
headers, faults, the prompt cache across requests, stats."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from botocore.eventstream import EventStreamBuffer

from stargate.emulator import EmulatorConfig, create_app

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
HAIKU_BASE = "anthropic.claude-haiku-4-5-20251001-v1:0"
CLAUDE_3_HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SYSTEM = "You are a careful assistant. " * 40


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    config = EmulatorConfig("AKIDEXAMPLE", "secret", bearer_token=TOKEN)
    test_client = TestClient(TestServer(create_app(config)))
    await test_client.start_server()
    yield test_client
    await test_client.close()


def invoke_body(text: str = "hello", **fields: Any) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
        **fields,
    }


def cached_body(text: str) -> dict[str, Any]:
    system = [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
    return invoke_body(text, system=system)


async def invoke(
    client: TestClient, body: object, model: str = HAIKU_PROFILE, **headers: str
) -> tuple[int, dict[str, str], Any]:
    response = await client.post(
        f"/model/{model}/invoke", data=orjson.dumps(body), headers={**AUTH, **headers}
    )
    return response.status, dict(response.headers), await response.json()


async def stream(
    client: TestClient, body: object, **headers: str
) -> tuple[dict[str, str], list[tuple[dict[str, Any], dict[str, Any]]]]:
    response = await client.post(
        f"/model/{HAIKU_PROFILE}/invoke-with-response-stream",
        data=orjson.dumps(body),
        headers={**AUTH, **headers},
    )
    buffer = EventStreamBuffer()
    buffer.add_data(await response.read())
    return dict(response.headers), [
        (dict(message.headers), orjson.loads(message.payload)) for message in buffer
    ]


def decoded(payload: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(base64.b64decode(payload["bytes"]))
    return event


async def count(client: TestClient, counted: object, model: str = HAIKU_BASE) -> Any:
    response = await client.post(
        f"/model/{model}/count-tokens", data=orjson.dumps({"input": counted}), headers=AUTH
    )
    return response.status, await response.json()


def invoke_input(body: object) -> dict[str, Any]:
    return {"invokeModel": {"body": base64.b64encode(orjson.dumps(body)).decode()}}


async def test_invoke_answers_the_message_with_bedrocks_token_headers(client: TestClient) -> None:
    status, headers, body = await invoke(client, invoke_body("hello"))

    usage = body["usage"]
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body["id"].startswith("msg_bdrk_01")
    assert body["model"] == "claude-haiku-4-5-20251001"
    assert headers["X-Amzn-Bedrock-Input-Token-Count"] == str(usage["input_tokens"])
    assert headers["X-Amzn-Bedrock-Output-Token-Count"] == str(usage["output_tokens"])
    assert headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] == "0"
    assert headers["X-Amzn-Bedrock-Cache-Write-Input-Token-Count"] == "0"
    assert int(headers["X-Amzn-Bedrock-Invocation-Latency"]) >= 0
    assert len(headers["x-amzn-RequestId"]) == 36


async def test_invoke_echoes_the_latency_and_tier_headers(client: TestClient) -> None:
    _, headers, _ = await invoke(
        client,
        invoke_body(),
        **{"X-Amzn-Bedrock-PerformanceConfig-Latency": "optimized"},
        **{"X-Amzn-Bedrock-Service-Tier": "priority"},
    )

    assert headers["X-Amzn-Bedrock-PerformanceConfig-Latency"] == "optimized"
    assert headers["X-Amzn-Bedrock-Service-Tier"] == "priority"


async def test_the_stream_is_chunk_events_of_base64_anthropic_events(client: TestClient) -> None:
    headers, frames = await stream(client, invoke_body("hello there"))

    assert headers["Content-Type"] == "application/vnd.amazon.eventstream"
    assert headers["X-Amzn-Bedrock-Content-Type"] == "application/json"
    for frame_headers, payload in frames:
        assert frame_headers == {
            ":event-type": "chunk",
            ":content-type": "application/json",
            ":message-type": "event",
        }
        assert set(payload) == {"bytes", "p"}
    events = [decoded(payload) for _, payload in frames]
    deltas = len(events) - 5
    assert deltas >= 3
    assert [event["type"] for event in events] == [
        "message_start", "content_block_start", *["content_block_delta"] * deltas,
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert set(metrics) == {
        "inputTokenCount", "outputTokenCount", "invocationLatency", "firstByteLatency"
    }  # fmt: skip
    assert metrics["outputTokenCount"] == events[-2]["usage"]["output_tokens"]
    assert metrics["inputTokenCount"] == events[0]["message"]["usage"]["input_tokens"]


async def test_the_prompt_cache_is_written_then_read_and_reset_forgets_it(
    client: TestClient,
) -> None:
    _, _, first = await invoke(client, cached_body("one"))
    _, headers, second = await invoke(client, cached_body("two"))
    _, streamed = await stream(client, cached_body("three"))
    await client.post("/_emulator/reset")
    _, _, after_reset = await invoke(client, cached_body("four"))

    written = first["usage"]["cache_creation_input_tokens"]
    assert written == len(SYSTEM) // 4
    assert first["usage"]["cache_creation"]["ephemeral_5m_input_tokens"] == written
    assert second["usage"]["cache_read_input_tokens"] == written
    assert second["usage"]["cache_creation_input_tokens"] == 0
    assert headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] == str(written)
    metrics = decoded(streamed[-1][1])["amazon-bedrock-invocationMetrics"]
    assert (metrics["cacheReadInputTokenCount"], metrics["cacheWriteInputTokenCount"]) == (
        written,
        0,
    )
    assert after_reset["usage"]["cache_creation_input_tokens"] == written


async def test_count_tokens_matches_the_whole_input_of_the_invoke_reply(
    client: TestClient,
) -> None:
    body = cached_body("count me")
    for _ in range(2):  # written, then read: the count does not change
        _, _, reply = await invoke(client, body)
        usage = reply["usage"]
        whole = (
            usage["input_tokens"]
            + usage["cache_creation_input_tokens"]
            + usage["cache_read_input_tokens"]
        )

        assert await count(client, invoke_input(body)) == (200, {"inputTokens": whole})


async def test_count_tokens_counts_a_converse_input_as_converse_does(client: TestClient) -> None:
    messages = [{"role": "user", "content": [{"text": "How many tokens is this?"}]}]
    converse = await client.post(
        f"/model/{HAIKU_PROFILE}/converse",
        data=orjson.dumps({"messages": messages, "system": [{"text": "terse"}]}),
        headers=AUTH,
    )
    expected = (await converse.json())["usage"]["inputTokens"]

    counted = await count(
        client, {"converse": {"messages": messages, "system": [{"text": "terse"}]}}
    )

    assert counted == (200, {"inputTokens": expected})


@pytest.mark.parametrize(
    "model",
    [
        HAIKU_PROFILE,
        "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
        "amazon.nova-micro-v1:0",
    ],
)
async def test_count_tokens_takes_claude_base_ids_only(client: TestClient, model: str) -> None:
    status, body = await count(client, invoke_input(invoke_body()), model)

    assert (status, body) == (
        400,
        {"message": "The provided model doesn't support counting tokens."},
    )


async def test_count_tokens_checks_the_body_and_the_model_id(client: TestClient) -> None:
    unknown = await count(client, invoke_input(invoke_body()), "anthropic.claude-9-v1:0")
    bad_body = await count(client, invoke_input({**invoke_body(), "stream": True}))
    both = await count(client, {**invoke_input(invoke_body()), "converse": {"messages": []}})
    claude_3 = await count(client, invoke_input(invoke_body()), CLAUDE_3_HAIKU)

    assert unknown == (400, {"message": "The provided model identifier is invalid."})
    assert bad_body[0] == 400
    assert "extraneous key [stream]" in bad_body[1]["message"]
    assert both[0] == 400
    assert claude_3[0] == 200


async def test_invoke_refuses_models_that_are_not_claude_and_base_ids_without_on_demand(
    client: TestClient,
) -> None:
    nova = await invoke(client, invoke_body(), "amazon.nova-micro-v1:0")
    base = await invoke(client, invoke_body(), HAIKU_BASE)
    claude_3 = await invoke(client, invoke_body(), CLAUDE_3_HAIKU)

    assert nova[0] == 400
    assert nova[2]["message"].startswith("Malformed input request: the emulator serves InvokeModel")
    assert base[0] == 400
    assert "on-demand throughput isn\u2019t supported" in base[2]["message"]
    assert (claude_3[0], claude_3[2]["model"]) == (200, "claude-3-haiku-20240307")


async def test_http_faults_come_from_markers_or_the_header(client: TestClient) -> None:
    marker = await invoke(client, invoke_body("hi [[fault:throttle]]"))
    header = await invoke(client, invoke_body("hi"), **{"x-emulator-fault": "server-error"})

    assert (marker[0], marker[1]["x-amzn-ErrorType"].split(":")[0]) == (429, "ThrottlingException")
    assert marker[2] == {"message": "Too many requests, please wait before trying again."}
    assert (header[0], header[1]["x-amzn-ErrorType"].split(":")[0]) == (
        500,
        "InternalServerException",
    )


async def test_the_body_is_checked_before_faults_act(client: TestClient) -> None:
    status, _, body = await invoke(client, {**invoke_body("[[fault:throttle]]"), "model": "x"})

    assert status == 400
    assert "extraneous key [model]" in body["message"]


async def test_count_tokens_ignores_markers_but_obeys_the_fault_header(client: TestClient) -> None:
    marked = await count(client, invoke_input(invoke_body("hi [[fault:throttle]]")))
    response = await client.post(
        f"/model/{HAIKU_BASE}/count-tokens",
        data=orjson.dumps({"input": invoke_input(invoke_body())}),
        headers={**AUTH, "x-emulator-fault": "throttle"},
    )

    assert marked[0] == 200
    assert response.status == 429


@pytest.mark.parametrize(
    ("fault", "exception"),
    [("midstream-throttle", "throttlingException"), ("midstream-error", "internalServerException")],
)
async def test_midstream_faults_are_exception_frames_after_some_chunks(
    client: TestClient, fault: str, exception: str
) -> None:
    _, frames = await stream(client, invoke_body(f"a few words here [[fault:{fault}]]"))

    *chunks, (last_headers, last_payload) = frames
    assert len(chunks) >= 2
    assert all(headers[":event-type"] == "chunk" for headers, _ in chunks)
    assert decoded(chunks[0][1])["type"] == "message_start"
    assert last_headers[":message-type"] == "exception"
    assert last_headers[":exception-type"] == exception
    assert set(last_payload) == {"message"}
    assert "message_stop" not in [decoded(payload)["type"] for _, payload in chunks]


async def test_a_truncated_stream_ends_without_message_stop(client: TestClient) -> None:
    _, frames = await stream(client, invoke_body("hi"), **{"x-emulator-fault": "truncate"})
    stats = await (await client.get("/_emulator/stats")).json()

    types = [decoded(payload)["type"] for _, payload in frames]
    assert types[0] == "message_start"
    assert "message_stop" not in types
    assert stats["streams"]["faulted"] == 1


async def test_stats_count_the_new_operations_and_the_prompt_cache(client: TestClient) -> None:
    await invoke(client, cached_body("a"))
    await invoke(client, cached_body("b"))
    await stream(client, invoke_body("c"))
    await count(client, invoke_input(invoke_body()))
    await invoke(client, {"messages": []})

    stats = await (await client.get("/_emulator/stats")).json()
    [recorded, *_] = (await (await client.get("/_emulator/requests")).json())["requests"]

    assert stats["requests"] == {
        "InvokeModel": 3, "InvokeModelWithResponseStream": 1, "CountTokens": 1
    }  # fmt: skip
    assert stats["errors"] == {"ValidationException": 1}
    assert stats["streams"]["completed"] == 1
    assert stats["prompt_cache"]["entries"] == 1
    assert (stats["prompt_cache"]["requests_written"], stats["prompt_cache"]["requests_read"]) == (
        1,
        1,
    )
    assert recorded["operation"] == "InvokeModel"
    assert recorded["body"]["messages"][0]["content"][0]["text"] == "a"
