"""The overview's numbers, all from the ledger's daily rollups (never raw rows), except the
latency percentiles, which come from a bounded sample of the newest requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from stargate.admin.service import AdminService
from stargate.core.money import micro_to_usd
from stargate.store.database import Database
from stargate.store.ledger_queries import RollupTotals, SpendFilter, rollup_totals
from stargate.store.spend_browse import recent_latencies

__all__ = ["PERIODS", "Overview", "Period", "Ranked", "overview"]

Period = Literal["day", "week", "month"]
PERIODS: dict[Period, str] = {
    "day": "per day, last 30 days",
    "week": "per week, last 12 weeks",
    "month": "per month, last 12 months",
}
TOP = 5
LATENCY_SAMPLE = 1000


@dataclass(frozen=True, slots=True)
class Ranked:
    name: str
    link: str | None
    requests: int
    tokens: int
    cost_micro: int


@dataclass(slots=True)
class Overview:
    period: Period
    first_day: date
    last_day: date
    buckets: list[date] = field(default_factory=list)
    spend_micro: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    total_requests: int = 0
    failed_requests: int = 0
    total_cost_micro: int = 0
    total_tokens: int = 0
    unpriced_requests: int = 0
    models: list[Ranked] = field(default_factory=list)
    users: list[Ranked] = field(default_factory=list)
    teams: list[Ranked] = field(default_factory=list)
    latency_p50_ms: int | None = None
    latency_p95_ms: int | None = None
    latency_sample: int = 0

    @property
    def error_rate(self) -> float:
        return 0.0 if not self.total_requests else self.failed_requests / self.total_requests

    def chart(self) -> dict[str, Any]:
        """What the page's chart script draws: x as Unix seconds, spend in USD."""
        return {
            "x": [int(datetime.combine(d, time(), UTC).timestamp()) for d in self.buckets],
            "spend": [float(micro_to_usd(m)) for m in self.spend_micro],
            "requests": self.requests,
            "period": self.period,
        }


def _bucket(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _range(period: Period, today: date) -> tuple[date, date, list[date]]:
    if period == "day":
        first = today - timedelta(days=29)
        return first, today, [first + timedelta(days=i) for i in range(30)]
    if period == "week":
        first = _bucket(today, "week") - timedelta(weeks=11)
        return first, today, [first + timedelta(weeks=i) for i in range(12)]
    months = []
    year, month = today.year, today.month
    for _ in range(12):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    return months[0], today, months


def _ranked(
    entries: list[RollupTotals], column: str, names: dict[str, str], link: str
) -> list[Ranked]:
    found = [e for e in entries if e.group[column]]
    found.sort(key=lambda e: (-e.cost_micro, -e.requests, str(e.group[column])))
    return [
        Ranked(
            names.get(e.group[column], e.group[column]),
            link + e.group[column] if link else None,
            e.requests,
            e.total_tokens,
            e.cost_micro,
        )
        for e in found[:TOP]
    ]


def _percentile(sorted_values: list[int], fraction: float) -> int:
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def overview(
    database: Database, service: AdminService, period: Period, now: datetime
) -> Overview:
    today = now.astimezone(UTC).date()
    first, last, buckets = _range(period, today)
    shown = Overview(period, first, last, buckets)
    everything = SpendFilter()
    by_day = await rollup_totals(
        database, everything, first_day=first, last_day=last, group_by=("day",)
    )
    spend = dict.fromkeys(buckets, 0)
    requests = dict.fromkeys(buckets, 0)
    for entry in by_day:
        bucket = _bucket(entry.group["day"], period)
        spend[bucket] = spend.get(bucket, 0) + entry.cost_micro
        requests[bucket] = requests.get(bucket, 0) + entry.requests
        shown.total_requests += entry.requests
        shown.failed_requests += entry.failed_requests
        shown.total_cost_micro += entry.cost_micro
        shown.total_tokens += entry.total_tokens
        shown.unpriced_requests += entry.unpriced_requests
    shown.spend_micro = [spend[b] for b in buckets]
    shown.requests = [requests[b] for b in buckets]

    async def grouped(column: str) -> list[RollupTotals]:
        return await rollup_totals(
            database, everything, first_day=first, last_day=last, group_by=(column,)
        )

    shown.models = [  # every model, not only the top ones
        Ranked(e.group["model"], None, e.requests, e.total_tokens, e.cost_micro)
        for e in sorted(await grouped("model"), key=lambda e: (-e.cost_micro, e.group["model"]))
    ]
    users = await grouped("user_id")
    shown.users = _ranked(users, "user_id", {}, "/ui/users/")
    teams = await grouped("team_id")
    team_ids = [e.group["team_id"] for e in teams if e.group["team_id"]]
    names = {
        t.team_id: t.team_alias or t.team_id
        for t in await service.context.teams.list(team_ids=team_ids)
    }
    shown.teams = _ranked(teams, "team_id", names, "/ui/teams/")
    since = datetime.combine(first, time(), UTC)
    latencies = sorted(await recent_latencies(database, since=since, limit=LATENCY_SAMPLE))
    if latencies:
        shown.latency_p50_ms = _percentile(latencies, 0.5)
        shown.latency_p95_ms = _percentile(latencies, 0.95)
        shown.latency_sample = len(latencies)
    return shown
