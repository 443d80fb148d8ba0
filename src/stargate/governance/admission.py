"""One admission per request: what to check and reserve (:class:`AdmissionRequest`, built by the
pure planner :func:`plan_admission`), and what the counter store answers (:class:`Admitted` or
:class:`Refused`).

The pipeline plans, calls ``await counters.admit(plan)`` once, and on a budget refusal may ask
:func:`lowered_max_tokens` for a smaller ``max_tokens`` that the remaining budget pays for, plan
again with it and admit once more. Whatever happens next, it settles the request id exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

from stargate.core.money import MicroUSD
from stargate.governance.policy import Limits
from stargate.governance.pricing import Pricing

__all__ = [
    "RATE_WINDOW_SECONDS",
    "Admission",
    "AdmissionRequest",
    "Admitted",
    "BudgetCheck",
    "BudgetState",
    "RateKind",
    "RateState",
    "RefusalReason",
    "Refused",
    "ScopeCheck",
    "ScopeChecks",
    "lowered_max_tokens",
    "model_scope",
    "plan_admission",
    "plan_checks",
]

RefusalReason = Literal["budget", "rpm", "tpm", "parallel"]
RateKind = Literal["requests", "tokens"]
RATE_WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """One budget window instance of a scope: ``limit_micro`` for the instance ``window_key``,
    which resets at ``reset_at`` (``None``: never)."""

    window_key: str
    limit_micro: MicroUSD
    reset_at: datetime | None


@dataclass(frozen=True, slots=True)
class ScopeCheck:
    """Everything to check in one scope (``None``: no such limit)."""

    scope: str
    budgets: tuple[BudgetCheck, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    max_parallel: int | None = None


class ScopeChecks(tuple[ScopeCheck, ...]):
    """The checks of one admission, in order, validated once when made: each scope appears once,
    and each budget window once per scope. It also lists, once, what a counter store walks on
    every admission, in tally order: every budget with its check (``budgets``, and their
    ``(scope, window_key)`` pairs in ``windows``) and every rate limit (``rates``; a check's RPM
    before its TPM). Equal to the plain tuple of its checks.

    ``memo`` is where a counter store may keep what it derives from the checks (under a name of
    its own): it lives as long as they do, and a planner reuses them for many requests."""

    budgets: tuple[tuple[ScopeCheck, BudgetCheck], ...]
    windows: tuple[tuple[str, str], ...]
    rates: tuple[tuple[ScopeCheck, RateKind, int], ...]
    scopes: tuple[str, ...]
    tpm_scopes: tuple[str, ...]
    memo: dict[str, object]

    def __new__(cls, checks: Iterable[ScopeCheck] = ()) -> ScopeChecks:
        self = super().__new__(cls, checks)
        scopes: list[str] = []
        budgets: list[tuple[ScopeCheck, BudgetCheck]] = []
        windows: list[tuple[str, str]] = []
        rates: list[tuple[ScopeCheck, RateKind, int]] = []
        tpm_scopes: list[str] = []
        repeated: ScopeCheck | None = None  # the first check listing a budget window twice
        for check in self:
            scope = check.scope
            scopes.append(scope)
            if check.budgets:
                keys = [b.window_key for b in check.budgets]
                if repeated is None and len(set(keys)) != len(keys):
                    repeated = check
                budgets.extend((check, b) for b in check.budgets)
                windows.extend((scope, key) for key in keys)
            if check.rpm is not None:
                rates.append((check, "requests", check.rpm))
            if check.tpm is not None:
                rates.append((check, "tokens", check.tpm))
                tpm_scopes.append(scope)
        if len(set(scopes)) != len(scopes):
            raise ValueError("each scope may appear once in an admission")
        if repeated is not None:
            raise ValueError(f"scope {repeated.scope} lists a budget window twice")
        self.budgets = tuple(budgets)
        self.windows = tuple(windows)
        self.rates = tuple(rates)
        self.scopes = tuple(scopes)
        self.tpm_scopes = tuple(tpm_scopes)
        self.memo = {}
        return self


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    """What one atomic admission checks and reserves.

    ``reserve_micro`` is held against every budget of every check, ``reserve_tokens`` counts
    against every TPM limit, and the reservation lives ``lease_seconds`` after ``now`` unless
    settled first (so a crashed replica's holds vanish). ``checks`` may be given as any tuple of
    :class:`ScopeCheck`; it is validated and kept as :class:`ScopeChecks` (unless it already is
    one, validated when it was made: a planner reuses one for many requests).
    """

    request_id: str
    checks: tuple[ScopeCheck, ...]
    reserve_micro: MicroUSD
    reserve_tokens: int
    now: datetime
    lease_seconds: int

    def __post_init__(self) -> None:
        _validate(self.request_id, self.reserve_micro, self.reserve_tokens, self.now,
                  self.lease_seconds)  # fmt: skip
        if type(self.checks) is not ScopeChecks:
            object.__setattr__(self, "checks", ScopeChecks(self.checks))

    @classmethod
    def planned(
        cls,
        request_id: str,
        checks: ScopeChecks,
        reserve_micro: MicroUSD,
        reserve_tokens: int,
        now: datetime,
        lease_seconds: int,
    ) -> AdmissionRequest:
        """The same as the constructor, for checks made :class:`ScopeChecks` already (a plan's,
        kept for many requests), in half the time: validated alike, its fields set through
        their slots (a frozen dataclass's ``__init__`` sets each through
        ``object.__setattr__``)."""
        _validate(request_id, reserve_micro, reserve_tokens, now, lease_seconds)
        made = _new_object(cls)
        _set_request_id(made, request_id)
        _set_checks(made, checks)
        _set_reserve_micro(made, reserve_micro)
        _set_reserve_tokens(made, reserve_tokens)
        _set_now(made, now)
        _set_lease_seconds(made, lease_seconds)
        return made

    @property
    def scope_checks(self) -> ScopeChecks:
        """``checks``, with the lists a counter store walks."""
        checks = self.checks
        assert type(checks) is ScopeChecks  # made so by __post_init__
        return checks


def _validate(
    request_id: str, reserve_micro: int, reserve_tokens: int, now: datetime, lease_seconds: int
) -> None:
    if not request_id:
        raise ValueError("an admission needs a request id")
    if reserve_micro < 0 or reserve_tokens < 0:
        raise ValueError("a reservation cannot be negative")
    if lease_seconds < 1:
        raise ValueError("a lease lasts at least one second")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


_new_object = object.__new__
_FIELDS = ("request_id", "checks", "reserve_micro", "reserve_tokens", "now", "lease_seconds")
if AdmissionRequest.__slots__ != _FIELDS:
    raise TypeError("AdmissionRequest.planned sets the fields one by one: update it")
(
    _set_request_id,
    _set_checks,
    _set_reserve_micro,
    _set_reserve_tokens,
    _set_now,
    _set_lease_seconds,
) = [getattr(AdmissionRequest, name).__set__ for name in _FIELDS]


class BudgetState(NamedTuple):
    """A budget window after an admission (``headroom_micro``: what is left of the limit once
    spend and reservations, this one included, are counted) or at a refusal (what is left
    before this request, never below zero).

    A named tuple, as :class:`RateState`: immutable like a frozen dataclass and made in a
    third of the time, and every admission makes one per budget and rate limit."""

    scope: str
    window_key: str
    limit_micro: MicroUSD
    headroom_micro: MicroUSD
    reset_at: datetime | None


class RateState(NamedTuple):
    """A rate limit after an admission: ``remaining`` requests or tokens in the sliding minute,
    and ``reset_s`` seconds until the oldest admission in it leaves the window."""

    scope: str
    kind: RateKind
    limit: int
    remaining: int
    reset_s: float


@dataclass(frozen=True, slots=True)
class Admitted:
    """The request fits and is reserved. ``counted`` is false only when the store was
    unreachable and the failure policy is ``open``: nothing was checked or reserved."""

    request_id: str
    budgets: tuple[BudgetState, ...] = ()
    rates: tuple[RateState, ...] = ()
    counted: bool = True

    @property
    def tightest_budget(self) -> BudgetState | None:
        """The budget with the least left (the one to show in headers)."""
        return min(self.budgets, key=lambda b: b.headroom_micro, default=None)

    def tightest_rate(self, kind: RateKind) -> RateState | None:
        """The requests or tokens limit with the fewest remaining (the first of equals)."""
        return min(
            (r for r in self.rates if r.kind == kind), key=lambda r: r.remaining, default=None
        )


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing was reserved anywhere. ``reason`` and ``scope`` name the first limit that did not
    fit (rate limits are checked before budgets), ``limit`` its value and ``window_key`` its
    budget window; ``retry_after_s`` is when it may fit again (``None``: unknown or never).
    ``headroom`` lists every budget of the admission when the reason is ``budget``."""

    request_id: str
    reason: RefusalReason
    scope: str
    limit: int
    retry_after_s: float | None = None
    window_key: str | None = None
    reset_at: datetime | None = None
    headroom: tuple[BudgetState, ...] = ()


Admission = Admitted | Refused


def model_scope(scope: str, model: str) -> str:
    """The scope of a per-model limit (``model_rpm_limit``, ``model_tpm_limit``)."""
    return f"{scope}:model:{model}"


def _budget_checks(limits: Limits, now: datetime) -> tuple[BudgetCheck, ...]:
    # Two budgets over the same window instance share one counter; the smaller limit binds.
    by_key: dict[str, BudgetCheck] = {}
    for budget in limits.budgets:
        key, reset_at = budget.window.instance_at(now)
        known = by_key.get(key)
        if known is None or budget.limit_micro < known.limit_micro:
            by_key[key] = BudgetCheck(key, budget.limit_micro, reset_at)
    return tuple(by_key.values())


def plan_checks(scopes: Sequence[tuple[str, Limits]], model: str, now: datetime) -> ScopeChecks:
    """What an admission to ``model`` at ``now`` checks under ``scopes`` (key, user, team,
    member, in that order: a refusal names the first scope that does not fit). A scope's
    ``model_rpm``/``model_tpm`` entry for ``model`` becomes a check of its own
    (:func:`model_scope`); scopes that limit nothing are left out. The same for every request
    while each budget window stays in the same instance."""
    checks: list[ScopeCheck] = []
    for scope, limits in scopes:
        check = ScopeCheck(
            scope, _budget_checks(limits, now), limits.rpm, limits.tpm, limits.max_parallel
        )
        if check.budgets or any(v is not None for v in (check.rpm, check.tpm, check.max_parallel)):
            checks.append(check)
        model_rpm, model_tpm = limits.model_rpm.get(model), limits.model_tpm.get(model)
        if model_rpm is not None or model_tpm is not None:
            checks.append(ScopeCheck(model_scope(scope, model), rpm=model_rpm, tpm=model_tpm))
    return ScopeChecks(checks)


def plan_admission(
    scopes: Sequence[tuple[str, Limits]],
    *,
    request_id: str,
    model: str,
    now: datetime,
    prompt_tokens: int,
    max_tokens: int,
    pricing: Pricing,
    lease_seconds: int,
) -> AdmissionRequest:
    """The admission of one request to ``model`` under every scope that applies to it: the
    checks of :func:`plan_checks`, and the reservation.

    The reservation is the worst case: ``prompt_tokens`` (an estimate that must not be below
    the real count) at the dearest prompt price plus ``max_tokens`` at the output price,
    rounded up to a whole micro-dollar; an unpriced model reserves no money. ``reserve_tokens``
    is ``prompt_tokens + max_tokens``.
    """
    return AdmissionRequest(
        request_id=request_id,
        checks=plan_checks(scopes, model, now),
        reserve_micro=pricing.worst_case_micro(prompt_tokens, max_tokens),
        reserve_tokens=prompt_tokens + max_tokens,
        now=now,
        lease_seconds=lease_seconds,
    )


def lowered_max_tokens(
    refused: Refused,
    *,
    prompt_tokens: int,
    max_tokens: int,
    pricing: Pricing,
    minimum: int = 1,
) -> int | None:
    """The largest ``max_tokens`` below the requested one whose worst case fits the smallest
    budget headroom of a budget refusal, or ``None`` when there is none of at least
    ``minimum`` (the prompt alone does not fit, the refusal was a rate limit, or output is
    free so lowering cannot help)."""
    if refused.reason != "budget" or not refused.headroom:
        return None
    headroom = min(b.headroom_micro for b in refused.headroom)
    if pricing.prompt_micro(prompt_tokens) > headroom:
        return None
    fits = pricing.max_output_tokens_within(headroom, prompt_tokens)
    if fits is None:
        return None
    lowered = min(fits, max_tokens - 1)
    return lowered if lowered >= max(minimum, 1) else None
