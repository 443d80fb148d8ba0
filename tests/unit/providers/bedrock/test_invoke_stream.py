"""InvokeStreamState and the CountTokens bodies (pure)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from stargate.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamInvalidRequest,
    UpstreamOverloaded,
    UpstreamServerError,
    UpstreamThrottled,
)
from stargate.providers.bedrock.count_tokens import (
    converse_count_body,
    counting_unsupported,
    invoke_count_body,
    parse_count_response,
)
from stargate.providers.bedrock.invoke_stream import INVOCATION_METRICS, InvokeStreamState

START = {"type": "message_start", "message": {"id": "msg_bdrk_1", "usage": {"input_tokens": 3}}}
METRICS = {
    "inputTokenCount": 3,
    "outputTokenCount": 5,
    "invocationLatency": 9,
    "firstByteLatency": 4,
}


def chunk(event: dict[str, Any]) -> dict[str, Any]:
    return {"bytes": base64.b64encode(orjson.dumps(event)).decode(), "p": "abcdef"}


def test_chunks_decode_to_events_and_the_metrics_are_taken_off_message_stop() -> None:
    state = InvokeStreamState("m")
    assert state.feed(chunk(START)) == START
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "é"},
    }
    assert state.feed(chunk(delta)) == delta
    assert state.feed(chunk({"type": "ping"})) == {"type": "ping"}
    stop = state.feed(chunk({"type": "message_stop", INVOCATION_METRICS: METRICS}))
    assert stop == {"type": "message_stop"}
    assert state.metrics == METRICS
    assert state.complete
    state.finish()


@pytest.mark.parametrize(
    "events",
    [[], [START], [START, {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 1}}]],
)
def test_a_stream_without_message_stop_ended_early(events: list[dict[str, Any]]) -> None:
    state = InvokeStreamState("m")
    for event in events:
        state.feed(chunk(event))
    with pytest.raises(UpstreamBadResponse, match="ended early"):
        state.finish()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"bytes": 5},
        {"bytes": "not base64!"},
        {"bytes": base64.b64encode(b"not json").decode()},
        {"bytes": base64.b64encode(b"[1]").decode()},
        {"bytes": base64.b64encode(b'{"no":"type"}').decode()},
    ],
)
def test_malformed_chunks_are_a_bad_response(payload: dict[str, Any]) -> None:
    with pytest.raises(UpstreamBadResponse):
        InvokeStreamState("m").feed(payload)


def test_content_before_message_start_is_a_bad_response() -> None:
    with pytest.raises(UpstreamBadResponse, match="before message_start"):
        InvokeStreamState("m").feed(chunk({"type": "content_block_stop", "index": 0}))


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("overloaded_error", UpstreamOverloaded),
        ("rate_limit_error", UpstreamThrottled),
        ("invalid_request_error", UpstreamInvalidRequest),
        ("api_error", UpstreamServerError),
        (None, UpstreamServerError),
    ],
)
def test_an_anthropic_error_event_is_raised_as_its_error(
    kind: str | None, cls: type[UpstreamError]
) -> None:
    state = InvokeStreamState("us.anthropic.claude-x")
    state.feed(chunk(START))
    error = {"type": "error", "error": {"type": kind, "message": "busy"}}
    with pytest.raises(cls) as caught:
        state.feed(chunk(error))
    assert type(caught.value) is cls
    assert "us.anthropic.claude-x" in caught.value.message


def test_count_bodies_and_answers() -> None:
    body = b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[]}'
    wrapped = orjson.loads(invoke_count_body(body))
    assert base64.b64decode(wrapped["input"]["invokeModel"]["body"]) == body
    converse = {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "system": [{"text": "s"}],
        "inferenceConfig": {"maxTokens": 5},
        "toolConfig": {"tools": []},
    }
    assert orjson.loads(converse_count_body(converse)) == {
        "input": {
            "converse": {
                "messages": converse["messages"],
                "system": converse["system"],
                "toolConfig": {"tools": []},
            }
        }
    }
    assert parse_count_response({"inputTokens": 42}) == 42
    for bad in ({}, {"inputTokens": -1}, {"inputTokens": "3"}, [], {"inputTokens": True}):
        with pytest.raises(UpstreamBadResponse):
            parse_count_response(bad)


def test_the_cannot_count_answer_is_recognised() -> None:
    assert counting_unsupported(
        UpstreamInvalidRequest(
            "Bedrock rejected ...: The provided model doesn't support counting tokens."
        )
    )
    assert not counting_unsupported(UpstreamInvalidRequest("Malformed input request"))
    assert not counting_unsupported(UpstreamThrottled("doesn't support counting tokens"))
