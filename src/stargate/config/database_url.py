"""Database URLs: the forms people write, turned into the async drivers Stargate uses.

``postgres://`` and ``postgresql://`` (what LiteLLM, Prisma and most hosting providers print)
become ``postgresql+asyncpg://``; ``sqlite:///path`` becomes ``sqlite+aiosqlite:///path``. The
query string is kept as written; :mod:`stargate.store.database` interprets it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DEFAULT_DATABASE_URL",
    "InvalidDatabaseUrl",
    "normalize_database_url",
    "redact_database_url",
]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/stargate.db"

_SCHEMES = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


class InvalidDatabaseUrl(ValueError):
    """The URL names no database Stargate supports; the message says why (without the
    password)."""


def normalize_database_url(url: str) -> str:
    """Return ``url`` with the driver Stargate uses, or raise :class:`InvalidDatabaseUrl`."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise InvalidDatabaseUrl(
            "not a database URL (expected postgresql://user@host:5432/db or sqlite:///path.db)"
        )
    target = _SCHEMES.get(scheme.lower())
    if target is None:
        backend = scheme.split("+", 1)[0].lower()
        if backend in ("postgres", "postgresql", "sqlite"):
            raise InvalidDatabaseUrl(
                f"driver {scheme!r} is not supported; write {backend}:// and Stargate uses "
                f"{_SCHEMES[backend]}"
            )
        raise InvalidDatabaseUrl(
            f"database {scheme!r} is not supported (supported: postgresql://, sqlite:///)"
        )
    if target.startswith("sqlite") and not (rest == "" or rest.startswith("/")):
        raise InvalidDatabaseUrl(
            "a SQLite URL has three slashes before a relative path (sqlite:///var/db.sqlite) "
            "and four before an absolute one (sqlite:////srv/db.sqlite)"
        )
    return f"{target}://{rest}"


def redact_database_url(url: str) -> str:
    """The URL with its password replaced by ``***``, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
