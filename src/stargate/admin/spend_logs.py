"""``GET /spend/logs``: ledger rows in LiteLLM's ``LiteLLM_SpendLogs`` shape, or spend per day.

LiteLLM's row fields (``request_id``, ``call_type``, ``api_key`` (the key's hash), ``spend``
(USD), ``total_tokens``, ``prompt_tokens``, ``completion_tokens``, ``startTime``, ``endTime``,
``completionStartTime``, ``model``, ``model_id``, ``model_group``, ``custom_llm_provider``,
``api_base``, ``user``, ``metadata``, ``cache_hit``, ``cache_key``, ``request_tags``,
``team_id``, ``end_user``, ``requester_ip_address``, ``messages``, ``response``, ``status``)
come first; Stargate's exact numbers follow (``cost_micro``, cache token counts, latency, time to
first token, HTTP status, error type, stream flag, user-agent, region, route). ``spend`` is
``null`` when the cost is unknown (an unpriced model). Rows come newest first, one page at a
time; the cursor of the next page travels beside the list (``next_cursor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from stargate.admin.spend_requests import SpendLogsQuery, day_after, day_start, hash_of
from stargate.errors import InvalidRequest
from stargate.store.database import Database
from stargate.store.ledger_queries import SpendFilter, logs_page, rollup_rows
from stargate.store.ledger_rows import SpendRow
from stargate.telemetry.ledger_views import usd

__all__ = ["MAX_SUMMARY_DAYS", "SpendLogs", "render_spend_log", "spend_logs"]

MAX_SUMMARY_DAYS = 366

# LiteLLM's call_type per API route (what the row's dialect was).
_CALL_TYPES = {
    "/v1/chat/completions": "acompletion",
    "/chat/completions": "acompletion",
    "/v1/messages": "anthropic_messages",
    "/v1/messages/count_tokens": "count_tokens",
    "/v1/embeddings": "aembedding",
}


@dataclass(frozen=True, slots=True)
class SpendLogs:
    """The answer body (a JSON list, as LiteLLM's) and the cursor of the next page (``None``
    on the last page, or for a summary)."""

    body: list[dict[str, Any]]
    next_cursor: str | None = None


async def spend_logs(database: Database, query: SpendLogsQuery) -> SpendLogs:
    which = SpendFilter(
        key_hash=hash_of(query.api_key),
        user_id=query.user_id,
        team_id=query.team_id,
        model=query.model,
    )
    if (query.start_date is None) != (query.end_date is None):
        raise InvalidRequest("give both start_date and end_date, or neither", param="start_date")
    if query.start_date and query.end_date and query.end_date < query.start_date:
        raise InvalidRequest("end_date is before start_date", param="end_date")
    if query.start_date and query.end_date and query.summarize and query.request_id is None:
        return SpendLogs(await _daily_summary(database, which, query.start_date, query.end_date))
    limit = query.page_size or query.limit
    offset = (query.page - 1) * limit if query.page and query.cursor is None else 0
    try:
        page = await logs_page(
            database,
            which,
            start=day_start(query.start_date) if query.start_date else None,
            end=day_after(query.end_date) if query.end_date else None,
            limit=limit,
            cursor=query.cursor,
            offset=offset,
            request_id=query.request_id,
        )
    except ValueError as exc:  # a cursor that is not one
        raise InvalidRequest(str(exc), param="cursor") from exc
    return SpendLogs([render_spend_log(row) for row in page.rows], page.next_cursor)


def render_spend_log(row: SpendRow) -> dict[str, Any]:
    """One row in LiteLLM's shape, followed by Stargate's exact fields."""
    first_token = (
        row.started_at + timedelta(milliseconds=row.ttft_ms) if row.ttft_ms is not None else None
    )
    prompt_tokens = row.input_tokens + row.cache_read_tokens + row.cache_write_tokens
    return {
        "request_id": row.request_id,
        "call_type": _CALL_TYPES.get(row.route or "", row.route or ""),
        "api_key": row.key_hash or "",
        "spend": usd(row.cost_micro),
        "total_tokens": row.total_tokens,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": row.output_tokens,
        "startTime": row.started_at.isoformat(),
        "endTime": row.ended_at.isoformat(),
        "completionStartTime": first_token.isoformat() if first_token else None,
        "model": row.model or "",
        "model_id": row.deployment_id or "",
        "model_group": row.requested_model,
        "custom_llm_provider": row.provider or "",
        "api_base": "",
        "user": row.user_id or "",
        "metadata": {
            **row.metadata,
            "user_api_key": row.key_hash,
            "user_api_key_alias": row.key_alias,
            "user_api_key_team_id": row.team_id,
            "user_api_key_user_id": row.user_id,
            "status": row.status,
            "error_information": {"error_class": row.error_type} if row.error_type else None,
        },
        "cache_hit": "False",
        "cache_key": "",
        "request_tags": list(row.tags),
        "team_id": row.team_id,
        "end_user": row.end_user or "",
        "requester_ip_address": row.client_ip or "",
        "messages": row.prompt if row.prompt is not None else {},
        "response": row.response if row.response is not None else {},
        "status": "success" if row.status == "success" else "failure",
        # Stargate's own, exact fields.
        "cost_micro": row.cost_micro,
        "input_tokens": row.input_tokens,
        "cache_read_input_tokens": row.cache_read_tokens,
        "cache_creation_input_tokens": row.cache_write_tokens,
        "latency_ms": row.latency_ms,
        "ttft_ms": row.ttft_ms,
        "http_status": row.http_status,
        "error_type": row.error_type,
        "outcome": row.status,
        "stream": row.stream,
        "user_agent": row.user_agent,
        "region": row.region,
        "route": row.route,
        "key_alias": row.key_alias,
    }


async def _daily_summary(
    database: Database, which: SpendFilter, start_date: str, end_date: str
) -> list[dict[str, Any]]:
    """LiteLLM's summarized answer: per day ``spend``, spend per ``users`` and ``models``, and
    each key's spend under its hash; every day of the range is listed (zero when idle)."""
    first, last = date.fromisoformat(start_date), date.fromisoformat(end_date)
    if (last - first).days >= MAX_SUMMARY_DAYS:
        raise InvalidRequest(f"summarize at most {MAX_SUMMARY_DAYS} days", param="end_date")
    days: dict[date, dict[str, Any]] = {}
    day = first
    while day <= last:
        days[day] = {"startTime": day.isoformat(), "spend": 0, "users": {}, "models": {}}
        day += timedelta(days=1)

    async def per_day(*columns: str) -> list[tuple[Any, ...]]:
        return await rollup_rows(
            database, which, first_day=first, last_day=last, group_by=("day", *columns),
            sums=("cost_micro",),
        )  # fmt: skip

    # Two grouped queries: by key (each key has one user, so users and day totals follow)
    # and by model.
    spent: dict[date, int] = dict.fromkeys(days, 0)
    users: dict[date, dict[str, int]] = {day: {} for day in days}
    keys: dict[date, dict[str, int]] = {day: {} for day in days}
    for day_of, key_hash, user_id, cost in await per_day("key_hash", "user_id"):
        spent[day_of] += cost
        users[day_of][user_id] = users[day_of].get(user_id, 0) + cost
        if key_hash:
            keys[day_of][key_hash] = keys[day_of].get(key_hash, 0) + cost
    for day_of, model, cost in await per_day("model"):
        days[day_of]["models"][model] = usd(cost)
    for day_of, shown in days.items():
        shown["spend"] = usd(spent[day_of])
        shown["users"] = {name: usd(cost) for name, cost in users[day_of].items()}
        shown.update({key: usd(cost) for key, cost in keys[day_of].items()})
    return list(days.values())
