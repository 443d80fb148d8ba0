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
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "CONFIG_VERSION_NAMES",
    "Json",
    "UtcDateTime",
    "api_keys",
    "budgets",
    "config_versions",
    "metadata",
    "models",
    "team_members",
    "teams",
    "users",
]

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
    # Stable identity of the key: unchanged by /key/regenerate (which replaces key_hash).
    Column("key_id", String(64), nullable=False),
    # Further budget windows: [{"max_budget_micro": int, "budget_duration": str | null}].
    Column("budget_limits", Json, nullable=False, server_default=text("'[]'")),
    # Per-model limits: {"model name": limit}.
    Column("model_rpm_limit", Json, nullable=False, server_default=text("'{}'")),
    Column("model_tpm_limit", Json, nullable=False, server_default=text("'{}'")),
    Column("soft_budget_micro", BigInteger, nullable=True),
    Index(None, "key_alias", unique=True),
    Index(None, "user_id"),
    Index(None, "team_id"),
    Index(None, "key_id", unique=True),
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
    Column("updated_at", UtcDateTime, nullable=True),
    Index(None, "model_name"),
)

# Internal users (LiteLLM's LiteLLM_UserTable). Spend is not stored here: it comes from the
# counters and the ledger.
users = Table(
    "users",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("user_email", String(255), nullable=True),
    Column("user_alias", String(255), nullable=True),
    Column("user_role", String(64), nullable=False),
    Column("models", Json, nullable=False),
    Column("max_budget_micro", BigInteger, nullable=True),
    Column("budget_duration", String(32), nullable=True),
    Column("budget_limits", Json, nullable=False),
    Column("rpm_limit", BigInteger, nullable=True),
    Column("tpm_limit", BigInteger, nullable=True),
    Column("max_parallel_requests", Integer, nullable=True),
    Column("metadata", Json, nullable=False),
    Column("blocked", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "user_email", unique=True),
)

# Named policies (LiteLLM's /budget/*); seed 003's tiers are budgets that teams take.
budgets = Table(
    "budgets",
    metadata,
    Column("budget_id", String(255), primary_key=True),
    Column("max_budget_micro", BigInteger, nullable=True),
    Column("budget_duration", String(32), nullable=True),
    Column("budget_limits", Json, nullable=False),
    Column("rpm_limit", BigInteger, nullable=True),
    Column("tpm_limit", BigInteger, nullable=True),
    Column("max_parallel_requests", Integer, nullable=True),
    Column("models", Json, nullable=False),
    Column("metadata", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("team_id", String(255), primary_key=True),
    Column("team_alias", String(255), nullable=True),
    Column("models", Json, nullable=False),
    Column("max_budget_micro", BigInteger, nullable=True),
    Column("budget_duration", String(32), nullable=True),
    Column("budget_limits", Json, nullable=False),
    Column("rpm_limit", BigInteger, nullable=True),
    Column("tpm_limit", BigInteger, nullable=True),
    Column("max_parallel_requests", Integer, nullable=True),
    Column("model_rpm_limit", Json, nullable=False),
    Column("model_tpm_limit", Json, nullable=False),
    # The budget (tier) whose policy the team took; its limits are copied onto the team.
    Column("tier", String(255), ForeignKey("budgets.budget_id"), nullable=True),
    Column("metadata", Json, nullable=False),
    Column("blocked", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "team_alias", unique=True),
    Index(None, "tier"),
)

team_members = Table(
    "team_members",
    metadata,
    Column(
        "team_id", String(255), ForeignKey("teams.team_id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "user_id", String(255), ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("role", String(32), nullable=False),
    # The member's own budget inside the team (LiteLLM's max_budget_in_team), with a window.
    Column("max_budget_micro", BigInteger, nullable=True),
    Column("budget_duration", String(32), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "user_id"),
)

# One row per kind of administered object; ``version`` grows with every change to it, so a
# replica can poll one cheap table and reload only what changed.
CONFIG_VERSION_NAMES = ("keys", "users", "teams", "budgets", "models")

config_versions = Table(
    "config_versions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False),
)
