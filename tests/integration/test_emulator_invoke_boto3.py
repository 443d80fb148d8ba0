"""Real clients against the emulator's Claude InvokeModel routes: boto3 ``bedrock-runtime``
(``invoke_model``, ``invoke_model_with_response_stream``, ``count_tokens``) and the anthropic
SDK's ``AnthropicBedrock`` (it signs with SigV4 and decodes the event stream itself)."""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import boto3
import orjson
import pytest
from anthropic import AnthropicBedrock
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from stargate.emulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, EmulatorConfig, serve

REGION = "us-east-1"
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
HAIKU_BASE = "anthropic.claude-haiku-4-5-20251001-v1:0"
BEDROCK_VERSION = {"anthropic_version": "bedrock-2023-05-31"}
READ_TOOL = {
    "name": "Read",
    "description": "Read a file from the local filesystem.",
    "input_schema": {
        "type": "object",
        "properties": {
            "file_path": {"type": "string"},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
        },
        "required": ["file_path"],
    },
}
SYSTEM = [
    {
        "type": "text",
        "text": "You are an agent that reads files carefully. " * 30,
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
    }
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_emulator/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def _serving(config: EmulatorConfig) -> Iterator[str]:
    """Serve on a free port, on an event loop in a background thread (boto3 is synchronous)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    loop = asyncio.new_event_loop()
    server = loop.create_task(serve(config, "127.0.0.1", port))

    def run() -> None:
        try:
            loop.run_until_complete(server)
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="bedrock-emulator-invoke")
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not _healthy(url):
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.02)
        yield url
    finally:
        loop.call_soon_threadsafe(server.cancel)
        thread.join(10)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with _serving(EmulatorConfig(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY)) as url:
        yield url


@pytest.fixture
def emulator(base_url: str) -> str:
    request = urllib.request.Request(base_url + "/_emulator/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    return base_url


@pytest.fixture
def bedrock(emulator: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=emulator,
        region_name=REGION,
        aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=15),
    )
    yield client
    client.close()


@pytest.fixture
def claude(emulator: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AnthropicBedrock]:
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    monkeypatch.delenv("ANTHROPIC_BEDROCK_BASE_URL", raising=False)
    client = AnthropicBedrock(
        base_url=emulator,
        aws_access_key=TEST_ACCESS_KEY_ID,
        aws_secret_key=TEST_SECRET_ACCESS_KEY,
        aws_region=REGION,
        max_retries=0,
    )
    yield client
    client.close()


def body(text: str, **fields: Any) -> dict[str, Any]:
    return {
        **BEDROCK_VERSION,
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
        **fields,
    }


def emulator_reply(text: str) -> str:
    return f'This is the Stargate Bedrock emulator. You said: "{text}".'


def invoke(bedrock: Any, data: object, model: str = HAIKU_PROFILE) -> tuple[dict[str, Any], Any]:
    response = bedrock.invoke_model(modelId=model, body=orjson.dumps(data))
    return orjson.loads(response["body"].read()), response


def stream_events(bedrock: Any, data: object) -> list[dict[str, Any]]:
    response = bedrock.invoke_model_with_response_stream(
        modelId=HAIKU_PROFILE, body=orjson.dumps(data)
    )
    assert response["contentType"] == "application/json"
    return [orjson.loads(event["chunk"]["bytes"]) for event in response["body"]]


# --- boto3 -------------------------------------------------------------------------------------


def test_invoke_model_returns_the_message_and_bedrocks_token_headers(bedrock: Any) -> None:
    prompt = "What is the capital of France?"

    message, response = invoke(bedrock, body(prompt))

    text = emulator_reply(prompt)
    assert message["content"] == [{"type": "text", "text": text}]
    assert message["id"].startswith("msg_bdrk_01")
    assert (message["model"], message["stop_reason"]) == ("claude-haiku-4-5-20251001", "end_turn")
    assert message["usage"]["input_tokens"] == math.ceil(len(prompt) / 4)
    assert message["usage"]["output_tokens"] == math.ceil(len(text) / 4)
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-input-token-count"] == str(message["usage"]["input_tokens"])
    assert headers["x-amzn-bedrock-output-token-count"] == str(message["usage"]["output_tokens"])
    assert headers["x-amzn-bedrock-cache-read-input-token-count"] == "0"
    assert headers["x-amzn-bedrock-cache-write-input-token-count"] == "0"
    assert "x-amzn-bedrock-invocation-latency" in headers
    assert response["contentType"] == "application/json"


def test_the_response_stream_has_the_exact_anthropic_event_sequence(bedrock: Any) -> None:
    data = body(
        "Use the Read tool with file_path=/tmp/x/notes.txt",
        tools=[READ_TOOL],
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    whole, _ = invoke(bedrock, data)

    events = stream_events(bedrock, data)

    def shape(event: dict[str, Any]) -> str:
        if event["type"] == "content_block_delta":
            return f"{event['index']}:{event['delta']['type']}"
        if event["type"] == "content_block_start":
            return f"{event['index']}:start:{event['content_block']['type']}"
        if event["type"] == "content_block_stop":
            return f"{event['index']}:stop"
        return str(event["type"])

    thinking_deltas = len([e for e in events if shape(e) == "0:thinking_delta"])
    text_deltas = len([e for e in events if shape(e) == "1:text_delta"])
    json_deltas = len([e for e in events if shape(e) == "2:input_json_delta"])
    assert [shape(event) for event in events] == [
        "message_start",
        "0:start:thinking", *["0:thinking_delta"] * thinking_deltas, "0:signature_delta", "0:stop",
        "1:start:text", *["1:text_delta"] * text_deltas, "1:stop",
        "2:start:tool_use", *["2:input_json_delta"] * json_deltas, "2:stop",
        "message_delta",
        "message_stop",
    ]  # fmt: skip
    assert thinking_deltas >= 1
    assert text_deltas >= 1
    assert json_deltas >= 1
    start = events[0]["message"]
    assert (start["usage"]["output_tokens"], start["content"]) == (1, [])
    assert start["usage"]["input_tokens"] == whole["usage"]["input_tokens"]
    tool_start = next(e for e in events if shape(e) == "2:start:tool_use")["content_block"]
    assert tool_start == {**whole["content"][2], "input": {}}
    partial = "".join(
        e["delta"]["partial_json"] for e in events if shape(e) == "2:input_json_delta"
    )
    assert orjson.loads(partial) == {"file_path": "/tmp/x/notes.txt"}
    assert events[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert events[-2]["usage"] == {"output_tokens": whole["usage"]["output_tokens"]}
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] == whole["usage"]["output_tokens"]
    assert metrics["inputTokenCount"] == whole["usage"]["input_tokens"]


def test_prompt_caching_writes_then_reads_the_cached_prefix(bedrock: Any) -> None:
    first, _ = invoke(bedrock, body("first question", system=SYSTEM))
    second, response = invoke(bedrock, body("second question", system=SYSTEM))
    events = stream_events(bedrock, body("third question", system=SYSTEM))

    written = first["usage"]["cache_creation"]["ephemeral_1h_input_tokens"]
    assert written == math.ceil(len(SYSTEM[0]["text"]) / 4)
    assert first["usage"]["cache_creation_input_tokens"] == written
    assert first["usage"]["cache_read_input_tokens"] == 0
    assert second["usage"]["cache_read_input_tokens"] == written
    assert second["usage"]["cache_creation_input_tokens"] == 0
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-cache-read-input-token-count"] == str(written)
    assert events[0]["message"]["usage"]["cache_read_input_tokens"] == written
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert (metrics["cacheReadInputTokenCount"], metrics["cacheWriteInputTokenCount"]) == (
        written,
        0,
    )


def test_count_tokens_agrees_with_invoke_for_both_input_forms(bedrock: Any) -> None:
    data = body("Count these tokens, please.", system=SYSTEM, tools=[READ_TOOL])
    message, _ = invoke(bedrock, data)
    messages = [{"role": "user", "content": [{"text": "Count these tokens, please."}]}]
    converse = bedrock.converse(modelId=HAIKU_PROFILE, messages=messages)

    counted_invoke = bedrock.count_tokens(
        modelId=HAIKU_BASE, input={"invokeModel": {"body": orjson.dumps(data)}}
    )
    counted_converse = bedrock.count_tokens(
        modelId=HAIKU_BASE, input={"converse": {"messages": messages}}
    )

    usage = message["usage"]
    whole = (
        usage["input_tokens"]
        + usage["cache_creation_input_tokens"]
        + usage["cache_read_input_tokens"]
    )
    assert counted_invoke["inputTokens"] == whole
    assert counted_converse["inputTokens"] == converse["usage"]["inputTokens"]


def test_count_tokens_refuses_profile_ids(bedrock: Any) -> None:
    with pytest.raises(ClientError) as caught:
        bedrock.count_tokens(
            modelId=HAIKU_PROFILE, input={"invokeModel": {"body": orjson.dumps(body("hi"))}}
        )

    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "The provided model doesn't support counting tokens.",
    )


def test_invalid_bodies_are_bedrocks_validation_exceptions(bedrock: Any) -> None:
    with pytest.raises(ClientError) as extraneous:
        invoke(bedrock, {**body("hi"), "model": "claude-haiku-4-5", "stream": True})
    with pytest.raises(ClientError) as beta:
        invoke(bedrock, body("hi", anthropic_beta=["claude-code-20250219"]))
    with pytest.raises(ClientError) as nova:
        invoke(bedrock, body("hi"), "amazon.nova-micro-v1:0")

    assert extraneous.value.response["Error"]["Message"] == (
        "Malformed input request: #: extraneous key [model] is not permitted"
        "#: extraneous key [stream] is not permitted, please reformat your input and try again."
    )
    assert beta.value.response["Error"]["Message"] == "invalid beta flag: claude-code-20250219"
    for caught in (extraneous, beta, nova):
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_midstream_fault_is_an_event_stream_error(bedrock: Any) -> None:
    response = bedrock.invoke_model_with_response_stream(
        modelId=HAIKU_PROFILE, body=orjson.dumps(body("some words [[fault:midstream-throttle]]"))
    )
    seen: list[str] = []

    with pytest.raises(EventStreamError) as caught:
        try:
            for event in response["body"]:
                seen.append(orjson.loads(event["chunk"]["bytes"])["type"])
        finally:
            response["body"].close()

    assert caught.value.response["Error"]["Code"] == "throttlingException"
    assert seen[0] == "message_start"
    assert "message_stop" not in seen


def test_an_http_fault_is_raised_before_the_stream(bedrock: Any) -> None:
    with pytest.raises(ClientError) as caught:
        bedrock.invoke_model_with_response_stream(
            modelId=HAIKU_PROFILE, body=orjson.dumps(body("hi [[fault:unavailable]]"))
        )

    assert caught.value.response["Error"]["Code"] == "ServiceUnavailableException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


# --- the anthropic SDK -------------------------------------------------------------------------


def test_anthropic_bedrock_messages_create(claude: AnthropicBedrock) -> None:
    message = claude.messages.create(
        model=HAIKU_PROFILE,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Hello from the SDK"}],
        extra_body=BEDROCK_VERSION,
    )

    [block] = message.content
    assert block.type == "text"
    assert block.text == emulator_reply("Hello from the SDK")
    assert message.id.startswith("msg_bdrk_01")
    assert message.model == "claude-haiku-4-5-20251001"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == math.ceil(len("Hello from the SDK") / 4)
    assert message.usage.output_tokens == math.ceil(len(block.text) / 4)


def test_anthropic_bedrock_messages_stream_with_thinking_and_a_tool(
    claude: AnthropicBedrock,
) -> None:
    with claude.messages.stream(
        model=HAIKU_PROFILE,
        max_tokens=4096,
        system=SYSTEM,  # type: ignore[arg-type]
        tools=[READ_TOOL],  # type: ignore[list-item]
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Use the Read tool with file_path=/tmp/x/notes.txt"}],
        extra_body=BEDROCK_VERSION,
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()

    thinking, lead, call = final.content
    assert thinking.type == "thinking"
    assert (
        thinking.thinking == 'Thinking about: "Use the Read tool with file_path=/tmp/x/notes.txt".'
    )
    assert thinking.signature
    assert (lead.type, getattr(lead, "text", None)) == ("text", "I will use the Read tool.")
    assert call.type == "tool_use"
    assert (call.name, call.input) == ("Read", {"file_path": "/tmp/x/notes.txt"})
    assert call.id.startswith("toolu_bdrk_01")
    assert final.stop_reason == "tool_use"
    # the cached prefix is everything up to the breakpoint: the tools, then the system prompt
    tool_chars = (
        len("Read") + len(READ_TOOL["description"]) + len(orjson.dumps(READ_TOOL["input_schema"]))
    )
    prefix_chars = tool_chars + len(SYSTEM[0]["text"])
    assert final.usage.cache_creation_input_tokens == math.ceil(prefix_chars / 4)
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "input_json" in kinds
    assert "signature" in kinds


def test_anthropic_bedrock_surfaces_a_midstream_exception_frame(claude: AnthropicBedrock) -> None:
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        claude.messages.stream(
            model=HAIKU_PROFILE,
            max_tokens=1024,
            messages=[{"role": "user", "content": "a few words [[fault:midstream-error]]"}],
            extra_body=BEDROCK_VERSION,
        ) as stream,
    ):
        for _ in stream:
            pass

    assert "internalServerException" in str(caught.value)


def test_the_sdk_default_anthropic_version_is_refused_as_bedrock_refuses_it(
    claude: AnthropicBedrock,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model=HAIKU_PROFILE, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )

    assert "#/anthropic_version: " in str(caught.value)
    assert "is not a valid enum value" in str(caught.value)
