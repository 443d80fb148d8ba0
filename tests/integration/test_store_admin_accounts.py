"""The admin UI's accounts and sessions in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stargate.store.admin_accounts import AdminSession, AdminSessionRepository, AdminUserRepository
from stargate.store.database import Database

pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_admin_users_are_created_updated_and_deleted_with_their_sessions(
    database: Database,
) -> None:
    users, sessions = AdminUserRepository(database), AdminSessionRepository(database)
    assert await users.put("ada", "scrypt$1", now=NOW) is True
    assert await users.put("ada", "scrypt$2", now=NOW + timedelta(hours=1)) is False
    found = await users.get("ada")
    assert found is not None
    assert found.password_hash == "scrypt$2"
    assert found.updated_at == NOW + timedelta(hours=1)
    assert [u.username for u in await users.list()] == ["ada"]
    await sessions.insert(AdminSession("a" * 64, "ada", NOW, NOW + timedelta(hours=12)))
    assert await sessions.get("a" * 64, now=NOW) is not None
    assert await users.delete("ada") is True
    assert await sessions.get("a" * 64, now=NOW) is None
    assert await users.delete("ada") is False


async def test_sessions_expire_and_end(database: Database) -> None:
    sessions = AdminSessionRepository(database)
    await sessions.insert(AdminSession("b" * 64, "master key", NOW, NOW + timedelta(hours=1)))
    await sessions.insert(AdminSession("c" * 64, "master key", NOW, NOW + timedelta(hours=2)))
    assert await sessions.get("b" * 64, now=NOW + timedelta(hours=1)) is None  # expired
    assert await sessions.delete_expired(now=NOW + timedelta(hours=1)) == 1
    assert await sessions.get("c" * 64, now=NOW) is not None
    assert await sessions.delete("c" * 64) is True
    assert await sessions.get("c" * 64, now=NOW) is None
