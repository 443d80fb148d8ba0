"""What a counter store saw during one admission, turned into an :class:`Admitted` or a
:class:`Refused`. Shared by the backends, so both answer in exactly the same terms.

A store reports, in the order of the request's checks, ``(spent, reserved)`` of every budget and
``(used, oldest)`` of every rate limit (a check's RPM before its TPM; ``used`` counts requests or
tokens in the sliding minute, ``oldest`` is the epoch second of the oldest admission still in
it). After an admission the numbers include the new reservation; at a refusal they are the state
it was refused against.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, TypeAlias, cast

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
    ScopeChecks,
)

__all__ = [
    "RateSeen",
    "Tally",
    "admitted",
    "budget_refusal",
    "rate_refusal",
    "retry_after_budget",
]

RateSeen: TypeAlias = tuple[int, float | None]
"""``(used, oldest)`` of one rate limit."""


class Tally(NamedTuple):
    budgets: Sequence[tuple[int, int]]
    rates: Sequence[RateSeen]


def retry_after_budget(request: AdmissionRequest, budget: BudgetCheck) -> float | None:
    if budget.reset_at is None:
        return None
    return max(0.0, (budget.reset_at - request.now) / timedelta(seconds=1))


def admitted(request: AdmissionRequest, tally: Tally) -> Admitted:
    budget_of, rate_of = _states_of(request.scope_checks)
    # The states are made with tuple.__new__: what a named tuple's own __new__ does, without
    # the Python-level call it wraps that in (a third of the cost of each).
    budgets = tuple(
        [
            _new_tuple(BudgetState, (scope, key, limit, limit - spent - held, reset_at))
            for (scope, key, limit, reset_at), (spent, held) in zip(
                budget_of, tally.budgets, strict=True
            )
        ]
    )
    if not rate_of:
        return _admitted(request.request_id, budgets, ())
    now = request.now.timestamp()
    rates: list[RateState] = []
    for (scope, kind, limit), (used, oldest) in zip(rate_of, tally.rates, strict=True):
        # max(0, limit - used) and max(0.0, oldest + minute - now), without the calls
        reset = 0.0 if oldest is None else oldest + RATE_WINDOW_SECONDS - now
        rates.append(
            _new_tuple(RateState, (scope, kind, limit, limit - used if used < limit else 0,
                                   reset if reset > 0.0 else 0.0))
        )  # fmt: skip
    return _admitted(request.request_id, budgets, tuple(rates))


_new_tuple = tuple.__new__
_new_object = object.__new__
# Admitted's fields, set through their slots: a frozen dataclass's __init__ sets each through
# object.__setattr__, at twice the cost. Checked here, so that a new field cannot be left unset.
if Admitted.__slots__ != ("request_id", "budgets", "rates", "counted"):
    raise TypeError("tally._admitted sets Admitted's fields one by one: update it")
_set_id, _set_budgets, _set_rates, _set_counted = [
    getattr(Admitted, name).__set__ for name in Admitted.__slots__
]


def _admitted(
    request_id: str, budgets: tuple[BudgetState, ...], rates: tuple[RateState, ...]
) -> Admitted:
    """``Admitted(request_id, budgets, rates)``, made without its ``__init__``."""
    made = _new_object(Admitted)
    _set_id(made, request_id)
    _set_budgets(made, budgets)
    _set_rates(made, rates)
    _set_counted(made, True)
    return made


_STATES = "tally-states"
_BudgetOf = tuple[tuple[str, str, int, datetime | None], ...]
_RateOf = tuple[tuple[str, RateKind, int], ...]


def _states_of(checks: ScopeChecks) -> tuple[_BudgetOf, _RateOf]:
    """What the states of an admission take from its checks, in tally order: kept with them."""
    known = checks.memo.get(_STATES)
    if known is None:
        known = checks.memo[_STATES] = (
            tuple((c.scope, b.window_key, b.limit_micro, b.reset_at) for c, b in checks.budgets),
            tuple((c.scope, kind, limit) for c, kind, limit in checks.rates),
        )
    return cast(tuple[_BudgetOf, _RateOf], known)


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
