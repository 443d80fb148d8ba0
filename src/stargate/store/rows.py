"""Record dataclasses ↔ table rows: the JSON columns hold lists and objects, records hold
tuples and mappings (budget windows as :class:`~stargate.store.limits.BudgetLimit`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from stargate.store.limits import BudgetLimit, budget_limits_to_json

__all__ = ["column_value", "record_row"]


def column_value(value: Any) -> Any:
    """What a record field's value is in its column."""
    if isinstance(value, tuple):
        if value and all(isinstance(item, BudgetLimit) for item in value):
            return budget_limits_to_json(value)
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def record_row(record: Any) -> dict[str, Any]:
    """Every field of a record dataclass, as column values."""
    return {f.name: column_value(getattr(record, f.name)) for f in fields(record)}
