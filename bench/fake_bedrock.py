"""A zero-latency fake Bedrock upstream for benchmarks: the emulator's own answers, replayed.

    uv run python -m bench.fake_bedrock --recordings answers.json [--port 8901]

The twin of :mod:`bench.fake_openai` (what LiteLLM is measured against), for the gateway's
Bedrock provider. :func:`record` asks the real emulator (``stargate emulator --fast``) once for
each operation the bench calls, with the very requests the gateway sends (SigV4-signed), and
keeps every answer as it came on the wire: status, headers, body, and for event streams each
frame. The fake then answers ``POST /model/{model}/{operation}`` with that operation's recording,
whatever the request says (read, never parsed nor verified): a JSON body in one write, an event
stream one frame per write, chunked, as the emulator writes it. So the gateway does exactly the
work it does against the emulator (signing, the wire, event-stream decoding, translation) while
the upstream costs only the HTTP server's own work, as LiteLLM's fake does, and leaves the
machine's cores to the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

__all__ = ["OPERATIONS", "Recording", "app", "load", "record", "save", "split_frames"]

# The operations the bench calls: Converse for the OpenAI dialect, InvokeModel for Anthropic.
OPERATIONS = ("converse", "converse-stream", "invoke", "invoke-with-response-stream")
_STREAMS = frozenset({"converse-stream", "invoke-with-response-stream"})
# Framing and per-connection headers: aiohttp writes its own.
_HOP_BY_HOP = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "date", "server"}
)
_UNKNOWN = json.dumps({"message": "Unknown operation"}).encode()


@dataclass(frozen=True, slots=True)
class Recording:
    """One answer as the emulator gave it: a body in one piece, or an event stream's frames."""

    status: int
    headers: tuple[tuple[str, str], ...]
    parts: tuple[bytes, ...]


def split_frames(body: bytes) -> Iterator[bytes]:
    """An event stream's frames: each begins with its total length (4 bytes, big-endian)."""
    at = 0
    while at < len(body):
        if len(body) - at < 4:
            raise ValueError("an event stream ends inside a frame's length")
        size = int.from_bytes(body[at : at + 4], "big")
        if size < 16 or at + size > len(body):
            raise ValueError(f"an event-stream frame of {size} bytes does not fit the body")
        yield body[at : at + size]
        at += size


def record(requests: Iterable[tuple[str, dict[str, str], bytes]]) -> dict[str, Recording]:
    """Send each ``(url, headers, body)`` (a URL ending in one of :data:`OPERATIONS`) and keep
    its answer by operation. An answer other than 200 is an error: the bench must replay
    successes."""
    found: dict[str, Recording] = {}
    for url, headers, body in requests:
        operation = url.rsplit("/", 1)[1]
        if operation not in OPERATIONS:
            raise ValueError(f"not an operation the fake replays: {url}")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, response.read()
            kept = tuple((k, v) for k, v in response.headers.items()
                         if k.lower() not in _HOP_BY_HOP)  # fmt: skip
        if status != 200:
            raise RuntimeError(f"{operation}: the emulator answered {status}")
        parts = tuple(split_frames(payload)) if operation in _STREAMS else (payload,)
        found[operation] = Recording(status, kept, parts)
    return found


def save(recordings: dict[str, Recording], path: Path) -> None:
    path.write_text(json.dumps({
        op: {"status": r.status, "headers": [list(h) for h in r.headers],
             "parts": [base64.b64encode(p).decode() for p in r.parts]}
        for op, r in recordings.items()
    }))  # fmt: skip


def load(path: Path) -> dict[str, Recording]:
    data = json.loads(path.read_text())
    return {
        op: Recording(
            int(r["status"]),
            tuple((str(k), str(v)) for k, v in r["headers"]),
            tuple(base64.b64decode(p) for p in r["parts"]),
        )
        for op, r in data.items()
    }


def app(recordings: dict[str, Recording]) -> web.Application:
    async def model_operation(request: web.Request) -> web.StreamResponse:
        await request.read()  # the body is read (the connection stays usable), never parsed
        answer = recordings.get(request.match_info["operation"])
        if answer is None:
            unknown = {"x-amzn-ErrorType": "UnknownOperationException"}
            return web.Response(status=404, body=_UNKNOWN, content_type="application/json",
                                headers=unknown)  # fmt: skip
        if request.match_info["operation"] not in _STREAMS:
            return web.Response(status=answer.status, headers=answer.headers,
                                body=answer.parts[0])  # fmt: skip
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        await response.prepare(request)
        for frame in answer.parts:  # one write per frame: each is a chunk on the wire
            await response.write(frame)
        await response.write_eof()
        return response

    application = web.Application()
    application.router.add_post("/model/{model}/{operation}", model_operation)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument("--recordings", type=Path, required=True)
    args = parser.parse_args()
    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        parser.error("the fake upstream listens on loopback only")
    recordings = load(args.recordings)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app(recordings), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
