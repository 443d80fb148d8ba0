"""Virtual keys in the database: the ``api_keys`` table behind a small repository.

Only hashes are stored (:func:`stargate.governance.keys.hash_key`); :meth:`KeyRecord.new` builds
a record from a freshly generated key. Writes go through :meth:`Database.write` (``BEGIN
IMMEDIATE`` on SQLite), or through the caller's transaction when a method is given ``conn``;
every write bumps the ``keys`` version (:mod:`stargate.store.versions`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.governance.keys import hash_key, key_hint
from stargate.store.conflicts import raise_conflict
from stargate.store.database import Database
from stargate.store.limits import BudgetLimit, budget_limits_from_json, model_limits_from_json
from stargate.store.rows import column_value, record_row
from stargate.store.tables import api_keys
from stargate.store.versions import bump_version, reading, writing

__all__ = ["KeyPage", "KeyRecord", "KeyRepository", "KeySort"]

_HASH = re.compile(r"[0-9a-f]{64}")
_PARAMS = {"key_hash": "key", "pk_api_keys": "key"}
KeySort = Literal["created_at", "updated_at", "key_alias", "expires_at"]


def _now() -> datetime:
    return datetime.now(UTC)


def _new_key_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One row of ``api_keys``. Money is integer micro-USD; times are aware UTC."""

    key_hash: str
    key_prefix: str  # display hint, e.g. "sk-...abcd"
    key_alias: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    models: tuple[str, ...] = ()
    max_budget_micro: int | None = None
    budget_duration: str | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_parallel_requests: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    blocked: bool = False
    expires_at: datetime | None = None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    # Stays the same when the key is regenerated (key_hash changes).
    key_id: str = field(default_factory=_new_key_id)
    budget_limits: tuple[BudgetLimit, ...] = ()
    model_rpm_limit: Mapping[str, int] = field(default_factory=dict)
    model_tpm_limit: Mapping[str, int] = field(default_factory=dict)
    soft_budget_micro: int | None = None

    @classmethod
    def new(cls, key: str, **fields: Any) -> KeyRecord:
        """A record for ``key`` (hashed here; the key itself is not kept)."""
        return cls(key_hash=hash_key(key), key_prefix=key_hint(key), **fields)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


_FIELDS = frozenset(f.name for f in fields(KeyRecord))


@dataclass(frozen=True, slots=True)
class KeyPage:
    keys: list[KeyRecord]
    total: int


class KeyRepository:
    """Insert, find, list, update, block, regenerate and delete keys. Holds no state but the
    database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def insert(self, record: KeyRecord, *, conn: AsyncConnection | None = None) -> None:
        """Store a new key. The same key (hash) or ``key_alias`` twice is an
        :class:`InvalidRequest` with ``code="duplicate"``."""
        if not _HASH.fullmatch(record.key_hash):
            raise ValueError("key_hash must be a lowercase SHA-256 hex digest")
        async with writing(self._database, conn) as tx:
            try:
                await tx.execute(insert(api_keys).values(**record_row(record)))
            except IntegrityError as exc:
                raise_conflict(exc, self._conflicts(record.key_alias), _PARAMS)
            await bump_version(tx, "keys")

    async def get_by_hash(
        self, key_hash: str, *, conn: AsyncConnection | None = None
    ) -> KeyRecord | None:
        return await self._one(api_keys.c.key_hash == key_hash, conn)

    async def get_by_alias(
        self, key_alias: str, *, conn: AsyncConnection | None = None
    ) -> KeyRecord | None:
        return await self._one(api_keys.c.key_alias == key_alias, conn)

    async def list(
        self,
        *,
        user_id: str | None = None,
        team_id: str | None = None,
        key_alias: str | None = None,
        key_hash: str | None = None,
        offset: int = 0,
        limit: int | None = None,
        sort_by: KeySort = "created_at",
        descending: bool = False,
        conn: AsyncConnection | None = None,
    ) -> KeyPage:
        """Keys matching every filter given, in a stable order, with the total count."""
        conditions = [
            column == value
            for column, value in (
                (api_keys.c.user_id, user_id),
                (api_keys.c.team_id, team_id),
                (api_keys.c.key_alias, key_alias),
                (api_keys.c.key_hash, key_hash),
            )
            if value is not None
        ]
        order = api_keys.c[sort_by]
        ordering = (
            (order.desc(), api_keys.c.key_hash.desc())
            if descending
            else (order, api_keys.c.key_hash)
        )
        query = select(api_keys).where(*conditions).order_by(*ordering).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        count = select(func.count()).select_from(api_keys).where(*conditions)
        async with reading(self._database, conn) as tx:
            rows = (await tx.execute(query)).mappings().all()
            total = int(await tx.scalar(count) or 0)
        return KeyPage([_from_row(row) for row in rows], total)

    async def count_by_user(self, user_ids: Sequence[str]) -> dict[str, int]:
        """How many keys each user holds (users without keys are absent)."""
        if not user_ids:
            return {}
        query = (
            select(api_keys.c.user_id, func.count())
            .where(api_keys.c.user_id.in_(list(user_ids)))
            .group_by(api_keys.c.user_id)
        )
        async with self._database.read() as conn:
            return {str(user): int(n) for user, n in (await conn.execute(query)).all()}

    async def update(
        self,
        key_hash: str,
        changes: Mapping[str, Any],
        *,
        now: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> KeyRecord | None:
        """Set the given :class:`KeyRecord` fields; the updated record, or ``None`` if there is
        no such key. ``key_hash``/``key_prefix`` may change too (regeneration)."""
        unknown = set(changes) - _FIELDS
        if unknown:
            raise ValueError(f"not key fields: {sorted(unknown)}")
        values = {name: column_value(value) for name, value in changes.items()}
        values["updated_at"] = now or _now()
        new_hash = values.get("key_hash", key_hash)
        if not _HASH.fullmatch(new_hash):
            raise ValueError("key_hash must be a lowercase SHA-256 hex digest")
        async with writing(self._database, conn) as tx:
            try:
                result = await tx.execute(
                    update(api_keys).where(api_keys.c.key_hash == key_hash).values(**values)
                )
            except IntegrityError as exc:
                raise_conflict(exc, self._conflicts(changes.get("key_alias")), _PARAMS)
            if result.rowcount == 0:
                return None
            await bump_version(tx, "keys")
            row = (
                (await tx.execute(select(api_keys).where(api_keys.c.key_hash == new_hash)))
                .mappings()
                .one()
            )
        return _from_row(row)

    async def set_blocked(
        self, key_hash: str, blocked: bool, *, conn: AsyncConnection | None = None
    ) -> KeyRecord | None:
        """Block or unblock a key; the updated record, or ``None`` if there is no such key."""
        return await self.update(key_hash, {"blocked": blocked}, conn=conn)

    async def delete(self, key_hash: str, *, conn: AsyncConnection | None = None) -> bool:
        """Remove a key; ``False`` if there was none."""
        return bool(await self._delete(api_keys.c.key_hash == key_hash, conn))

    async def delete_owned(
        self,
        *,
        user_id: str | None = None,
        team_id: str | None = None,
        conn: AsyncConnection | None = None,
    ) -> int:
        """Remove every key of a user or of a team; how many went."""
        if (user_id is None) == (team_id is None):
            raise ValueError("give exactly one of user_id and team_id")
        column = api_keys.c.user_id if user_id is not None else api_keys.c.team_id
        return await self._delete(column == (user_id or team_id), conn)

    async def _delete(self, condition: Any, conn: AsyncConnection | None) -> int:
        async with writing(self._database, conn) as tx:
            result = await tx.execute(delete(api_keys).where(condition))
            if result.rowcount:
                await bump_version(tx, "keys")
        return int(result.rowcount)

    async def _one(self, condition: Any, conn: AsyncConnection | None) -> KeyRecord | None:
        async with reading(self._database, conn) as tx:
            row = (await tx.execute(select(api_keys).where(condition))).mappings().first()
        return None if row is None else _from_row(row)

    @staticmethod
    def _conflicts(alias: str | None) -> dict[str, str]:
        return {
            "key_alias": f"a key with alias {alias!r}",
            "key_hash": "this key",
            "pk_api_keys": "this key",
            "key_id": "a key with this key_id",
        }


def _from_row(row: RowMapping) -> KeyRecord:
    models: Sequence[str] = row["models"] or ()
    return KeyRecord(
        key_hash=row["key_hash"],
        key_prefix=row["key_prefix"],
        key_alias=row["key_alias"],
        user_id=row["user_id"],
        team_id=row["team_id"],
        models=tuple(models),
        max_budget_micro=row["max_budget_micro"],
        budget_duration=row["budget_duration"],
        rpm_limit=row["rpm_limit"],
        tpm_limit=row["tpm_limit"],
        max_parallel_requests=row["max_parallel_requests"],
        metadata=dict(row["metadata"] or {}),
        blocked=bool(row["blocked"]),
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        key_id=row["key_id"],
        budget_limits=budget_limits_from_json(row["budget_limits"]),
        model_rpm_limit=model_limits_from_json(row["model_rpm_limit"]),
        model_tpm_limit=model_limits_from_json(row["model_tpm_limit"]),
        soft_budget_micro=row["soft_budget_micro"],
    )
