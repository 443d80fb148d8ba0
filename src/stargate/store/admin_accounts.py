"""The admin UI's accounts: ``admin_users`` (a name and a password hash) and ``admin_sessions``
(signed-in browsers), on the one schema's ``MetaData``.

Nothing secret is stored in the clear: a password only as its KDF hash (the UI's
:mod:`stargate.ui.passwords` makes and checks it; this module stores the string), a session only
as the SHA-256 of its token. Both tables are read and written by the admin listener alone; they
play no part in the request path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, String, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.database import Database
from stargate.store.tables import UtcDateTime, metadata
from stargate.store.versions import reading, writing

__all__ = [
    "AdminSession",
    "AdminSessionRepository",
    "AdminUser",
    "AdminUserRepository",
    "admin_sessions",
    "admin_users",
]

admin_users = Table(
    "admin_users",
    metadata,
    Column("username", String(255), primary_key=True),
    Column("password_hash", String(512), nullable=False),  # "scrypt$n$r$p$salt$hash"
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 hex of the cookie's token
    Column("subject", String(255), nullable=False),  # an admin username, or "master key"
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index(None, "expires_at"),
    Index(None, "subject"),
)


@dataclass(frozen=True, slots=True)
class AdminUser:
    username: str
    password_hash: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AdminSession:
    token_hash: str
    subject: str
    created_at: datetime
    expires_at: datetime


class AdminUserRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, username: str, *, conn: AsyncConnection | None = None) -> AdminUser | None:
        async with reading(self._database, conn) as tx:
            row = (
                (await tx.execute(select(admin_users).where(admin_users.c.username == username)))
                .mappings()
                .first()
            )
        return AdminUser(**row) if row is not None else None

    async def list(self) -> list[AdminUser]:
        async with self._database.read() as conn:
            rows = (
                (await conn.execute(select(admin_users).order_by(admin_users.c.username)))
                .mappings()
                .all()
            )
        return [AdminUser(**row) for row in rows]

    async def put(self, username: str, password_hash: str, *, now: datetime) -> bool:
        """Create the user, or replace its password hash. ``True`` when the user is new."""
        async with writing(self._database, None) as conn:
            changed = await conn.execute(
                update(admin_users)
                .where(admin_users.c.username == username)
                .values(password_hash=password_hash, updated_at=now)
            )
            if changed.rowcount:
                return False
            await conn.execute(
                insert(admin_users).values(
                    username=username, password_hash=password_hash, created_at=now, updated_at=now
                )
            )
            return True

    async def delete(self, username: str) -> bool:
        """Delete the user and end its sessions; ``False`` when there was none."""
        async with writing(self._database, None) as conn:
            await conn.execute(delete(admin_sessions).where(admin_sessions.c.subject == username))
            gone = await conn.execute(delete(admin_users).where(admin_users.c.username == username))
            return bool(gone.rowcount)


class AdminSessionRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def insert(self, session: AdminSession) -> None:
        async with writing(self._database, None) as conn:
            await conn.execute(
                insert(admin_sessions).values(
                    token_hash=session.token_hash,
                    subject=session.subject,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                )
            )

    async def get(self, token_hash: str, *, now: datetime) -> AdminSession | None:
        """The session, unless it has expired (or never was)."""
        query = select(admin_sessions).where(
            admin_sessions.c.token_hash == token_hash, admin_sessions.c.expires_at > now
        )
        async with self._database.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return AdminSession(**row) if row is not None else None

    async def delete(self, token_hash: str) -> bool:
        async with writing(self._database, None) as conn:
            gone = await conn.execute(
                delete(admin_sessions).where(admin_sessions.c.token_hash == token_hash)
            )
            return bool(gone.rowcount)

    async def delete_expired(self, *, now: datetime) -> int:
        async with writing(self._database, None) as conn:
            gone = await conn.execute(
                delete(admin_sessions).where(admin_sessions.c.expires_at <= now)
            )
            return int(gone.rowcount or 0)
