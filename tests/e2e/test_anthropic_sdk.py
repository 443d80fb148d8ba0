"""The anthropic SDK and raw Messages traffic against a real gateway in front of the emulator."""

from __future__ import annotations

import anthropic
import httpx2 as httpx
import orjson
import pytest

from tests.e2e.claude_code_body import HEADERS, claude_code_body
from tests.e2e.processes import Gateway

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
CLAUDE = "claude-haiku-4-5"
NOVA = "model-cheap"


@pytest.fixture
def client(gateway: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=gateway.master_key, max_retries=0)


@pytest.mark.parametrize("model", [CLAUDE, NOVA, "claude-opus-4-8"])
def test_create_returns_text_and_usage(client: anthropic.Anthropic, model: str) -> None:
    message = client.messages.create(
        model=model,
        max_tokens=300,
        system="You are terse.",
        messages=[{"role": "user", "content": "Hello from the SDK"}],
    )
    assert message.model == model
    assert message.role == "assistant"
    assert message.stop_reason == "end_turn"
    text = "".join(b.text for b in message.content if b.type == "text")
    assert "Hello from the SDK" in text
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0


@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_stream_text(client: anthropic.Anthropic, model: str) -> None:
    with client.messages.stream(
        model=model, max_tokens=300, messages=[{"role": "user", "content": "Stream it"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) >= 3
    assert "Stream it" in "".join(pieces)
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("model", [CLAUDE, NOVA])
@pytest.mark.parametrize("streamed", [False, True])
def test_tool_use(client: anthropic.Anthropic, model: str, streamed: bool) -> None:
    kwargs = {
        "model": model,
        "max_tokens": 300,
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "Please call get_weather with city=Lima"}],
    }
    if streamed:
        with client.messages.stream(**kwargs) as stream:  # type: ignore[arg-type]
            message = stream.get_final_message()
    else:
        message = client.messages.create(**kwargs)  # type: ignore[arg-type]
    assert message.stop_reason == "tool_use"
    uses = [b for b in message.content if b.type == "tool_use"]
    assert len(uses) == 1
    assert uses[0].name == "get_weather"
    assert uses[0].input == {"city": "Lima"}

    follow = client.messages.create(
        model=model,
        max_tokens=300,
        tools=[WEATHER],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "Please call get_weather with city=Lima"},
            {"role": "assistant", "content": message.content},  # type: ignore[typeddict-item]
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": uses[0].id, "content": "21C, clear"}
                ],
            },
        ],
    )
    assert "21C, clear" in "".join(b.text for b in follow.content if b.type == "text")


def test_stream_thinking_has_signature(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=CLAUDE,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "Think first"}],
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    thinking = [b for b in final.content if b.type == "thinking"]
    assert thinking
    assert thinking[0].thinking
    assert thinking[0].signature
    assert "content_block_start" in kinds


def test_count_tokens(client: anthropic.Anthropic, gateway: Gateway) -> None:
    counted = client.messages.count_tokens(
        model=CLAUDE, messages=[{"role": "user", "content": "How many tokens is this?"}]
    )
    assert counted.input_tokens > 0
    for model in (CLAUDE, NOVA):
        response = httpx.post(
            gateway.url + "/v1/messages/count_tokens?beta=true",
            json={
                "model": model,
                "system": "be brief",
                "tools": [WEATHER],
                "messages": [{"role": "user", "content": "count me " * 50}],
            },
            headers={
                "x-api-key": gateway.master_key,
                "anthropic-beta": "token-counting-2024-11-01",
            },
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["input_tokens"] > 100
        assert response.headers["x-stargate-token-count"] in {"exact", "estimate"}


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, object]]]:
    events: list[tuple[str, dict[str, object]]] = []
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            assert name is not None, "every data line follows an event: line"
            events.append((name, orjson.loads(line[len("data: ") :])))
            name = None
    return events


@pytest.mark.parametrize("model", ["claude-opus-4-8", "claude-haiku-4-5"])
def test_claude_code_body_replay_streams_the_exact_event_sequence(
    gateway: Gateway, model: str
) -> None:
    headers = {**HEADERS, "x-api-key": gateway.master_key}
    with httpx.stream(
        "POST",
        gateway.url + "/v1/messages?beta=true",
        json=claude_code_body(model),
        headers=headers,
        timeout=60,
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    names = [name for name, _ in events if name != "ping"]
    for name, data in events:
        assert data["type"] == name
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    blocks = names[1:-2]
    assert blocks, "at least one content block"
    assert blocks[0] == "content_block_start"
    assert blocks[-1] == "content_block_stop"
    assert "content_block_delta" in blocks


def test_claude_code_body_replay_non_stream(gateway: Gateway) -> None:
    headers = {**HEADERS, "Authorization": f"Bearer {gateway.master_key}"}
    response = httpx.post(
        gateway.url + "/v1/messages?beta=true",
        json=claude_code_body(stream=False),
        headers=headers,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "message"
    assert body["model"] == "claude-opus-4-8"
    assert any(block["type"] == "text" for block in body["content"])


@pytest.mark.parametrize(
    ("fault", "status", "exc_type"),
    [
        ("throttle", 429, anthropic.RateLimitError),
        ("server-error", 502, anthropic.InternalServerError),
        ("unavailable", 529, anthropic.InternalServerError),
        ("access-denied", 403, anthropic.PermissionDeniedError),
        ("validation", 400, anthropic.BadRequestError),
        ("model-timeout", 504, anthropic.InternalServerError),
    ],
)
@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_upstream_faults_map_to_sdk_exceptions(
    client: anthropic.Anthropic,
    model: str,
    fault: str,
    status: int,
    exc_type: type[anthropic.APIStatusError],
) -> None:
    with pytest.raises(exc_type) as caught:
        client.messages.create(
            model=model,
            max_tokens=100,
            messages=[{"role": "user", "content": f"hi [[fault:{fault}]]"}],
        )
    err = caught.value
    assert err.status_code == status
    assert isinstance(err.body, dict)
    assert err.body["type"] == "error"
    assert err.response.headers["request-id"]
    if status == 429:
        assert 1 <= int(err.response.headers["retry-after"]) <= 60
    if status in (400, 403):
        assert err.response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_midstream_fault_is_an_error_event(client: anthropic.Anthropic, model: str) -> None:
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(
            model=model,
            max_tokens=300,
            messages=[{"role": "user", "content": "go on [[fault:midstream-throttle]]"}],
        ) as stream,
    ):
        for _ in stream:
            pass
    assert "rate_limit_error" in str(caught.value.body)


def test_wrong_key_is_401_without_retry(gateway: Gateway) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key="sk-nope", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(
            model=CLAUDE, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_unknown_model_is_404(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(
            model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )


def test_bad_body_is_400_in_anthropic_shape(gateway: Gateway) -> None:
    response = httpx.post(
        gateway.url + "/v1/messages",
        json={"model": CLAUDE, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": gateway.master_key},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in response.json()["error"]["message"]


def test_head_root_needs_no_key(gateway: Gateway) -> None:
    assert httpx.head(gateway.url + "/", timeout=5).status_code == 200


def test_models_list_in_anthropic_shape(client: anthropic.Anthropic) -> None:
    ids = [model.id for model in client.models.list()]
    assert "claude-haiku-4-5" in ids
