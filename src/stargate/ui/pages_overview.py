"""The overview (``/ui/``) and the budgets page."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from stargate.admin.context import utc_now
from stargate.ui.budgets_data import budget_bars
from stargate.ui.context import Ui
from stargate.ui.overview_data import PERIODS, Period, overview
from stargate.ui.render import html
from stargate.ui.sessions import SignedIn

__all__ = ["overview_routes"]

NEAR_LIMIT = 0.8  # the overview lists budgets at least this full


def overview_routes(router: APIRouter, ui: Ui) -> None:
    @router.get("/")
    async def home(request: Request, session: SignedIn = Depends(ui.guard.page)) -> Response:
        asked = request.query_params.get("period", "day")
        period: Period = next((p for p in PERIODS if p == asked), "day")
        shown = await overview(ui.database, ui.service, period, utc_now())
        bars, _ = await budget_bars(ui.service)
        near = [bar for bar in bars if bar.used >= NEAR_LIMIT]
        context = ui.base(
            session,
            view=shown,
            periods=PERIODS,
            chart=orjson.dumps(shown.chart()).decode(),
            near=near,
            near_limit=round(NEAR_LIMIT * 100),
        )
        return html(request, "overview.html", context)

    @router.get("/budgets")
    async def budgets(request: Request, session: SignedIn = Depends(ui.guard.page)) -> Response:
        bars, truncated = await budget_bars(ui.service)
        kind = request.query_params.get("kind")
        if kind in ("key", "user", "team", "member"):
            bars = [bar for bar in bars if bar.kind == kind]
        context = ui.base(session, bars=bars, truncated=truncated, kind=kind or "")
        return html(request, "budgets.html", context)
