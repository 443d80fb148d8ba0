"""The API routes' own request and JSON response read and write what Starlette's would."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Message, Scope

from stargate.api import json_response
from stargate.api.anthropic import betas_of
from stargate.api.json_response import JsonResponse
from stargate.api.request import ApiRequest

RAW = [
    (b"host", b"127.0.0.1:4000"),
    (b"x-api-key", b"sk-first"),
    (b"anthropic-beta", b"a, b"),
    (b"x-api-key", b"sk-second"),
    (b"content-type", b"application/json"),
    (b"anthropic-beta", b"b,c,"),
    (b"x-note", "caf\u00e9".encode("latin-1")),
]


def scope(raw: list[tuple[bytes, bytes]] = RAW, path: str = "/v1/messages") -> Scope:
    return {"type": "http", "method": "POST", "path": path, "headers": raw}


async def no_receive() -> Message:
    raise AssertionError("the body was not asked for")


def test_headers_are_the_first_values_as_starlette_gives_them() -> None:
    request = ApiRequest(scope(), no_receive)
    starlette = Headers(raw=RAW)
    for name in ("host", "x-api-key", "anthropic-beta", "content-type", "x-note", "absent"):
        assert request.headers.get(name) == starlette.get(name)
    assert request.headers["x-api-key"] == "sk-first"
    assert request.headers["x-note"] == "caf\u00e9"
    assert set(request.headers) == {name.decode() for name, _ in RAW}
    assert request.header_values("anthropic-beta") == starlette.getlist("anthropic-beta")
    assert request.header_values("absent") == []
    assert request.path == "/v1/messages"
    assert ApiRequest(scope([]), no_receive).headers == {}


def test_betas_are_every_value_once_in_order() -> None:
    assert betas_of(ApiRequest(scope(), no_receive)) == ["a", "b", "c"]
    assert betas_of(ApiRequest(scope([(b"anthropic-beta", b" ,")]), no_receive)) == []
    assert betas_of(ApiRequest(scope([(b"host", b"x")]), no_receive)) == []


def receiving(*messages: Message) -> tuple[list[Message], object]:
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0)

    return queue, receive


async def test_the_body_in_one_message_or_several() -> None:
    queue, receive = receiving({"type": "http.request", "body": b'{"a": 1}', "more_body": False})
    request = ApiRequest(scope(), receive)  # type: ignore[arg-type]
    assert await request.body() == b'{"a": 1}'
    assert await request.body() == b'{"a": 1}'  # read once, given again
    assert not queue

    queue, receive = receiving(
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b'{"a"', "more_body": True},
        {"type": "something.else"},
        {"type": "http.request", "body": b": 1}"},
    )
    assert await ApiRequest(scope(), receive).body() == b'{"a": 1}'  # type: ignore[arg-type]
    assert not queue

    _, receive = receiving({"type": "http.request"})
    assert await ApiRequest(scope(), receive).body() == b""  # type: ignore[arg-type]


async def test_a_client_that_leaves_mid_body_is_a_disconnect() -> None:
    _, receive = receiving(
        {"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}
    )
    with pytest.raises(ClientDisconnect):
        await ApiRequest(scope(), receive).body()  # type: ignore[arg-type]


HEADER_SETS: list[dict[str, str] | None] = [
    None,
    {},
    {"x-request-id": "req_1", "x-ratelimit-limit-requests": "10", "x-stargate-cost-micro": "5"},
    {"X-Request-Id": "r", "Retry-After": "3", "x-should-retry": "false"},
    {"content-type": "application/problem+json", "x-a": "b"},
    {"Content-Length": "2", "x-a": "b"},
    {"x-value": "caf\u00e9"},
]


@pytest.mark.parametrize("headers", HEADER_SETS)
@pytest.mark.parametrize("status", [200, 400, 529, 204, 304, 101])
async def test_json_response_head_is_starlettes(
    headers: dict[str, str] | None, status: int
) -> None:
    body = b'{"ok": true}'
    ours = JsonResponse(body, status, headers)
    theirs = Response(body, status, headers, media_type="application/json")
    assert ours.raw_headers == theirs.raw_headers
    assert ours.status_code == status
    assert ours.headers.items() == theirs.headers.items()

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await ours(scope(), no_receive, send)
    theirs_sent: list[Message] = []

    async def send_theirs(message: Message) -> None:
        theirs_sent.append(message)

    await theirs(scope(), no_receive, send_theirs)
    assert sent == theirs_sent


def test_header_names_are_remembered_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_response, "_NAMES", {})
    monkeypatch.setattr(json_response, "_MAX_NAMES", 2)
    response = JsonResponse(b"{}", headers={"A": "1", "b": "2", "C": "3"})
    assert response.raw_headers[:3] == [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]
    assert json_response._NAMES == {"A": b"a", "b": b"b"}
    again = JsonResponse(b"{}", headers={"A": "4", "C": "5"})
    assert again.raw_headers[:2] == [(b"a", b"4"), (b"c", b"5")]
