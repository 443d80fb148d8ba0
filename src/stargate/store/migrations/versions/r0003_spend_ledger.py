"""spend_logs (one row per request) and spend_daily (daily rollups).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The ledger's tables live in a module of their own (stargate.store.ledger_tables) on the one
# MetaData of stargate.store.tables; importing it here registers them wherever migrations run,
# so comparing the migrated database with the MetaData always sees them.
import stargate.store.ledger_tables  # noqa: F401

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "spend_logs",
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("ended_at", _TIME, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("key_alias", sa.String(255), nullable=True),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("team_id", sa.String(255), nullable=True),
        sa.Column("end_user", sa.String(255), nullable=True),
        sa.Column("requested_model", sa.String(255), nullable=False),
        sa.Column("deployment_id", sa.String(255), nullable=True),
        sa.Column("model", sa.String(2048), nullable=True),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("route", sa.String(255), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_micro", sa.BigInteger(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("ttft_ms", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_type", sa.String(128), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_spend_logs")),
    )
    for columns in (
        ["started_at", "request_id"],
        ["key_hash", "started_at"],
        ["key_id", "started_at"],
        ["user_id", "started_at"],
        ["team_id", "started_at"],
        ["requested_model", "started_at"],
    ):
        op.create_index(op.f(f"ix_spend_logs_{'_'.join(columns)}"), "spend_logs", columns)
    op.create_table(
        "spend_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("team_id", sa.String(255), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("key_alias", sa.String(255), nullable=True),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("failed_requests", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_micro", sa.BigInteger(), nullable=False),
        sa.Column("unpriced_requests", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "key_hash",
            "key_id",
            "user_id",
            "team_id",
            "model",
            "provider",
            name=op.f("pk_spend_daily"),
        ),
    )
    for column in ("key_hash", "key_id", "user_id", "team_id"):
        op.create_index(op.f(f"ix_spend_daily_{column}_day"), "spend_daily", [column, "day"])


def downgrade() -> None:
    for column in ("key_hash", "key_id", "user_id", "team_id"):
        op.drop_index(op.f(f"ix_spend_daily_{column}_day"), table_name="spend_daily")
    op.drop_table("spend_daily")
    for columns in (
        ["started_at", "request_id"],
        ["key_hash", "started_at"],
        ["key_id", "started_at"],
        ["user_id", "started_at"],
        ["team_id", "started_at"],
        ["requested_model", "started_at"],
    ):
        op.drop_index(op.f(f"ix_spend_logs_{'_'.join(columns)}"), table_name="spend_logs")
    op.drop_table("spend_logs")
