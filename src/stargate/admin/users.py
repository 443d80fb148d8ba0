"""Internal users: ``/user/new|update|delete|info|list``.

``/user/new`` makes a key for the user unless ``auto_create_key`` is false (LiteLLM's default);
that key has no limits of its own: the user's apply to it. Deleting a user deletes its keys and
memberships.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from stargate.admin.context import AdminContext, new_id, policy_changes
from stargate.admin.fields import micro
from stargate.admin.keys import KeyAdmin
from stargate.admin.render import render_member, render_team, render_user
from stargate.admin.requests import (
    DeleteUsersRequest,
    NewUserRequest,
    TeamJoin,
    UpdateUserRequest,
    UserListQuery,
)
from stargate.admin.spend import add_spend, member_scope, user_scope
from stargate.errors import InvalidRequest
from stargate.governance.durations import expires_after
from stargate.governance.keys import generate_key
from stargate.store.keys import KeyRecord
from stargate.store.teams import MemberRecord
from stargate.store.users import UserRecord

__all__ = ["UserAdmin"]


class UserAdmin:
    def __init__(self, context: AdminContext, keys: KeyAdmin) -> None:
        self._ctx = context
        self._keys = keys

    async def new(self, request: NewUserRequest) -> dict[str, Any]:
        now = self._ctx.now()
        fields = policy_changes(request)
        for name in ("user_email", "user_alias", "user_role", "blocked"):
            value = getattr(request, name)
            if value is not None:
                fields[name] = value
        user = UserRecord(
            user_id=request.user_id or new_id(), created_at=now, updated_at=now, **fields
        )
        secret: str | None = None
        key: KeyRecord | None = None
        async with self._ctx.database.write() as conn:
            await self._ctx.users.insert(user, conn=conn)
            for position, join in enumerate(request.teams or ()):
                if isinstance(join, str):
                    join = TeamJoin(team_id=join)
                team = await self._ctx.find_team(join.team_id, conn=conn, param=f"teams.{position}")
                member = MemberRecord(
                    team.team_id,
                    user.user_id,
                    role=join.user_role,
                    max_budget_micro=micro(join.max_budget_in_team),
                    created_at=now,
                )
                await self._ctx.teams.put_member(member, conn=conn)
            if request.auto_create_key:
                secret = generate_key()
                key = KeyRecord.new(
                    secret,
                    user_id=user.user_id,
                    key_alias=request.key_alias,
                    expires_at=expires_after(request.duration, now) if request.duration else None,
                    created_at=now,
                    updated_at=now,
                )
                await self._ctx.keys.insert(key, conn=conn)
        shown = await self.shown(user)
        if key is not None and secret is not None:
            shown.update(
                key=secret,
                key_name=key.key_prefix,
                key_alias=key.key_alias,
                token=key.key_hash,
                expires=key.expires_at.isoformat() if key.expires_at else None,
            )
        return shown

    async def update(self, request: UpdateUserRequest) -> dict[str, Any]:
        """By ``user_id`` (``user_email`` then is a new email), else by ``user_email``."""
        async with self._ctx.database.write() as conn:
            user = await self._ctx.find_user(request.user_id, request.user_email, conn=conn)
            changes = policy_changes(request)
            for name in ("user_alias", "user_role", "blocked"):
                value = getattr(request, name)
                if value is not None:
                    changes[name] = value
            if request.user_id is not None and request.user_email is not None:
                changes["user_email"] = request.user_email
            updated = await self._ctx.users.update(
                user.user_id, changes, now=self._ctx.now(), conn=conn
            )
        assert updated is not None  # found in this transaction
        return await self.shown(updated)

    async def delete(self, request: DeleteUsersRequest) -> dict[str, Any]:
        """Delete every user named with its keys and memberships, or nothing (404)."""
        async with self._ctx.database.write() as conn:
            users = [await self._ctx.find_user(user_id, conn=conn) for user_id in request.user_ids]
            deleted_keys = 0
            for user in users:
                deleted_keys += await self._ctx.keys.delete_owned(user_id=user.user_id, conn=conn)
                await self._ctx.users.delete(user.user_id, conn=conn)
        return {"deleted_users": [u.user_id for u in users], "deleted_keys": deleted_keys}

    async def info(self, user_ids: Sequence[str]) -> dict[str, Any]:
        """One user: ``{"user_id", "user_info", "keys", "teams"}``; several: ``{"users": [...]}``
        of that shape. An id may also be the user's email."""
        if not user_ids:
            raise InvalidRequest("give user_id (or user_ids)", param="user_id")
        infos = [await self._info(user_id) for user_id in dict.fromkeys(user_ids)]
        return infos[0] if len(infos) == 1 else {"users": infos}

    async def list(self, query: UserListQuery) -> dict[str, Any]:
        ids = (
            [i.strip() for i in query.user_ids.split(",") if i.strip()] if query.user_ids else None
        )
        page = await self._ctx.users.list(
            offset=(query.page - 1) * query.page_size,
            limit=query.page_size,
            role=query.role,
            user_ids=ids,
            user_email=query.user_email,
        )
        counts = await self._ctx.keys.count_by_user([u.user_id for u in page.users])
        users = []
        for user in page.users:
            shown = await self.shown(user)
            shown["key_count"] = counts.get(user.user_id, 0)
            users.append(shown)
        return {
            "users": users,
            "total": page.total,
            "page": query.page,
            "page_size": query.page_size,
            "total_pages": math.ceil(page.total / query.page_size),
        }

    async def shown(self, user: UserRecord) -> dict[str, Any]:
        memberships = await self._ctx.teams.members(user_id=user.user_id)
        return await add_spend(
            render_user(user, [m.team_id for m in memberships]),
            self._ctx.spend,
            user_scope(user.user_id),
            user.max_budget_micro,
            user.budget_duration,
            user.budget_limits,
        )

    async def _info(self, user_id: str) -> dict[str, Any]:
        user = await self._ctx.find_user(user_id)
        keys = await self._ctx.keys.list(user_id=user.user_id)
        memberships = await self._ctx.teams.members(user_id=user.user_id)
        teams = await self._ctx.teams.list(team_ids=[m.team_id for m in memberships])
        by_team = {m.team_id: m for m in memberships}
        shown_teams = []
        for team in teams:
            member = by_team[team.team_id]
            shown = render_team(team)
            shown["membership"] = await add_spend(
                render_member(member, user),
                self._ctx.spend,
                member_scope(team.team_id, user.user_id),
                member.max_budget_micro,
                member.budget_duration,
            )
            shown_teams.append(shown)
        return {
            "user_id": user.user_id,
            "user_info": await self.shown(user),
            "keys": [await self._keys.shown(key) for key in keys.keys],
            "teams": shown_teams,
        }
