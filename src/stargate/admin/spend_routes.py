"""HTTP routes of the usage APIs (LiteLLM's shapes): spend logs, the global report, daily
activity, and ledger retention. The master key is required on each."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from stargate.admin.fields import parse_body
from stargate.admin.routes import Authorize
from stargate.admin.spend_requests import (
    DailyActivityQuery,
    GlobalSpendReportQuery,
    RetentionRequest,
    SpendLogsQuery,
)
from stargate.admin.spend_service import SpendAdmin

__all__ = ["NEXT_CURSOR_HEADER", "spend_router"]

NEXT_CURSOR_HEADER = "x-next-cursor"


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


def spend_router(spend: SpendAdmin, *, require_master: Authorize) -> APIRouter:
    router = APIRouter(tags=["spend"], dependencies=[Depends(require_master)])

    @router.get("/spend/logs")
    async def spend_logs(request: Request) -> Response:
        """Ledger rows newest first (one page; the next page's cursor is in ``x-next-cursor``),
        or, with ``start_date`` and ``end_date``, spend per day."""
        page = await spend.logs(parse_body(SpendLogsQuery, request.query_params))
        headers = {NEXT_CURSOR_HEADER: page.next_cursor} if page.next_cursor else None
        return _json(page.body, headers)

    @router.get("/global/spend/report")
    async def global_report(request: Request) -> Response:
        query = parse_body(GlobalSpendReportQuery, request.query_params)
        body = await spend.global_report_json(query)
        return Response(body, media_type="application/json")

    @router.get("/user/daily/activity")
    async def user_activity(request: Request) -> Response:
        query = parse_body(DailyActivityQuery, request.query_params)
        return _json(await spend.user_daily_activity(query))

    @router.get("/team/daily/activity")
    async def team_activity(request: Request) -> Response:
        query = parse_body(DailyActivityQuery, request.query_params)
        return _json(await spend.team_daily_activity(query))

    @router.post("/spend/logs/retention")
    async def retention(request: Request) -> Response:
        """Delete ledger rows older than ``days`` days, in batches (daily rollups are kept)."""
        body = parse_body(RetentionRequest, orjson.loads(await request.body() or b"{}"))
        return _json(await spend.delete_older_than(body))

    return router
