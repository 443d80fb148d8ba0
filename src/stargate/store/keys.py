"""Virtual keys in the database: the ``api_keys`` table behind a small repository.

Only hashes are stored (:func:`stargate.governance.keys.hash_key`); :meth:`KeyRecord.new` builds
a record from a freshly generated key. Writes go through :meth:`Database.write` (``BEGIN
IMMEDIATE`` on SQLite).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from stargate.errors import InvalidRequest
from stargate.governance.keys import hash_key, key_hint
from stargate.store.database import Database
from stargate.store.tables import api_keys

__all__ = ["KeyRecord", "KeyRepository"]

_HASH = re.compile(r"[0-9a-f]{64}")


def _now() -> datetime:
    return datetime.now(UTC)


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

    @classmethod
    def new(cls, key: str, **fields: Any) -> KeyRecord:
        """A record for ``key`` (hashed here; the key itself is not kept)."""
        return cls(key_hash=hash_key(key), key_prefix=key_hint(key), **fields)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class KeyRepository:
    """Insert, find, block and delete keys. Holds no state but the database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def insert(self, record: KeyRecord) -> None:
        """Store a new key. The same key (hash) or ``key_alias`` twice is an
        :class:`InvalidRequest`."""
        if not _HASH.fullmatch(record.key_hash):
            raise ValueError("key_hash must be a lowercase SHA-256 hex digest")
        try:
            async with self._database.write() as conn:
                await conn.execute(insert(api_keys).values(**_to_row(record)))
        except IntegrityError as exc:
            if await self.get_by_hash(record.key_hash) is not None:
                raise InvalidRequest("this key already exists", param="key") from exc
            raise InvalidRequest(
                f"a key with alias {record.key_alias!r} already exists", param="key_alias"
            ) from exc

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
        return await self._one(api_keys.c.key_hash == key_hash)

    async def get_by_alias(self, key_alias: str) -> KeyRecord | None:
        return await self._one(api_keys.c.key_alias == key_alias)

    async def set_blocked(self, key_hash: str, blocked: bool) -> KeyRecord | None:
        """Block or unblock a key; the updated record, or ``None`` if there is no such key."""
        async with self._database.write() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(api_keys.c.key_hash == key_hash)
                .values(blocked=blocked, updated_at=_now())
            )
            if result.rowcount == 0:
                return None
            row = (
                (await conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash)))
                .mappings()
                .one()
            )
        return _from_row(row)

    async def delete(self, key_hash: str) -> bool:
        """Remove a key; ``False`` if there was none."""
        async with self._database.write() as conn:
            result = await conn.execute(delete(api_keys).where(api_keys.c.key_hash == key_hash))
        return bool(result.rowcount)

    async def _one(self, condition: Any) -> KeyRecord | None:
        async with self._database.read() as conn:
            row = (await conn.execute(select(api_keys).where(condition))).mappings().first()
        return None if row is None else _from_row(row)


def _to_row(record: KeyRecord) -> dict[str, Any]:
    return {
        "key_hash": record.key_hash,
        "key_prefix": record.key_prefix,
        "key_alias": record.key_alias,
        "user_id": record.user_id,
        "team_id": record.team_id,
        "models": list(record.models),
        "max_budget_micro": record.max_budget_micro,
        "budget_duration": record.budget_duration,
        "rpm_limit": record.rpm_limit,
        "tpm_limit": record.tpm_limit,
        "max_parallel_requests": record.max_parallel_requests,
        "metadata": dict(record.metadata),
        "blocked": record.blocked,
        "expires_at": record.expires_at,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
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
    )
