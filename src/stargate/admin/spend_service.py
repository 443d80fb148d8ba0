"""The spend and usage operations, independent of HTTP: one object the admin routes (and the
public ``/v1/usage`` route, through :func:`stargate.telemetry.ledger_views.usage_for_key`) call.

=================================  ==========================================================
route                              operation
=================================  ==========================================================
``GET /spend/logs``                :meth:`SpendAdmin.logs` (query: :class:`SpendLogsQuery`)
``GET /global/spend/report``       :meth:`SpendAdmin.global_report_json`
``GET /user/daily/activity``       :meth:`SpendAdmin.user_daily_activity`
``GET /team/daily/activity``       :meth:`SpendAdmin.team_daily_activity`
``GET /v1/usage?days=N``           :meth:`SpendAdmin.usage_for_key` (the calling key)
spend in ``/key|user|team/info``   :class:`stargate.admin.spend_reader.LedgerSpendReader`
retention                          :meth:`SpendAdmin.delete_older_than`
=================================  ==========================================================

Queries are validated with :func:`stargate.admin.fields.parse_body` (a bad field is a 400 that
names it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from stargate.admin.spend_logs import SpendLogs, spend_logs
from stargate.admin.spend_report_cache import TeamReportCache
from stargate.admin.spend_reports import daily_activity, global_spend_report, report_plan
from stargate.admin.spend_requests import (
    DailyActivityQuery,
    GlobalSpendReportQuery,
    RetentionRequest,
    SpendLogsQuery,
)
from stargate.store.database import Database
from stargate.store.ledger_queries import SpendFilter
from stargate.store.ledger_retention import delete_older_than
from stargate.telemetry.ledger_views import usage_for_key

__all__ = ["SpendAdmin"]

log = logging.getLogger("stargate")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class SpendAdmin:
    database: Database
    clock: Callable[[], datetime] = _utc_now
    team_reports: TeamReportCache = field(init=False)

    def __post_init__(self) -> None:
        self.team_reports = TeamReportCache(self.database)

    async def logs(self, query: SpendLogsQuery) -> SpendLogs:
        return await spend_logs(self.database, query)

    async def global_report(self, query: GlobalSpendReportQuery) -> list[dict[str, Any]]:
        return await global_spend_report(self.database, query)

    async def warm_reports(self, *, days: int = 31, delay_s: float = 5.0) -> None:
        """Build the by-team report's parts of the last ``days`` days in the background, a few
        seconds after start-up, so the first dashboard to ask does not pay for a full build.
        Never raises: a failure only means the first report builds its days itself."""
        await asyncio.sleep(delay_s)
        today = self.clock().date()
        try:
            await self.team_reports.report(SpendFilter(), today - timedelta(days=days - 1), today)
        except Exception as exc:  # a database not reachable yet: the cache fills on demand
            log.info("spend reports not warmed: %s: %s", type(exc).__name__, exc)

    async def global_report_json(self, query: GlobalSpendReportQuery) -> bytes:
        """:meth:`global_report` as the route serves it (JSON bytes); the by-team grouping comes
        from the per-day cache (:mod:`stargate.admin.spend_report_cache`)."""
        plan = report_plan(query)
        if plan.group_by == "team":
            return await self.team_reports.report(plan.which, plan.first, plan.last)
        return orjson.dumps(await global_spend_report(self.database, query))

    async def user_daily_activity(self, query: DailyActivityQuery) -> dict[str, Any]:
        return await daily_activity(self.database, query, entity="user")

    async def team_daily_activity(self, query: DailyActivityQuery) -> dict[str, Any]:
        return await daily_activity(self.database, query, entity="team")

    async def usage_for_key(
        self,
        key_hash: str,
        days: int,
        today: date | None = None,
        *,
        key_id: str | None = None,
        team_id: str | None = None,
        team_name: str | None = None,
    ) -> dict[str, Any]:
        """Seed 004's ``/v1/usage`` answer for one key (``today`` defaults to the UTC date)."""
        day = today if today is not None else self.clock().astimezone(UTC).date()
        return await usage_for_key(
            self.database, key_hash, days, day, key_id=key_id, team_id=team_id, team_name=team_name
        )

    async def delete_older_than(self, request: RetentionRequest) -> dict[str, Any]:
        """Delete ledger rows that started more than ``days`` days ago, in batches; the daily
        rollups are kept."""
        cutoff = self.clock() - timedelta(days=request.days)
        deleted = await delete_older_than(self.database, cutoff)
        return {"deleted": deleted, "cutoff": cutoff.isoformat()}
