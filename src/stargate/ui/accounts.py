"""Admin users (who may sign in to the UI with a name and password): set a password, list,
delete. Used by the UI's admins page and by the admin API route ``POST /ui/admin_user``
(master key), so the first admin user can be made without the UI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from stargate.admin.fields import iso
from stargate.errors import InvalidRequest, NotFound
from stargate.store.admin_accounts import AdminUserRepository
from stargate.ui.auth import MASTER_SUBJECT
from stargate.ui.passwords import check_password_rules, hash_password_async

__all__ = ["AdminAccounts"]

_MAX_NAME = 255


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AdminAccounts:
    def __init__(
        self, users: AdminUserRepository, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._users = users
        self._clock = clock

    async def set_password(self, username: str, password: str) -> dict[str, Any]:
        """Create the admin user, or give it a new password. Its sessions stay."""
        name = username.strip()
        if not name or len(name) > _MAX_NAME or name == MASTER_SUBJECT or "@" in name[:1]:
            raise InvalidRequest("give a username of 1 to 255 characters", param="username")
        problem = check_password_rules(password)
        if problem is not None:
            raise InvalidRequest(problem, param="password")
        created = await self._users.put(
            name, await hash_password_async(password), now=self._clock()
        )
        return {"username": name, "created": created}

    async def list(self) -> list[dict[str, Any]]:
        return [
            {
                "username": u.username,
                "created_at": iso(u.created_at),
                "updated_at": iso(u.updated_at),
            }
            for u in await self._users.list()
        ]

    async def delete(self, username: str) -> dict[str, Any]:
        if not await self._users.delete(username):
            raise NotFound(f"Admin user not found: {username}", param="username")
        return {"deleted": username}
