"""Budget windows and per-model limits as the tables store them (JSON columns).

A scope (key, user, team, tier) has at most one *primary* budget (``max_budget_micro`` with
``budget_duration``, LiteLLM's pair; no duration means a lifetime budget) and any number of
further windows in ``budget_limits`` (LiteLLM's list, e.g. a daily budget plus a monthly cap).
Money is integer micro-USD; durations are kept as written (``1d``, ``monthly``, ...) and read by
the governance windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BudgetLimit",
    "budget_limits_from_json",
    "budget_limits_to_json",
    "budget_windows",
    "model_limits_from_json",
]


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    """One budget window: at most ``max_budget_micro`` per ``budget_duration`` (``None``:
    for the lifetime of the scope)."""

    max_budget_micro: int
    budget_duration: str | None = None


def budget_limits_to_json(limits: Sequence[BudgetLimit]) -> list[dict[str, Any]]:
    return [
        {"max_budget_micro": limit.max_budget_micro, "budget_duration": limit.budget_duration}
        for limit in limits
    ]


def budget_limits_from_json(value: Any) -> tuple[BudgetLimit, ...]:
    if not value:
        return ()
    return tuple(
        BudgetLimit(int(item["max_budget_micro"]), item.get("budget_duration")) for item in value
    )


def model_limits_from_json(value: Any) -> Mapping[str, int]:
    return {str(name): int(limit) for name, limit in (value or {}).items()}


def budget_windows(
    max_budget_micro: int | None, budget_duration: str | None, limits: Sequence[BudgetLimit]
) -> tuple[BudgetLimit, ...]:
    """Every budget window of a scope: the primary one first (when it has a budget), then
    ``budget_limits`` in order."""
    primary = () if max_budget_micro is None else (BudgetLimit(max_budget_micro, budget_duration),)
    return (*primary, *limits)
