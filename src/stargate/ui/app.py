"""Mounting the UI on the admin app: ``/ui/...`` pages and actions, ``/ui/static`` files, and
the admin API route that sets an admin user's password.

``stargate.api.admin`` calls :func:`mount_ui` with what only it can give (the master-key check,
the model test); everything else the UI takes from the admin service and the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from stargate.admin.fields import AdminRequest, Text, parse_body
from stargate.admin.service import AdminService
from stargate.admin.spend_service import SpendAdmin
from stargate.errors import InvalidRequest
from stargate.store.admin_accounts import AdminUserRepository
from stargate.store.database import Database
from stargate.ui.accounts import AdminAccounts
from stargate.ui.auth import CheckMaster, Guard
from stargate.ui.context import ModelTest, Ui
from stargate.ui.pages_admins import admin_routes
from stargate.ui.pages_keys import key_routes
from stargate.ui.pages_login import login_routes
from stargate.ui.pages_logs import log_routes
from stargate.ui.pages_overview import overview_routes
from stargate.ui.pages_teams import team_routes
from stargate.ui.pages_tiers_models import tier_model_routes
from stargate.ui.pages_users import user_routes
from stargate.ui.sessions import SessionStore
from stargate.ui.throttle import LoginThrottle

__all__ = ["mount_ui"]

_STATIC = Path(__file__).parent / "static"


class AdminUserPassword(AdminRequest):
    username: Text
    password: str


class AdminUserRef(AdminRequest):
    username: Text


def mount_ui(
    app: FastAPI,
    *,
    service: AdminService,
    spend: SpendAdmin,
    database: Database,
    check_master: CheckMaster,
    test_model: ModelTest,
    require_master: Callable[[Request], Awaitable[Any]],
    budget_timezone: str = "UTC",
    throttle: LoginThrottle | None = None,
) -> Ui:
    users = AdminUserRepository(database)
    guard = Guard(SessionStore(database), users, check_master, throttle)
    ui = Ui(service, spend, database, guard, test_model, budget_timezone)
    accounts = AdminAccounts(users)

    pages = APIRouter(prefix="/ui", include_in_schema=False)
    login_routes(pages, ui)
    overview_routes(pages, ui)
    key_routes(pages, ui)
    user_routes(pages, ui)
    team_routes(pages, ui)
    tier_model_routes(pages, ui)
    log_routes(pages, ui)
    admin_routes(pages, ui, accounts)
    app.include_router(pages)

    @app.get("/ui", include_in_schema=False)
    async def ui_root() -> Response:
        return RedirectResponse("/ui/", status_code=307)

    app.mount("/ui/static", StaticFiles(directory=_STATIC), name="ui-static")

    api = APIRouter(tags=["admin UI"], dependencies=[Depends(require_master)])

    def _json(body: Any) -> Response:
        return Response(orjson.dumps(body), media_type="application/json")

    async def _body(request: Request) -> Any:
        raw = await request.body()
        try:
            return orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest(f"the request body is not valid JSON: {exc}") from exc

    @api.post("/ui/admin_user")
    async def set_admin_user(request: Request) -> Response:
        """Create an admin user of the web UI, or set a new password (at least 12
        characters): ``{"username": ..., "password": ...}``. Stored as a scrypt hash."""
        body = parse_body(AdminUserPassword, await _body(request))
        return _json(await accounts.set_password(body.username, body.password))

    @api.get("/ui/admin_user/list")
    async def list_admin_users() -> Response:
        return _json({"admin_users": await accounts.list()})

    @api.post("/ui/admin_user/delete")
    async def delete_admin_user(request: Request) -> Response:
        body = parse_body(AdminUserRef, await _body(request))
        return _json(await accounts.delete(body.username))

    app.include_router(api)
    return ui
