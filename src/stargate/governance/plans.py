"""Admission plans, built once per principal and model and reused while their windows hold.

What a request to a model checks under a principal's scopes (:func:`~stargate.governance.
admission.plan_checks`) is the same for every request until a budget window rolls over to its
next instance or the limits change. :class:`PlanCache` keeps it, with the instant range in which
every window instance holds, and answers from it while ``now`` is inside; only the reservation is
computed per request.

Limits change by replacement, never in place: the principal directory builds new
:class:`~stargate.governance.policy.Limits` (and a new scopes tuple) whenever it loads a key
again. So a plan is kept for one scopes tuple, by identity: new limits are a new tuple, and its
first request plans afresh. Plans are filed by their owner (the key) and model, so a key loaded
again replaces its plans instead of adding to them; the cache forgets the oldest past
``capacity``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from stargate.core.money import MicroUSD
from stargate.governance.admission import AdmissionRequest, ScopeChecks, plan_checks
from stargate.governance.policy import Limits, model_allowed_by_name

__all__ = ["Plan", "PlanCache"]

Scopes = Sequence[tuple[str, Limits]]


@dataclass(frozen=True, slots=True)
class Plan:
    """The checks of one principal's requests to one model, valid for ``since <= now < until``
    (``None``: unbounded). ``authorize`` is false when no scope can refuse outright except by
    expiring (none is blocked, and each allows the model by its name alone: the access groups,
    which may change with the deployments, need not be asked), and ``expiries`` are the scopes'
    expiry times."""

    scopes: Scopes
    checks: ScopeChecks
    since: datetime | None
    until: datetime | None
    authorize: bool
    expiries: tuple[datetime, ...]

    def holds_at(self, now: datetime) -> bool:
        since, until = self.since, self.until
        return (since is None or since <= now) and (until is None or now < until)

    def needs_authorize(self, now: datetime) -> bool:
        """Whether a scope may refuse the request outright at ``now`` (``policy.authorize``
        must run): false only when it would certainly pass."""
        expiries = self.expiries  # usually none: no generator then
        return self.authorize or (len(expiries) > 0 and any(now >= e for e in expiries))

    def admission(
        self,
        request_id: str,
        now: datetime,
        *,
        reserve_micro: MicroUSD,
        reserve_tokens: int,
        lease_seconds: int,
    ) -> AdmissionRequest:
        return AdmissionRequest.planned(
            request_id, self.checks, reserve_micro, reserve_tokens, now, lease_seconds
        )


def build_plan(scopes: Scopes, model: str, now: datetime) -> Plan:
    """The plan of ``scopes`` and ``model`` at ``now``, and the instants it holds between."""
    since: datetime | None = None
    until: datetime | None = None
    for _, limits in scopes:
        for budget in limits.budgets:
            began, ends = budget.window.bounds_at(now)
            since = began if since is None else max(since, began)
            if ends is not None:
                until = ends if until is None else min(until, ends)
    return Plan(
        scopes=scopes,
        checks=plan_checks(scopes, model, now),
        since=since,
        until=until,
        authorize=any(
            limits.blocked or not model_allowed_by_name(limits, model) for _, limits in scopes
        ),
        expiries=tuple(lim.expires_at for _, lim in scopes if lim.expires_at is not None),
    )


class PlanCache:
    """Plans by owner and model, rebuilt when the owner's scopes are another tuple or ``now``
    leaves the range they hold in."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._plans: dict[tuple[str, str], Plan] = {}

    def plan(self, owner: str, scopes: Scopes, model: str, now: datetime) -> Plan:
        """The plan of ``owner`` (a key's hash), whose scopes are ``scopes``, for ``model``."""
        key = (owner, model)
        plans = self._plans
        known = plans.get(key)
        if known is not None and known.scopes is scopes and known.holds_at(now):
            return known
        plan = build_plan(scopes, model, now)
        if known is None and len(plans) >= self._capacity:
            del plans[next(iter(plans))]  # the oldest
        plans[key] = plan
        return plan

    def __len__(self) -> int:
        return len(self._plans)
