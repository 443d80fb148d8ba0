"""The public listener: the OpenAI dialect, model list, health and metrics.

Hot-path handlers take the raw request, parse JSON with orjson and hand a plain dict to the
translator: no pydantic, no framework validation on the way through.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncGenerator

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from stargate.api.anthropic import anthropic_routes
from stargate.api.auth import presented_key
from stargate.api.body import read_json
from stargate.api.endpoint import Endpoint, HotPaths
from stargate.api.errors import render_openai_error
from stargate.api.health import health_routes
from stargate.api.json_response import JsonResponse
from stargate.api.request import ApiRequest
from stargate.api.request_id import request_id_from
from stargate.api.runtime import Runtime
from stargate.api.streaming import EventStreamResponse
from stargate.config.pricing import pricing_view
from stargate.core import StreamEvent
from stargate.core.ids import random_hex
from stargate.errors import (
    InternalError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    StargateError,
)
from stargate.pipeline import RequestContext
from stargate.pipeline.after import AfterResponse
from stargate.telemetry import CONTENT_TYPE_LATEST
from stargate.telemetry.ledger_views import (
    DEFAULT_USAGE_DAYS,
    cost_headers,
    gateway_metadata,
    usage_for_key,
)
from stargate.translate.openai_request import parse_chat_request, stream_include_usage
from stargate.translate.openai_response import render_chat_response
from stargate.translate.openai_stream import ChatStreamRenderer

__all__ = ["ADMIN_PREFIXES", "create_public_app", "public_routes"]

# Paths of LiteLLM's admin API (and Stargate's), refused on the public listener.
ADMIN_PREFIXES = (
    "/key/", "/user/", "/team/", "/model/", "/spend/", "/global/", "/budget/", "/customer/",
    "/organization/", "/ui", "/docs", "/redoc", "/openapi.json", "/v1/model/info",
    "/model_group/", "/config/", "/health/details", "/admin",
)  # fmt: skip

# Ask for seed 004's gateway_metadata object in a chat response (always on /v1/chat).
METADATA_HEADER = "x-gateway-metadata"


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


def _json(body: object, request_id: str) -> Response:
    """A JSON response with its request id."""
    return JsonResponse(orjson.dumps(body), headers={"x-request-id": request_id})


def create_public_app(runtime: Runtime) -> ASGIApp:
    async def fallback(request: Request) -> Response:
        request_id = request_id_from(request.headers.get("x-request-id"))
        path = request.url.path
        if path.startswith(ADMIN_PREFIXES) or path.rstrip("/") in {"/ui", "/docs", "/redoc"}:
            err: StargateError = PermissionDenied(
                f"{path} is part of the admin API, which is served only on the internal admin "
                f"listener ({runtime.config.admin_host}:{runtime.config.admin_port} here), "
                "never on the public one.",
                code="admin_route_on_public_listener",
            )
        else:
            err = NotFound(f"No route {request.method} {path} on this gateway.", code="no_route")
        return render_openai_error(err, request_id)

    api = public_routes(runtime)
    routes = [
        *api,
        Route("/", head_root, methods=["HEAD", "GET"]),
        *health_routes(runtime),
        Route("/{path:path}", fallback, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    hot = {
        route.path: route.endpoint
        for route in api
        if isinstance(route.endpoint, Endpoint) and "POST" in (route.methods or ())
    }
    return HotPaths(Starlette(routes=routes), hot)


async def head_root(request: Request) -> Response:
    return Response(status_code=200)


def public_routes(runtime: Runtime) -> list[Route]:
    """The API routes (both dialects, models, metrics): served by the public listener, and by
    the admin listener too, so scripts that use one URL for everything work against it."""
    pipeline = runtime.pipeline
    drop_unknown = runtime.config.drop_params

    async def chat_completions(
        request: ApiRequest, after: AfterResponse
    ) -> Response | EventStreamResponse:
        headers = request.headers
        request_id = request_id_from(headers.get("x-request-id"))
        ctx = RequestContext(
            request_id,
            route=request.path,
            started=time.perf_counter(),
            traceparent=headers.get("traceparent"),
            after=after,
        )
        try:
            principal = await pipeline.authenticate(presented_key(headers))
            body = await read_json(request)
            chat = parse_chat_request(body, drop_unknown=drop_unknown)
            response_id = "chatcmpl-" + random_hex()
            created = int(time.time())
            if chat.stream:
                events = await pipeline.stream(chat, principal, ctx)
                assert isinstance(body, dict)  # parse_chat_request accepted it
                renderer = ChatStreamRenderer(
                    response_id=response_id,
                    request_model=chat.model,
                    created=created,
                    include_usage=stream_include_usage(body),
                )
                return EventStreamResponse(
                    _sse(events, renderer),
                    headers={"x-request-id": request_id, **ctx.response_headers},
                )
            result = await pipeline.complete(chat, principal, ctx)
            rendered = render_chat_response(
                result, request_model=chat.model, created=created, response_id=response_id
            )
            if request.path == "/v1/chat" or _truthy(headers.get(METADATA_HEADER)):
                served = ctx.served_by
                rendered["gateway_metadata"] = gateway_metadata(
                    team_id=principal.team_id,
                    latency_ms=int((time.perf_counter() - ctx.started) * 1000),
                    cost_micro=ctx.cost_micro,
                    provider=served.provider if served else None,
                )
            return JsonResponse(orjson.dumps(rendered), 200, {
                "x-request-id": request_id, **ctx.response_headers, **cost_headers(ctx.cost_micro)
            })  # fmt: skip
        except StargateError as err:
            return render_openai_error(err, request_id)

    async def list_models(request: Request) -> Response:
        request_id = request_id_from(request.headers.get("x-request-id"))
        try:
            await pipeline.authenticate(presented_key(request.headers))
        except StargateError as err:
            return render_openai_error(err, request_id)
        data = []
        for name in runtime.router.model_names:
            group = runtime.router.group(name)
            assert group is not None
            first = group.deployments[0]
            data.append(
                {
                    # OpenAI's list fields, seed 004's, and Anthropic's (one list serves all).
                    "id": name,
                    "object": "model",
                    "created": 0,
                    "owned_by": first.provider,
                    "type": "model",
                    "display_name": first.info.description or name,
                    "created_at": "1970-01-01T00:00:00Z",
                    "provider": first.provider,
                    "description": first.info.description,
                    "pricing": pricing_view(first.info),
                }
            )
        body = {
            "object": "list",
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
        return _json(body, request_id)

    async def usage(request: Request) -> Response:
        """Seed 004's ``GET /v1/usage?days=N``: the calling key's usage."""
        request_id = request_id_from(request.headers.get("x-request-id"))
        try:
            principal = await pipeline.authenticate(presented_key(request.headers))
            raw_days = request.query_params.get("days", str(DEFAULT_USAGE_DAYS))
            if not raw_days.isdigit():
                raise InvalidRequest("days must be a whole number of days", param="days")
            body = await usage_for_key(
                runtime.database,
                principal.key_hash,
                int(raw_days),
                dt.datetime.now(dt.UTC).date(),
                key_id=principal.key_id,
                team_id=principal.team_id,
                team_name=principal.team_alias,
            )
        except StargateError as err:
            return render_openai_error(err, request_id)
        return _json(body, request_id)

    async def metrics(request: Request) -> Response:
        # LiteLLM's require_auth_for_metrics_endpoint: any key the gateway accepts may scrape.
        if runtime.config.metrics_require_auth:
            try:
                await pipeline.authenticate(presented_key(request.headers))
            except StargateError as err:
                return render_openai_error(
                    err, request_id_from(request.headers.get("x-request-id"))
                )
        runtime.metrics.set_event_loop_tasks(len(asyncio.all_tasks()))
        # Off the event loop: a large exposition (or the worker files in multiprocess mode)
        # takes a while to build.
        body = await asyncio.to_thread(runtime.metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    chat = Endpoint(chat_completions)
    return [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/chat/completions", chat, methods=["POST"]),
        Route("/v1/chat", chat, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/usage", usage, methods=["GET"]),
        Route("/models", list_models, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/metrics/", metrics, methods=["GET"]),
        *anthropic_routes(runtime),
    ]


async def _sse(
    events: AsyncGenerator[StreamEvent, None], renderer: ChatStreamRenderer
) -> AsyncGenerator[bytes, None]:
    try:
        async for event in events:
            for line in renderer.feed(event):
                yield line
        for line in renderer.finish():
            yield line
    except StargateError as err:
        for line in renderer.error_event(err):
            yield line
    except Exception as exc:  # a bug of ours: tell the client, never hang
        for line in renderer.error_event(InternalError(f"Internal error: {type(exc).__name__}")):
            yield line
    finally:
        await events.aclose()
