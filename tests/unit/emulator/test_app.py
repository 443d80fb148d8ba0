"""The aiohttp app in-process: routing, request ids, stream framing, faults, stats, fast mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import orjson
import pytest
import yarl
from aiohttp.test_utils import TestClient, TestServer
from botocore.eventstream import EventStreamBuffer

from stargate.emulator import EmulatorConfig, create_app

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MODEL = "us.amazon.nova-micro-v1:0"

MakeClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[TestClient] = []

    async def make(**overrides: object) -> TestClient:
        config = EmulatorConfig("AKIDEXAMPLE", "secret", bearer_token=TOKEN, **overrides)  # type: ignore[arg-type]
        client = TestClient(TestServer(create_app(config)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def converse_body(text: str) -> bytes:
    return orjson.dumps({"messages": [{"role": "user", "content": [{"text": text}]}]})


def frames(data: bytes) -> list[tuple[dict[str, object], dict[str, object]]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(message.headers), orjson.loads(message.payload)) for message in buffer]


async def test_converse_answers_json_with_a_request_id(make_client: MakeClient) -> None:
    client = await make_client()

    response = await client.post(f"/model/{MODEL}/converse", data=converse_body("hi"), headers=AUTH)
    body = await response.json()

    assert response.status == 200
    assert response.content_type == "application/json"
    assert len(response.headers["x-amzn-RequestId"]) == 36
    assert body["output"]["message"]["content"] == [
        {"text": 'This is the Stargate Bedrock emulator. You said: "hi".'}
    ]
    assert set(body) == {"output", "stopReason", "usage", "metrics"}


async def test_a_stream_is_chunked_event_stream_frames_with_padding(
    make_client: MakeClient,
) -> None:
    client = await make_client()

    response = await client.post(
        f"/model/{MODEL}/converse-stream", data=converse_body("hello world"), headers=AUTH
    )
    events = frames(await response.read())

    assert response.headers["Content-Type"] == "application/vnd.amazon.eventstream"
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert "x-amzn-RequestId" in response.headers
    types = [headers[":event-type"] for headers, _ in events]
    assert types[0] == "messageStart"
    assert types[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert "contentBlockStart" not in types
    assert types.count("contentBlockDelta") >= 3
    for headers, payload in events:
        assert headers[":message-type"] == "event"
        assert headers[":content-type"] == "application/json"
        assert "abcdefghijklmnopqrstuvwxyz".startswith(str(payload["p"])[:26])
    assert set(events[-1][1]) == {"usage", "metrics", "p"}


async def test_padding_varies_normally_and_is_fixed_in_fast_mode(make_client: MakeClient) -> None:
    normal, fast = await make_client(), await make_client(fast=True)
    pads: dict[str, set[str]] = {}

    for name, client in (("normal", normal), ("fast", fast)):
        pads[name] = set()
        for _ in range(5):
            response = await client.post(
                f"/model/{MODEL}/converse-stream", data=converse_body("x"), headers=AUTH
            )
            pads[name] |= {str(payload["p"]) for _, payload in frames(await response.read())}

    assert len(pads["normal"]) > 1
    assert pads["fast"] == {"abcdefgh"}


async def test_unknown_routes_are_bedrock_404s_with_a_request_id(make_client: MakeClient) -> None:
    client = await make_client()

    unknown_op = await client.post(f"/model/{MODEL}/chat", data=b"{}", headers=AUTH)
    unknown_path = await client.get("/v1/models")

    for response in (unknown_op, unknown_path):
        assert response.status == 404
        assert response.headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")
        assert "x-amzn-RequestId" in response.headers


async def test_errors_carry_the_error_type_header_and_a_message_body(
    make_client: MakeClient,
) -> None:
    client = await make_client()

    response = await client.post(
        f"/model/{MODEL}/converse", data=converse_body("[[fault:throttle]]"), headers=AUTH
    )

    assert response.status == 429
    assert response.headers["x-amzn-ErrorType"] == (
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
    )
    assert await response.json() == {
        "message": "Too many requests, please wait before trying again."
    }


async def test_the_fault_header_chooses_a_fault(make_client: MakeClient) -> None:
    client = await make_client()

    response = await client.post(
        f"/model/{MODEL}/converse",
        data=converse_body("hi"),
        headers={**AUTH, "x-emulator-fault": "unavailable"},
    )

    assert response.status == 503
    assert response.headers["x-amzn-ErrorType"].startswith("ServiceUnavailableException:")


async def test_an_unknown_fault_is_refused_loudly(make_client: MakeClient) -> None:
    client = await make_client()

    response = await client.post(
        f"/model/{MODEL}/converse", data=converse_body("[[fault:throttel]]"), headers=AUTH
    )

    assert response.status == 400
    assert "Unknown emulator fault 'throttel'" in (await response.json())["message"]


async def test_stream_faults_on_converse_are_ignored(make_client: MakeClient) -> None:
    client = await make_client()

    response = await client.post(
        f"/model/{MODEL}/converse",
        data=converse_body(
            "[[fault:midstream-throttle]] [[fault:truncate]] [[fault:slow-chunks=500]]"
        ),
        headers=AUTH,
    )

    assert response.status == 200
    assert (await response.json())["stopReason"] == "end_turn"


async def test_slow_first_byte_delays_the_response(make_client: MakeClient) -> None:
    client = await make_client()
    started = time.perf_counter()

    response = await client.post(
        f"/model/{MODEL}/converse",
        data=converse_body("[[fault:slow-first-byte=200]]"),
        headers=AUTH,
    )

    assert response.status == 200
    assert time.perf_counter() - started >= 0.2


async def test_requests_without_credentials_are_refused_unless_verification_is_off(
    make_client: MakeClient,
) -> None:
    strict, lax = await make_client(), await make_client(verify_signatures=False)

    refused = await strict.post(f"/model/{MODEL}/converse", data=converse_body("hi"))
    allowed = await lax.post(f"/model/{MODEL}/converse", data=converse_body("hi"))

    assert refused.status == 403
    assert allowed.status == 200


async def test_stats_count_requests_errors_and_streams_and_reset_clears_them(
    make_client: MakeClient,
) -> None:
    client = await make_client()
    await client.post(f"/model/{MODEL}/converse", data=converse_body("a"), headers=AUTH)
    await client.post(
        f"/model/{MODEL}/converse", data=converse_body("[[fault:throttle]]"), headers=AUTH
    )
    stream = await client.post(
        f"/model/{MODEL}/converse-stream", data=converse_body("b"), headers=AUTH
    )
    await stream.read()
    cut = await client.post(
        f"/model/{MODEL}/converse-stream", data=converse_body("[[fault:truncate]]"), headers=AUTH
    )
    await cut.read()

    stats = await (await client.get("/_emulator/stats")).json()
    await client.post("/_emulator/reset")
    cleared = await (await client.get("/_emulator/stats")).json()

    assert stats["requests"] == {"Converse": 2, "ConverseStream": 2}
    assert stats["requests_total"] == 4
    assert stats["errors"] == {"ThrottlingException": 1}
    assert stats["streams"] == {
        "started": 2, "completed": 1, "faulted": 1, "cancelled": 0, "in_progress": 0
    }  # fmt: skip
    assert cleared["requests_total"] == 0
    assert cleared["streams"]["started"] == 0


async def test_recent_requests_are_recorded_with_credentials_redacted(
    make_client: MakeClient,
) -> None:
    client = await make_client()
    await client.post(
        f"/model/{MODEL}/converse",
        data=converse_body("remember me"),
        headers={**AUTH, "X-Amz-Security-Token": "session-secret"},
    )

    [record] = (await (await client.get("/_emulator/requests")).json())["requests"]

    assert record["operation"] == "Converse"
    assert record["path"] == f"/model/{MODEL}/converse"
    assert record["body"]["messages"][0]["content"][0]["text"] == "remember me"
    assert record["headers"]["Authorization"] == "Bearer <redacted>"
    assert record["headers"]["X-Amz-Security-Token"] == "<redacted>"
    assert TOKEN not in orjson.dumps(record).decode()


async def test_fast_mode_counts_but_does_not_record_requests(make_client: MakeClient) -> None:
    client = await make_client(fast=True)
    await client.post(f"/model/{MODEL}/converse", data=converse_body("a"), headers=AUTH)

    stats = await (await client.get("/_emulator/stats")).json()
    recorded = await (await client.get("/_emulator/requests")).json()

    assert stats["requests"] == {"Converse": 1}
    assert recorded == {"requests": []}


async def test_the_health_route_needs_no_credentials(make_client: MakeClient) -> None:
    client = await make_client()

    response = await client.get("/_emulator/health")

    assert (response.status, await response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "segment",
    [
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.amazon.nova-micro-v1%3A0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile%2Fus.amazon.nova-micro-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0",
    ],
)
async def test_arn_model_ids_are_decoded_from_the_path(
    make_client: MakeClient, segment: str
) -> None:
    client = await make_client()

    url = yarl.URL(f"{client.make_url('/')}model/{segment}/converse", encoded=True)

    async with client.session.post(url, data=converse_body("hi"), headers=AUTH) as response:
        status = response.status
    [record] = (await (await client.get("/_emulator/requests")).json())["requests"]

    assert status == 200
    assert record["path"] == f"/model/{segment}/converse"


async def test_a_client_leaving_before_the_first_byte_is_a_cancelled_stream(
    make_client: MakeClient,
) -> None:
    client = await make_client()

    with pytest.raises(TimeoutError):
        await client.post(
            f"/model/{MODEL}/converse-stream",
            data=converse_body("[[fault:slow-first-byte=300]]"),
            headers=AUTH,
            timeout=aiohttp.ClientTimeout(total=0.05),
        )
    streams: dict[str, int] = {}
    for _ in range(50):
        streams = (await (await client.get("/_emulator/stats")).json())["streams"]
        if streams["cancelled"]:
            break
        await asyncio.sleep(0.02)

    assert streams["started"] == 1
    assert streams["cancelled"] == 1
