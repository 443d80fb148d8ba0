"""Database URLs as people write them, turned into the async drivers Stargate uses."""

from __future__ import annotations

import pytest

from stargate.config.database_url import (
    InvalidDatabaseUrl,
    normalize_database_url,
    redact_database_url,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/litellm", "postgresql+asyncpg://u:p@db:5432/litellm"),
        ("postgresql://u@db/x?sslmode=require", "postgresql+asyncpg://u@db/x?sslmode=require"),
        ("postgresql+asyncpg://u@db/x", "postgresql+asyncpg://u@db/x"),
        ("POSTGRESQL://u@db/x", "postgresql+asyncpg://u@db/x"),
        ("sqlite:///./var/stargate.db", "sqlite+aiosqlite:///./var/stargate.db"),
        ("sqlite:////srv/gw.db", "sqlite+aiosqlite:////srv/gw.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("  sqlite:///x.db\n", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_urls_are_normalised_to_the_async_drivers(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected
    assert normalize_database_url(expected) == expected  # idempotent


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://root@db/x", "database 'mysql' is not supported (supported: postgresql://"),
        ("postgresql+psycopg2://u@db/x", "driver 'postgresql+psycopg2' is not supported"),
        ("sqlite+pysqlite:///x.db", "driver 'sqlite+pysqlite' is not supported"),
        ("sqlite://x.db", "three slashes before a relative path"),
        ("./var/stargate.db", "not a database URL"),
    ],
)
def test_unsupported_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(InvalidDatabaseUrl) as caught:
        normalize_database_url(url)
    assert reason in str(caught.value)


def test_redaction_hides_only_the_password() -> None:
    assert redact_database_url("postgresql+asyncpg://u:s3cret@db:5432/x?ssl=require") == (
        "postgresql+asyncpg://u:***@db:5432/x?ssl=require"
    )
    assert redact_database_url("postgresql+asyncpg://u@db/x") == "postgresql+asyncpg://u@db/x"
    assert redact_database_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"
