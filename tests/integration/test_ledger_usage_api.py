"""The usage APIs over a real ledger, on SQLite and on PostgreSQL: seed 004's ``/v1/usage``
shape, LiteLLM's ``/spend/logs`` row and summary shapes, ``/global/spend/report`` groupings,
daily activity, spend in ``/key/info`` and ``/team/info``, and retention."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    GenerateKeyRequest,
    NewTeamRequest,
    RegenerateKeyRequest,
    UpdateTeamRequest,
)
from stargate.admin.service import AdminService
from stargate.admin.spend_reader import LedgerSpendReader
from stargate.admin.spend_report_cache import TeamReportCache
from stargate.admin.spend_requests import (
    DailyActivityQuery,
    GlobalSpendReportQuery,
    RetentionRequest,
    SpendLogsQuery,
)
from stargate.admin.spend_service import SpendAdmin
from stargate.errors import InvalidRequest
from stargate.governance.keys import hash_key
from stargate.store.database import Database
from stargate.store.keys import KeyRepository
from stargate.store.ledger_queries import SpendFilter
from stargate.store.ledger_rows import SpendRow
from stargate.store.ledger_writes import write_rows
from stargate.store.limits import BudgetLimit

pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]

TODAY = date(2026, 3, 15)
NOON = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
KEY = "sk-usage-test-key-0000000000000000000000000"
KEY_HASH = hash_key(KEY)
OTHER_HASH = "f" * 64

# LiteLLM_SpendLogs' columns, as /spend/logs returns them.
LITELLM_LOG_FIELDS = {
    "request_id": str,
    "call_type": str,
    "api_key": str,
    "spend": float,
    "total_tokens": int,
    "prompt_tokens": int,
    "completion_tokens": int,
    "startTime": str,
    "endTime": str,
    "completionStartTime": str,
    "model": str,
    "model_id": str,
    "model_group": str,
    "custom_llm_provider": str,
    "api_base": str,
    "user": str,
    "metadata": dict,
    "cache_hit": str,
    "cache_key": str,
    "request_tags": list,
    "team_id": str,
    "end_user": str,
    "requester_ip_address": str,
    "messages": dict,
    "response": dict,
    "status": str,
}


def clock() -> datetime:
    return NOON


def ledger_row(n: int, *, days_ago: int = 0, **fields: Any) -> SpendRow:
    started = NOON - timedelta(days=days_ago, minutes=n % 300)
    values: dict[str, Any] = {
        "request_id": f"chatcmpl-{n:06d}",
        "started_at": started,
        "ended_at": started + timedelta(milliseconds=892),
        "requested_model": "claude-3-haiku",
        "key_hash": KEY_HASH,
        "key_alias": "demo-key",
        "team_id": "demo-team",
        "user_id": "ana",
        "deployment_id": "haiku-use1",
        "model": "anthropic.claude-3-haiku-20240307-v1:0",
        "provider": "bedrock",
        "region": "us-east-1",
        "route": "/v1/chat/completions",
        "input_tokens": 200,
        "output_tokens": 100,
        "cost_micro": 400,
        "latency_ms": 892,
        "ttft_ms": 120,
        "client_ip": "10.0.0.7",
        "user_agent": "OpenAI/Python 1.40.0",
    }
    values.update(fields)
    return SpendRow(**values)


async def seed_usage(database: Database) -> None:
    """150 requests of 300 tokens in the last 30 days: 140 Haiku at 300 µ$, 10 Sonnet at
    1_420 µ$ (42_000 + 14_200 = 0.0562 USD), plus a request 40 days ago and one of another key
    (both Haiku at 400 µ$)."""
    rows = [ledger_row(n, days_ago=n % 30, cost_micro=300) for n in range(140)]
    rows += [
        ledger_row(200 + n, days_ago=n, requested_model="claude-3-sonnet", cost_micro=1_420)
        for n in range(10)
    ]
    rows.append(ledger_row(900, days_ago=40))
    rows.append(ledger_row(901, key_hash=OTHER_HASH, team_id=None, user_id="bo"))
    await write_rows(database, rows)


async def test_v1_usage_has_the_seed_shape(database: Database) -> None:
    await seed_usage(database)
    spend = SpendAdmin(database, clock=clock)
    usage = await spend.usage_for_key(KEY_HASH, 30, team_id="demo-team", team_name="Demo Team")
    assert usage == {
        "team_id": "demo-team",
        "team_name": "Demo Team",
        "period": {"days": 30, "start": "2026-02-13", "end": "2026-03-15"},
        "summary": {
            "total_requests": 150,
            "total_tokens": 45_000,
            "total_cost_usd": 0.0562,
            "avg_daily_cost_usd": 0.001873,
        },
        "by_model": [
            {"model": "claude-3-haiku", "requests": 140},
            {"model": "claude-3-sonnet", "requests": 10},
        ],
    }


async def test_v1_usage_counts_unpriced_requests_without_pricing_them(database: Database) -> None:
    await write_rows(database, [ledger_row(1), ledger_row(2, cost_micro=None)])
    usage = await SpendAdmin(database, clock=clock).usage_for_key(KEY_HASH, 7)
    assert usage["summary"]["total_cost_usd"] == 0.0004
    assert usage["summary"]["unpriced_requests"] == 1
    with pytest.raises(InvalidRequest, match="days"):
        await SpendAdmin(database, clock=clock).usage_for_key(KEY_HASH, 0)


async def test_spend_logs_rows_have_litellms_shape(database: Database) -> None:
    await write_rows(database, [ledger_row(1, tags=["prod"], metadata={"trace": "t1"})])
    answer = await SpendAdmin(database).logs(parse_body(SpendLogsQuery, {"api_key": KEY}))
    (log,) = answer.body
    for name, kind in LITELLM_LOG_FIELDS.items():
        assert isinstance(log[name], kind), name
    assert log["api_key"] == KEY_HASH  # the key is never shown, only its hash
    assert (log["spend"], log["prompt_tokens"], log["completion_tokens"]) == (0.0004, 200, 100)
    assert log["call_type"] == "acompletion"
    assert (log["model_group"], log["model_id"], log["custom_llm_provider"]) == (
        "claude-3-haiku",
        "haiku-use1",
        "bedrock",
    )
    assert log["completionStartTime"] == "2026-03-15T11:59:00.120000+00:00"
    assert log["metadata"]["user_api_key_alias"] == "demo-key"
    assert log["metadata"]["trace"] == "t1"
    assert (log["request_tags"], log["status"], log["cost_micro"]) == (["prod"], "success", 400)
    assert answer.next_cursor is None


async def test_spend_logs_pages_follow_the_cursor(database: Database) -> None:
    await write_rows(database, [ledger_row(n) for n in range(25)])
    spend = SpendAdmin(database)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        query = {"user_id": "ana", "limit": 10} | ({"cursor": cursor} if cursor else {})
        page = await spend.logs(parse_body(SpendLogsQuery, query))
        seen += [log["request_id"] for log in page.body]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"chatcmpl-{n:06d}" for n in range(25)]  # newest (smallest offset) first
    page_three = await spend.logs(parse_body(SpendLogsQuery, {"page": 3, "page_size": 10}))
    assert [log["request_id"] for log in page_three.body] == seen[20:]
    with pytest.raises(InvalidRequest, match="cursor"):
        await spend.logs(parse_body(SpendLogsQuery, {"cursor": "garbage"}))


async def test_spend_logs_with_dates_summarize_per_day_like_litellm(database: Database) -> None:
    await seed_usage(database)
    query = {"start_date": "2026-03-13", "end_date": "2026-03-15"}
    answer = await SpendAdmin(database).logs(parse_body(SpendLogsQuery, query))
    assert [day["startTime"] for day in answer.body] == ["2026-03-13", "2026-03-14", "2026-03-15"]
    today = answer.body[-1]
    # Today: Haiku rows n = 0, 30, 60, 90, 120 (5 x 300), Sonnet n = 0 (1420), key B (400).
    assert today["spend"] == 0.00332
    assert today["models"] == {"claude-3-haiku": 0.0019, "claude-3-sonnet": 0.00142}
    assert today["users"] == {"ana": 0.00292, "bo": 0.0004}
    assert today[KEY_HASH] == 0.00292
    unsummarized = {**query, "summarize": "false"}
    rows = await SpendAdmin(database).logs(parse_body(SpendLogsQuery, unsummarized))
    assert len(rows.body) == 3 * 5 + 3 + 1


async def test_the_global_report_groups_by_team_key_user_and_model(database: Database) -> None:
    await seed_usage(database)
    service = AdminService.create(database, clock=clock)
    await service.teams.new(
        parse_body(NewTeamRequest, {"team_id": "demo-team", "team_alias": "Demo Team"})
    )
    spend = SpendAdmin(database)
    window = {"start_date": "2026-03-15", "end_date": "2026-03-15"}

    (day,) = await spend.global_report(parse_body(GlobalSpendReportQuery, window))
    assert day["group_by_day"] == "2026-03-15"
    teams = {team["team_name"]: team for team in day["teams"]}
    assert set(teams) == {"Demo Team", "Unassigned Team"}
    assert teams["Demo Team"]["total_spend"] == 0.00292
    assert {m["model"] for m in teams["Demo Team"]["metadata"]} == {
        "claude-3-haiku",
        "claude-3-sonnet",
    }

    by_key = await spend.global_report(
        parse_body(GlobalSpendReportQuery, {**window, "group_by": "api_key"})
    )
    assert [entry["api_key"] for entry in by_key] == [KEY_HASH, OTHER_HASH]  # dearest first
    assert by_key[0]["total_cost"] == 0.00292
    assert by_key[0]["total_input_tokens"] == 6 * 200
    assert {d["model"] for d in by_key[0]["model_details"]} == {"claude-3-haiku", "claude-3-sonnet"}

    by_user = await spend.global_report(
        parse_body(GlobalSpendReportQuery, {**window, "group_by": "user"})
    )
    assert [(e["user_id"], e["total_cost"]) for e in by_user] == [("ana", 0.00292), ("bo", 0.0004)]

    by_model = await spend.global_report(
        parse_body(
            GlobalSpendReportQuery, {"start_date": "2026-02-01", "end_date": "2026-03-15",
                                     "group_by": "model"}
        )
    )  # fmt: skip
    assert by_model == [
        {"model": "claude-3-haiku", "total_cost": 0.0428, "total_input_tokens": 28_400,
         "total_output_tokens": 14_200, "total_requests": 142},
        {"model": "claude-3-sonnet", "total_cost": 0.0142, "total_input_tokens": 2000,
         "total_output_tokens": 1000, "total_requests": 10},
    ]  # fmt: skip

    as_key = await spend.global_report(
        parse_body(GlobalSpendReportQuery, {**window, "api_key": KEY})
    )
    assert [entry["api_key"] for entry in as_key] == [KEY_HASH]


async def test_the_by_team_report_is_served_from_per_day_parts_rebuilt_when_they_move(
    database: Database,
) -> None:
    await seed_usage(database)
    service = AdminService.create(database, clock=clock)
    await service.teams.new(
        parse_body(NewTeamRequest, {"team_id": "demo-team", "team_alias": "Demo Team"})
    )
    spend = SpendAdmin(database)
    month = parse_body(GlobalSpendReportQuery, {"start_date": "2026-02-14",
                                                "end_date": "2026-03-15"})  # fmt: skip

    async def check() -> list[dict[str, Any]]:
        served = orjson.loads(await spend.global_report_json(month))
        assert served == await spend.global_report(month)  # the same as built from scratch
        return served

    first = await check()
    assert len(first) == 30
    assert spend.team_reports.rebuilt_days == 30
    await check()
    assert spend.team_reports.rebuilt_days == 30  # nothing moved: every day from the cache
    # A new row of one day (ten days ago) rebuilds that day only.
    await write_rows(database, [ledger_row(5000, days_ago=10, cost_micro=999)])
    after = await check()
    assert spend.team_reports.rebuilt_days == 31
    assert after != first
    # Renaming the team rebuilds the days that show it.
    await service.teams.update(
        parse_body(UpdateTeamRequest, {"team_id": "demo-team", "team_alias": "Renamed"})
    )
    renamed = await check()
    assert {t["team_name"] for day in renamed for t in day["teams"]} == {
        "Renamed",
        "Unassigned Team",  # the other key's request, today
    }
    # A filter keeps parts of its own.
    other_team = parse_body(
        GlobalSpendReportQuery,
        {"start_date": "2026-03-15", "end_date": "2026-03-15", "team_id": "nope"},
    )
    assert orjson.loads(await spend.global_report_json(other_team)) == []


async def test_the_report_cache_stays_within_its_bytes(database: Database) -> None:
    await seed_usage(database)
    cache = TeamReportCache(database, max_bytes=2000)
    body = await cache.report(SpendFilter(), date(2026, 2, 14), date(2026, 3, 15))
    assert len(orjson.loads(body)) == 30
    assert 0 < cache._bytes <= 2000
    again = await cache.report(SpendFilter(), date(2026, 2, 14), date(2026, 3, 15))
    assert again == body


async def test_daily_activity_has_litellms_shape(database: Database) -> None:
    await seed_usage(database)
    spend = SpendAdmin(database)
    query = {"start_date": "2026-03-14", "end_date": "2026-03-15", "user_id": "ana"}
    activity = await spend.user_daily_activity(parse_body(DailyActivityQuery, query))
    assert [r["date"] for r in activity["results"]] == ["2026-03-14", "2026-03-15"]
    today = activity["results"][1]
    assert today["metrics"] == {
        "spend": 0.00292,
        "prompt_tokens": 1200,
        "completion_tokens": 600,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "total_tokens": 1800,
        "successful_requests": 6,
        "failed_requests": 0,
        "api_requests": 6,
        "unpriced_requests": 0,
    }
    assert set(today["breakdown"]) == {"models", "providers", "api_keys"}
    assert today["breakdown"]["api_keys"][KEY_HASH]["metadata"] == {
        "key_alias": "demo-key",
        "team_id": "demo-team",
    }
    assert today["breakdown"]["providers"]["bedrock"]["metrics"]["api_requests"] == 6
    meta = activity["metadata"]
    assert (meta["total_api_requests"], meta["page"], meta["total_pages"], meta["has_more"]) == (
        12,
        1,
        1,
        False,
    )

    team_query = {"start_date": "2026-03-15", "end_date": "2026-03-15", "team_ids": "demo-team"}
    team = await spend.team_daily_activity(parse_body(DailyActivityQuery, team_query))
    (only,) = team["results"]
    assert set(only["breakdown"]["entities"]) == {"demo-team"}
    assert only["metrics"]["api_requests"] == 6
    paged = await spend.user_daily_activity(
        parse_body(DailyActivityQuery, {**query, "page_size": 1, "page": 2})
    )
    assert [r["date"] for r in paged["results"]] == ["2026-03-15"]
    assert paged["metadata"]["total_pages"] == 2


async def test_key_and_team_info_show_spend_from_the_ledger(database: Database) -> None:
    service = AdminService.create(
        database, clock=clock, spend=LedgerSpendReader(database, clock=clock)
    )
    made = await service.keys.generate(
        parse_body(GenerateKeyRequest, {"max_budget": 1, "budget_duration": "1d"})
    )
    key = await KeyRepository(database).get_by_hash(hash_key(made["key"]))
    assert key is not None
    await write_rows(
        database,
        [
            ledger_row(1, key_hash=key.key_hash, key_id=key.key_id, cost_micro=250_000),  # today
            ledger_row(2, key_hash=key.key_hash, key_id=key.key_id, cost_micro=100_000,
                       days_ago=3),
            ledger_row(3, team_id="t9", cost_micro=5),  # another key's
        ],
    )  # fmt: skip
    info = (await service.keys.info(made["key"]))["info"]
    assert info["spend"] == 0.25  # the current day's window
    assert info["budget_reset_at"] == "2026-03-16T00:00:00+00:00"
    regenerated = await service.keys.regenerate(parse_body(RegenerateKeyRequest, {}), key.key_hash)
    info = (await service.keys.info(regenerated["key"]))["info"]
    assert info["spend"] == 0.25  # the key's spend survives a new secret
    reader = LedgerSpendReader(database, clock=clock)
    assert (await reader.read(f"key:{key.key_id}", [])).total_micro == 350_000
    monthly = await reader.read("team:demo-team", [BudgetLimit(10_000_000, "1mo")])
    assert monthly.windows[0].spend_micro == 350_000
    assert (await reader.read("member:t9:ana", [])).total_micro == 5


async def test_retention_deletes_old_rows_and_keeps_totals(database: Database) -> None:
    await seed_usage(database)
    spend = SpendAdmin(database, clock=clock)
    answer = await spend.delete_older_than(parse_body(RetentionRequest, {"days": 35}))
    assert answer["deleted"] == 1  # the request 40 days ago
    usage = await spend.usage_for_key(KEY_HASH, 60)
    assert usage["summary"]["total_requests"] == 151


async def test_the_last_month_of_the_by_team_report_is_built_in_the_background(
    database: Database,
) -> None:
    await seed_usage(database)
    spend = SpendAdmin(database, clock=clock)
    await spend.warm_reports(delay_s=0)
    warmed = spend.team_reports.rebuilt_days
    assert warmed == 30  # the days with spend among the last 31
    month = parse_body(GlobalSpendReportQuery, {"start_date": "2026-02-14",
                                                "end_date": "2026-03-15"})  # fmt: skip
    assert len(orjson.loads(await spend.global_report_json(month))) == 30
    assert spend.team_reports.rebuilt_days == warmed  # the first report found every day built
