"""Signed-in browsers: a random token in an HttpOnly cookie, stored only as its SHA-256.

Sessions live in the database (``admin_sessions``), so every replica of the admin listener
knows them and signing out ends them everywhere. A session lasts :data:`SESSION_LIFETIME` from
sign-in; expired rows are swept at each sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from stargate.store.admin_accounts import AdminSession, AdminSessionRepository
from stargate.store.database import Database

__all__ = ["SESSION_COOKIE", "SESSION_LIFETIME", "SessionStore", "SignedIn"]

SESSION_COOKIE = "stargate_session"
SESSION_LIFETIME = timedelta(hours=12)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str  # the cookie's value: never logged, never rendered
    subject: str
    expires_at: datetime


class SessionStore:
    def __init__(self, database: Database, clock: Callable[[], datetime] = _utc_now) -> None:
        self._sessions = AdminSessionRepository(database)
        self._clock = clock

    async def start(self, subject: str) -> SignedIn:
        now = self._clock()
        await self._sessions.delete_expired(now=now)
        token = secrets.token_urlsafe(32)
        expires_at = now + SESSION_LIFETIME
        await self._sessions.insert(AdminSession(_digest(token), subject, now, expires_at))
        return SignedIn(token, subject, expires_at)

    async def find(self, token: str | None) -> SignedIn | None:
        if not token or len(token) > 256:
            return None
        found = await self._sessions.get(_digest(token), now=self._clock())
        return SignedIn(token, found.subject, found.expires_at) if found else None

    async def end(self, token: str) -> None:
        await self._sessions.delete(_digest(token))
