"""users, teams, team_members, budgets and config_versions; more key and model columns.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TIME = sa.DateTime(timezone=True)
_VERSION_NAMES = ("keys", "users", "teams", "budgets", "models")


def _budget_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("max_budget_micro", sa.BigInteger(), nullable=True),
        sa.Column("budget_duration", sa.String(32), nullable=True),
        sa.Column("budget_limits", _JSON, nullable=False),
        sa.Column("rpm_limit", sa.BigInteger(), nullable=True),
        sa.Column("tpm_limit", sa.BigInteger(), nullable=True),
        sa.Column("max_parallel_requests", sa.Integer(), nullable=True),
    ]


def upgrade() -> None:
    # api_keys: a stable key_id (existing keys take their hash), more limits.
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("key_id", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("budget_limits", _JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(
            sa.Column("model_rpm_limit", _JSON, nullable=False, server_default=sa.text("'{}'"))
        )
        batch.add_column(
            sa.Column("model_tpm_limit", _JSON, nullable=False, server_default=sa.text("'{}'"))
        )
        batch.add_column(sa.Column("soft_budget_micro", sa.BigInteger(), nullable=True))
    op.execute("UPDATE api_keys SET key_id = key_hash WHERE key_id IS NULL")
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("key_id", existing_type=sa.String(64), nullable=False)
    op.create_index(op.f("ix_api_keys_key_id"), "api_keys", ["key_id"], unique=True)

    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("updated_at", _TIME, nullable=True))

    op.create_table(
        "users",
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("user_email", sa.String(255), nullable=True),
        sa.Column("user_alias", sa.String(255), nullable=True),
        sa.Column("user_role", sa.String(64), nullable=False),
        sa.Column("models", _JSON, nullable=False),
        *_budget_columns(),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("blocked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
    )
    op.create_index(op.f("ix_users_user_email"), "users", ["user_email"], unique=True)

    op.create_table(
        "budgets",
        sa.Column("budget_id", sa.String(255), nullable=False),
        *_budget_columns(),
        sa.Column("models", _JSON, nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("budget_id", name=op.f("pk_budgets")),
    )

    op.create_table(
        "teams",
        sa.Column("team_id", sa.String(255), nullable=False),
        sa.Column("team_alias", sa.String(255), nullable=True),
        sa.Column("models", _JSON, nullable=False),
        *_budget_columns(),
        sa.Column("model_rpm_limit", _JSON, nullable=False),
        sa.Column("model_tpm_limit", _JSON, nullable=False),
        sa.Column("tier", sa.String(255), nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("blocked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["tier"], ["budgets.budget_id"], name=op.f("fk_teams_tier_budgets")
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_teams")),
    )
    op.create_index(op.f("ix_teams_team_alias"), "teams", ["team_alias"], unique=True)
    op.create_index(op.f("ix_teams_tier"), "teams", ["tier"])

    op.create_table(
        "team_members",
        sa.Column("team_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("max_budget_micro", sa.BigInteger(), nullable=True),
        sa.Column("budget_duration", sa.String(32), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.team_id"],
            name=op.f("fk_team_members_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_team_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_index(op.f("ix_team_members_user_id"), "team_members", ["user_id"])

    versions = op.create_table(
        "config_versions",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_config_versions")),
    )
    op.bulk_insert(versions, [{"name": name, "version": 0} for name in _VERSION_NAMES])


def downgrade() -> None:
    op.drop_table("config_versions")
    op.drop_index(op.f("ix_team_members_user_id"), table_name="team_members")
    op.drop_table("team_members")
    op.drop_index(op.f("ix_teams_tier"), table_name="teams")
    op.drop_index(op.f("ix_teams_team_alias"), table_name="teams")
    op.drop_table("teams")
    op.drop_table("budgets")
    op.drop_index(op.f("ix_users_user_email"), table_name="users")
    op.drop_table("users")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("updated_at")
    op.drop_index(op.f("ix_api_keys_key_id"), table_name="api_keys")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("soft_budget_micro")
        batch.drop_column("model_tpm_limit")
        batch.drop_column("model_rpm_limit")
        batch.drop_column("budget_limits")
        batch.drop_column("key_id")
