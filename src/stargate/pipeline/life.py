"""The order of one request's life, and nothing else.

authenticate ▶ route (logical name → deployments) ▶ call the provider (next deployment on a
retryable failure that reached nobody yet) ▶ record. Governance (authorize, admit, settle) and
the ledger slot in here as they arrive; nothing below this module knows about HTTP.

The pipeline is generic over dialects: the API layer hands it an *attempt* (what to do with one
deployment's provider) and, for streams, a :class:`UsageMeter` the stream keeps up to date, so the
OpenAI and Anthropic routes share one life cycle whether the request goes through the canonical
core or travels natively (Anthropic Messages to Claude on Bedrock).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from stargate.config.deployment import Deployment
from stargate.core import ChatRequest, ChatResponse, StreamEvent, Usage, UsageReport
from stargate.errors import AuthenticationFailed, StargateError
from stargate.governance.keys import hash_key, keys_match
from stargate.providers.base import CallContext, Provider
from stargate.routing import Router
from stargate.telemetry import Metrics, RequestLabels

__all__ = [
    "Attempt",
    "Opener",
    "Pipeline",
    "Principal",
    "ProviderLookup",
    "RequestContext",
    "UsageMeter",
]

T = TypeVar("T")
X = TypeVar("X")


class ProviderLookup(Protocol):
    """Anything with ``get(deployment_id) -> Provider`` (the provider set)."""

    def get(self, deployment_id: str) -> Provider: ...


@dataclass(slots=True, frozen=True)
class Principal:
    """Who is calling. ``key_hash`` is the SHA-256 of the presented key, never the key."""

    kind: Literal["master"]
    key_hash: str
    key_alias: str


@dataclass(slots=True)
class RequestContext:
    request_id: str
    route: str
    started: float  # time.perf_counter() when the request arrived
    end_user: str | None = None


@dataclass(slots=True)
class UsageMeter:
    """The usage a stream has reported so far; the stream's producer keeps it current."""

    usage: Usage | None = None


Attempt = Callable[[Deployment, Provider, CallContext], Awaitable[T]]
Opener = Callable[[Deployment, Provider, CallContext], AsyncGenerator[X, None]]


class Pipeline:
    def __init__(
        self,
        *,
        router: Router,
        providers: ProviderLookup,
        metrics: Metrics,
        master_key: str | None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._router = router
        self._providers = providers
        self._metrics = metrics
        self._master_hash = hash_key(master_key) if master_key else None
        self._clock = clock

    # --- authenticate ---------------------------------------------------------------------

    def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise AuthenticationFailed(
                "No API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
                code="missing_api_key",
            )
        presented_hash = hash_key(presented)
        if self._master_hash is not None and keys_match(presented_hash, self._master_hash):
            return Principal(kind="master", key_hash=presented_hash, key_alias="master")
        raise AuthenticationFailed(
            "Invalid API key. Check the key you were given, or ask your gateway admin for one.",
            code="invalid_api_key",
        )

    # --- call, generic over dialects ------------------------------------------------------

    async def call(
        self,
        model: str,
        principal: Principal,
        ctx: RequestContext,
        attempt: Attempt[T],
        usage_of: Callable[[T], Usage | None],
    ) -> T:
        """Run ``attempt`` against the model's deployments in fallback order."""
        deployment: Deployment | None = None
        try:
            deployments = self._router.resolve(model)
            call = CallContext(request_id=ctx.request_id)
            for number, deployment in enumerate(deployments, start=1):
                upstream_started = self._clock()
                try:
                    result = await attempt(deployment, self._providers.get(deployment.id), call)
                except StargateError as err:
                    if err.retryable and number < len(deployments):
                        continue
                    raise
                self._succeeded(model, principal, ctx, deployment, usage_of(result),
                                upstream_started)  # fmt: skip
                return result
            raise AssertionError("a model group always has a deployment")  # pragma: no cover
        except Exception as err:
            self._failed(model, principal, ctx, deployment, err)
            raise

    async def open_stream(
        self,
        model: str,
        principal: Principal,
        ctx: RequestContext,
        opener: Opener[X],
        meter: UsageMeter,
    ) -> AsyncGenerator[X, None]:
        """Start the upstream stream and wait for its first item, so that a failure before
        anything was produced is still an ordinary HTTP error (and may fall back to the next
        deployment). Returns an iterator over all items, the first included."""
        deployment: Deployment | None = None
        try:
            deployments = self._router.resolve(model)
            call = CallContext(request_id=ctx.request_id)
            for number, deployment in enumerate(deployments, start=1):
                upstream_started = self._clock()
                items = opener(deployment, self._providers.get(deployment.id), call)
                try:
                    first = await anext(items)
                except StargateError as err:
                    await items.aclose()
                    if err.retryable and number < len(deployments):
                        continue
                    raise
                except BaseException:
                    await items.aclose()
                    raise
                return self._relay(first, items, model, principal, ctx, deployment, meter,
                                   upstream_started)  # fmt: skip
            raise AssertionError("a model group always has a deployment")  # pragma: no cover
        except Exception as err:
            self._failed(model, principal, ctx, deployment, err)
            raise

    async def _relay(
        self,
        first: X,
        items: AsyncGenerator[X, None],
        model: str,
        principal: Principal,
        ctx: RequestContext,
        deployment: Deployment,
        meter: UsageMeter,
        upstream_started: float,
    ) -> AsyncGenerator[X, None]:
        try:
            yield first
            async for item in items:
                yield item
        except Exception as err:
            self._failed(model, principal, ctx, deployment, err)
            raise
        finally:
            await items.aclose()
        self._succeeded(model, principal, ctx, deployment, meter.usage, upstream_started)

    # --- the canonical core, for dialects translated to it ----------------------------------

    async def complete(
        self, request: ChatRequest, principal: Principal, ctx: RequestContext
    ) -> ChatResponse:
        async def attempt(_: Deployment, provider: Provider, call: CallContext) -> ChatResponse:
            return await provider.complete(request, call)

        ctx.end_user = request.user
        return await self.call(request.model, principal, ctx, attempt, lambda r: r.usage)

    async def stream(
        self, request: ChatRequest, principal: Principal, ctx: RequestContext
    ) -> AsyncGenerator[StreamEvent, None]:
        meter = UsageMeter()

        async def opener(
            _: Deployment, provider: Provider, call: CallContext
        ) -> AsyncGenerator[StreamEvent, None]:
            events = provider.stream(request, call)
            try:
                async for event in events:
                    if isinstance(event, UsageReport):
                        meter.usage = event.usage
                    yield event
            finally:
                await events.aclose()

        ctx.end_user = request.user
        return await self.open_stream(request.model, principal, ctx, opener, meter)

    # --- records ----------------------------------------------------------------------------

    def _labels(self, model: str, principal: Principal, ctx: RequestContext,
                deployment: Deployment | None) -> RequestLabels:  # fmt: skip
        return RequestLabels(
            requested_model=model,
            model=deployment.model if deployment else "",
            model_id=deployment.id if deployment else "",
            hashed_api_key=principal.key_hash,
            api_key_alias=principal.key_alias,
            # Per-end-user labels are off: callers choose the value (Claude Code sends a JSON
            # blob per session), so it would explode the series count.
            end_user="",
            route=ctx.route,
            api_provider=deployment.provider if deployment else "",
        )

    def _succeeded(self, model: str, principal: Principal, ctx: RequestContext,
                   deployment: Deployment, usage: Usage | None,
                   upstream_started: float) -> None:  # fmt: skip
        now = self._clock()
        self._metrics.record_success(
            self._labels(model, principal, ctx, deployment),
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            total_seconds=now - ctx.started,
            upstream_seconds=now - upstream_started,
        )

    def _failed(self, model: str, principal: Principal, ctx: RequestContext,
                deployment: Deployment | None, err: Exception) -> None:  # fmt: skip
        status = err.status if isinstance(err, StargateError) else 500
        self._metrics.record_failure(
            self._labels(model, principal, ctx, deployment),
            status=status,
            exception_class=type(err).__name__,
        )
