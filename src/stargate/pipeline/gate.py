"""Admission and settlement: the budget and rate-limit gate every spending request passes.

One atomic admission per request reserves the worst case against every scope's limits; when a
budget cannot pay for the worst case but can pay for the prompt, ``max_tokens`` is lowered to what
the budget pays for (and the caller is told by a header). Settlement replaces the reservation by
the real cost, exactly once, on success, failure, disconnect or a cut stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from stargate.config.deployment import Deployment, ModelInfo
from stargate.core import Usage
from stargate.core.cost import cost_micro
from stargate.core.money import MicroUSD
from stargate.errors import (
    AuthenticationFailed,
    BudgetExceeded,
    PermissionDenied,
    RateLimited,
    StargateError,
)
from stargate.governance.admission import (
    AdmissionRequest,
    Admitted,
    Refused,
    lowered_max_tokens,
)
from stargate.governance.counters import (
    AdmitsInPlace,
    CounterStore,
    SettlesHere,
    SettlesInPlace,
)
from stargate.governance.plans import Plan, PlanCache
from stargate.governance.policy import authorize
from stargate.governance.pricing import Pricing
from stargate.governance.verdicts import admission_headers, lowered_headers, refusal_error
from stargate.pipeline.principals import Principal

__all__ = ["DEFAULT_MAX_TOKENS", "Gate", "Ticket", "output_limit"]

log = logging.getLogger("stargate")

DEFAULT_MAX_TOKENS = 4096


def output_limit(deployment: Deployment) -> int:
    """What a request without ``max_tokens`` may produce on this deployment (as the provider
    applies it): ``model_info.max_tokens``, else ``max_output_tokens``, else 4096."""
    info = deployment.info
    return info.max_tokens or info.max_output_tokens or DEFAULT_MAX_TOKENS


@dataclass(slots=True)
class Ticket:
    """One admitted request. ``max_tokens`` is the granted limit when admission lowered it."""

    request_id: str
    admitted: Admitted | None = None
    max_tokens: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    settled: bool = False


class Gate:
    def __init__(
        self,
        counters: CounterStore,
        *,
        clock: Callable[[], datetime],
        access_groups_of: Callable[[str], frozenset[str]],
        lease_seconds: int = 900,
        on_decision: Callable[[str], None] | None = None,
    ) -> None:
        """``on_decision(outcome)`` hears every admission of a limited principal:
        ``admitted``, ``lowered`` (max_tokens cut to fit), ``budget_exceeded``,
        ``rate_limited``, ``denied`` (model not allowed, key expired) or ``error`` (the
        counters could not answer)."""
        self._counters = counters
        # A store in this process settles in one synchronous step: nothing to shield.
        self._settle_in_place = counters if isinstance(counters, SettlesInPlace) else None
        self._admit_in_place = counters if isinstance(counters, AdmitsInPlace) else None
        # A shared store settles what this process admitted from an allotment in one step too.
        self._settle_here = counters if isinstance(counters, SettlesHere) else None
        self._clock = clock
        self._groups_of = access_groups_of
        self._lease = lease_seconds
        self._on_decision = on_decision
        self._plans = PlanCache()
        self._tariffs = _Tariffs()

    async def admit(
        self,
        principal: Principal,
        model: str,
        deployments: Sequence[Deployment],
        *,
        request_id: str,
        prompt_tokens: Callable[[], int],
        max_tokens: int | None,
    ) -> Ticket:
        scopes = principal.scopes
        if not scopes:
            return Ticket(request_id)  # the master key: no limits apply
        ticket = Ticket(request_id)
        try:
            now = self._clock()
            plan = self._plans.plan(principal.key_hash, scopes, model, now)
            if plan.needs_authorize(now):
                authorize(scopes, model, now=now, access_groups_of=self._groups_of)
            tariff = self._tariffs.of(deployments)
            wanted = max_tokens or tariff.output_limit
            prompt = prompt_tokens()
            pricing = tariff.dearest(prompt, wanted)
            request = self._admission(plan, request_id, now, prompt, wanted, pricing)
            in_place = self._admit_in_place  # no coroutine for a store in this process
            if in_place is not None:
                outcome = in_place.admit_in_place(request)
            else:
                outcome = await self._counters.admit(request)
            if isinstance(outcome, Refused):
                lowered = lowered_max_tokens(outcome, prompt_tokens=prompt, max_tokens=wanted,
                                             pricing=pricing)  # fmt: skip
                if lowered is None:
                    raise refusal_error(outcome)
                request = self._admission(plan, request_id, now, prompt, lowered, pricing)
                if in_place is not None:
                    outcome = in_place.admit_in_place(request)
                else:
                    outcome = await self._counters.admit(request)
                if isinstance(outcome, Refused):
                    raise refusal_error(outcome)
                ticket.max_tokens = lowered
                ticket.headers.update(lowered_headers(lowered))
        except StargateError as err:
            self._decided(_refusal_outcome(err))
            raise
        ticket.admitted = outcome
        admission_headers(outcome, ticket.headers)
        self._decided("lowered" if ticket.max_tokens is not None else "admitted")
        return ticket

    def _decided(self, outcome: str) -> None:
        if self._on_decision is not None:
            self._on_decision(outcome)

    def _admission(
        self,
        plan: Plan,
        request_id: str,
        now: datetime,
        prompt: int,
        max_tokens: int,
        pricing: Pricing,
    ) -> AdmissionRequest:
        """What ``plan_admission`` would plan, from the principal's cached plan."""
        return plan.admission(
            request_id,
            now,
            reserve_micro=pricing.worst_case_micro(prompt, max_tokens),
            reserve_tokens=prompt + max_tokens,
            lease_seconds=self._lease,
        )

    async def settle(
        self, ticket: Ticket, usage: Usage | None, deployment: Deployment | None
    ) -> None:
        """Replace the reservation by the real cost (nothing spent: release it). Runs even when
        the request's task is being cancelled; never raises."""
        if ticket.settled or ticket.admitted is None:
            return
        if usage is None or deployment is None:
            await self._settle(ticket, 0, 0, nothing=True)
        else:
            # The ledger's price (core.cost): counters and ledger agree. Unpriced: no money.
            cost = cost_micro(usage, deployment.info) or 0
            await self._settle(ticket, cost, usage.total_tokens, nothing=False)

    async def settle_priced(self, ticket: Ticket, usage: Usage, cost: MicroUSD | None) -> None:
        """:meth:`settle` for a request whose cost is known already: ``cost`` is what
        ``core.cost.cost_micro`` gave for ``usage`` at the deployment that served it (``None``:
        unpriced), as the request's ledger row has it."""
        if ticket.settled or ticket.admitted is None:
            return
        await self._settle(ticket, cost or 0, usage.total_tokens, nothing=False)

    async def _settle(self, ticket: Ticket, cost: int, tokens: int, *, nothing: bool) -> None:
        ticket.settled = True
        rid = ticket.request_id
        try:
            if self._settle_in_place is not None:  # one synchronous step: nothing can cancel it
                self._settle_in_place.settle_in_place(rid, cost, tokens)
            elif self._settle_here is not None and (
                self._settle_here.settle_here(rid, cost, tokens) is not None
            ):
                pass  # settled in this process, in one step
            elif nothing:
                await asyncio.shield(self._counters.release(rid))
            else:
                await asyncio.shield(self._counters.settle(rid, cost, tokens))
        except Exception:  # the lease still expires; counters can be rebuilt from the ledger
            log.exception("settling %s failed", rid)


def _refusal_outcome(err: StargateError) -> str:
    if isinstance(err, BudgetExceeded):
        return "budget_exceeded"
    if isinstance(err, RateLimited):
        return "rate_limited"
    if isinstance(err, PermissionDenied | AuthenticationFailed):
        return "denied"
    return "error"


@dataclass(frozen=True, slots=True)
class _Tariff:
    """The prices of the deployments a request may be served by, in fallback order."""

    infos: tuple[ModelInfo, ...]
    prices: tuple[Pricing, ...]
    output_limit: int  # what a request without max_tokens may produce, at most

    def dearest(self, prompt: int, max_tokens: int) -> Pricing:
        """Reserve at the dearest deployment the request may fall back to (the first of
        equals)."""
        prices = self.prices
        if len(prices) == 1:
            return prices[0]
        return max(prices, key=lambda p: p.worst_case_micro(prompt, max_tokens))


class _Tariffs:
    """Tariffs by the identity of the deployments' ``model_info`` (in order), kept with them so
    an identity is never reused while remembered: the deployments of a model are the same
    objects until the models are reloaded."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._known: dict[tuple[int, ...], _Tariff] = {}

    def of(self, deployments: Sequence[Deployment]) -> _Tariff:
        if len(deployments) == 1:  # the usual model group: no tuples to make
            single = self._known.get((id(deployments[0].info),))
            if single is not None:  # it keeps its info alive: the id is that object's
                return single
        infos = tuple([d.info for d in deployments])
        key = tuple([id(info) for info in infos])
        known = self._known.get(key)
        if known is not None:
            return known
        tariff = _Tariff(
            infos,
            tuple([Pricing.of(info) for info in infos]),
            max(output_limit(d) for d in deployments),
        )
        if len(self._known) >= self._capacity:
            self._known.clear()
        self._known[key] = tariff
        return tariff
