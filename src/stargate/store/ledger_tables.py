"""The spend ledger's tables, on the one schema's ``MetaData`` (:mod:`stargate.store.tables`).

``spend_logs`` holds one row per request, keyed by its request id (``INSERT ... ON CONFLICT
DO NOTHING`` makes a second write of the same request a no-op). ``spend_daily`` holds the daily
rollups the usage queries read: one row per UTC day, key, user, team, model and provider,
maintained by the ledger writer in the transaction that inserts the rows it counts. Absent
dimensions are stored as ``''`` (not NULL) so the unique constraint treats them as equal on
SQLite and PostgreSQL alike (the day and the dimensions are the primary key).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from stargate.store.tables import Json, UtcDateTime, metadata

__all__ = ["LEDGER_TABLES", "ROLLUP_COUNTS", "ROLLUP_DIMENSIONS", "spend_daily", "spend_logs"]

spend_logs = Table(
    "spend_logs",
    metadata,
    Column("request_id", String(128), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("key_hash", String(64), nullable=True),
    Column("key_id", String(64), nullable=True),  # the key's stable id (kept on regenerate)
    Column("key_alias", String(255), nullable=True),
    Column("user_id", String(255), nullable=True),
    Column("team_id", String(255), nullable=True),
    Column("end_user", String(255), nullable=True),
    Column("requested_model", String(255), nullable=False),
    Column("deployment_id", String(255), nullable=True),
    Column("model", String(2048), nullable=True),  # the model id sent upstream
    Column("provider", String(64), nullable=True),
    Column("region", String(64), nullable=True),
    Column("route", String(255), nullable=True),  # the API route called (its dialect)
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("cache_write_tokens", BigInteger, nullable=False),
    Column("cost_micro", BigInteger, nullable=True),  # NULL: unknown (unpriced model)
    Column("latency_ms", Integer, nullable=False),
    Column("ttft_ms", Integer, nullable=True),
    Column("status", String(16), nullable=False),  # success | error | cancelled
    Column("error_type", String(128), nullable=True),
    Column("http_status", Integer, nullable=True),
    Column("stream", Boolean, nullable=False),
    Column("client_ip", String(64), nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("tags", Json, nullable=False),
    Column("metadata", Json, nullable=False),
    # Only filled with general_settings.store_prompts_in_spend_logs: true.
    Column("prompt", Text, nullable=True),
    Column("response", Text, nullable=True),
    Index(None, "started_at", "request_id"),
    Index(None, "key_hash", "started_at"),
    Index(None, "key_id", "started_at"),
    Index(None, "user_id", "started_at"),
    Index(None, "team_id", "started_at"),
    Index(None, "requested_model", "started_at"),
)

# The columns a daily rollup is unique on, besides its day.
ROLLUP_DIMENSIONS = ("key_hash", "key_id", "user_id", "team_id", "model", "provider")
# What a daily rollup adds up.
ROLLUP_COUNTS = (
    "requests",
    "failed_requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_micro",
    "unpriced_requests",
)

spend_daily = Table(
    "spend_daily",
    metadata,
    Column("day", Date, nullable=False),  # UTC date of the requests' start
    Column("key_hash", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),  # a key's hash changes on regenerate; not this
    Column("user_id", String(255), nullable=False),
    Column("team_id", String(255), nullable=False),
    Column("model", String(255), nullable=False),  # the model name clients asked for
    Column("provider", String(64), nullable=False),
    Column("key_alias", String(255), nullable=True),  # the alias last seen on the key
    Column("requests", BigInteger, nullable=False),
    Column("failed_requests", BigInteger, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("cache_write_tokens", BigInteger, nullable=False),
    Column("cost_micro", BigInteger, nullable=False),  # the known costs
    Column("unpriced_requests", BigInteger, nullable=False),  # rows whose cost is unknown
    PrimaryKeyConstraint("day", *ROLLUP_DIMENSIONS),
    Index(None, "key_hash", "day"),
    Index(None, "key_id", "day"),
    Index(None, "user_id", "day"),
    Index(None, "team_id", "day"),
)

LEDGER_TABLES = (spend_logs, spend_daily)
