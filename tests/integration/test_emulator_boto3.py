"""boto3 ``bedrock-runtime`` against the emulator: real SigV4, real event streams, faults."""

from __future__ import annotations

import asyncio
import math
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import boto3
import orjson
import pytest
import yarl
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EventStreamError

from stargate.emulator import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    EmulatorConfig,
    serve,
)

REGION = "us-east-1"
BEARER_TOKEN = "emulator-test-bearer-token"
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city", "days"],
            }
        },
    }
}


@dataclass(slots=True)
class RunningEmulator:
    """An emulator serving at ``url`` with ``config``, and its observability routes."""

    url: str
    config: EmulatorConfig

    def _call(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return orjson.loads(response.read())

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._call("GET", "/_emulator/stats")
        return stats

    def recent_requests(self) -> list[dict[str, Any]]:
        recent: list[dict[str, Any]] = self._call("GET", "/_emulator/requests")["requests"]
        return recent

    def reset(self) -> None:
        self._call("POST", "/_emulator/reset")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class _ServerThread:
    started: threading.Event = field(default_factory=threading.Event)
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[None] | None = None
    failure: BaseException | None = None


@contextmanager
def running_emulator(config: EmulatorConfig) -> Iterator[RunningEmulator]:
    """Serve ``config`` on a free port, on its own event loop in a background thread, so that
    synchronous clients (boto3) and async tests can both talk to it."""
    port = free_port()
    state = _ServerThread()

    async def main() -> None:
        ready = asyncio.Event()
        state.loop = asyncio.get_running_loop()
        state.task = asyncio.create_task(serve(config, "127.0.0.1", port, ready=ready))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({state.task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        state.started.set()
        try:
            await state.task
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # surfaced to the test thread
            state.failure = exc

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="bedrock-emulator")
    thread.start()
    try:
        if not state.started.wait(10):
            raise RuntimeError("the emulator did not start within 10 s")
        if state.task is not None and state.task.done():
            thread.join(10)
            raise RuntimeError("the emulator failed to start") from state.failure
        yield RunningEmulator(f"http://127.0.0.1:{port}", config)
    finally:
        if state.loop is not None and state.task is not None:
            state.loop.call_soon_threadsafe(state.task.cancel)
        thread.join(10)


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, bearer_token=BEARER_TOKEN)
    with running_emulator(config) as emulator:
        yield emulator


def make_client(url: str, secret: str = TEST_SECRET_ACCESS_KEY) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=15),
    )


@pytest.fixture
def emulator(running: RunningEmulator) -> RunningEmulator:
    running.reset()
    return running


@pytest.fixture
def bedrock(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    client = make_client(emulator.url)
    yield client
    client.close()


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def emulator_reply(text: str) -> str:
    return f'This is the Stargate Bedrock emulator. You said: "{text}".'


def collect(stream: Any) -> list[dict[str, Any]]:
    return list(stream)


# --- success -----------------------------------------------------------------------------------


def test_converse_returns_the_reply_and_exact_usage(bedrock: Any) -> None:
    prompt = "What is the capital of France?"

    response = bedrock.converse(modelId=HAIKU_PROFILE, messages=user(prompt))

    text = emulator_reply(prompt)
    assert response["output"]["message"] == {"role": "assistant", "content": [{"text": text}]}
    assert response["stopReason"] == "end_turn"
    assert response["usage"] == {
        "inputTokens": math.ceil(len(prompt) / 4),
        "outputTokens": math.ceil(len(text) / 4),
        "totalTokens": math.ceil(len(prompt) / 4) + math.ceil(len(text) / 4),
        "cacheReadInputTokens": 0,
        "cacheWriteInputTokens": 0,
    }
    assert response["metrics"]["latencyMs"] >= 0
    assert re.fullmatch(r"[0-9a-f-]{36}", response["ResponseMetadata"]["RequestId"])


def test_converse_stream_events_assemble_to_the_converse_reply(bedrock: Any) -> None:
    prompt = "Tell me something"
    whole = bedrock.converse(modelId=HAIKU_PROFILE, messages=user(prompt))

    events = collect(
        bedrock.converse_stream(modelId=HAIKU_PROFILE, messages=user(prompt))["stream"]
    )

    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart"
    assert kinds[-2:] == ["messageStop", "metadata"]
    assert "contentBlockStart" not in kinds
    deltas = [event["contentBlockDelta"] for event in events if "contentBlockDelta" in event]
    assert len(deltas) >= 3
    assert "".join(delta["delta"]["text"] for delta in deltas) == emulator_reply(prompt)
    assert events[-2]["messageStop"] == {"stopReason": "end_turn"}
    assert events[-1]["metadata"]["usage"] == whole["usage"]
    assert "latencyMs" in events[-1]["metadata"]["metrics"]


def test_max_tokens_and_stop_sequences_are_honoured(bedrock: Any) -> None:
    capped = bedrock.converse(
        modelId=HAIKU_PROFILE, messages=user("hello"), inferenceConfig={"maxTokens": 3}
    )
    stopped = bedrock.converse(
        modelId=HAIKU_PROFILE,
        messages=user("alpha omega"),
        inferenceConfig={"stopSequences": ["omega"]},
        additionalModelResponseFieldPaths=["/stop_sequence"],
    )

    assert capped["output"]["message"]["content"] == [{"text": "This is the "}]
    assert (capped["stopReason"], capped["usage"]["outputTokens"]) == ("max_tokens", 3)
    assert stopped["output"]["message"]["content"][0]["text"].endswith('You said: "alpha ')
    assert stopped["stopReason"] == "stop_sequence"
    assert stopped["additionalModelResponseFields"] == {"stop_sequence": "omega"}


def test_a_tool_is_called_when_the_prompt_names_it(bedrock: Any) -> None:
    response = bedrock.converse(
        modelId=HAIKU_PROFILE,
        messages=user("Please call get_weather with city=Paris"),
        toolConfig={"tools": [WEATHER_TOOL]},
    )

    lead, call = response["output"]["message"]["content"]
    assert lead == {"text": "I will use the get_weather tool."}
    assert re.fullmatch(r"tooluse_[A-Za-z0-9_-]{22}", call["toolUse"]["toolUseId"])
    assert call["toolUse"]["name"] == "get_weather"
    assert call["toolUse"]["input"] == {"city": "Paris", "days": 1}
    assert response["stopReason"] == "tool_use"


def test_a_streamed_tool_call_starts_the_block_and_streams_input_fragments(bedrock: Any) -> None:
    events = collect(
        bedrock.converse_stream(
            modelId=HAIKU_PROFILE,
            messages=user("use the get_weather tool for city=Oslo days=2"),
            toolConfig={"tools": [WEATHER_TOOL]},
        )["stream"]
    )

    [start] = [event["contentBlockStart"] for event in events if "contentBlockStart" in event]
    fragments = [
        event["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for event in events
        if "toolUse" in event.get("contentBlockDelta", {}).get("delta", {})
    ]
    assert start["contentBlockIndex"] == 1
    assert start["start"]["toolUse"]["name"] == "get_weather"
    assert len(fragments) > 1
    assert all(isinstance(fragment, str) for fragment in fragments)
    assert orjson.loads("".join(fragments)) == {"city": "Oslo", "days": 2}
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


def test_a_tool_result_is_quoted_in_the_next_reply(bedrock: Any) -> None:
    first = bedrock.converse(
        modelId=HAIKU_PROFILE,
        messages=user("call get_weather city=Paris"),
        toolConfig={"tools": [WEATHER_TOOL]},
    )
    assistant = first["output"]["message"]
    tool_use_id = assistant["content"][1]["toolUse"]["toolUseId"]
    result = {
        "toolResult": {
            "toolUseId": tool_use_id,
            "content": [{"json": {"tempC": 18}}, {"text": "sunny"}],
        }
    }

    second = bedrock.converse(
        modelId=HAIKU_PROFILE,
        messages=[
            *user("call get_weather city=Paris"),
            assistant,
            {"role": "user", "content": [result]},
        ],
        toolConfig={"tools": [WEATHER_TOOL]},
    )

    assert second["output"]["message"]["content"] == [
        {"text": 'The tool returned: "{"tempC":18} sunny".'}
    ]
    assert second["stopReason"] == "end_turn"


@pytest.mark.parametrize(
    "model_id",
    [
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
        "global.anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
    ],
)
def test_arns_profiles_and_base_ids_are_accepted(bedrock: Any, model_id: str) -> None:
    response = bedrock.converse(modelId=model_id, messages=user("hi"))

    assert response["stopReason"] == "end_turn"


def test_boto3_percent_encodes_the_model_id_and_the_emulator_decodes_it(
    bedrock: Any, emulator: RunningEmulator
) -> None:
    bedrock.converse(modelId=HAIKU_PROFILE, messages=user("hi"))

    [record] = emulator.recent_requests()
    assert record["path"] == f"/model/{quote(HAIKU_PROFILE, safe='')}/converse"
    assert "%3A" in record["path"]
    assert record["headers"]["Authorization"] == "AWS4-HMAC-SHA256 <redacted>"


# --- auth and model errors ---------------------------------------------------------------------


def client_error(call: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_a_wrong_secret_is_an_invalid_signature(emulator: RunningEmulator) -> None:
    client = make_client(emulator.url, secret="wrong-secret")
    try:
        error = client_error(lambda: client.converse(modelId=HAIKU_PROFILE, messages=user("hi")))
    finally:
        client.close()

    assert error.response["Error"]["Code"] == "InvalidSignatureException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_profile_only_model_by_base_id_is_the_on_demand_error(bedrock: Any) -> None:
    model_id = "anthropic.claude-sonnet-4-5-20250929-v1:0"

    error = client_error(lambda: bedrock.converse(modelId=model_id, messages=user("hi")))

    assert error.response["Error"]["Code"] == "ValidationException"
    assert error.response["Error"]["Message"] == (
        f"Invocation of model ID {model_id} with on-demand throughput isn\u2019t supported. "
        "Retry your request with the ID or ARN of an inference profile that contains this model."
    )


def test_an_unknown_model_is_an_invalid_identifier(bedrock: Any) -> None:
    error = client_error(lambda: bedrock.converse(modelId="acme.model-v1:0", messages=user("hi")))

    assert error.response["Error"]["Code"] == "ValidationException"
    assert error.response["Error"]["Message"] == "The provided model identifier is invalid."


# --- scripted faults ---------------------------------------------------------------------------

HTTP_FAULTS = [
    ("throttle", "ThrottlingException", 429),
    ("server-error", "InternalServerException", 500),
    ("unavailable", "ServiceUnavailableException", 503),
    ("access-denied", "AccessDeniedException", 403),
    ("validation", "ValidationException", 400),
    ("model-timeout", "ModelTimeoutException", 408),
]


@pytest.mark.parametrize(("fault", "code", "status"), HTTP_FAULTS)
def test_http_fault_markers_are_client_errors(
    bedrock: Any, fault: str, code: str, status: int
) -> None:
    error = client_error(
        lambda: bedrock.converse(modelId=HAIKU_PROFILE, messages=user(f"hi [[fault:{fault}]]"))
    )

    assert error.response["Error"]["Code"] == code
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.response["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize(("fault", "code", "status"), HTTP_FAULTS[:3])
def test_the_fault_header_fails_a_stream_before_it_starts(
    bedrock: Any, fault: str, code: str, status: int
) -> None:
    def add_fault(request: Any, **_: Any) -> None:
        request.headers["x-emulator-fault"] = fault

    bedrock.meta.events.register("before-send.bedrock-runtime.ConverseStream", add_fault)

    error = client_error(
        lambda: bedrock.converse_stream(modelId=HAIKU_PROFILE, messages=user("hi"))
    )

    assert error.response["Error"]["Code"] == code
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize(
    ("fault", "member"),
    [("midstream-throttle", "throttlingException"), ("midstream-error", "internalServerException")],
)
def test_a_midstream_fault_raises_an_event_stream_error_after_some_deltas(
    bedrock: Any, emulator: RunningEmulator, fault: str, member: str
) -> None:
    stream = bedrock.converse_stream(
        modelId=HAIKU_PROFILE, messages=user(f"a longer question [[fault:{fault}]]")
    )["stream"]
    received: list[dict[str, Any]] = []

    with pytest.raises(EventStreamError) as caught:
        for event in stream:
            received.append(event)
    stream.close()

    assert caught.value.response["Error"]["Code"] == member
    assert any("contentBlockDelta" in event for event in received)
    assert not any("messageStop" in event for event in received)
    assert emulator.stats()["streams"]["faulted"] == 1


def test_a_truncated_stream_just_ends(bedrock: Any, emulator: RunningEmulator) -> None:
    events = collect(
        bedrock.converse_stream(modelId=HAIKU_PROFILE, messages=user("cut me [[fault:truncate]]"))[
            "stream"
        ]
    )

    assert "contentBlockDelta" in events[-1]
    assert not any("messageStop" in event or "metadata" in event for event in events)
    assert emulator.stats()["streams"]["faulted"] == 1


def test_slow_chunks_space_the_frames_out(bedrock: Any) -> None:
    started = time.perf_counter()
    events = collect(
        bedrock.converse_stream(
            modelId=HAIKU_PROFILE, messages=user("hi [[fault:slow-chunks=30]]")
        )["stream"]
    )

    assert time.perf_counter() - started >= 0.03 * (len(events) - 1)


def test_slow_first_byte_delays_the_stream(bedrock: Any) -> None:
    started = time.perf_counter()

    response = bedrock.converse_stream(
        modelId=HAIKU_PROFILE, messages=user("hi [[fault:slow-first-byte=300]]")
    )
    first_byte = time.perf_counter() - started
    events = collect(response["stream"])

    assert first_byte >= 0.3
    assert "metadata" in events[-1]


# --- raw HTTP: unencoded ids, client disconnects -----------------------------------------------


def sigv4_headers(url: str, body: bytes) -> dict[str, str]:
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY), "bedrock", REGION).add_auth(
        request
    )
    return dict(request.headers.items())


async def test_a_raw_colon_in_the_model_id_is_accepted_and_verified(
    emulator: RunningEmulator,
) -> None:
    url = f"{emulator.url}/model/{HAIKU_PROFILE}/converse"
    body = orjson.dumps({"messages": user("raw colon")})

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            yarl.URL(url, encoded=True), data=body, headers=sigv4_headers(url, body)
        ) as response,
    ):
        payload = await response.json()

    assert response.status == 200
    assert payload["output"]["message"]["content"][0]["text"] == emulator_reply("raw colon")


async def test_a_bedrock_api_key_authenticates_as_a_bearer_token(
    emulator: RunningEmulator,
) -> None:
    url = f"{emulator.url}/model/{quote(HAIKU_PROFILE, safe='')}/converse"
    body = orjson.dumps({"messages": user("bearer")})

    async with aiohttp.ClientSession() as session:
        good = await session.post(
            yarl.URL(url, encoded=True),
            data=body,
            headers={"Authorization": f"Bearer {BEARER_TOKEN}"},
        )
        bad = await session.post(
            yarl.URL(url, encoded=True), data=body, headers={"Authorization": "Bearer nope"}
        )
        good_body, bad_body = await good.json(), await bad.json()

    assert good.status == 200
    assert good_body["stopReason"] == "end_turn"
    assert (bad.status, bad.headers["x-amzn-ErrorType"].split(":")[0]) == (
        403,
        "UnrecognizedClientException",
    )
    assert bad_body == {"message": "The security token included in the request is invalid."}
    assert emulator.recent_requests()[0]["headers"]["Authorization"] == "Bearer <redacted>"


async def test_a_client_closing_mid_stream_is_counted_as_cancelled(
    emulator: RunningEmulator,
) -> None:
    url = f"{emulator.url}/model/{quote(HAIKU_PROFILE, safe='')}/converse-stream"
    body = orjson.dumps({"messages": user("a long answer please [[fault:slow-chunks=100]]")})

    async with aiohttp.ClientSession() as session:
        response = await session.post(
            yarl.URL(url, encoded=True), data=body, headers=sigv4_headers(url, body)
        )
        first = await response.content.readany()
        response.close()

    streams: dict[str, int] = {}
    for _ in range(100):
        streams = (await asyncio.to_thread(emulator.stats))["streams"]
        if streams["cancelled"]:
            break
        await asyncio.sleep(0.05)
    assert response.status == 200
    assert first
    assert streams["started"] == 1
    assert streams["cancelled"] == 1
    assert streams["completed"] == 0
