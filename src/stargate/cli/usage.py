"""``stargate usage`` (who spent what over the last N days) and ``stargate spend report``
(day by day), over the admin listener's ``/global/spend/report`` and ``/user|team/daily/
activity``. Money is USD as the API gives it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stargate.cli.common import JsonOpt, admin_client, handled
from stargate.cli.errors import InputError

if TYPE_CHECKING:
    from stargate.cli.client import AdminClient

__all__ = ["By", "date_range", "spend_app", "usage", "usage_rows"]

spend_app = typer.Typer(help="Spend reports from the ledger.", no_args_is_help=True)


class By(StrEnum):
    user = "user"
    team = "team"
    key = "key"
    model = "model"


DaysOpt = Annotated[int, typer.Option("--days", min=1, max=36_500, help="The last N days (UTC).")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Only this user (id).")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="Only this team (id).")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Only this key (key, hash or alias).")]


def date_range(
    days: int, start: str | None = None, end: str | None = None, today: date | None = None
) -> tuple[str, str]:
    """``(start, end)`` days, both included: the last ``days`` days, or the dates given."""
    last = today or datetime.now(UTC).date()
    try:
        end_day = date.fromisoformat(end) if end else last
        start_day = date.fromisoformat(start) if start else end_day - timedelta(days=days - 1)
    except ValueError as exc:
        raise InputError(f"dates are YYYY-MM-DD: {exc}") from exc
    if start_day > end_day:
        raise InputError(f"the start date {start_day} is after the end date {end_day}")
    return start_day.isoformat(), end_day.isoformat()


def _key_names(client: AdminClient) -> dict[str, str]:
    keys = client.all_pages("/key/list", "keys", {"return_full_object": True})
    return {str(key["token"]): str(key.get("key_alias") or key.get("key_name")) for key in keys}


def usage_rows(report: list[dict[str, Any]], by: By) -> list[dict[str, Any]]:
    """The report as one row per group: ``name``, ``spend``, tokens, ``requests``."""
    if by is By.team and report and "group_by_day" in report[0]:
        teams: dict[str, dict[str, Any]] = {}
        for day in report:
            for team in day.get("teams", []):
                name = str(team.get("team_name") or team.get("team_id") or "-")
                row = teams.setdefault(name, {"name": name, "spend": 0.0, "total_tokens": 0})
                row["spend"] += float(team.get("total_spend") or 0)
                row["total_tokens"] += sum(int(m.get("total_tokens") or 0)
                                           for m in team.get("metadata", []))  # fmt: skip
        return sorted(teams.values(), key=lambda r: (-r["spend"], r["name"]))
    label = {By.user: "user_id", By.key: "api_key", By.model: "model"}.get(by, "api_key")
    return [
        {
            "name": entry.get(label) or entry.get("api_key") or entry.get("user_id") or "-",
            "spend": entry.get("total_cost"),
            "input_tokens": entry.get("total_input_tokens"),
            "output_tokens": entry.get("total_output_tokens"),
            "requests": entry.get("total_requests"),
        }
        for entry in report
    ]


@handled
def usage(
    days: DaysOpt = 30,
    by: Annotated[By, typer.Option("--by", help="Group by user, team, key or model.")] = By.user,
    user: UserOpt = None,
    team: TeamOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Spend and tokens per user, team, key or model over the last N days."""
    from stargate.cli.keys import resolve_key
    from stargate.cli.output import echo_json, money, print_table

    start, end = date_range(days)
    group_by = {By.user: "user", By.team: "team", By.key: "api_key", By.model: "model"}[by]
    with admin_client() as client:
        params = {
            "start_date": start, "end_date": end, "group_by": group_by,
            "internal_user_id": user, "team_id": team,
            "api_key": resolve_key(client, key) if key else None,
        }  # fmt: skip
        report = client.get("/global/spend/report", params)
        names = _key_names(client) if by is By.key and not as_json else {}
    rows = usage_rows(report, by)
    if as_json:
        echo_json({"start_date": start, "end_date": end, "by": by.value, "rows": rows})
        return
    team_view = bool(rows) and "total_tokens" in rows[0]
    columns = [by.value, "spend", "tokens"] if team_view else [
        by.value, "spend", "input tokens", "output tokens", "requests"
    ]  # fmt: skip
    print_table(
        f"usage by {by.value}, {start} to {end}",
        columns,
        [
            [names.get(str(r["name"]), r["name"]), money(r["spend"]), r["total_tokens"]]
            if team_view
            else [
                names.get(str(r["name"]), r["name"]),
                money(r["spend"]),
                r["input_tokens"],
                r["output_tokens"],
                r["requests"],
            ]
            for r in rows
        ],
        empty=f"no usage from {start} to {end}",
    )


@spend_app.command("report")
@handled
def report(
    days: DaysOpt = 30,
    start_date: Annotated[
        str | None, typer.Option("--start-date", help="First day, YYYY-MM-DD.")
    ] = None,
    end_date: Annotated[
        str | None, typer.Option("--end-date", help="Last day, YYYY-MM-DD (default today).")
    ] = None,
    user: UserOpt = None,
    team: TeamOpt = None,
    key: KeyOpt = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Spend, requests and tokens day by day (a team's with --team), with the totals."""
    from stargate.cli.keys import resolve_key
    from stargate.cli.output import echo_json, money, print_table

    start, end = date_range(days, start_date, end_date)
    with admin_client() as client:
        params = {
            "start_date": start, "end_date": end, "page_size": 1000, "user_id": user,
            "model": model, "api_key": resolve_key(client, key) if key else None,
            "team_ids": team,
        }  # fmt: skip
        path = "/team/daily/activity" if team else "/user/daily/activity"
        answer = client.get(path, params)
    if as_json:
        echo_json(answer)
        return
    rows = []
    for day in answer.get("results", []):
        m = day.get("metrics", {})
        rows.append([day.get("date"), money(m.get("spend")), m.get("api_requests"),
                     m.get("failed_requests"), m.get("prompt_tokens"),
                     m.get("completion_tokens")])  # fmt: skip
    meta = answer.get("metadata", {})
    if rows:
        rows.append(["total", money(meta.get("total_spend")), meta.get("total_api_requests"),
                     meta.get("total_failed_requests"), meta.get("total_prompt_tokens"),
                     meta.get("total_completion_tokens")])  # fmt: skip
    print_table(
        f"spend {start} to {end}",
        ["day", "spend", "requests", "failed", "prompt tokens", "completion tokens"],
        rows,
        empty=f"no spend from {start} to {end}",
    )
