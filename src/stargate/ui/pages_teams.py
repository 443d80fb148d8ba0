"""Teams: list, create, edit limits, members and their budgets, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    DeleteTeamsRequest,
    MemberAddRequest,
    MemberDeleteRequest,
    MemberUpdateRequest,
    NewTeamRequest,
    UpdateTeamRequest,
)
from stargate.errors import StargateError
from stargate.ui.context import Ui
from stargate.ui.forms import form_fields, limits_of
from stargate.ui.pages_keys import confirm_page
from stargate.ui.render import html
from stargate.ui.sessions import SignedIn

__all__ = ["team_routes"]


def _team_fields(fields: dict[str, str]) -> dict[str, Any]:
    data = limits_of(fields)
    for name in ("team_id", "team_alias", "tier"):
        if name in fields:
            data[name] = fields[name]
    return data


def _member_of(fields: dict[str, str]) -> dict[str, str]:
    who = fields.get("member", "")
    return {"user_email": who} if "@" in who else {"user_id": who}


def team_routes(router: APIRouter, ui: Ui) -> None:
    async def listing(
        request: Request, session: SignedIn, error: str | None = None, status: int = 200
    ) -> Response:
        context = ui.base(
            session,
            teams=await ui.service.teams.list(),
            tiers=await ui.service.context.budgets.list(),
            error=error,
        )
        return html(request, "teams.html", context, status_code=status)

    @router.get("/teams")
    async def teams(request: Request, session: SignedIn = Depends(ui.guard.page)) -> Response:
        return await listing(request, session)

    @router.post("/teams/new")
    async def team_new(request: Request, session: SignedIn = Depends(ui.guard.action)) -> Response:
        fields = await form_fields(request)
        try:
            made = await ui.service.teams.new(parse_body(NewTeamRequest, _team_fields(fields)))
        except StargateError as err:
            return await listing(request, session, err.message, err.status)
        return RedirectResponse(f"/ui/teams/{made['team_id']}?done=team-created", status_code=303)

    async def detail(
        request: Request, session: SignedIn, team_id: str, error: str | None = None,
        status: int = 200,
    ) -> Response:  # fmt: skip
        try:
            info = await ui.service.teams.info(team_id)
        except StargateError as err:
            return html(
                request, "error.html", ui.base(session, message=err.message), status_code=err.status
            )
        context = ui.base(
            session, info=info, tiers=await ui.service.context.budgets.list(), error=error
        )
        return html(request, "team.html", context, status_code=status)

    @router.get("/teams/{team_id}")
    async def team_page(
        team_id: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return await detail(request, session, team_id)

    @router.post("/teams/{team_id}/edit")
    async def team_edit(
        team_id: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        fields = await form_fields(request)
        try:
            body = parse_body(UpdateTeamRequest, {**_team_fields(fields), "team_id": team_id})
            await ui.service.teams.update(body)
        except StargateError as err:
            return await detail(request, session, team_id, err.message, err.status)
        return RedirectResponse(f"/ui/teams/{team_id}?done=team-updated", status_code=303)

    @router.post("/teams/{team_id}/members")
    async def member_add(
        team_id: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        fields = await form_fields(request)
        data: dict[str, Any] = {
            "team_id": team_id,
            "member": {**_member_of(fields), "role": fields.get("role", "user")},
        }
        for name in ("max_budget_in_team", "budget_duration"):
            if name in fields:
                data[name] = fields[name]
        try:
            await ui.service.teams.member_add(parse_body(MemberAddRequest, data))
        except StargateError as err:
            return await detail(request, session, team_id, err.message, err.status)
        return RedirectResponse(f"/ui/teams/{team_id}?done=member-added", status_code=303)

    @router.post("/teams/{team_id}/members/update")
    async def member_update(
        team_id: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        fields = await form_fields(request)
        data: dict[str, Any] = {"team_id": team_id, **_member_of(fields)}
        for name in ("max_budget_in_team", "budget_duration", "role"):
            if name in fields:
                data[name] = fields[name]
        try:
            await ui.service.teams.member_update(parse_body(MemberUpdateRequest, data))
        except StargateError as err:
            return await detail(request, session, team_id, err.message, err.status)
        return RedirectResponse(f"/ui/teams/{team_id}?done=member-updated", status_code=303)

    @router.post("/teams/{team_id}/members/remove")
    async def member_remove(
        team_id: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        fields = await form_fields(request)
        try:
            body = parse_body(MemberDeleteRequest, {"team_id": team_id, **_member_of(fields)})
            await ui.service.teams.member_delete(body)
        except StargateError as err:
            return await detail(request, session, team_id, err.message, err.status)
        return RedirectResponse(f"/ui/teams/{team_id}?done=member-removed", status_code=303)

    @router.get("/teams/{team_id}/delete")
    async def team_delete_confirm(
        team_id: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return confirm_page(
            request, ui, session,
            title="Delete this team?",
            message="The team, its memberships and every key that belongs to the team are "
            "deleted; requests with those keys are refused from now on. The members stay as "
            "users. Past spend stays in the spend logs.",
            action=f"/ui/teams/{team_id}/delete",
            button="Delete the team and its keys",
            back=f"/ui/teams/{team_id}",
        )  # fmt: skip

    @router.post("/teams/{team_id}/delete")
    async def team_delete(
        team_id: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        try:
            await ui.service.teams.delete(DeleteTeamsRequest(team_ids=[team_id]))
        except StargateError as err:
            return await detail(request, session, team_id, err.message, err.status)
        return RedirectResponse("/ui/teams?done=team-deleted", status_code=303)
