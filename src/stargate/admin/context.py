"""What every admin operation shares: the repositories, the clock, the spend reader, and the
lookups that turn what a caller wrote (a key or its hash, a user id or email, a team id or
alias) into a record, or a 404 that says what was not found."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.admin.fields import is_key_hash, key_hash_of, micro
from stargate.admin.requests import PolicyFields
from stargate.admin.spend import SpendReader
from stargate.errors import InvalidRequest, NotFound
from stargate.governance.keys import key_hint
from stargate.store.budgets import BudgetRepository
from stargate.store.database import Database
from stargate.store.keys import KeyRecord, KeyRepository
from stargate.store.limits import BudgetLimit
from stargate.store.models import ModelRepository
from stargate.store.teams import TeamRecord, TeamRepository
from stargate.store.users import UserRecord, UserRepository

__all__ = ["AdminContext", "new_id", "policy_changes", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def _shown(identifier: str) -> str:
    """How a key named in a request may appear in a message: a hash as it is, a key by its
    hint only."""
    return identifier if is_key_hash(identifier) else key_hint(identifier)


def policy_changes(request: PolicyFields) -> dict[str, Any]:
    """The record fields a request sets (``None`` means "not given")."""
    changes: dict[str, Any] = {}
    if request.models is not None:
        changes["models"] = tuple(dict.fromkeys(request.models))
    if request.max_budget is not None:
        changes["max_budget_micro"] = micro(request.max_budget)
    if request.budget_duration is not None:
        changes["budget_duration"] = request.budget_duration
    if request.budget_limits is not None:
        changes["budget_limits"] = tuple(
            BudgetLimit(micro(limit.max_budget) or 0, limit.budget_duration)
            for limit in request.budget_limits
        )
    for name in ("rpm_limit", "tpm_limit", "max_parallel_requests", "metadata"):
        value = getattr(request, name)
        if value is not None:
            changes[name] = value
    return changes


@dataclass(slots=True)
class AdminContext:
    database: Database
    clock: Callable[[], datetime] = utc_now
    spend: SpendReader | None = None
    keys: KeyRepository = field(init=False)
    users: UserRepository = field(init=False)
    teams: TeamRepository = field(init=False)
    budgets: BudgetRepository = field(init=False)
    models: ModelRepository = field(init=False)

    def __post_init__(self) -> None:
        self.keys = KeyRepository(self.database)
        self.users = UserRepository(self.database)
        self.teams = TeamRepository(self.database)
        self.budgets = BudgetRepository(self.database)
        self.models = ModelRepository(self.database)

    def now(self) -> datetime:
        return self.clock()

    async def find_key(
        self, identifier: str, *, conn: AsyncConnection | None = None, param: str = "key"
    ) -> KeyRecord:
        key = await self.keys.get_by_hash(key_hash_of(identifier), conn=conn)
        if key is None:
            raise NotFound(f"Key not found: {_shown(identifier)}", param=param)
        return key

    async def find_user(
        self,
        user_id: str | None = None,
        user_email: str | None = None,
        *,
        conn: AsyncConnection | None = None,
    ) -> UserRecord:
        """By ``user_id`` (which may also be an email, as seed 003 writes it), else by
        ``user_email``."""
        user = await self.lookup_user(user_id, user_email, conn=conn)
        if user is None:
            param = "user_id" if user_id is not None else "user_email"
            raise NotFound(f"User not found: {user_id or user_email}", param=param)
        return user

    async def lookup_user(
        self,
        user_id: str | None = None,
        user_email: str | None = None,
        *,
        conn: AsyncConnection | None = None,
    ) -> UserRecord | None:
        if user_id is not None:
            user = await self.users.get(user_id, conn=conn)
            if user is None and "@" in user_id:
                user = await self.users.get_by_email(user_id, conn=conn)
            return user
        if user_email is not None:
            return await self.users.get_by_email(user_email, conn=conn)
        raise InvalidRequest("give user_id or user_email", param="user_id")

    async def ensure_user(
        self,
        user_id: str | None = None,
        user_email: str | None = None,
        *,
        conn: AsyncConnection,
    ) -> UserRecord:
        """The user named, made (as an ``internal_user`` without limits) when there is none,
        as LiteLLM does for keys and team members of unknown users."""
        user = await self.lookup_user(user_id, user_email, conn=conn)
        if user is not None:
            return user
        now = self.now()
        user = UserRecord(
            user_id=user_id or new_id(), user_email=user_email, created_at=now, updated_at=now
        )
        await self.users.insert(user, conn=conn)
        return user

    async def find_team(
        self, team: str, *, conn: AsyncConnection | None = None, param: str = "team_id"
    ) -> TeamRecord:
        """By ``team_id``, else by ``team_alias`` (seed 003 generates keys with
        ``"team_id": "drafting"``, the alias its ``/team/new`` gave)."""
        found = await self.teams.get(team, conn=conn) or await self.teams.get_by_alias(
            team, conn=conn
        )
        if found is None:
            raise NotFound(f"Team not found: {team}", param=param)
        return found
