"""Spend reports from the daily rollups, in LiteLLM's shapes: ``/global/spend/report`` and
``/user/daily/activity`` / ``/team/daily/activity``. No report reads raw ledger rows.

Money is USD (JSON numbers) summed from exact micro-USD; requests whose cost is unknown (an
unpriced model) are counted in ``unpriced_requests`` rather than priced at zero silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import select

from stargate.admin.spend_requests import DailyActivityQuery, GlobalSpendReportQuery, hash_of
from stargate.errors import InvalidRequest
from stargate.store.database import Database
from stargate.store.ledger_queries import RollupTotals, SpendFilter, rollup_rows, rollup_totals
from stargate.store.tables import teams
from stargate.telemetry.ledger_views import usd

__all__ = [
    "MAX_REPORT_DAYS",
    "ReportPlan",
    "TeamDay",
    "daily_activity",
    "global_spend_report",
    "metrics_of",
    "report_plan",
    "report_range",
    "team_aliases",
    "team_days",
]

MAX_REPORT_DAYS = 366
_UNASSIGNED = "Unassigned Team"


def report_range(start_date: str, end_date: str) -> tuple[date, date]:
    first, last = date.fromisoformat(start_date), date.fromisoformat(end_date)
    if last < first:
        raise InvalidRequest("end_date is before start_date", param="end_date")
    if (last - first).days >= MAX_REPORT_DAYS:
        raise InvalidRequest(f"a report spans at most {MAX_REPORT_DAYS} days", param="end_date")
    return first, last


async def team_aliases(database: Database, team_ids: Iterable[str]) -> dict[str, str | None]:
    wanted = sorted({team_id for team_id in team_ids if team_id})
    if not wanted:
        return {}
    query = select(teams.c.team_id, teams.c.team_alias).where(teams.c.team_id.in_(wanted))
    async with database.read() as conn:
        found = await conn.execute(query)
        return {entry.team_id: entry.team_alias for entry in found}


def _unpriced(entry: RollupTotals | Sequence[RollupTotals]) -> dict[str, int]:
    entries = [entry] if isinstance(entry, RollupTotals) else entry
    count = sum(e.unpriced_requests for e in entries)
    return {"unpriced_requests": count} if count else {}


@dataclass(frozen=True, slots=True)
class ReportPlan:
    """What a ``/global/spend/report`` query asks: the grouping, the filter and the days."""

    group_by: Literal["team", "api_key", "user", "model"]
    which: SpendFilter
    first: date
    last: date


def report_plan(query: GlobalSpendReportQuery) -> ReportPlan:
    """As in LiteLLM, naming an ``api_key`` or an ``internal_user_id`` answers per key."""
    first, last = report_range(query.start_date, query.end_date)
    which = SpendFilter(
        key_hash=hash_of(query.api_key), user_id=query.internal_user_id, team_id=query.team_id
    )
    group_by = query.group_by
    if group_by == "team" and (query.api_key or query.internal_user_id):
        group_by = "api_key"
    return ReportPlan(group_by, which, first, last)


async def global_spend_report(
    database: Database, query: GlobalSpendReportQuery
) -> list[dict[str, Any]]:
    """Spend between two days (both included), grouped by ``team`` (per day, LiteLLM's
    default), ``api_key``, ``user`` or ``model`` (see :func:`report_plan`)."""
    plan = report_plan(query)
    which, first, last = plan.which, plan.first, plan.last
    match plan.group_by:
        case "team":
            return await _by_team(database, which, first, last)
        case "api_key":
            return await _by_owner(database, which, first, last, "key_hash", "api_key")
        case "user":
            return await _by_owner(database, which, first, last, "user_id", "user_id")
        case "model":
            return await _by_model(database, which, first, last)


async def _by_team(
    database: Database, which: SpendFilter, first: date, last: date
) -> list[dict[str, Any]]:
    days = await team_days(database, which, first, last)
    return [day.body for _, day in sorted(days.items())]


@dataclass(slots=True)
class TeamDay:
    """One day of the by-team report: its JSON body, and the team aliases it shows."""

    body: dict[str, Any]
    aliases: dict[str, str | None]


async def team_days(
    database: Database, which: SpendFilter, first: date, last: date
) -> dict[date, TeamDay]:
    """The by-team report's days between ``first`` and ``last`` (days without spend absent).

    One entry per day, team, model and key: the answer is as big as that, so the rows are read
    lean (plain tuples) and grouped in one pass (entries within a team in no order, as
    LiteLLM's jsonb_agg)."""
    found = await rollup_rows(
        database, which, first_day=first, last_day=last,
        group_by=("day", "team_id", "model", "key_hash"),
        sums=("cost_micro", "total_tokens", "unpriced_requests"),
    )  # fmt: skip
    grouped: dict[date, dict[str, list[tuple[Any, ...]]]] = {}
    for entry in found:
        grouped.setdefault(entry[0], {}).setdefault(entry[1], []).append(entry)
    aliases = await team_aliases(database, {t for by_team in grouped.values() for t in by_team})
    days: dict[date, TeamDay] = {}
    for day, by_team in grouped.items():
        shown = []
        for team_id, entries in sorted(by_team.items()):
            name = (aliases.get(team_id) or team_id) if team_id else _UNASSIGNED
            team: dict[str, Any] = {
                "team_name": name,
                "team_id": team_id or None,
                "total_spend": usd(sum(e[4] for e in entries)),
            }
            unpriced = sum(e[6] for e in entries)
            if unpriced:
                team["unpriced_requests"] = unpriced
            team["metadata"] = [
                {"model": model, "api_key": key, "spend": usd(cost), "total_tokens": tokens}
                for _, _, model, key, cost, tokens, _ in entries
            ]
            shown.append(team)
        body = {"group_by_day": day.isoformat(), "teams": shown}
        days[day] = TeamDay(body, {t: aliases.get(t) for t in by_team if t})
    return days


async def _by_owner(
    database: Database, which: SpendFilter, first: date, last: date, column: str, label: str
) -> list[dict[str, Any]]:
    found = await rollup_rows(
        database, which, first_day=first, last_day=last, group_by=(column, "model"),
        sums=("cost_micro", "prompt_tokens", "output_tokens", "unpriced_requests"),
    )  # fmt: skip
    owners: dict[str, list[tuple[Any, ...]]] = {}
    for entry in found:
        owners.setdefault(entry[0], []).append(entry)
    ranked = sorted(owners.items(), key=lambda item: (-sum(e[2] for e in item[1]), item[0]))
    report = []
    for owner, entries in ranked:
        unpriced = sum(e[5] for e in entries)
        report.append(
            {
                label: owner or None,
                "total_cost": usd(sum(e[2] for e in entries)),
                "total_input_tokens": sum(e[3] for e in entries),
                "total_output_tokens": sum(e[4] for e in entries),
                **({"unpriced_requests": unpriced} if unpriced else {}),
                "model_details": [
                    {
                        "model": model,
                        "total_cost": usd(cost),
                        "total_input_tokens": prompt,
                        "total_output_tokens": output,
                    }
                    for _, model, cost, prompt, output, _ in entries
                ],
            }
        )
    return report


async def _by_model(
    database: Database, which: SpendFilter, first: date, last: date
) -> list[dict[str, Any]]:
    totals = await rollup_totals(
        database, which, first_day=first, last_day=last, group_by=("model",)
    )
    ranked = sorted(totals, key=lambda e: (-e.cost_micro, str(e.group["model"])))
    return [
        {
            "model": e.group["model"],
            "total_cost": usd(e.cost_micro),
            "total_input_tokens": e.prompt_tokens,
            "total_output_tokens": e.output_tokens,
            "total_requests": e.requests,
            **_unpriced(e),
        }
        for e in ranked
    ]


def metrics_of(entries: Sequence[RollupTotals]) -> dict[str, Any]:
    """LiteLLM's ``SpendMetrics`` of some rollups (plus ``unpriced_requests``)."""
    requests = sum(e.requests for e in entries)
    failed = sum(e.failed_requests for e in entries)
    return {
        "spend": usd(sum(e.cost_micro for e in entries)),
        "prompt_tokens": sum(e.prompt_tokens for e in entries),
        "completion_tokens": sum(e.output_tokens for e in entries),
        "cache_read_input_tokens": sum(e.cache_read_tokens for e in entries),
        "cache_creation_input_tokens": sum(e.cache_write_tokens for e in entries),
        "total_tokens": sum(e.total_tokens for e in entries),
        "successful_requests": requests - failed,
        "failed_requests": failed,
        "api_requests": requests,
        "unpriced_requests": sum(e.unpriced_requests for e in entries),
    }


def _breakdown(
    entries: Sequence[RollupTotals], column: str, metadata: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    groups: dict[str, list[RollupTotals]] = {}
    for entry in entries:
        groups.setdefault(entry.group[column], []).append(entry)
    return {
        name: {"metrics": metrics_of(found), "metadata": (metadata or {}).get(name, {})}
        for name, found in sorted(groups.items())
    }


async def daily_activity(
    database: Database, query: DailyActivityQuery, *, entity: Literal["user", "team"]
) -> dict[str, Any]:
    """LiteLLM's daily activity answer: ``results`` (one per day with requests, newest last,
    ``page_size`` days a page) with metrics and a breakdown by model, provider and key (and by
    team for team activity), and ``metadata`` totals over the whole range."""
    first, last = report_range(query.start_date, query.end_date)
    base = SpendFilter(key_hash=hash_of(query.api_key), user_id=query.user_id, model=query.model)
    group_by = ("day", "model", "provider", "key_hash", "team_id")
    team_ids = [t.strip() for t in (query.team_ids or "").split(",") if t.strip()]
    totals: list[RollupTotals] = []
    if entity == "team" and team_ids:
        for team_id in dict.fromkeys(team_ids):
            which = SpendFilter(base.key_hash, base.user_id, team_id, base.model)
            totals += await rollup_totals(
                database, which, first_day=first, last_day=last, group_by=group_by
            )
    else:
        totals = await rollup_totals(
            database, base, first_day=first, last_day=last, group_by=group_by
        )
    by_day: dict[date, list[RollupTotals]] = {}
    for entry in totals:
        by_day.setdefault(entry.group["day"], []).append(entry)
    days = sorted(by_day)
    pages = max(1, -(-len(days) // query.page_size))
    shown_days = days[(query.page - 1) * query.page_size : query.page * query.page_size]
    key_meta = {
        e.group["key_hash"]: {"key_alias": e.key_alias, "team_id": e.group["team_id"] or None}
        for e in totals
    }
    team_meta: dict[str, dict[str, Any]] = {}
    if entity == "team":
        aliases = await team_aliases(database, (e.group["team_id"] for e in totals))
        team_meta = {team_id: {"team_alias": alias} for team_id, alias in aliases.items()}
    results = []
    for day in shown_days:
        entries = by_day[day]
        breakdown = {
            "models": _breakdown(entries, "model"),
            "providers": _breakdown(entries, "provider"),
            "api_keys": _breakdown(entries, "key_hash", key_meta),
        }
        if entity == "team":
            breakdown["entities"] = _breakdown(entries, "team_id", team_meta)
        results.append(
            {"date": day.isoformat(), "metrics": metrics_of(entries), "breakdown": breakdown}
        )
    whole = metrics_of(totals)
    return {
        "results": results,
        "metadata": {
            "total_spend": whole["spend"],
            "total_prompt_tokens": whole["prompt_tokens"],
            "total_completion_tokens": whole["completion_tokens"],
            "total_tokens": whole["total_tokens"],
            "total_api_requests": whole["api_requests"],
            "total_successful_requests": whole["successful_requests"],
            "total_failed_requests": whole["failed_requests"],
            "total_cache_read_input_tokens": whole["cache_read_input_tokens"],
            "total_cache_creation_input_tokens": whole["cache_creation_input_tokens"],
            "total_unpriced_requests": whole["unpriced_requests"],
            "page": query.page,
            "total_pages": pages,
            "has_more": query.page < pages,
        },
    }
