"""Test doubles for the Bedrock provider: an independent event-stream encoder, a SigV4 verifier
(reference/bedrock.md §6.5), and a small scripted Bedrock server on a loopback port."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import struct
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import web

ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
EVENT_STREAM = "application/vnd.amazon.eventstream"


# --- frames ----------------------------------------------------------------------------------


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += struct.pack("!B", len(raw_name)) + raw_name + b"\x07"
        encoded += struct.pack("!H", len(raw_value)) + raw_value
    prelude = struct.pack("!II", 16 + len(encoded) + len(payload), len(encoded))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def event(event_type: str, payload: dict[str, Any], *, pad: bool = True) -> bytes:
    body = dict(payload)
    if pad:
        body["p"] = "abcdefghijklmnop"
    return frame(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        orjson.dumps(body),
    )


def exception_frame(exception_type: str, message: str) -> bytes:
    return frame(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        orjson.dumps({"message": message}),
    )


def error_frame(code: str, message: str) -> bytes:
    return frame({":message-type": "error", ":error-code": code, ":error-message": message}, b"")


def corrupt(data: bytes) -> bytes:
    """Flip one payload byte so the message CRC no longer matches."""
    middle = len(data) - 6
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def text_turn(text: str = "Hello there") -> list[bytes]:
    return [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text[:5]}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text[5:]}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "end_turn"}),
        event(
            "metadata",
            {
                "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
                "metrics": {"latencyMs": 12},
            },
        ),
    ]


def converse_body(text: str = "Hello there", stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
        "metrics": {"latencyMs": 12},
    }


def chunk(anthropic_event: dict[str, Any]) -> bytes:
    """An InvokeModelWithResponseStream ``chunk`` frame carrying one Anthropic event."""
    encoded = base64.b64encode(orjson.dumps(anthropic_event)).decode()
    return event("chunk", {"bytes": encoded})


def invoke_turn(text: str = "Hello there") -> list[dict[str, Any]]:
    """The Anthropic events of a streamed text answer, as Bedrock carries them."""
    return [
        {
            "type": "message_start",
            "message": {
                "id": "msg_bdrk_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-haiku-4-5-20251001",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 10,
                    "cache_creation_input_tokens": 100,
                    "cache_read_input_tokens": 2000,
                    "output_tokens": 1,
                },
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": text[:5]},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": text[5:]},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 3},
        },
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 10,
                "outputTokenCount": 3,
                "invocationLatency": 20,
                "firstByteLatency": 5,
                "cacheReadInputTokenCount": 2000,
                "cacheWriteInputTokenCount": 100,
            },
        },
    ]


def invoke_body(text: str = "Hello there") -> dict[str, Any]:
    """An InvokeModel answer."""
    return {
        "id": "msg_bdrk_02",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 2000,
            "output_tokens": 3,
        },
    }


# --- SigV4 -----------------------------------------------------------------------------------

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ?"
    r"SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$"
)


def verify_sigv4(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    secrets: dict[str, str],
) -> str | None:
    """None when the signature is right, else the error code Bedrock would answer with."""
    match = _AUTH.match(headers.get("authorization", ""))
    if not match:
        return "IncompleteSignature"
    key_id, date, region, service, signed, signature = match.groups()
    if key_id not in secrets:
        return "UnrecognizedClientException"
    if service != "bedrock":
        return "InvalidSignatureException"
    path, _, query = raw_path.partition("?")
    canonical_query = (
        "&".join(f"{k}={v}" for k, v in sorted(p.partition("=")[::2] for p in query.split("&")))
        if query
        else ""
    )
    canonical_headers = "".join(
        f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed.split(";")
    )
    canonical_request = "\n".join(
        [
            method,
            quote(path, safe="/~"),
            canonical_query,
            canonical_headers,
            signed,
            headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest(),
        ]
    )
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            headers["x-amz-date"],
            f"{date}/{region}/{service}/aws4_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + secrets[key_id]).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, signature) else "InvalidSignatureException"


# --- a scripted Bedrock ----------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


Handler = Callable[["FakeBedrock", web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeBedrock:
    """A loopback server whose answer each test scripts with :attr:`handler`."""

    handler: Handler | None = None
    requests: list[Seen] = field(default_factory=list)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(Seen(request.method, request.raw_path, headers, body))
        assert self.handler is not None, "the test did not script an answer"
        return await self.handler(self, request)

    # Canned answers ---------------------------------------------------------------------------

    def answer_json(
        self, payload: Any, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        async def handler(fake: FakeBedrock, request: web.Request) -> web.StreamResponse:
            return web.Response(
                status=status,
                body=orjson.dumps(payload),
                headers={
                    "Content-Type": "application/json",
                    "x-amzn-RequestId": "11111111-2222-3333-4444-555555555555",
                    **(headers or {}),
                },
            )

        self.handler = handler

    def answer_error(self, status: int, code: str, message: str) -> None:
        self.answer_json(
            {"message": message},
            status=status,
            headers={
                "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
            },
        )

    def answer_stream(
        self,
        frames: Sequence[bytes],
        *,
        delay: float = 0.0,
        split: int | None = None,
        then_trickle: bool = False,
    ) -> None:
        """Send ``frames`` (optionally cut into ``split``-byte pieces, ``delay`` apart); with
        ``then_trickle`` keep sending text deltas until the client goes away."""

        async def handler(fake: FakeBedrock, request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(
                status=200,
                headers={
                    "Content-Type": EVENT_STREAM,
                    "x-amzn-RequestId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                },
            )
            await response.prepare(request)
            data = b"".join(frames)
            pieces = (
                [data[i : i + split] for i in range(0, len(data), split)] if split else list(frames)
            )
            try:
                for piece in pieces:
                    await response.write(piece)
                    if delay:
                        await asyncio.sleep(delay)
                while then_trickle:
                    await response.write(
                        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "."}})
                    )
                    await asyncio.sleep(0.01)
            except (ConnectionError, asyncio.CancelledError):
                fake.disconnected.set()
                raise
            await response.write_eof()
            return response

        self.handler = handler
