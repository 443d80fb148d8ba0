"""The real openai SDK against the translators, through an in-memory HTTP transport.

What the SDK sends must parse; what the renderers produce must come back out of the SDK's own
response, stream and stream-helper code as the right objects (or the right exception).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import orjson
import pytest

from stargate.core import (
    BlockStop,
    ChatRequest,
    ChatResponse,
    ContentPart,
    ImagePart,
    MessageStart,
    MessageStop,
    StopReason,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolChoice,
    ToolResultPart,
    ToolUseDelta,
    ToolUsePart,
    ToolUseStart,
    Usage,
    UsageReport,
)
from stargate.errors import UpstreamServerError
from stargate.translate.openai_request import parse_chat_request, stream_include_usage
from stargate.translate.openai_response import render_chat_response
from stargate.translate.openai_stream import ChatStreamRenderer

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
USAGE = Usage(input_tokens=20, output_tokens=9, cache_read_tokens=5)
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]
TOOL_TURN: list[StreamEvent] = [
    MessageStart(id="msg", model="upstream"),
    TextDelta(0, "Checking "),
    TextDelta(0, "both."),
    BlockStop(0),
    ToolUseStart(1, id="tooluse_w", name="get_weather"),
    ToolUseDelta(1, '{"ci'),
    ToolUseDelta(1, 'ty": "Oslo"}'),
    BlockStop(1),
    ToolUseStart(2, id="tooluse_t", name="get_time"),
    ToolUseDelta(2, "{}"),
    BlockStop(2),
    MessageStop(StopReason.TOOL_USE),
    UsageReport(USAGE),
]

# the same turn as TOOL_TURN, whole, for the non-streaming answer
TOOL_ANSWER: list[ContentPart] = [
    TextPart("Checking both."),
    ToolUsePart(id="tooluse_w", name="get_weather", input={"city": "Oslo"}),
    ToolUsePart(id="tooluse_t", name="get_time", input={}),
]


class Gateway:
    """Stands in for the API layer: parse the body, answer with the renderers' output."""

    def __init__(self, events: list[StreamEvent], *, fail_after: int | None = None) -> None:
        self.events = events
        self.fail_after = fail_after
        self.requests: list[ChatRequest] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = orjson.loads(request.content)
        chat = parse_chat_request(body)
        self.requests.append(chat)
        if chat.stream:
            return httpx2.Response(
                200, content=self._sse(body), headers={"content-type": "text/event-stream"}
            )
        response = ChatResponse(
            id="msg",
            model="upstream",
            content=list(TOOL_ANSWER),
            stop_reason=StopReason.TOOL_USE,
            usage=USAGE,
        )
        rendered = render_chat_response(
            response, request_model=chat.model, created=1_700_000_000, response_id="chatcmpl-1"
        )
        return httpx2.Response(
            200, content=orjson.dumps(rendered), headers={"content-type": "application/json"}
        )

    def _sse(self, body: dict[str, Any]) -> bytes:
        stream = ChatStreamRenderer(
            response_id="chatcmpl-1",
            request_model=body["model"],
            created=1_700_000_000,
            include_usage=stream_include_usage(body),
        )
        lines: list[bytes] = []
        for count, event in enumerate(self.events):
            if count == self.fail_after:
                lines += stream.error_event(UpstreamServerError("The model failed mid-answer."))
                return b"".join(lines)
            lines += stream.feed(event)
        return b"".join(lines + stream.finish())


@pytest.fixture
def client_for() -> Iterator[Callable[[Gateway], openai.OpenAI]]:
    clients: list[openai.OpenAI] = []

    def make(gateway: Gateway) -> openai.OpenAI:
        http = httpx2.Client(transport=httpx2.MockTransport(gateway))
        client = openai.OpenAI(
            api_key="sk-test", base_url="http://gateway.test/v1", http_client=http, max_retries=0
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_what_the_sdk_sends_parses(client_for: Callable[[Gateway], openai.OpenAI]) -> None:
    gateway = Gateway(TOOL_TURN)
    client_for(gateway).chat.completions.create(
        model="gw-main",
        messages=[
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "rain"},
        ],
        tools=TOOLS,
        tool_choice="required",
        max_completion_tokens=300,
        temperature=0.3,
        stop=["END"],
        user="alice",
        seed=1,
        store=False,
        metadata={"team": "search"},
        parallel_tool_calls=True,
    )
    (chat,) = gateway.requests
    assert chat.system == [TextPart("Be brief.")]
    assert chat.messages[0].content == [TextPart("Weather here?"), ImagePart("image/png", PNG)]
    assert chat.messages[1].content == [
        ToolUsePart(id="c1", name="get_weather", input={"city": "Oslo"})
    ]
    assert chat.messages[2].content == [
        ToolResultPart(tool_use_id="c1", content=[TextPart("rain")])
    ]
    assert chat.tool_choice == ToolChoice("any")
    assert (chat.max_tokens, chat.temperature, chat.stop, chat.user) == (300, 0.3, ["END"], "alice")
    assert [tool.name for tool in chat.tools] == ["get_weather", "get_time"]


def test_non_streaming_completion_through_the_sdk(
    client_for: Callable[[Gateway], openai.OpenAI],
) -> None:
    completion = client_for(Gateway(TOOL_TURN)).chat.completions.create(
        model="gw-main", messages=[{"role": "user", "content": "hi"}], tools=TOOLS
    )
    assert completion.model == "gw-main"
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking both."
    assert choice.message.tool_calls is not None
    assert [c.function.name for c in choice.message.tool_calls] == ["get_weather", "get_time"]  # type: ignore[union-attr]
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 25


def test_streaming_through_the_sdk_with_usage(
    client_for: Callable[[Gateway], openai.OpenAI],
) -> None:
    stream = client_for(Gateway(TOOL_TURN)).chat.completions.create(
        model="gw-main",
        messages=[{"role": "user", "content": "hi"}],
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Checking both."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 34


def test_the_sdk_stream_helper_reassembles_tool_calls(
    client_for: Callable[[Gateway], openai.OpenAI],
) -> None:
    client = client_for(Gateway(TOOL_TURN))
    with client.chat.completions.stream(
        model="gw-main", messages=[{"role": "user", "content": "hi"}], tools=TOOLS
    ) as stream:
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Checking both."
    assert message.tool_calls is not None
    assert [
        (c.id, c.function.name, orjson.loads(c.function.arguments)) for c in message.tool_calls
    ] == [
        ("tooluse_w", "get_weather", {"city": "Oslo"}),
        ("tooluse_t", "get_time", {}),
    ]


def test_a_mid_stream_error_raises_api_error_in_the_sdk(
    client_for: Callable[[Gateway], openai.OpenAI],
) -> None:
    stream = client_for(Gateway(TOOL_TURN, fail_after=3)).chat.completions.create(
        model="gw-main", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "Checking both."
    assert caught.value.message == "The model failed mid-answer."
    assert caught.value.type == "upstream_error"
