"""The admin listener's app until it is built, and what serving the public API imports."""

from __future__ import annotations

import subprocess
import sys

import orjson
from starlette.types import Message, Receive, Scope, Send

from stargate.api.server import _Deferred


async def _call(app: _Deferred, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/health/liveliness", "headers": headers}
    await app(scope, receive, send)
    return sent


async def test_the_admin_listener_answers_503_until_its_app_is_built() -> None:
    deferred = _Deferred()
    sent = await _call(deferred, [(b"x-request-id", b"trace-1234567")])
    assert sent[0]["status"] == 503
    headers = dict(sent[0]["headers"])
    assert headers[b"retry-after"] == b"1"
    assert headers[b"x-request-id"] == b"trace-1234567"
    assert orjson.loads(sent[1]["body"])["error"]["type"] == "service_unavailable"

    async def built(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"admin"})

    deferred.app = built
    sent = await _call(deferred, [])
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"admin"


def test_serving_the_public_api_does_not_import_the_admin_app() -> None:
    code = (
        "import sys, stargate.cli.main, stargate.api.server\n"
        "heavy = sorted(m for m in ('fastapi', 'stargate.api.admin', 'stargate.ui.app',"
        " 'stargate.admin.requests') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
