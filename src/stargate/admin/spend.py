"""Spend in info responses: the hook the governance counters fill.

Spend is not stored with keys, users or teams; it lives in the budget counters and the spend
ledger. An :class:`AdminService` given a :class:`SpendReader` adds ``spend``,
``budget_reset_at`` and ``budget_windows`` to every key, user, team and membership it shows;
without one those fields are left out (never shown as a made-up zero).

Scopes are named as the governance engine names them: ``key:<key_hash>``, ``user:<user_id>``,
``team:<team_id>``, ``member:<team_id>:<user_id>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from stargate.admin.fields import iso, usd
from stargate.store.limits import BudgetLimit, budget_windows

__all__ = [
    "ScopeSpend",
    "SpendReader",
    "WindowSpend",
    "add_spend",
    "key_scope",
    "member_scope",
    "team_scope",
    "user_scope",
]


def key_scope(key_id: str) -> str:
    """A key's scope is its stable ``key_id``: regenerating the secret keeps its spend."""
    return f"key:{key_id}"


def user_scope(user_id: str) -> str:
    return f"user:{user_id}"


def team_scope(team_id: str) -> str:
    return f"team:{team_id}"


def member_scope(team_id: str, user_id: str) -> str:
    return f"member:{team_id}:{user_id}"


@dataclass(frozen=True, slots=True)
class WindowSpend:
    """What a scope spent in the current instance of one budget window."""

    limit: BudgetLimit
    spend_micro: int
    reset_at: datetime | None  # None for a lifetime budget


@dataclass(frozen=True, slots=True)
class ScopeSpend:
    total_micro: int  # everything the scope ever spent (the ledger)
    windows: tuple[WindowSpend, ...]  # one per window asked about, in the same order


class SpendReader(Protocol):
    """Reads spend for the admin API (implemented over the counters and the ledger)."""

    async def read(self, scope: str, windows: Sequence[BudgetLimit]) -> ScopeSpend: ...


async def add_spend(
    shown: dict[str, Any],
    reader: SpendReader | None,
    scope: str,
    max_budget_micro: int | None,
    budget_duration: str | None,
    limits: Sequence[BudgetLimit] = (),
) -> dict[str, Any]:
    """Add the spend fields to ``shown`` (in place, and returned). ``spend`` is LiteLLM's:
    the spend in the current window of ``max_budget``/``budget_duration`` when there is one,
    else everything spent."""
    if reader is None:
        return shown
    windows = budget_windows(max_budget_micro, budget_duration, limits)
    spent = await reader.read(scope, windows)
    primary = spent.windows[0] if max_budget_micro is not None and spent.windows else None
    windowed = primary is not None and primary.limit.budget_duration is not None
    shown["spend"] = usd(primary.spend_micro if windowed and primary else spent.total_micro)
    shown["budget_reset_at"] = iso(primary.reset_at) if windowed and primary else None
    shown["budget_windows"] = [
        {
            "max_budget": usd(window.limit.max_budget_micro),
            "budget_duration": window.limit.budget_duration,
            "spend": usd(window.spend_micro),
            "remaining": usd(max(0, window.limit.max_budget_micro - window.spend_micro)),
            "reset_at": iso(window.reset_at),
        }
        for window in spent.windows
    ]
    return shown
