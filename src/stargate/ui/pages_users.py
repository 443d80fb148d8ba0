"""Internal users: list, create, edit limits, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    USER_ROLES,
    DeleteUsersRequest,
    NewUserRequest,
    UpdateUserRequest,
    UserListQuery,
)
from stargate.errors import StargateError
from stargate.ui.context import Ui
from stargate.ui.forms import form_fields, limits_of
from stargate.ui.pages_keys import confirm_page
from stargate.ui.render import html
from stargate.ui.sessions import SignedIn

__all__ = ["user_routes"]

PAGE_SIZE = 50


def _user_fields(fields: dict[str, str]) -> dict[str, Any]:
    data = limits_of(fields)
    for name in ("user_id", "user_email", "user_alias", "user_role"):
        if name in fields:
            data[name] = fields[name]
    return data


def user_routes(router: APIRouter, ui: Ui) -> None:
    async def listing(
        request: Request, session: SignedIn, error: str | None = None, status: int = 200,
        made: dict[str, Any] | None = None,
    ) -> Response:  # fmt: skip
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            page = 1
        email = request.query_params.get("user_email", "").strip() or None
        found = await ui.service.users.list(
            UserListQuery(page=page, page_size=PAGE_SIZE, user_email=email)
        )
        context = ui.base(
            session,
            users=found["users"],
            total=found["total"],
            page=page,
            pages=max(1, found["total_pages"]),
            user_email=email or "",
            roles=USER_ROLES,
            teams=await ui.service.context.teams.list(),
            error=error,
            made=made,
        )
        return html(request, "users.html", context, status_code=status)

    @router.get("/users")
    async def users(request: Request, session: SignedIn = Depends(ui.guard.page)) -> Response:
        return await listing(request, session)

    @router.post("/users/new")
    async def user_new(request: Request, session: SignedIn = Depends(ui.guard.action)) -> Response:
        fields = await form_fields(request)
        data = _user_fields(fields)
        data["auto_create_key"] = fields.get("auto_create_key") == "on"
        if "team_id" in fields:
            data["teams"] = [fields["team_id"]]
        try:
            made = await ui.service.users.new(parse_body(NewUserRequest, data))
        except StargateError as err:
            return await listing(request, session, err.message, err.status)
        if made.get("key"):
            return html(request, "key_created.html", ui.base(session, made=made))
        return RedirectResponse("/ui/users?done=user-created", status_code=303)

    async def detail(
        request: Request, session: SignedIn, user_id: str, error: str | None = None,
        status: int = 200,
    ) -> Response:  # fmt: skip
        try:
            info = await ui.service.users.info([user_id])
        except StargateError as err:
            return html(
                request, "error.html", ui.base(session, message=err.message), status_code=err.status
            )
        context = ui.base(session, info=info, roles=USER_ROLES, error=error)
        return html(request, "user.html", context, status_code=status)

    @router.get("/users/{user_id}")
    async def user_page(
        user_id: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return await detail(request, session, user_id)

    @router.post("/users/{user_id}/edit")
    async def user_edit(
        user_id: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        fields = await form_fields(request)
        try:
            body = parse_body(UpdateUserRequest, {**_user_fields(fields), "user_id": user_id})
            await ui.service.users.update(body)
        except StargateError as err:
            return await detail(request, session, user_id, err.message, err.status)
        return RedirectResponse(f"/ui/users/{user_id}?done=user-updated", status_code=303)

    @router.get("/users/{user_id}/delete")
    async def user_delete_confirm(
        user_id: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return confirm_page(
            request, ui, session,
            title=f"Delete the user {user_id}?",
            message="The user, all of their keys and their team memberships are deleted; "
            "requests with those keys are refused from now on. Their past spend stays in the "
            "spend logs.",
            action=f"/ui/users/{user_id}/delete",
            button="Delete the user and their keys",
            back=f"/ui/users/{user_id}",
        )  # fmt: skip

    @router.post("/users/{user_id}/delete")
    async def user_delete(
        user_id: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        try:
            await ui.service.users.delete(DeleteUsersRequest(user_ids=[user_id]))
        except StargateError as err:
            return await detail(request, session, user_id, err.message, err.status)
        return RedirectResponse("/ui/users?done=user-deleted", status_code=303)
