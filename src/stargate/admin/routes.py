"""The LiteLLM-compatible admin routes over :class:`AdminService`.

Bodies are read as JSON and validated by the service's request models, so a bad field is a 400
in LiteLLM's error shape naming it (not FastAPI's 422). Authorization is injected: the admin
app passes its master-key dependency (``stargate.api`` and ``stargate.admin`` are sibling
layers, so neither imports the other; whoever builds the admin app joins them with
:func:`mount_admin_routes`). A virtual key may read its own ``/key/info``, as in LiteLLM.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import Headers

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    BudgetDeleteRequest,
    BudgetInfoRequest,
    DeleteKeysRequest,
    DeleteTeamsRequest,
    DeleteUsersRequest,
    GenerateKeyRequest,
    KeyInfoQuery,
    KeyListQuery,
    KeyRef,
    MemberAddRequest,
    MemberDeleteRequest,
    MemberUpdateRequest,
    ModelDeleteRequest,
    ModelInfoQuery,
    NewBudgetRequest,
    NewModelRequest,
    NewTeamRequest,
    NewUserRequest,
    RegenerateKeyRequest,
    TeamInfoQuery,
    TeamListQuery,
    TierApplyRequest,
    UpdateBudgetRequest,
    UpdateKeyRequest,
    UpdateModelRequest,
    UpdateTeamRequest,
    UpdateUserRequest,
    UserInfoQuery,
    UserListQuery,
)
from stargate.admin.service import AdminService
from stargate.errors import AuthenticationFailed, InvalidRequest, PermissionDenied

__all__ = ["admin_router", "mount_admin_routes"]

M = TypeVar("M", bound=BaseModel)
Authorize = Callable[[Request], object]


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


async def _decoded(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from exc


async def _body(request: Request, model: type[M]) -> M:
    return parse_body(model, await _decoded(request))


def _query(request: Request, model: type[M]) -> M:
    return parse_body(model, dict(request.query_params))


def _documented(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` showing the JSON body's schema (its ``$defs`` inlined)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    content = {"application/json": {"schema": inline(schema)}}
    return {"requestBody": {"content": content, "required": False}}


def admin_router(
    service: AdminService,
    *,
    require_master: Authorize,
    presented_key: Callable[[Headers], str | None] | None = None,
) -> APIRouter:
    """Every admin route. ``require_master(request)`` raises unless the caller holds the master
    key; ``presented_key(headers)`` (optional) lets a virtual key read its own ``/key/info``."""
    router = APIRouter()
    master = [Depends(require_master)]  # on every route but /key/info, which checks itself

    def post(path: str, model: type[BaseModel], tag: str) -> Callable[[Any], Any]:
        return router.post(path, tags=[tag], dependencies=master, openapi_extra=_documented(model))

    def get(path: str, tag: str, **options: Any) -> Callable[[Any], Any]:
        return router.get(path, tags=[tag], dependencies=master, **options)

    # --- keys ---------------------------------------------------------------------------

    @post("/key/generate", GenerateKeyRequest, "keys")
    async def key_generate(request: Request) -> Response:
        """Make a virtual key; the answer's ``key`` is shown this once."""
        return _json(await service.keys.generate(await _body(request, GenerateKeyRequest)))

    @post("/key/update", UpdateKeyRequest, "keys")
    async def key_update(request: Request) -> Response:
        return _json(await service.keys.update(await _body(request, UpdateKeyRequest)))

    @post("/key/delete", DeleteKeysRequest, "keys")
    async def key_delete(request: Request) -> Response:
        return _json(await service.keys.delete(await _body(request, DeleteKeysRequest)))

    @get("/key/list", "keys")
    async def key_list(request: Request) -> Response:
        return _json(await service.keys.list(_query(request, KeyListQuery)))

    @post("/key/regenerate", RegenerateKeyRequest, "keys")
    async def key_regenerate(request: Request) -> Response:
        body = await _body(request, RegenerateKeyRequest)
        return _json(await service.keys.regenerate(body))

    @post("/key/{key}/regenerate", RegenerateKeyRequest, "keys")
    async def key_regenerate_path(key: str, request: Request) -> Response:
        body = await _body(request, RegenerateKeyRequest)
        return _json(await service.keys.regenerate(body, path_key=key))

    @post("/key/block", KeyRef, "keys")
    async def key_block(request: Request) -> Response:
        return _json(await service.keys.block((await _body(request, KeyRef)).key, True))

    @post("/key/unblock", KeyRef, "keys")
    async def key_unblock(request: Request) -> Response:
        return _json(await service.keys.block((await _body(request, KeyRef)).key, False))

    @router.get("/key/info", tags=["keys"])
    async def key_info(request: Request) -> Response:
        """A key's settings (and spend). The master key may ask about any key (``?key=``); a
        virtual key about itself."""
        query = _query(request, KeyInfoQuery)
        try:
            outcome = require_master(request)
            if inspect.isawaitable(outcome):
                await outcome
        except (AuthenticationFailed, PermissionDenied):
            own = presented_key(request.headers) if presented_key is not None else None
            record = await service.keys.find(own) if own else None
            if record is None or (
                query.key is not None and (await service.keys.find(query.key)) != record
            ):
                raise
            return _json(await service.keys.info(record.key_hash))
        if query.key is None:
            raise InvalidRequest("give the key to look up: /key/info?key=...", param="key")
        return _json(await service.keys.info(query.key))

    # --- users --------------------------------------------------------------------------

    @post("/user/new", NewUserRequest, "users")
    async def user_new(request: Request) -> Response:
        return _json(await service.users.new(await _body(request, NewUserRequest)))

    @post("/user/update", UpdateUserRequest, "users")
    async def user_update(request: Request) -> Response:
        return _json(await service.users.update(await _body(request, UpdateUserRequest)))

    @post("/user/delete", DeleteUsersRequest, "users")
    async def user_delete(request: Request) -> Response:
        return _json(await service.users.delete(await _body(request, DeleteUsersRequest)))

    @get("/user/info", "users")
    async def user_info(request: Request) -> Response:
        """``?user_id=``, or (seed 003) a JSON body ``{"user_ids": [...]}`` on the GET."""
        query = _query(request, UserInfoQuery)
        body = await _body(request, UserInfoQuery)
        ids = [
            *([query.user_id] if query.user_id else []),
            *(query.user_ids or []),
            *([body.user_id] if body.user_id else []),
            *(body.user_ids or []),
        ]
        return _json(await service.users.info(ids))

    @get("/user/list", "users")
    @get("/user/get_users", "users", include_in_schema=False)
    async def user_list(request: Request) -> Response:
        return _json(await service.users.list(_query(request, UserListQuery)))

    # --- teams --------------------------------------------------------------------------

    @post("/team/new", NewTeamRequest, "teams")
    async def team_new(request: Request) -> Response:
        return _json(await service.teams.new(await _body(request, NewTeamRequest)))

    @post("/team/update", UpdateTeamRequest, "teams")
    async def team_update(request: Request) -> Response:
        return _json(await service.teams.update(await _body(request, UpdateTeamRequest)))

    @post("/team/delete", DeleteTeamsRequest, "teams")
    async def team_delete(request: Request) -> Response:
        return _json(await service.teams.delete(await _body(request, DeleteTeamsRequest)))

    @get("/team/info", "teams")
    async def team_info(request: Request) -> Response:
        return _json(await service.teams.info(_query(request, TeamInfoQuery).team_id))

    @get("/team/list", "teams")
    async def team_list(request: Request) -> Response:
        return _json(await service.teams.list(_query(request, TeamListQuery).user_id))

    @post("/team/member_add", MemberAddRequest, "teams")
    async def team_member_add(request: Request) -> Response:
        return _json(await service.teams.member_add(await _body(request, MemberAddRequest)))

    @post("/team/member_delete", MemberDeleteRequest, "teams")
    async def team_member_delete(request: Request) -> Response:
        body = await _body(request, MemberDeleteRequest)
        return _json(await service.teams.member_delete(body))

    @post("/team/member_update", MemberUpdateRequest, "teams")
    async def team_member_update(request: Request) -> Response:
        body = await _body(request, MemberUpdateRequest)
        return _json(await service.teams.member_update(body))

    # --- budgets and tiers --------------------------------------------------------------

    @post("/budget/new", NewBudgetRequest, "budgets")
    async def budget_new(request: Request) -> Response:
        return _json(await service.budgets.new(await _body(request, NewBudgetRequest)))

    @post("/budget/info", BudgetInfoRequest, "budgets")
    async def budget_info(request: Request) -> Response:
        return _json(await service.budgets.info(await _body(request, BudgetInfoRequest)))

    @post("/budget/update", UpdateBudgetRequest, "budgets")
    async def budget_update(request: Request) -> Response:
        return _json(await service.budgets.update(await _body(request, UpdateBudgetRequest)))

    @get("/budget/list", "budgets")
    async def budget_list() -> Response:
        return _json(await service.budgets.list())

    @post("/budget/delete", BudgetDeleteRequest, "budgets")
    async def budget_delete(request: Request) -> Response:
        return _json(await service.budgets.delete(await _body(request, BudgetDeleteRequest)))

    @post("/tier/apply", TierApplyRequest, "budgets")
    async def tier_apply(request: Request) -> Response:
        """Seed 003's tiers.yaml as JSON: one budget and one team per tier, idempotent."""
        return _json(await service.tiers.apply(await _body(request, TierApplyRequest)))

    # --- models -------------------------------------------------------------------------

    @post("/model/new", NewModelRequest, "models")
    async def model_new(request: Request) -> Response:
        return _json(await service.models.new(await _body(request, NewModelRequest)))

    @post("/model/update", UpdateModelRequest, "models")
    async def model_update(request: Request) -> Response:
        return _json(await service.models.update(await _body(request, UpdateModelRequest)))

    @post("/model/delete", ModelDeleteRequest, "models")
    async def model_delete(request: Request) -> Response:
        return _json(await service.models.delete(await _body(request, ModelDeleteRequest)))

    @get("/model/info", "models")
    @get("/v1/model/info", "models")
    async def model_info(request: Request) -> Response:
        """Config and database models in LiteLLM's shape (never a credential)."""
        return _json(await service.models.info(_query(request, ModelInfoQuery)))

    return router


def mount_admin_routes(app: FastAPI, router: APIRouter) -> None:
    """Add the admin routes to ``app``, replacing any route it already has for the same path
    and method (the admin app's own config-only ``/model/info``)."""
    taken: set[tuple[str, str]] = set()
    for route in router.routes:
        if isinstance(route, APIRoute):
            taken.update((route.path, method) for method in route.methods or ())
    app.router.routes[:] = [
        route
        for route in app.router.routes
        if not (
            isinstance(route, APIRoute)
            and any((route.path, method) in taken for method in route.methods or ())
        )
    ]
    app.include_router(router)
    app.openapi_schema = None
