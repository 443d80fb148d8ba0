"""The Anthropic Messages dialect: ``/v1/messages`` and ``/v1/messages/count_tokens``.

Claude on Bedrock takes the caller's body almost untouched through InvokeModel (the provider's
``MessagesNative`` capability: thinking, ``cache_control``, betas, cache usage keep full
fidelity); any other deployment goes through the canonical core and is rendered back in the
Anthropic shape. Streams carry an ``event:`` line on every event, ``ping`` while the upstream is
silent, and ``event: error`` when the upstream fails mid-stream.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any, cast

import orjson
from starlette.responses import Response
from starlette.routing import Route

from stargate.api.auth import presented_key
from stargate.api.body import read_json
from stargate.api.endpoint import Endpoint
from stargate.api.errors import render_anthropic_error
from stargate.api.json_response import JsonResponse
from stargate.api.request import ApiRequest
from stargate.api.request_id import request_id_from
from stargate.api.runtime import Runtime
from stargate.api.streaming import EventStreamResponse
from stargate.config.deployment import Deployment
from stargate.errors import InternalError, InvalidRequest, StargateError
from stargate.pipeline import RequestContext, Spend, UsageMeter
from stargate.pipeline.after import AfterResponse
from stargate.providers.base import (
    CallContext,
    MessagesNative,
    MessagesResult,
    Provider,
    TokenCount,
    TokenCounter,
)
from stargate.telemetry.ledger_views import cost_headers
from stargate.translate.anthropic_native_stream import NativeStreamRelay
from stargate.translate.anthropic_request import parse_messages_request
from stargate.translate.anthropic_response import render_message
from stargate.translate.anthropic_stream import MessagesStreamRenderer
from stargate.translate.anthropic_tokens import estimate_input_tokens

__all__ = ["PING", "PING_INTERVAL_S", "anthropic_routes", "betas_of"]

PING = b'event: ping\ndata: {"type": "ping"}\n\n'
PING_INTERVAL_S = 10.0
ESTIMATE_HEADER = "x-stargate-token-count"


def betas_of(request: ApiRequest) -> list[str]:
    """``anthropic-beta`` values, however many headers and commas carry them, in order, once."""
    if "anthropic-beta" not in request.headers:
        return []
    seen: dict[str, None] = {}
    for value in request.header_values("anthropic-beta"):
        for beta in value.split(","):
            if beta := beta.strip():
                seen[beta] = None
    return list(seen)


# Provider classes that implement MessagesNative: a runtime protocol check walks the protocol's
# members on every call (about 10 us), so a class's answer is kept; an instance of any other
# class is still checked as it comes (its instance attributes may make it one).
_NATIVE_CLASSES: dict[type, bool] = {}


def _native(provider: Provider) -> MessagesNative | None:
    cls = type(provider)
    native_class = _NATIVE_CLASSES.get(cls)
    if native_class is None:
        native_class = _NATIVE_CLASSES[cls] = issubclass(cls, MessagesNative)
    if not (native_class or isinstance(provider, MessagesNative)):
        return None
    native = cast(MessagesNative, provider)
    return native if native.speaks_messages() else None


def _envelope(body: object, *, count: bool = False) -> dict[str, Any]:
    """What the gateway itself needs to know before routing; the rest is the translator's or
    the upstream's to judge."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", param="body")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: a model name (string) is required.", param="model")
    if not isinstance(body.get("messages"), list):
        raise InvalidRequest("messages: a list of messages is required.", param="messages")
    if not count:
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise InvalidRequest("max_tokens: a positive integer is required.", param="max_tokens")
        if not isinstance(body.get("stream", False), bool):
            raise InvalidRequest("stream: must be true or false.", param="stream")
    return body


def anthropic_routes(runtime: Runtime) -> list[Route]:
    pipeline = runtime.pipeline

    async def messages(request: ApiRequest, after: AfterResponse) -> Response | EventStreamResponse:
        request_id = request_id_from(request.headers.get("x-request-id"))
        ctx = RequestContext(
            request_id,
            route="/v1/messages",
            started=time.perf_counter(),
            traceparent=request.headers.get("traceparent"),
            after=after,
        )
        headers = {"x-request-id": request_id, "request-id": request_id}
        try:
            principal = await pipeline.authenticate(presented_key(request.headers))
            body = _envelope(await read_json(request))
            model: str = body["model"]
            betas = betas_of(request)
            spend = Spend(lambda: estimate_input_tokens(body), body["max_tokens"])

            def granted() -> dict[str, Any]:
                """The body with the max_tokens admission granted, when it lowered it."""
                if ctx.granted_max_tokens is None:
                    return body
                return {**body, "max_tokens": ctx.granted_max_tokens}

            if body.get("stream"):
                meter = UsageMeter()

                def opener(
                    deployment: Deployment, provider: Provider, call: CallContext
                ) -> AsyncGenerator[bytes, None]:
                    native = _native(provider)
                    if native is not None:
                        return _native_stream(native, granted(), betas, call, model, meter)
                    return _canonical_stream(provider, granted(), call, model, meter)

                items = await pipeline.open_stream(model, principal, ctx, opener, meter, spend)
                return EventStreamResponse(
                    _sse(items, model),
                    headers={**headers, **ctx.response_headers},
                    keepalive=(PING_INTERVAL_S, PING),
                )

            async def attempt(
                deployment: Deployment, provider: Provider, call: CallContext
            ) -> MessagesResult:
                native = _native(provider)
                if native is not None:
                    return await native.messages(granted(), betas, call)
                chat = parse_messages_request(granted())
                response = await provider.complete(chat, call)
                return MessagesResult(render_message(response, request_model=model),
                                      response.usage, response.upstream_request_id)  # fmt: skip

            result = await pipeline.call(model, principal, ctx, attempt, lambda r: r.usage, spend)
            result.body["model"] = model
            headers.update(ctx.response_headers)
            headers.update(cost_headers(ctx.cost_micro))
            return JsonResponse(orjson.dumps(result.body), 200, headers)
        except StargateError as err:
            return render_anthropic_error(err, request_id)

    async def count_tokens(request: ApiRequest, after: AfterResponse) -> Response:
        request_id = request_id_from(request.headers.get("x-request-id"))
        ctx = RequestContext(request_id, route="/v1/messages/count_tokens",
                             started=time.perf_counter(),
                             traceparent=request.headers.get("traceparent"),
                             after=after)  # fmt: skip
        try:
            principal = await pipeline.authenticate(presented_key(request.headers))
            body = _envelope(await read_json(request), count=True)
            betas = betas_of(request)

            async def attempt(
                deployment: Deployment, provider: Provider, call: CallContext
            ) -> TokenCount:
                native = _native(provider)
                if native is not None:
                    return await native.count_message_tokens(body, betas, call)
                if isinstance(provider, TokenCounter):
                    chat = parse_messages_request({"max_tokens": 1, **body, "stream": False})
                    return await provider.count_tokens(chat, call)
                return TokenCount(estimate_input_tokens(body), exact=False)

            counted = await pipeline.call(body["model"], principal, ctx, attempt, lambda _: None)
            headers = {"x-request-id": request_id, "request-id": request_id}
            headers[ESTIMATE_HEADER] = "exact" if counted.exact else "estimate"
            return JsonResponse(orjson.dumps({"input_tokens": counted.input_tokens}), 200, headers)
        except StargateError as err:
            return render_anthropic_error(err, request_id)

    return [
        Route("/v1/messages", Endpoint(messages), methods=["POST"]),
        Route("/v1/messages/count_tokens", Endpoint(count_tokens), methods=["POST"]),
    ]


async def _native_stream(
    provider: MessagesNative,
    body: dict[str, Any],
    betas: list[str],
    call: CallContext,
    model: str,
    meter: UsageMeter,
) -> AsyncGenerator[bytes, None]:
    relay = NativeStreamRelay(model, meter).relay
    events = provider.messages_stream(body, betas, call)
    try:
        async for event in events:
            yield relay(event)
    finally:
        await events.aclose()


async def _canonical_stream(
    provider: Provider,
    body: dict[str, Any],
    call: CallContext,
    model: str,
    meter: UsageMeter,
) -> AsyncGenerator[bytes, None]:
    chat = parse_messages_request(body)
    renderer = MessagesStreamRenderer(request_model=model)
    events = provider.stream(chat, call)
    try:
        async for event in events:
            meter.count(event)
            for chunk in renderer.feed(event):
                yield chunk
    finally:
        await events.aclose()


async def _sse(items: AsyncGenerator[bytes, None], model: str) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in items:
            yield chunk
    except StargateError as err:
        yield _error_event(err)
    except Exception as exc:  # a bug of ours: tell the client, never hang
        yield _error_event(InternalError(f"Internal error: {type(exc).__name__}"))
    finally:
        await items.aclose()


def _error_event(err: StargateError) -> bytes:
    payload = {"type": "error", "error": {"type": err.anthropic_type, "message": err.message}}
    return b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"
