"""A zero-latency fake OpenAI upstream for benchmarks (loopback only, fixed answers).

    uv run python -m bench.fake_openai [--port 8900]

``POST /v1/chat/completions`` answers at once, whatever the request says (no authentication, no
parsing beyond the ``stream`` flag): a fixed ``chat.completion`` with usage, or, when the body
asks for ``"stream": true``, server-sent events with 8 content chunks, a final chunk carrying
the usage and ``data: [DONE]``. ``GET /v1/models`` lists the one model. Every answer is encoded
once at import; a request costs only the HTTP server's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import orjson
from aiohttp import web

MODEL = "gpt-fake"
CREATED = 1_763_856_000
CHUNKS = 8
_WORDS = ["A gateway ", "puts one ", "door in ", "front of ", "many models, ", "with keys, ",
          "budgets and ", "metrics."]  # fmt: skip
assert len(_WORDS) == CHUNKS
_USAGE = {"prompt_tokens": 14, "completion_tokens": CHUNKS * 2, "total_tokens": 14 + CHUNKS * 2}

COMPLETION = orjson.dumps({
    "id": "chatcmpl-fake-0001", "object": "chat.completion", "created": CREATED, "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(_WORDS)},
                 "finish_reason": "stop", "logprobs": None}],
    "usage": _USAGE, "system_fingerprint": "fp_fake",
})  # fmt: skip


def _event(data: object) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def _chunk(index: int) -> bytes:
    delta = {"role": "assistant", "content": _WORDS[index]} if index == 0 else {
        "content": _WORDS[index]}  # fmt: skip
    finish = "stop" if index == CHUNKS - 1 else None
    return _event({
        "id": "chatcmpl-fake-0001", "object": "chat.completion.chunk", "created": CREATED,
        "model": MODEL, "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    })  # fmt: skip


_USAGE_CHUNK = {"id": "chatcmpl-fake-0001", "object": "chat.completion.chunk", "created": CREATED,
                "model": MODEL, "choices": [], "usage": _USAGE}  # fmt: skip
STREAM_EVENTS: list[bytes] = [
    *(_chunk(i) for i in range(CHUNKS)),
    _event(_USAGE_CHUNK),
    b"data: [DONE]\n\n",
]

MODELS = orjson.dumps({"object": "list", "data": [
    {"id": MODEL, "object": "model", "created": CREATED, "owned_by": "bench"}]})  # fmt: skip


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    # The flag is all that matters; a full parse would only add cost to the upstream.
    if b'"stream":true' not in body.replace(b" ", b""):
        return web.Response(body=COMPLETION, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})  # fmt: skip
    await response.prepare(request)
    for event in STREAM_EVENTS:  # one write per event: each is a chunk on the wire
        await response.write(event)
    await response.write_eof()
    return response


async def models(_: web.Request) -> web.Response:
    return web.Response(body=MODELS, content_type="application/json")


def app() -> web.Application:
    application = web.Application()
    application.router.add_post("/v1/chat/completions", chat_completions)
    application.router.add_get("/v1/models", models)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args()
    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        parser.error("the fake upstream listens on loopback only")
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
