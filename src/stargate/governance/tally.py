"""What a counter store saw during one admission, turned into an :class:`Admitted` or a
:class:`Refused`. Shared by the backends, so both answer in exactly the same terms.

A store reports, in the order of the request's checks, ``(spent, reserved)`` of every budget and
``(used, oldest)`` of every rate limit (a check's RPM before its TPM; ``used`` counts requests or
tokens in the sliding minute, ``oldest`` is the epoch second of the oldest admission still in
it). After an admission the numbers include the new reservation; at a refusal they are the state
it was refused against.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeAlias

from stargate.governance.admission import (
    RATE_WINDOW_SECONDS,
    AdmissionRequest,
    Admitted,
    BudgetCheck,
    BudgetState,
    RateKind,
    RateState,
    RefusalReason,
    Refused,
    ScopeCheck,
)

__all__ = [
    "RateSeen",
    "Tally",
    "admitted",
    "budget_refusal",
    "rate_limits",
    "rate_refusal",
    "retry_after_budget",
]

RateSeen: TypeAlias = tuple[int, float | None]
"""``(used, oldest)`` of one rate limit."""


@dataclass(frozen=True, slots=True)
class Tally:
    budgets: Sequence[tuple[int, int]]
    rates: Sequence[RateSeen]


def rate_limits(request: AdmissionRequest) -> Iterator[tuple[ScopeCheck, RateKind, int]]:
    """Every rate limit of the request, in tally order."""
    return iter(request.scope_checks.rates)


def retry_after_budget(request: AdmissionRequest, budget: BudgetCheck) -> float | None:
    if budget.reset_at is None:
        return None
    return max(0.0, (budget.reset_at - request.now) / timedelta(seconds=1))


def admitted(request: AdmissionRequest, tally: Tally) -> Admitted:
    checks = request.scope_checks
    budgets = tuple(
        [
            BudgetState(
                check.scope, b.window_key, b.limit_micro, b.limit_micro - spent - held, b.reset_at
            )
            for (check, b), (spent, held) in zip(checks.budgets, tally.budgets, strict=True)
        ]
    )
    now = request.now.timestamp()
    rates = tuple(
        [
            RateState(
                check.scope,
                kind,
                limit,
                max(0, limit - used),
                0.0 if oldest is None else max(0.0, oldest + RATE_WINDOW_SECONDS - now),
            )
            for (check, kind, limit), (used, oldest) in zip(checks.rates, tally.rates, strict=True)
        ]
    )
    return Admitted(request.request_id, budgets, rates)


def budget_refusal(request: AdmissionRequest, tally: Tally, failed: int) -> Refused:
    """Refused by the ``failed``-th budget (in tally order); every budget's headroom is told."""
    pairs = list(zip(request.scope_checks.budgets, tally.budgets, strict=True))
    headroom = tuple(
        BudgetState(
            check.scope, b.window_key, b.limit_micro, max(0, b.limit_micro - s - r), b.reset_at
        )
        for (check, b), (s, r) in pairs
    )
    (check, budget), _ = pairs[failed]
    return Refused(
        request.request_id,
        "budget",
        check.scope,
        budget.limit_micro,
        retry_after_budget(request, budget),
        window_key=budget.window_key,
        reset_at=budget.reset_at,
        headroom=headroom,
    )


def rate_refusal(
    request: AdmissionRequest,
    check: ScopeCheck,
    reason: RefusalReason,
    limit: int,
    retry_after_s: float | None,
) -> Refused:
    return Refused(request.request_id, reason, check.scope, limit, retry_after_s)
