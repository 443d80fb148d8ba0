"""Teams: ``/team/new|update|delete|info|list|member_add|member_delete|member_update``.

A member may have a budget of its own inside the team (``max_budget_in_team``) that resets with
its ``budget_duration`` (LiteLLM's member budgets never reset). Unknown members named by
``user_id`` or ``user_email`` become users, as in LiteLLM. Deleting a team deletes its keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.admin.budgets import tier_policy
from stargate.admin.context import AdminContext, new_id, policy_changes
from stargate.admin.fields import micro
from stargate.admin.keys import KeyAdmin
from stargate.admin.render import render_member, render_team, render_user
from stargate.admin.requests import (
    DeleteTeamsRequest,
    MemberAddRequest,
    MemberDeleteRequest,
    MemberIn,
    MemberUpdateRequest,
    NewTeamRequest,
    UpdateTeamRequest,
)
from stargate.admin.spend import add_spend, member_scope, team_scope
from stargate.errors import NotFound
from stargate.store.teams import MemberRecord, TeamRecord
from stargate.store.users import UserRecord

__all__ = ["TeamAdmin"]


class TeamAdmin:
    def __init__(self, context: AdminContext, keys: KeyAdmin) -> None:
        self._ctx = context
        self._keys = keys

    async def new(self, request: NewTeamRequest) -> dict[str, Any]:
        now = self._ctx.now()
        async with self._ctx.database.write() as conn:
            fields = await self._changes(request, conn)
            team = TeamRecord(
                team_id=request.team_id or new_id(), created_at=now, updated_at=now, **fields
            )
            await self._ctx.teams.insert(team, conn=conn)
            for member in request.members_with_roles or ():
                await self._put_member(team.team_id, member, None, None, conn)
        return await self.shown(team)

    async def update(self, request: UpdateTeamRequest) -> dict[str, Any]:
        async with self._ctx.database.write() as conn:
            team = await self._ctx.find_team(request.team_id, conn=conn)
            changes = await self._changes(request, conn)
            updated = await self._ctx.teams.update(
                team.team_id, changes, now=self._ctx.now(), conn=conn
            )
        assert updated is not None  # found in this transaction
        return await self.shown(updated)

    async def delete(self, request: DeleteTeamsRequest) -> dict[str, Any]:
        """Delete every team named with its keys and memberships, or nothing (404)."""
        async with self._ctx.database.write() as conn:
            teams = [await self._ctx.find_team(team_id, conn=conn) for team_id in request.team_ids]
            deleted_keys = 0
            for team in teams:
                deleted_keys += await self._ctx.keys.delete_owned(team_id=team.team_id, conn=conn)
                await self._ctx.teams.delete(team.team_id, conn=conn)
        return {"deleted_teams": [t.team_id for t in teams], "deleted_keys": deleted_keys}

    async def info(self, team_id: str) -> dict[str, Any]:
        team = await self._ctx.find_team(team_id)
        members = await self._ctx.teams.members(team_ids=[team.team_id])
        users = await self._ctx.users.get_many([m.user_id for m in members])
        keys = await self._ctx.keys.list(team_id=team.team_id)
        return {
            "team_id": team.team_id,
            "team_info": await self.shown(team, members, users),
            "keys": [await self._keys.shown(key) for key in keys.keys],
            "team_memberships": [await self._member_shown(m, users) for m in members],
        }

    async def list(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Every team (or the teams of one user), each with its members and keys."""
        if user_id is None:
            teams = await self._ctx.teams.list()
        else:
            user = await self._ctx.find_user(user_id)
            memberships = await self._ctx.teams.members(user_id=user.user_id)
            teams = await self._ctx.teams.list(team_ids=[m.team_id for m in memberships])
        members = await self._ctx.teams.members(team_ids=[t.team_id for t in teams])
        users = await self._ctx.users.get_many(list({m.user_id for m in members}))
        shown = []
        for team in teams:
            own = [m for m in members if m.team_id == team.team_id]
            keys = await self._ctx.keys.list(team_id=team.team_id)
            entry = await self.shown(team, own, users)
            entry["team_memberships"] = [await self._member_shown(m, users) for m in own]
            entry["keys"] = [await self._keys.shown(key) for key in keys.keys]
            shown.append(entry)
        return shown

    async def member_add(self, request: MemberAddRequest) -> dict[str, Any]:
        """Add members (or change the role and budget of existing ones)."""
        given = request.member if isinstance(request.member, list) else [request.member]
        budget = micro(request.max_budget_in_team)
        async with self._ctx.database.write() as conn:
            team = await self._ctx.find_team(request.team_id, conn=conn)
            added = [
                await self._put_member(team.team_id, m, budget, request.budget_duration, conn)
                for m in given
            ]
        users = {user.user_id: user for _, user in added}
        shown = await self.shown(team)
        shown["updated_users"] = [render_user(user) for user in users.values()]
        shown["updated_team_memberships"] = [
            await self._member_shown(member, users) for member, _ in added
        ]
        return shown

    async def member_delete(self, request: MemberDeleteRequest) -> dict[str, Any]:
        async with self._ctx.database.write() as conn:
            team = await self._ctx.find_team(request.team_id, conn=conn)
            user = await self._ctx.find_user(request.user_id, request.user_email, conn=conn)
            if not await self._ctx.teams.delete_member(team.team_id, user.user_id, conn=conn):
                raise _not_member(team, user)
        return await self.shown(team)

    async def member_update(self, request: MemberUpdateRequest) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if request.role is not None:
            changes["role"] = request.role
        if request.max_budget_in_team is not None:
            changes["max_budget_micro"] = micro(request.max_budget_in_team)
        if request.budget_duration is not None:
            changes["budget_duration"] = request.budget_duration
        async with self._ctx.database.write() as conn:
            team = await self._ctx.find_team(request.team_id, conn=conn)
            user = await self._ctx.find_user(request.user_id, request.user_email, conn=conn)
            member = await self._ctx.teams.update_member(
                team.team_id, user.user_id, changes, conn=conn
            )
            if member is None:
                raise _not_member(team, user)
        return await self._member_shown(member, {user.user_id: user})

    async def shown(
        self,
        team: TeamRecord,
        members: Sequence[MemberRecord] | None = None,
        users: dict[str, UserRecord] | None = None,
    ) -> dict[str, Any]:
        if members is None:
            members = await self._ctx.teams.members(team_ids=[team.team_id])
            users = await self._ctx.users.get_many([m.user_id for m in members])
        return await add_spend(
            render_team(team, members, users),
            self._ctx.spend,
            team_scope(team.team_id),
            team.max_budget_micro,
            team.budget_duration,
            team.budget_limits,
        )

    async def _member_shown(
        self, member: MemberRecord, users: dict[str, UserRecord]
    ) -> dict[str, Any]:
        return await add_spend(
            render_member(member, users.get(member.user_id)),
            self._ctx.spend,
            member_scope(member.team_id, member.user_id),
            member.max_budget_micro,
            member.budget_duration,
        )

    async def _put_member(
        self,
        team_id: str,
        given: MemberIn,
        max_budget_micro: int | None,
        budget_duration: str | None,
        conn: AsyncConnection,
    ) -> tuple[MemberRecord, UserRecord]:
        user = await self._ctx.ensure_user(given.user_id, given.user_email, conn=conn)
        member = MemberRecord(
            team_id,
            user.user_id,
            role=given.role,
            max_budget_micro=max_budget_micro,
            budget_duration=budget_duration,
            created_at=self._ctx.now(),
        )
        return await self._ctx.teams.put_member(member, conn=conn), user

    async def _changes(
        self, request: NewTeamRequest | UpdateTeamRequest, conn: AsyncConnection
    ) -> dict[str, Any]:
        """The team fields a request sets. A ``tier`` brings its budget's policy; fields the
        request gives itself win over the tier's."""
        changes = policy_changes(request)
        for name in ("team_alias", "model_rpm_limit", "model_tpm_limit", "blocked"):
            value = getattr(request, name)
            if value is not None:
                changes[name] = value
        if request.tier is not None:
            budget = await self._ctx.budgets.get(request.tier, conn=conn)
            if budget is None:
                raise NotFound(f"Budget (tier) not found: {request.tier}", param="tier")
            changes = {**tier_policy(budget), **changes, "tier": budget.budget_id}
        return changes


def _not_member(team: TeamRecord, user: UserRecord) -> NotFound:
    return NotFound(
        f"User {user.user_id} is not a member of team {team.team_alias or team.team_id}",
        param="user_id",
    )
