"""Internal users: the ``users`` table behind a small repository.

A user owns keys and belongs to teams; its budget windows and limits apply to every key it
owns. Writes bump the ``users`` version; ``conn`` joins the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlalchemy import func, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.conflicts import raise_conflict
from stargate.store.database import Database
from stargate.store.limits import BudgetLimit, budget_limits_from_json
from stargate.store.rows import record_row
from stargate.store.tables import users
from stargate.store.updates import delete_by_key, update_by_key
from stargate.store.versions import bump_version, reading, writing

__all__ = ["UserPage", "UserRecord", "UserRepository"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One row of ``users``. Money is integer micro-USD; times are aware UTC."""

    user_id: str
    user_email: str | None = None
    user_alias: str | None = None
    user_role: str = "internal_user"
    models: tuple[str, ...] = ()
    max_budget_micro: int | None = None
    budget_duration: str | None = None
    budget_limits: tuple[BudgetLimit, ...] = ()
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    blocked: bool = False
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


_FIELDS = frozenset(f.name for f in fields(UserRecord))
_PARAMS = {"pk_users": "user_id"}


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[UserRecord]
    total: int


class UserRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def insert(self, record: UserRecord, *, conn: AsyncConnection | None = None) -> None:
        """Store a new user; a taken ``user_id`` or ``user_email`` is an
        :class:`~stargate.errors.InvalidRequest` with ``code="duplicate"``."""
        async with writing(self._database, conn) as tx:
            try:
                await tx.execute(insert(users).values(**record_row(record)))
            except IntegrityError as exc:
                raise_conflict(exc, _conflicts(record.user_id, record.user_email), _PARAMS)
            await bump_version(tx, "users")

    async def get(self, user_id: str, *, conn: AsyncConnection | None = None) -> UserRecord | None:
        return await self._one(users.c.user_id == user_id, conn)

    async def get_by_email(
        self, user_email: str, *, conn: AsyncConnection | None = None
    ) -> UserRecord | None:
        return await self._one(users.c.user_email == user_email, conn)

    async def get_many(
        self, user_ids: Sequence[str], *, conn: AsyncConnection | None = None
    ) -> dict[str, UserRecord]:
        if not user_ids:
            return {}
        async with reading(self._database, conn) as tx:
            rows = (
                (await tx.execute(select(users).where(users.c.user_id.in_(list(user_ids)))))
                .mappings()
                .all()
            )
        return {row["user_id"]: _from_row(row) for row in rows}

    async def list(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        role: str | None = None,
        user_ids: Sequence[str] | None = None,
        user_email: str | None = None,
    ) -> UserPage:
        """Users matching the filters, oldest first, with the total count."""
        conditions: list[Any] = []
        if role is not None:
            conditions.append(users.c.user_role == role)
        if user_ids is not None:
            conditions.append(users.c.user_id.in_(list(user_ids)))
        if user_email is not None:
            conditions.append(users.c.user_email == user_email)
        query = (
            select(users)
            .where(*conditions)
            .order_by(users.c.created_at, users.c.user_id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        async with self._database.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
            total = await conn.scalar(select(func.count()).select_from(users).where(*conditions))
        return UserPage([_from_row(row) for row in rows], int(total or 0))

    async def update(
        self,
        user_id: str,
        changes: Mapping[str, Any],
        *,
        now: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> UserRecord | None:
        """Set the given :class:`UserRecord` fields; ``None`` if there is no such user."""

        def conflict(exc: IntegrityError) -> NoReturn:
            raise_conflict(exc, _conflicts(user_id, changes.get("user_email")), _PARAMS)

        row = await update_by_key(
            self._database, users, users.c.user_id, user_id, changes, allowed=_FIELDS,
            now=now or _now(), version="users", conn=conn, on_conflict=conflict,
        )  # fmt: skip
        return None if row is None else _from_row(row)

    async def delete(self, user_id: str, *, conn: AsyncConnection | None = None) -> bool:
        """Remove a user (its team memberships go with it); ``False`` if there was none."""
        return await delete_by_key(
            self._database, users, users.c.user_id, user_id, version="users", conn=conn
        )

    async def _one(self, condition: Any, conn: AsyncConnection | None) -> UserRecord | None:
        async with reading(self._database, conn) as tx:
            row = (await tx.execute(select(users).where(condition))).mappings().first()
        return None if row is None else _from_row(row)


def _conflicts(user_id: str, email: str | None) -> dict[str, str]:
    return {
        "user_email": f"a user with email {email!r}",
        "user_id": f"a user with user_id {user_id!r}",
        "pk_users": f"a user with user_id {user_id!r}",
    }


def _from_row(row: RowMapping) -> UserRecord:
    return UserRecord(
        user_id=row["user_id"],
        user_email=row["user_email"],
        user_alias=row["user_alias"],
        user_role=row["user_role"],
        models=tuple(row["models"] or ()),
        max_budget_micro=row["max_budget_micro"],
        budget_duration=row["budget_duration"],
        budget_limits=budget_limits_from_json(row["budget_limits"]),
        rpm_limit=row["rpm_limit"],
        tpm_limit=row["tpm_limit"],
        max_parallel_requests=row["max_parallel_requests"],
        metadata=dict(row["metadata"] or {}),
        blocked=bool(row["blocked"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
