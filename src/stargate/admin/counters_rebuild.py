"""Rebuild the budget counters from the spend ledger (the ledger is the truth; the counters are
its fast cache). After Redis lost its data, after a settlement was lost, or after a replica was
killed, this sets every current budget window of every key, user, team and member to what the
ledger says was spent in it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from stargate.governance.counters import CounterStore
from stargate.governance.durations import parse_window
from stargate.store.database import Database
from stargate.store.ledger_queries import SpendFilter, spend_between
from stargate.store.limits import BudgetLimit, budget_limits_from_json, budget_windows
from stargate.store.tables import api_keys, team_members, teams, users

__all__ = ["rebuild_counters"]


async def rebuild_counters(
    database: Database, counters: CounterStore, *, timezone: str, now: datetime
) -> int:
    """Set each budgeted scope's current windows from the ledger; returns how many windows."""
    scopes: list[tuple[str, Sequence[BudgetLimit]]] = []
    async with database.read() as conn:
        for row in (await conn.execute(select(api_keys))).mappings():
            limits = budget_limits_from_json(row["budget_limits"])
            windows = budget_windows(row["max_budget_micro"], row["budget_duration"], limits)
            scopes.append((f"key:{row['key_id']}", windows))
        for table, kind, ident in ((users, "user", "user_id"), (teams, "team", "team_id")):
            for row in (await conn.execute(select(table))).mappings():
                limits = budget_limits_from_json(row["budget_limits"])
                windows = budget_windows(row["max_budget_micro"], row["budget_duration"], limits)
                scopes.append((f"{kind}:{row[ident]}", windows))
        for row in (await conn.execute(select(team_members))).mappings():
            member = budget_windows(row["max_budget_micro"], row["budget_duration"], ())
            scopes.append((f"member:{row['team_id']}:{row['user_id']}", member))
    rebuilt = 0
    for scope, budgets in scopes:
        seen: set[str] = set()
        for limit in budgets:
            window = parse_window(limit.budget_duration, timezone=timezone)
            key, reset_at = window.instance_at(now)
            if key in seen:
                continue
            seen.add(key)
            start, _ = window.bounds_at(now)
            spent, _unpriced = await spend_between(
                database, SpendFilter.of_scope(scope), start, None
            )
            await counters.rebuild(scope, key, spent, reset_at=reset_at)
            rebuilt += 1
    return rebuilt
