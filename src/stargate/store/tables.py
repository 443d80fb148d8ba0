"""The one database schema (SQLAlchemy Core), portable across SQLite and PostgreSQL.

Conventions: money is integer micro-USD in ``BigInteger`` columns named ``*_micro``; timestamps
are timezone-aware UTC (:class:`UtcDateTime` stores naive UTC on SQLite, ``timestamptz`` on
PostgreSQL, and always hands back aware datetimes); JSON is ``JSONB`` on PostgreSQL and
``JSON`` text on SQLite. Every change to this module comes with a migration in
``migrations/versions/`` (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["Json", "UtcDateTime", "api_keys", "metadata", "models"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored as UTC. Naive datetimes are refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


api_keys = Table(
    "api_keys",
    metadata,
    # SHA-256 hex of the whole key ("sk-..."), as LiteLLM stores its tokens; never the key.
    Column("key_hash", String(64), primary_key=True),
    # A display hint such as "sk-...abcd": the last four characters only.
    Column("key_prefix", String(16), nullable=False),
    Column("key_alias", String(255), nullable=True),
    Column("user_id", String(255), nullable=True),
    Column("team_id", String(255), nullable=True),
    # Model names and access groups the key may call; empty means every model.
    Column("models", Json, nullable=False),
    Column("max_budget_micro", BigInteger, nullable=True),
    Column("budget_duration", String(32), nullable=True),
    Column("rpm_limit", BigInteger, nullable=True),
    Column("tpm_limit", BigInteger, nullable=True),
    Column("max_parallel_requests", Integer, nullable=True),
    Column("metadata", Json, nullable=False),
    Column("blocked", Boolean, nullable=False, server_default=false()),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "key_alias", unique=True),
    Index(None, "user_id"),
    Index(None, "team_id"),
)

# Deployments added at run time (``/model/new``), in LiteLLM's shape.
models = Table(
    "models",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("model_name", String(255), nullable=False),
    Column("litellm_params", Json, nullable=False),
    Column("model_info", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "model_name"),
)
