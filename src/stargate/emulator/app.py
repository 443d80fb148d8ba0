"""The emulator's aiohttp application: routes, the request-id and error middleware, stats routes.

Model operations are served at ``POST /model/{modelId}/{operation}``; :data:`MODEL_OPERATIONS`
maps the operation segment to its :class:`~stargate.emulator.call.Operation`. The model id
segment is URL-decoded (``%3A`` and raw ``:`` both work, ARNs with ``%2F`` too) and resolved by the
operation's resolver, while SigV4 is checked over the raw path. Every response carries
``x-amzn-RequestId``. The ``/_emulator/*`` routes need no credentials; ``POST /_emulator/reset``
clears the counters and the prompt cache.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType

import orjson
from aiohttp import web

from stargate.emulator.auth import authenticate
from stargate.emulator.call import ModelCall, Operation
from stargate.emulator.config import EmulatorConfig
from stargate.emulator.converse import handle_converse, handle_converse_stream
from stargate.emulator.count_tokens import handle_count_tokens, resolve_counting_model
from stargate.emulator.errors import BedrockError, error_response
from stargate.emulator.faults import FAULT_HEADER, parse_fault_header
from stargate.emulator.invoke import handle_invoke, handle_invoke_stream
from stargate.emulator.sigv4 import received_request
from stargate.emulator.state import STATE_KEY, EmulatorState

__all__ = ["MAX_BODY_BYTES", "MODEL_OPERATIONS", "create_app"]

MODEL_OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    {
        "converse": Operation("Converse", handle_converse),
        "converse-stream": Operation("ConverseStream", handle_converse_stream),
        "invoke": Operation("InvokeModel", handle_invoke),
        "invoke-with-response-stream": Operation(
            "InvokeModelWithResponseStream", handle_invoke_stream
        ),
        "count-tokens": Operation("CountTokens", handle_count_tokens, resolve_counting_model),
    }
)
"""The model operations served, by their path segment."""

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest request body read (InvokeModel allows 25,000,000 bytes)."""

REQUEST_ID_HEADER = "x-amzn-RequestId"
_REQUEST_ID = web.RequestKey("stargate.emulator.request_id", str)
_log = logging.getLogger("stargate.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _request_id(request: web.Request) -> str:
    value = request.get(_REQUEST_ID)
    return value if isinstance(value, str) else ""


@web.middleware
async def _bedrock_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request its id and render :class:`BedrockError` as Bedrock does."""
    state = request.app[STATE_KEY]
    request_id = str(uuid.uuid4())
    request[_REQUEST_ID] = request_id
    started = time.perf_counter()
    try:
        response = await handler(request)
    except BedrockError as error:
        state.stats.errors[error.code] += 1
        response = error_response(error, request_id)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        unknown = BedrockError("UnknownOperationException", 404, "Unknown operation")
        response = error_response(unknown, request_id)
    if not state.config.fast:
        elapsed = int((time.perf_counter() - started) * 1000)
        _log.info("%s %s -> %d (%d ms)", request.method, request.path, response.status, elapsed)
    return response


async def _stamp_request_id(request: web.Request, response: web.StreamResponse) -> None:
    if REQUEST_ID_HEADER not in response.headers:
        response.headers[REQUEST_ID_HEADER] = _request_id(request) or str(uuid.uuid4())


async def _model_operation(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    started = time.perf_counter()
    operation = MODEL_OPERATIONS.get(request.match_info["operation"])
    if operation is None:
        raise web.HTTPNotFound
    body = await request.read()
    request_id = _request_id(request)
    state.stats.requests[operation.name] += 1
    if not state.config.fast:
        state.stats.record_request(
            request_id=request_id,
            operation=operation.name,
            method=request.method,
            path=request.raw_path,
            headers=request.headers.items(),
            body=body,
        )
    received = received_request(request.method, request.raw_path, request.headers.items(), body)
    authenticate(state.config, received, datetime.now(UTC))
    call = ModelCall(
        request=request,
        state=state,
        request_id=request_id,
        operation=operation.name,
        model=operation.resolve(request.match_info["model_id"], state.config.region),
        body=body,
        header_faults=parse_fault_header(request.headers.get(FAULT_HEADER)),
        started=started,
    )
    return await operation.handler(call)


def _json(data: object) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json")


async def _stats(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return _json({**state.stats.snapshot(), "prompt_cache": state.prompt_cache.snapshot()})


async def _requests(request: web.Request) -> web.Response:
    return _json({"requests": request.app[STATE_KEY].stats.recent_requests()})


async def _reset(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.stats.reset()
    state.prompt_cache.clear()
    return _json({"reset": True})


async def _health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


def create_app(config: EmulatorConfig) -> web.Application:
    """A new emulator application with its own state."""
    app = web.Application(middlewares=[_bedrock_errors], client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = EmulatorState(config)
    app.on_response_prepare.append(_stamp_request_id)
    app.router.add_post("/model/{model_id:.+}/{operation}", _model_operation)
    app.router.add_get("/_emulator/stats", _stats)
    app.router.add_get("/_emulator/requests", _requests)
    app.router.add_post("/_emulator/reset", _reset)
    app.router.add_get("/_emulator/health", _health)
    return app
