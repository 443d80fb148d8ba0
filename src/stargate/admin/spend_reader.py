"""The ledger as the admin service's :class:`~stargate.admin.spend.SpendReader`: the spend fields
of ``/key/info``, ``/user/info`` and ``/team/info`` (and memberships), read from the ledger.

A scope's total is the sum of its daily rollups. A budget window's spend is what the scope's
requests that started inside the window's current instance cost: whole UTC days from the
rollups, the partial days at the window's edges from the raw rows through their ``(scope column,
started_at)`` index (:func:`stargate.store.ledger_queries.spend_between`), so even a month-long
window never scans more than two days of raw rows. Windows follow the budget timezone
(``1d``/``1w``/``1mo`` are calendar windows there), exactly as the budget counters do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from stargate.admin.spend import ScopeSpend, WindowSpend
from stargate.governance.durations import parse_window
from stargate.store.database import Database
from stargate.store.ledger_queries import SpendFilter, rollup_totals, spend_between
from stargate.store.limits import BudgetLimit

__all__ = ["LedgerSpendReader"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class LedgerSpendReader:
    database: Database
    timezone: str = "UTC"  # GatewayConfig.budget_timezone
    clock: Callable[[], datetime] = _utc_now

    async def read(self, scope: str, windows: Sequence[BudgetLimit]) -> ScopeSpend:
        which = SpendFilter.of_scope(scope)
        (total,) = await rollup_totals(self.database, which)
        now = self.clock()
        spent: list[WindowSpend] = []
        for limit in windows:
            if limit.budget_duration is None:
                spent.append(WindowSpend(limit, total.cost_micro, None))
                continue
            start, reset_at = parse_window(limit.budget_duration, timezone=self.timezone).bounds_at(
                now
            )
            cost, _ = await spend_between(self.database, which, start, reset_at)
            spent.append(WindowSpend(limit, cost, reset_at))
        return ScopeSpend(total.cost_micro, tuple(spent))
