"""What a scope (a key, a user, a team, a team member) allows: its limits, and the pure checks
that need no counter (model access, blocked, expired).

Scope ids are ``key:<key_hash>``, ``user:<user_id>``, ``team:<team_id>`` and
``member:<team_id>:<user_id>``; the part before the first colon is the scope's kind, which names it
in errors (``key_model_access_denied``) and in the ``x-stargate-budget-scope`` header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from types import MappingProxyType

from stargate.core.money import MICRO_PER_USD, MicroUSD
from stargate.errors import AuthenticationFailed, ModelAccessDenied
from stargate.governance.durations import parse_window
from stargate.governance.windows import Window

__all__ = [
    "ALL_PROXY_MODELS",
    "GROUP_PREFIX",
    "BudgetWindow",
    "Limits",
    "authorize",
    "budget_window",
    "limit_micro_from_usd",
    "model_allowed",
    "model_allowed_by_name",
    "scope_kind",
]

ALL_PROXY_MODELS = "all-proxy-models"
GROUP_PREFIX = "group:"
_MAX_MICRO = 2**53  # counters are exact integers up to here in every backend (Redis Lua: doubles)


def _no_models() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class BudgetWindow:
    """At most ``limit_micro`` of spend per instance of ``window``."""

    limit_micro: MicroUSD
    window: Window

    def __post_init__(self) -> None:
        if not 0 <= self.limit_micro < _MAX_MICRO:
            raise ValueError(f"a budget must be between 0 and {_MAX_MICRO} micro-dollars")


@dataclass(frozen=True, slots=True)
class Limits:
    """Everything one scope limits. ``None`` (and an empty ``models``) means no limit."""

    models: tuple[str, ...] = ()
    budgets: tuple[BudgetWindow, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    max_parallel: int | None = None
    model_rpm: Mapping[str, int] = field(default_factory=_no_models)
    model_tpm: Mapping[str, int] = field(default_factory=_no_models)
    blocked: bool = False
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm", "max_parallel"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative")
        if any(v < 0 for v in (*self.model_rpm.values(), *self.model_tpm.values())):
            raise ValueError("per-model limits cannot be negative")

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def scope_kind(scope: str) -> str:
    """``key``, ``user``, ``team`` or ``member``: the part of a scope id before its first colon."""
    return scope.split(":", 1)[0]


def limit_micro_from_usd(amount: Decimal | str | int | float) -> MicroUSD:
    """A LiteLLM ``max_budget`` (USD, often a JSON number) as micro-dollars, exactly: a float is
    taken by its shortest text (``0.017`` → 17 000), never by its binary value. A fraction of a
    micro-dollar is dropped, so the limit never grows by rounding."""
    value = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    if not value.is_finite() or value < 0:
        raise ValueError(f"{amount!r} is not a budget")
    return int((value * MICRO_PER_USD).to_integral_value(rounding=ROUND_FLOOR))


def budget_window(
    max_budget: Decimal | str | int | float, duration: str | None, *, timezone: str = "UTC"
) -> BudgetWindow:
    """LiteLLM's ``max_budget`` + ``budget_duration`` as a :class:`BudgetWindow` (no duration:
    a lifetime budget)."""
    return BudgetWindow(limit_micro_from_usd(max_budget), parse_window(duration, timezone=timezone))


def _wildcard(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in pattern.split("*"))


def model_allowed(
    limits: Limits, model_name: str, access_groups_of: Callable[[str], frozenset[str]]
) -> bool:
    """Whether ``limits.models`` lets the scope call the public model ``model_name``.

    An empty list allows every model, as does LiteLLM's ``all-proxy-models``. Otherwise an entry
    allows the model when it is the model's name, a wildcard matching it (``*`` stands for any
    text: ``claude-*``), ``group:<name>`` for one of the model's access groups, or, as in LiteLLM,
    the bare name of one of its access groups. ``access_groups_of`` gives the access groups of
    the deployments serving a public name.
    """
    if not limits.models:
        return True
    groups: frozenset[str] | None = None
    for entry in limits.models:
        if entry in (model_name, ALL_PROXY_MODELS):
            return True
        if "*" in entry:
            if re.fullmatch(_wildcard(entry), model_name, flags=re.DOTALL):
                return True
            continue
        if groups is None:
            groups = access_groups_of(model_name)
        name = entry.removeprefix(GROUP_PREFIX)
        if name in groups:
            return True
    return False


def model_allowed_by_name(limits: Limits, model_name: str) -> bool:
    """Whether ``limits.models`` lets the scope call ``model_name`` by the name alone (an empty
    list, the name itself, ``all-proxy-models`` or a wildcard matching it): then
    :func:`model_allowed` is true whatever the model's access groups are, and stays so for as
    long as these limits and this name do. False only means the access groups must decide."""
    if not limits.models:
        return True
    for entry in limits.models:
        if entry in (model_name, ALL_PROXY_MODELS):
            return True
        if "*" in entry and re.fullmatch(_wildcard(entry), model_name, flags=re.DOTALL):
            return True
    return False


def authorize(
    scopes: Sequence[tuple[str, Limits]],
    model_name: str,
    *,
    now: datetime,
    access_groups_of: Callable[[str], frozenset[str]],
) -> None:
    """Refuse a request that a scope forbids outright, before anything is counted: a blocked or
    expired scope is a 401, a model outside a scope's allow-list a 403 with code
    ``<kind>_model_access_denied``."""
    for scope, limits in scopes:
        kind = scope_kind(scope)
        if limits.blocked:
            raise AuthenticationFailed(f"Authentication Error: this {kind} is blocked")
        if limits.expired(now):
            raise AuthenticationFailed(f"Authentication Error: this {kind} has expired")
        if not model_allowed(limits, model_name, access_groups_of):
            raise ModelAccessDenied(
                f"{kind} not allowed to access model. This {kind} can only access models="
                f"{list(limits.models)}. Tried to access {model_name}",
                scope_kind=kind,
            )
