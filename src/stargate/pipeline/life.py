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

import dataclasses
import functools
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from stargate.config.deployment import Deployment
from stargate.core import (
    ChatRequest,
    ChatResponse,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolUseDelta,
    Usage,
    UsageReport,
)
from stargate.errors import AuthenticationFailed, ServiceUnavailable, StargateError
from stargate.governance.keys import hash_key, keys_match
from stargate.pipeline.after import AfterResponse, Job
from stargate.pipeline.gate import Gate, Ticket
from stargate.pipeline.principals import Principal
from stargate.pipeline.records import Recorder, RequestRecord
from stargate.providers.base import CallContext, Provider
from stargate.routing import Router
from stargate.translate.anthropic_tokens import estimate_request_tokens

__all__ = [
    "Attempt",
    "KeyLookup",
    "Opener",
    "Pipeline",
    "ProviderLookup",
    "RequestContext",
    "Spend",
    "UsageMeter",
]

T = TypeVar("T")
X = TypeVar("X")


class ProviderLookup(Protocol):
    """Anything with ``get(deployment_id) -> Provider`` (the provider set)."""

    def get(self, deployment_id: str) -> Provider: ...


class KeyLookup(Protocol):
    """Virtual keys by hash (the principal directory)."""

    async def lookup(self, key_hash: str) -> Principal | None: ...


@dataclass(slots=True)
class Spend:
    """What admission needs to know of a request before it runs: an estimate of its prompt
    tokens that never undercounts (computed only when a limit needs it) and its ``max_tokens``
    (``None``: the deployment's default)."""

    prompt_tokens: Callable[[], int]
    max_tokens: int | None


@dataclass(slots=True)
class RequestContext:
    request_id: str
    route: str
    started: float  # time.perf_counter() when the request arrived
    end_user: str | None = None
    # Set by admission: a lowered max_tokens the attempt must apply, and headers for the caller.
    granted_max_tokens: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    traceparent: str | None = None  # the caller's W3C trace context, if it sent one
    # Set once a call succeeded (a stream: once it ended): what it cost and what served it.
    cost_micro: int | None = None
    served_by: Deployment | None = None
    # Where the API layer takes the request's bookkeeping (settling its reservation) to run it
    # once the response is sent (``stargate.api.endpoint``); ``None``: done before returning.
    after: AfterResponse | None = None


@dataclass(slots=True)
class UsageMeter:
    """The usage a stream has reported so far; the stream's producer keeps it current.

    When a stream ends without its final usage (the client left, the upstream cut it), what it
    cost is estimated for settlement: the input the upstream reported (or ``prompt_estimate``)
    plus the output relayed so far, ``output_chars`` at three characters a token (erring high).
    """

    usage: Usage | None = None
    complete: bool = False
    output_chars: int = 0
    prompt_estimate: Callable[[], int] | None = None

    def settled_usage(self) -> Usage:
        if self.complete and self.usage is not None:
            return self.usage
        relayed = -(-self.output_chars // 3)
        if self.usage is not None:
            return Usage(
                input_tokens=self.usage.input_tokens,
                output_tokens=max(self.usage.output_tokens, relayed),
                cache_read_tokens=self.usage.cache_read_tokens,
                cache_write_tokens=self.usage.cache_write_tokens,
            )
        prompt = self.prompt_estimate() if self.prompt_estimate is not None else 0
        return Usage(input_tokens=prompt, output_tokens=relayed)

    def count(self, event: StreamEvent) -> None:
        """Keep the meter current with one canonical stream event (before it is relayed)."""
        if type(event) is TextDelta:  # most events: checked first
            self.output_chars += len(event.text)
        elif isinstance(event, UsageReport):
            self.usage = event.usage
            self.complete = True
        elif isinstance(event, TextDelta | ReasoningDelta):
            self.output_chars += len(event.text)
        elif isinstance(event, ToolUseDelta):
            self.output_chars += len(event.partial_json)


Attempt = Callable[[Deployment, Provider, CallContext], Awaitable[T]]
Opener = Callable[[Deployment, Provider, CallContext], AsyncGenerator[X, None]]


class Pipeline:
    def __init__(
        self,
        *,
        router: Router,
        providers: ProviderLookup,
        recorder: Recorder,
        master_key: str | None,
        keys: KeyLookup | None = None,
        gate: Gate | None = None,
        ledger_healthy: Callable[[], bool] | None = None,
    ) -> None:
        self._router = router
        self._providers = providers
        self._recorder = recorder
        self._master_hash = hash_key(master_key) if master_key else None
        self._keys = keys
        self._gate = gate
        self._ledger_healthy = ledger_healthy

    def reroute(self, router: Router, providers: ProviderLookup) -> None:
        """Serve a new set of deployments (models added or removed at runtime)."""
        self._router, self._providers = router, providers

    # --- authenticate ---------------------------------------------------------------------

    async def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise AuthenticationFailed(
                "No API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
                code="missing_api_key",
            )
        presented_hash = hash_key(presented)
        if self._master_hash is not None and keys_match(presented_hash, self._master_hash):
            return Principal(kind="master", key_hash=presented_hash, key_alias="master")
        if self._keys is not None:
            # Looked up by its hash: the lookup itself compares hashes, never the secret.
            try:
                principal = await self._keys.lookup(presented_hash)
            except SQLAlchemyError as exc:
                raise ServiceUnavailable(
                    "The gateway cannot reach its database to check this key; try again shortly.",
                    retry_after=2,
                ) from exc
            if principal is not None:
                return principal
        raise AuthenticationFailed(
            "Invalid API key. Check the key you were given, or ask your gateway admin for one.",
            code="invalid_api_key",
        )

    # --- call, generic over dialects ------------------------------------------------------

    async def _admit(
        self,
        model: str,
        principal: Principal,
        ctx: RequestContext,
        deployments: list[Deployment],
        spend: Spend | None,
    ) -> Ticket | None:
        if spend is not None and self._ledger_healthy is not None and not self._ledger_healthy():
            raise ServiceUnavailable(
                "The spend ledger cannot reach its database and requests are refused until it "
                "catches up (allow_requests_on_db_unavailable is off).",
                retry_after=5,
            )
        if self._gate is None or spend is None:
            return None
        ticket = await self._gate.admit(
            principal, model, deployments, request_id=ctx.request_id,
            prompt_tokens=spend.prompt_tokens, max_tokens=spend.max_tokens,
        )  # fmt: skip
        ctx.granted_max_tokens = ticket.max_tokens
        ctx.response_headers.update(ticket.headers)
        if ticket.admitted is not None and ticket.admitted.budgets:
            self._recorder.report_budgets(principal, ticket.admitted.budgets)
        return ticket

    def _attempt_failed(
        self, record: RequestRecord, deployment: Deployment, err: StargateError, *, retry: bool
    ) -> None:
        self._router.health.failed(deployment, err.status)
        record.attempt_failed(deployment, err, retry=retry)

    async def _settle(
        self, ticket: Ticket | None, usage: Usage | None, deployment: Deployment | None
    ) -> None:
        if ticket is not None and self._gate is not None:
            await self._gate.settle(ticket, usage, deployment)

    async def _settle_after(
        self,
        ctx: RequestContext,
        ticket: Ticket | None,
        usage: Usage | None,
        deployment: Deployment | None,
    ) -> None:
        """Settle once the response is sent, when the API layer takes that work; else now.
        A call that succeeded settles at the cost its record computed (``ctx.cost_micro``)."""
        if ticket is None or self._gate is None:
            return
        job: Job
        if usage is not None and deployment is not None and ctx.served_by is deployment:
            job = functools.partial(self._gate.settle_priced, ticket, usage, ctx.cost_micro)
        else:
            job = functools.partial(self._gate.settle, ticket, usage, deployment)
        if ctx.after is None or not ctx.after.add(job):
            await job()

    def _begin(self, model: str, principal: Principal, ctx: RequestContext, *, stream: bool,
               spend: Spend | None) -> RequestRecord:  # fmt: skip
        return self._recorder.begin(
            request_id=ctx.request_id, route=ctx.route, model=model, principal=principal,
            started=ctx.started, stream=stream,
            max_tokens=spend.max_tokens if spend is not None else None,
            traceparent=ctx.traceparent,
        )  # fmt: skip

    async def call(
        self,
        model: str,
        principal: Principal,
        ctx: RequestContext,
        attempt: Attempt[T],
        usage_of: Callable[[T], Usage | None],
        spend: Spend | None = None,
    ) -> T:
        """Admit, then run ``attempt`` against the model's deployments in fallback order, then
        settle. ``spend`` is ``None`` for calls that cost nothing (token counting)."""
        record = self._begin(model, principal, ctx, stream=False, spend=spend)
        deployment: Deployment | None = None
        ticket: Ticket | None = None
        usage: Usage | None = None
        try:
            deployments = self._router.resolve(model)
            ticket = await self._admit(model, principal, ctx, deployments, spend)
            call = CallContext(request_id=ctx.request_id)
            for number, deployment in enumerate(deployments, start=1):
                record.attempt(deployment)
                try:
                    result = await attempt(deployment, self._providers.get(deployment.id), call)
                except StargateError as err:
                    retry = err.retryable and number < len(deployments)
                    self._attempt_failed(record, deployment, err, retry=retry)
                    if retry:
                        continue
                    raise
                self._router.health.succeeded(deployment)
                usage = usage_of(result)
                record.succeeded(deployment, usage, ctx.after)
                ctx.cost_micro, ctx.served_by = record.cost_micro, deployment
                return result
            raise AssertionError("a model group always has a deployment")  # pragma: no cover
        except BaseException as err:
            record.failed(deployment, err)
            raise
        finally:
            await self._settle_after(ctx, ticket, usage, deployment)

    async def open_stream(
        self,
        model: str,
        principal: Principal,
        ctx: RequestContext,
        opener: Opener[X],
        meter: UsageMeter,
        spend: Spend | None = None,
        count: Callable[[X], None] | None = None,
    ) -> AsyncGenerator[X, None]:
        """Admit, start the upstream stream and wait for its first item, so that a failure
        before anything was produced is still an ordinary HTTP error (and may fall back to the
        next deployment). Returns an iterator over all items, the first included; closing it
        (or its end) settles. ``count``, when given, sees each item before it is relayed (to
        keep ``meter`` current), in the same generator."""
        record = self._begin(model, principal, ctx, stream=True, spend=spend)
        deployment: Deployment | None = None
        ticket: Ticket | None = None
        try:
            deployments = self._router.resolve(model)
            ticket = await self._admit(model, principal, ctx, deployments, spend)
            if spend is not None:
                meter.prompt_estimate = spend.prompt_tokens
            call = CallContext(request_id=ctx.request_id)
            for number, deployment in enumerate(deployments, start=1):
                record.attempt(deployment)
                items = opener(deployment, self._providers.get(deployment.id), call)
                try:
                    first = await anext(items)
                except StargateError as err:
                    await items.aclose()
                    retry = err.retryable and number < len(deployments)
                    self._attempt_failed(record, deployment, err, retry=retry)
                    if retry:
                        continue
                    raise
                except BaseException:
                    await items.aclose()
                    raise
                self._router.health.succeeded(deployment)
                record.first_item()
                if count is not None:
                    count(first)
                return self._relay(first, items, deployment, meter, ticket, record, ctx, count)
            raise AssertionError("a model group always has a deployment")  # pragma: no cover
        except BaseException as err:
            record.failed(deployment, err)
            await self._settle(ticket, None, deployment)
            raise

    async def _relay(
        self,
        first: X,
        items: AsyncGenerator[X, None],
        deployment: Deployment,
        meter: UsageMeter,
        ticket: Ticket | None,
        record: RequestRecord,
        ctx: RequestContext,
        count: Callable[[X], None] | None,
    ) -> AsyncGenerator[X, None]:
        failure: BaseException | None = None
        try:
            yield first
            if count is None:
                async for item in items:
                    yield item
            else:
                async for item in items:
                    count(item)
                    yield item
        except BaseException as err:
            failure = err
            raise
        finally:
            await items.aclose()
            # What the stream cost, once (a cut stream's estimate walks the whole prompt).
            usage = meter.settled_usage()
            try:  # recorded first, so that a whole stream settles at its ledger row's price
                if failure is not None:
                    record.failed(deployment, failure, usage=usage)
                else:
                    record.succeeded(deployment, usage, ctx.after)
                    ctx.cost_micro, ctx.served_by = record.cost_micro, deployment
            finally:
                await self._settle_after(ctx, ticket, usage, deployment)

    # --- the canonical core, for dialects translated to it ----------------------------------

    async def complete(
        self, request: ChatRequest, principal: Principal, ctx: RequestContext
    ) -> ChatResponse:
        async def attempt(_: Deployment, provider: Provider, call: CallContext) -> ChatResponse:
            return await provider.complete(_granted(request, ctx), call)

        ctx.end_user = request.user
        return await self.call(
            request.model, principal, ctx, attempt, lambda r: r.usage, _spend(request, ctx)
        )

    async def stream(
        self, request: ChatRequest, principal: Principal, ctx: RequestContext
    ) -> AsyncGenerator[StreamEvent, None]:
        meter = UsageMeter()

        def opener(
            _: Deployment, provider: Provider, call: CallContext
        ) -> AsyncGenerator[StreamEvent, None]:
            return provider.stream(_granted(request, ctx), call)

        ctx.end_user = request.user
        spend = _spend(request, ctx)
        return await self.open_stream(
            request.model, principal, ctx, opener, meter, spend, count=meter.count
        )


def _spend(request: ChatRequest, ctx: RequestContext) -> Spend:
    return Spend(lambda: estimate_request_tokens(request), request.max_tokens)


def _granted(request: ChatRequest, ctx: RequestContext) -> ChatRequest:
    """The request with the max_tokens admission granted, when it lowered it."""
    if ctx.granted_max_tokens is None:
        return request
    return dataclasses.replace(request, max_tokens=ctx.granted_max_tokens)
