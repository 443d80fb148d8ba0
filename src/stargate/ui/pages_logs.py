"""Spend logs: filters, keyset pages (as fast at the millionth row as at the first), and one
request's detail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from stargate.admin.fields import key_hash_of
from stargate.admin.spend_requests import SpendLogsQuery
from stargate.errors import StargateError
from stargate.store.spend_browse import BrowseFilter, browse_logs
from stargate.ui.context import Ui
from stargate.ui.render import html
from stargate.ui.sessions import SignedIn

__all__ = ["log_routes"]

PAGE_SIZE = 50
STATUSES = ("success", "error", "cancelled")
_FIELDS = ("key", "user_id", "team_id", "model", "status", "start", "end")


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field}: expected a date, YYYY-MM-DD") from None


def log_routes(router: APIRouter, ui: Ui) -> None:
    async def key_filter(given: str | None) -> str | None:
        """A key named by its alias, the key itself, or its hash → the hash."""
        if not given:
            return None
        by_alias = await ui.service.context.keys.get_by_alias(given)
        return by_alias.key_hash if by_alias else key_hash_of(given)

    @router.get("/logs")
    async def logs(request: Request, session: SignedIn = Depends(ui.guard.page)) -> Response:
        given = {
            name: value.strip()
            for name in _FIELDS
            if (value := request.query_params.get(name, "")).strip()
        }
        error = None
        page = None
        try:
            start = _day(given["start"], "from") if "start" in given else None
            end = _day(given["end"], "to") if "end" in given else None
            status = given.get("status")
            if status is not None and status not in STATUSES:
                raise ValueError(f"status: one of {', '.join(STATUSES)}")
            which = BrowseFilter(
                key_hash=await key_filter(given.get("key")),
                user_id=given.get("user_id"),
                team_id=given.get("team_id"),
                model=given.get("model"),
                status=status,
                start=datetime.combine(start, datetime.min.time(), UTC) if start else None,
                end=datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
                if end
                else None,
            )
            page = await browse_logs(
                ui.database, which, limit=PAGE_SIZE, cursor=request.query_params.get("cursor")
            )
        except ValueError as exc:
            error = str(exc)
        older = (
            "/ui/logs?" + urlencode({**given, "cursor": page.next_cursor})
            if page is not None and page.next_cursor
            else None
        )
        context = ui.base(
            session,
            rows=page.rows if page else [],
            filters=given,
            statuses=STATUSES,
            older=older,
            newest="/ui/logs?" + urlencode(given),
            paged="cursor" in request.query_params,
            error=error,
        )
        return html(request, "logs.html", context, status_code=400 if error else 200)

    @router.get("/logs/{request_id}")
    async def log_detail(
        request_id: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        try:
            found = await ui.spend.logs(
                SpendLogsQuery(request_id=request_id, summarize=False, limit=1)
            )
        except StargateError as err:
            return html(
                request, "error.html", ui.base(session, message=err.message), status_code=err.status
            )
        if not found.body:
            message = f"No request {request_id} in the spend logs (yet: rows arrive in batches)."
            return html(request, "error.html", ui.base(session, message=message), status_code=404)
        return html(request, "log.html", ui.base(session, row=found.body[0]))
