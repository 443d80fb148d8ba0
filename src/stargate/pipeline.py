"""The order of one request's life, and nothing else.

authenticate ▶ route (logical name → deployments) ▶ call the provider (next deployment on a
retryable failure that reached nobody yet) ▶ record. Governance (authorize, admit, settle) and
the ledger slot in here as they arrive; nothing below this module knows about HTTP.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from stargate.config.deployment import Deployment
from stargate.core import ChatRequest, ChatResponse, StreamEvent, UsageReport
from stargate.errors import AuthenticationFailed, StargateError
from stargate.governance.keys import hash_key, keys_match
from stargate.providers.base import CallContext, Provider
from stargate.routing import Router
from stargate.telemetry import Metrics, RequestLabels

__all__ = ["Pipeline", "Principal", "ProviderLookup", "RequestContext"]


class ProviderLookup(Protocol):
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

    # --- call -----------------------------------------------------------------------------

    def _labels(self, request: ChatRequest, principal: Principal, ctx: RequestContext,
                deployment: Deployment | None) -> RequestLabels:  # fmt: skip
        return RequestLabels(
            requested_model=request.model,
            model=deployment.model if deployment else "",
            model_id=deployment.id if deployment else "",
            hashed_api_key=principal.key_hash,
            api_key_alias=principal.key_alias,
            end_user=request.user or "",
            route=ctx.route,
            api_provider=deployment.provider if deployment else "",
        )

    def _failed(self, request: ChatRequest, principal: Principal, ctx: RequestContext,
                deployment: Deployment | None, err: Exception) -> None:  # fmt: skip
        status = err.status if isinstance(err, StargateError) else 500
        self._metrics.record_failure(
            self._labels(request, principal, ctx, deployment),
            status=status,
            exception_class=type(err).__name__,
        )

    async def complete(
        self, request: ChatRequest, principal: Principal, ctx: RequestContext
    ) -> ChatResponse:
        deployment: Deployment | None = None
        try:
            deployments = self._router.resolve(request.model)
            call = CallContext(request_id=ctx.request_id)
            for attempt, deployment in enumerate(deployments, start=1):
                upstream_started = self._clock()
                try:
                    response = await self._providers.get(deployment.id).complete(request, call)
                except StargateError as err:
                    if err.retryable and attempt < len(deployments):
                        continue
                    raise
                now = self._clock()
                self._metrics.record_success(
                    self._labels(request, principal, ctx, deployment),
                    input_tokens=response.usage.prompt_tokens,
                    output_tokens=response.usage.output_tokens,
                    total_seconds=now - ctx.started,
                    upstream_seconds=now - upstream_started,
                )
                return response
            raise AssertionError("a model group always has a deployment")  # pragma: no cover
        except Exception as err:
            self._failed(request, principal, ctx, deployment, err)
            raise

    async def open_stream(
        self, request: ChatRequest, principal: Principal, ctx: RequestContext
    ) -> AsyncGenerator[StreamEvent, None]:
        """Start the upstream stream and wait for its first event, so that a failure before
        anything was produced is still an ordinary HTTP error (and may fall back to the next
        deployment). Returns an iterator over all events, the first included."""
        deployment: Deployment | None = None
        try:
            deployments = self._router.resolve(request.model)
            call = CallContext(request_id=ctx.request_id)
            for attempt, deployment in enumerate(deployments, start=1):
                upstream_started = self._clock()
                events = self._providers.get(deployment.id).stream(request, call)
                try:
                    first = await anext(events)
                except StargateError as err:
                    await events.aclose()
                    if err.retryable and attempt < len(deployments):
                        continue
                    raise
                except BaseException:
                    await events.aclose()
                    raise
                return self._relay(first, events, request, principal, ctx, deployment,
                                   upstream_started)  # fmt: skip
            raise AssertionError("a model group always has a deployment")  # pragma: no cover
        except Exception as err:
            self._failed(request, principal, ctx, deployment, err)
            raise

    async def _relay(
        self,
        first: StreamEvent,
        events: AsyncGenerator[StreamEvent, None],
        request: ChatRequest,
        principal: Principal,
        ctx: RequestContext,
        deployment: Deployment,
        upstream_started: float,
    ) -> AsyncGenerator[StreamEvent, None]:
        usage = None
        try:
            yield first
            async for event in events:
                if isinstance(event, UsageReport):
                    usage = event.usage
                yield event
        except Exception as err:
            self._failed(request, principal, ctx, deployment, err)
            raise
        finally:
            await events.aclose()
        now = self._clock()
        self._metrics.record_success(
            self._labels(request, principal, ctx, deployment),
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            total_seconds=now - ctx.started,
            upstream_seconds=now - upstream_started,
        )
