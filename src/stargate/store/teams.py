"""Teams and their members: the ``teams`` and ``team_members`` tables behind one repository.

A team's ``tier`` names the budget (:mod:`stargate.store.budgets`) whose policy it took; the
policy's limits are copied onto the team row, so enforcement reads the team alone. A member may
have a budget of its own inside the team (``max_budget_micro`` per ``budget_duration``).
Writes bump the ``teams`` version; ``conn`` joins the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.conflicts import raise_conflict
from stargate.store.database import Database
from stargate.store.limits import BudgetLimit, budget_limits_from_json, model_limits_from_json
from stargate.store.rows import record_row
from stargate.store.tables import team_members, teams
from stargate.store.updates import delete_by_key, update_by_key
from stargate.store.versions import bump_version, reading, writing

__all__ = ["MemberRecord", "TeamRecord", "TeamRepository"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TeamRecord:
    """One row of ``teams``. Money is integer micro-USD; times are aware UTC."""

    team_id: str
    team_alias: str | None = None
    models: tuple[str, ...] = ()
    max_budget_micro: int | None = None
    budget_duration: str | None = None
    budget_limits: tuple[BudgetLimit, ...] = ()
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None
    model_rpm_limit: Mapping[str, int] = field(default_factory=dict)
    model_tpm_limit: Mapping[str, int] = field(default_factory=dict)
    tier: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    blocked: bool = False
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """One row of ``team_members``: ``role`` is ``"admin"`` or ``"user"``."""

    team_id: str
    user_id: str
    role: str = "user"
    max_budget_micro: int | None = None
    budget_duration: str | None = None
    created_at: datetime = field(default_factory=_now)


_TEAM_FIELDS = frozenset(f.name for f in fields(TeamRecord))
_MEMBER_FIELDS = frozenset({"role", "max_budget_micro", "budget_duration"})
_PARAMS = {"pk_teams": "team_id"}


class TeamRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    # --- teams --------------------------------------------------------------------------

    async def insert(self, record: TeamRecord, *, conn: AsyncConnection | None = None) -> None:
        """Store a new team; a taken ``team_id`` or ``team_alias`` is an
        :class:`~stargate.errors.InvalidRequest` with ``code="duplicate"``."""
        async with writing(self._database, conn) as tx:
            try:
                await tx.execute(insert(teams).values(**record_row(record)))
            except IntegrityError as exc:
                raise_conflict(exc, _conflicts(record.team_id, record.team_alias), _PARAMS)
            await bump_version(tx, "teams")

    async def get(self, team_id: str, *, conn: AsyncConnection | None = None) -> TeamRecord | None:
        return await self._one(teams.c.team_id == team_id, conn)

    async def get_by_alias(
        self, team_alias: str, *, conn: AsyncConnection | None = None
    ) -> TeamRecord | None:
        return await self._one(teams.c.team_alias == team_alias, conn)

    async def update(
        self,
        team_id: str,
        changes: Mapping[str, Any],
        *,
        now: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> TeamRecord | None:
        """Set the given :class:`TeamRecord` fields; ``None`` if there is no such team."""

        def conflict(exc: IntegrityError) -> NoReturn:
            raise_conflict(exc, _conflicts(team_id, changes.get("team_alias")), _PARAMS)

        row = await update_by_key(
            self._database, teams, teams.c.team_id, team_id, changes, allowed=_TEAM_FIELDS,
            now=now or _now(), version="teams", conn=conn, on_conflict=conflict,
        )  # fmt: skip
        return None if row is None else _team(row)

    async def delete(self, team_id: str, *, conn: AsyncConnection | None = None) -> bool:
        """Remove a team (its memberships go with it); ``False`` if there was none."""
        return await delete_by_key(
            self._database, teams, teams.c.team_id, team_id, version="teams", conn=conn
        )

    # --- members ------------------------------------------------------------------------

    async def members(
        self,
        *,
        team_ids: Sequence[str] | None = None,
        user_id: str | None = None,
        conn: AsyncConnection | None = None,
    ) -> list[MemberRecord]:
        """Memberships of some teams, or of one user, in the order they were made."""
        conditions: list[Any] = []
        if team_ids is not None:
            conditions.append(team_members.c.team_id.in_(list(team_ids)))
        if user_id is not None:
            conditions.append(team_members.c.user_id == user_id)
        query = (
            select(team_members)
            .where(*conditions)
            .order_by(team_members.c.created_at, team_members.c.team_id, team_members.c.user_id)
        )
        async with reading(self._database, conn) as tx:
            rows = (await tx.execute(query)).mappings().all()
        return [_member(row) for row in rows]

    async def member(
        self, team_id: str, user_id: str, *, conn: AsyncConnection | None = None
    ) -> MemberRecord | None:
        async with reading(self._database, conn) as tx:
            row = (
                (
                    await tx.execute(
                        select(team_members).where(
                            team_members.c.team_id == team_id, team_members.c.user_id == user_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else _member(row)

    async def put_member(
        self, record: MemberRecord, *, conn: AsyncConnection | None = None
    ) -> MemberRecord:
        """Add a member, or replace an existing member's role and budget."""
        async with writing(self._database, conn) as tx:
            existing = await self.member(record.team_id, record.user_id, conn=tx)
            if existing is None:
                await tx.execute(insert(team_members).values(**record_row(record)))
                stored = record
            else:
                changes = {
                    "role": record.role,
                    "max_budget_micro": record.max_budget_micro,
                    "budget_duration": record.budget_duration,
                }
                await self._update_member(tx, record.team_id, record.user_id, changes)
                stored = MemberRecord(
                    record.team_id,
                    record.user_id,
                    role=record.role,
                    max_budget_micro=record.max_budget_micro,
                    budget_duration=record.budget_duration,
                    created_at=existing.created_at,
                )
            await bump_version(tx, "teams")
        return stored

    async def update_member(
        self,
        team_id: str,
        user_id: str,
        changes: Mapping[str, Any],
        *,
        conn: AsyncConnection | None = None,
    ) -> MemberRecord | None:
        """Change a member's ``role``, ``max_budget_micro`` or ``budget_duration``."""
        if set(changes) - _MEMBER_FIELDS:
            raise ValueError(f"cannot update member fields {sorted(set(changes) - _MEMBER_FIELDS)}")
        async with writing(self._database, conn) as tx:
            if not await self._update_member(tx, team_id, user_id, changes):
                return None
            await bump_version(tx, "teams")
            return await self.member(team_id, user_id, conn=tx)

    async def delete_member(
        self, team_id: str, user_id: str, *, conn: AsyncConnection | None = None
    ) -> bool:
        async with writing(self._database, conn) as tx:
            result = await tx.execute(
                delete(team_members).where(
                    team_members.c.team_id == team_id, team_members.c.user_id == user_id
                )
            )
            if result.rowcount:
                await bump_version(tx, "teams")
        return bool(result.rowcount)

    async def _update_member(
        self, tx: AsyncConnection, team_id: str, user_id: str, changes: Mapping[str, Any]
    ) -> bool:
        if not changes:
            return await self.member(team_id, user_id, conn=tx) is not None
        result = await tx.execute(
            update(team_members)
            .where(team_members.c.team_id == team_id, team_members.c.user_id == user_id)
            .values(**changes)
        )
        return bool(result.rowcount)

    async def list(
        self,
        *,
        team_ids: Sequence[str] | None = None,
        tier: str | None = None,
        conn: AsyncConnection | None = None,
    ) -> list[TeamRecord]:
        """Teams (all, or those listed, or those of a tier), oldest first."""
        conditions: list[Any] = []
        if team_ids is not None:
            conditions.append(teams.c.team_id.in_(list(team_ids)))
        if tier is not None:
            conditions.append(teams.c.tier == tier)
        query = select(teams).where(*conditions).order_by(teams.c.created_at, teams.c.team_id)
        async with reading(self._database, conn) as tx:
            rows = (await tx.execute(query)).mappings().all()
        return [_team(row) for row in rows]

    async def _one(self, condition: Any, conn: AsyncConnection | None) -> TeamRecord | None:
        async with reading(self._database, conn) as tx:
            row = (await tx.execute(select(teams).where(condition))).mappings().first()
        return None if row is None else _team(row)


def _conflicts(team_id: str, alias: str | None) -> dict[str, str]:
    return {
        "team_alias": f"a team with alias {alias!r}",
        "team_id": f"a team with team_id {team_id!r}",
        "pk_teams": f"a team with team_id {team_id!r}",
    }


def _team(row: RowMapping) -> TeamRecord:
    return TeamRecord(
        team_id=row["team_id"],
        team_alias=row["team_alias"],
        models=tuple(row["models"] or ()),
        max_budget_micro=row["max_budget_micro"],
        budget_duration=row["budget_duration"],
        budget_limits=budget_limits_from_json(row["budget_limits"]),
        rpm_limit=row["rpm_limit"],
        tpm_limit=row["tpm_limit"],
        max_parallel_requests=row["max_parallel_requests"],
        model_rpm_limit=model_limits_from_json(row["model_rpm_limit"]),
        model_tpm_limit=model_limits_from_json(row["model_tpm_limit"]),
        tier=row["tier"],
        metadata=dict(row["metadata"] or {}),
        blocked=bool(row["blocked"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _member(row: RowMapping) -> MemberRecord:
    return MemberRecord(
        team_id=row["team_id"],
        user_id=row["user_id"],
        role=row["role"],
        max_budget_micro=row["max_budget_micro"],
        budget_duration=row["budget_duration"],
        created_at=row["created_at"],
    )
