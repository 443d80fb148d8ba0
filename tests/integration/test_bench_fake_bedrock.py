"""The bench's fake Bedrock upstream replays the emulator's answers so faithfully that boto3's
``bedrock-runtime`` client accepts them, streams included (real processes, as the bench runs
them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from bench import fake_bedrock
from bench.procs import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    emulator,
    fake_bedrock_process,
    free_port,
)
from bench.run import PROMPT, UPSTREAM_MODEL, bench_answers
from botocore.config import Config

MODEL_ID = UPSTREAM_MODEL.replace("%3A", ":")


@pytest.fixture(scope="module")
def recordings() -> dict[str, fake_bedrock.Recording]:
    port = free_port()
    with emulator(port):
        return bench_answers(port)


@pytest.fixture(scope="module")
def fake_url(
    recordings: dict[str, fake_bedrock.Recording], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    answers = tmp_path_factory.mktemp("fake") / "answers.json"
    fake_bedrock.save(recordings, answers)
    port = free_port()
    with fake_bedrock_process(port, answers):
        yield f"http://127.0.0.1:{port}"


def _client(url: str) -> object:
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=url,
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip


def test_recordings_keep_every_operation_and_each_stream_frame(
    recordings: dict[str, fake_bedrock.Recording], tmp_path: Path
) -> None:
    assert sorted(recordings) == sorted(fake_bedrock.OPERATIONS)
    assert len(recordings["converse"].parts) == 1
    # A stream is kept frame by frame: messageStart, deltas, stops, metadata.
    assert len(recordings["converse-stream"].parts) >= 5
    assert len(recordings["invoke-with-response-stream"].parts) >= 5
    headers = dict(recordings["converse"].headers)
    assert headers["Content-Type"] == "application/json"
    assert "Content-Length" not in headers
    assert "Date" not in headers
    saved = tmp_path / "answers.json"
    fake_bedrock.save(recordings, saved)
    assert fake_bedrock.load(saved) == recordings


def test_boto3_accepts_the_replayed_converse_and_its_stream(fake_url: str) -> None:
    client = _client(fake_url)
    messages = [{"role": "user", "content": [{"text": PROMPT}]}]
    answer = client.converse(modelId=MODEL_ID, messages=messages)  # type: ignore[attr-defined]
    assert answer["stopReason"] == "end_turn"
    assert answer["output"]["message"]["content"][0]["text"]
    assert answer["usage"]["inputTokens"] > 0

    events = client.converse_stream(modelId=MODEL_ID, messages=messages)  # type: ignore[attr-defined]
    kinds = [next(iter(event)) for event in events["stream"]]
    assert kinds[0] == "messageStart"
    assert kinds[-1] == "metadata"
    assert "contentBlockDelta" in kinds
    assert "messageStop" in kinds


def test_boto3_accepts_the_replayed_invoke_and_its_stream(fake_url: str) -> None:
    client = _client(fake_url)
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
                       "messages": [{"role": "user", "content": PROMPT}]})  # fmt: skip
    answer = client.invoke_model(modelId=MODEL_ID, body=body)  # type: ignore[attr-defined]
    message = json.loads(answer["body"].read())
    assert message["type"] == "message"
    assert message["stop_reason"] == "end_turn"

    streamed = client.invoke_model_with_response_stream(modelId=MODEL_ID, body=body)  # type: ignore[attr-defined]
    types = [json.loads(event["chunk"]["bytes"])["type"] for event in streamed["body"]]
    assert types[0] == "message_start"
    assert types[-1] == "message_stop"


def test_an_operation_it_never_recorded_is_bedrocks_unknown_operation(fake_url: str) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{fake_url}/model/m/count-tokens", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 404
    assert caught.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    caught.value.close()


def test_a_body_that_is_not_whole_frames_is_refused() -> None:
    frame = next(fake_bedrock.split_frames(_one_frame()))
    assert frame == _one_frame()
    with pytest.raises(ValueError, match="does not fit"):
        list(fake_bedrock.split_frames(_one_frame()[:-1]))
    with pytest.raises(ValueError, match="inside a frame's length"):
        list(fake_bedrock.split_frames(_one_frame() + b"\x00\x00"))


def _one_frame() -> bytes:
    from stargate.wire.eventstream import encode_event

    return encode_event("messageStop", {"stopReason": "end_turn"})
