"""The ledger's driver-level batch insert stores exactly what the SQLAlchemy Core insert stored.

The same batches (None values, long and NUL text, unicode, tags, nested metadata with Decimal,
unpriced and failed rows, several days, owners and aliases so rollups merge, duplicates in a
batch, a batch written twice, a batch larger than one statement) are written through a copy of
the previous SQLAlchemy Core path (:func:`core_insert_rows`, below) and through
:func:`stargate.store.ledger_writes.write_rows`, into the same empty tables one after the other;
every stored column of ``spend_logs`` and ``spend_daily`` is compared as the database holds it
(SQLite: the raw value and its storage class; PostgreSQL: each row's text form). Runs on SQLite
and on PostgreSQL (skipped without it, failed under ``CI=true``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import String, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.database import Database, open_database
from stargate.store.ledger_rows import SpendRow
from stargate.store.ledger_tables import ROLLUP_DIMENSIONS, spend_daily, spend_logs
from stargate.store.ledger_writes import write_rows
from stargate.store.migrate import upgrade_database
from stargate.telemetry.ledger import LedgerWriter
from stargate.telemetry.ledger_settings import LedgerSettings

pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]

T0 = datetime(2026, 3, 10, 23, 30, 0, tzinfo=UTC)  # microsecond 0: DATETIME text keeps ".000000"
IST = timezone(timedelta(hours=5, minutes=30))


# ---- the previous path: SQLAlchemy Core, one parameter dict per row (kept as the reference) ----

_LENGTHS = {
    column.name: column.type.length
    for column in spend_logs.columns
    if isinstance(column.type, String) and column.type.length
}
_COUNTS = ("requests", "failed_requests", "input_tokens", "output_tokens", "cache_read_tokens",
           "cache_write_tokens", "cost_micro", "unpriced_requests")  # fmt: skip


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


def core_column_values(row: SpendRow) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in (column.name for column in spend_logs.columns):
        value = getattr(row, name)
        limit = _LENGTHS.get(name)
        if isinstance(value, str) and ("\x00" in value or (limit and len(value) > limit)):
            value = value.replace("\x00", "\ufffd")[:limit]
        values[name] = value
    values["tags"] = [str(tag) for tag in row.tags]
    values["metadata"] = (
        orjson.loads(orjson.dumps(row.metadata, default=_json_default)) if row.metadata else {}
    )
    return values


def _insert_for(conn: AsyncConnection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


async def core_insert_rows(conn: AsyncConnection, rows: Sequence[SpendRow]) -> int:
    unique: dict[str, SpendRow] = {}
    for row in rows:
        unique.setdefault(row.request_id, row)
    statement = (
        _insert_for(conn)(spend_logs)
        .on_conflict_do_nothing(index_elements=[spend_logs.c.request_id])
        .returning(spend_logs.c.request_id)
    )
    ordered = [core_column_values(unique[request_id]) for request_id in sorted(unique)]
    new_ids = set((await conn.execute(statement, ordered)).scalars().all())
    if new_ids:
        await core_add_to_rollups(conn, [unique[request_id] for request_id in sorted(new_ids)])
    return len(new_ids)


async def core_add_to_rollups(conn: AsyncConnection, rows: Sequence[SpendRow]) -> None:
    totals: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = (row.day, row.key_hash or "", row.key_id or "", row.user_id or "",
               row.team_id or "", row.requested_model, row.provider or "")  # fmt: skip
        entry = totals.setdefault(key, {**dict.fromkeys(_COUNTS, 0), "key_alias": None})
        entry["requests"] += 1
        entry["failed_requests"] += row.status != "success"
        entry["input_tokens"] += row.input_tokens
        entry["output_tokens"] += row.output_tokens
        entry["cache_read_tokens"] += row.cache_read_tokens
        entry["cache_write_tokens"] += row.cache_write_tokens
        if row.cost_micro is None:
            entry["unpriced_requests"] += 1
        else:
            entry["cost_micro"] += row.cost_micro
        if row.key_alias is not None:
            entry["key_alias"] = row.key_alias[:255]
    parameters = [
        {"day": key[0], **dict(zip(ROLLUP_DIMENSIONS, key[1:], strict=True)), **entry}
        for key, entry in sorted(totals.items())
    ]
    statement = _insert_for(conn)(spend_daily)
    added = {name: spend_daily.c[name] + statement.excluded[name] for name in _COUNTS}
    added["key_alias"] = func.coalesce(statement.excluded.key_alias, spend_daily.c.key_alias)
    upsert = statement.on_conflict_do_update(
        index_elements=[spend_daily.c.day, *(spend_daily.c[name] for name in ROLLUP_DIMENSIONS)],
        set_=added,
    )
    await conn.execute(upsert, parameters)


async def core_write_rows(database: Database, rows: Sequence[SpendRow]) -> int:
    if not rows:
        return 0
    async with database.write() as conn:
        return await core_insert_rows(conn, rows)


# ---- the rows ----


def row(n: int, **fields: Any) -> SpendRow:
    values: dict[str, Any] = {
        "request_id": f"req-{n:05d}",
        "started_at": T0 + timedelta(hours=n % 5, microseconds=n * 7919 % 1_000_000),
        "ended_at": T0 + timedelta(hours=n % 5, seconds=2),
        "requested_model": ["claude-haiku", "claude-sonnet", "nova-pro"][n % 3],
        "key_hash": f"{n % 4:064x}",
        "key_id": f"key-{n % 4}",
        "user_id": f"user-{n % 2}",
        "team_id": "team-a" if n % 2 else None,
        "provider": "bedrock",
        "input_tokens": 10 + n,
        "output_tokens": 5 * n,
        "cache_read_tokens": n % 7,
        "cache_write_tokens": n % 3,
        "cost_micro": 100 + n,
        "latency_ms": 250 + n,
    }
    values.update(fields)
    return SpendRow(**values)


def varied_rows(sqlite_only_dimensions: bool) -> list[SpendRow]:
    """Rows covering every kind of value the ledger stores."""
    rows = [
        row(0),
        row(1, key_hash=None, key_id=None, user_id=None, team_id=None, provider=None),
        row(2, cost_micro=None),  # unpriced
        row(3, status="error", error_type="UpstreamThrottled", http_status=429, cost_micro=0),
        row(4, status="cancelled", ttft_ms=None, http_status=None, cost_micro=None),
        row(5, stream=True, ttft_ms=40, http_status=200, key_alias="Prod Key"),
        row(
            6,
            key_alias="renamed",
            deployment_id="haiku-use1",
            region="us-east-1",
            route="/v1/messages",
            model="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        ),
        row(
            7,
            user_agent="x" * 2000,
            client_ip="1.2.3.4\x00",
            end_user="e\x00u",
            model="m" * 3000,
            error_type="E" * 500,
            key_alias="a" * 400,
        ),
        row(
            8,
            user_agent="clï 🚀 — 日本語",
            end_user="Zoë",
            key_alias="ключ",
            tags=["é", "🚀", 5, "team-a"],
            metadata={"ünï": "cödé", "emoji": "🚀"},
        ),
        row(
            9,
            tags=["a", "b"],
            metadata={
                "price": Decimal("0.50"),
                "nested": {"x": [1, 2.5, None, True], "y": {"z": "w"}},
                "set": {"only"},
                "tuple": (1, "two"),
                "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                "float": 1e16,
                "small": 1.25e-7,
                "big": 2**62,
                "neg": -3,
                "empty": {},
                "list": [],
            },
        ),
        row(10, prompt="p" * 10_000 + "\x00", response="réponse 🚀", metadata={"a": "b"}),
        row(
            11,
            started_at=datetime(2026, 3, 11, 4, 0, tzinfo=IST),  # 22:30 UTC the day before
            ended_at=datetime(2026, 3, 11, 4, 0, 1, 5, tzinfo=IST),
        ),
        row(12, started_at=datetime(2026, 3, 12, 0, 0, 0, 999_999, tzinfo=UTC), key_alias=None),
        row(
            13,
            input_tokens=2**40,
            output_tokens=0,
            cache_read_tokens=0,
            cost_micro=2**50,
            latency_ms=2**31 - 1,
        ),
        row(14, metadata={"k": "v" * 5000}, tags=[]),
        row(0, cost_micro=999_999),  # a duplicate in the batch: the first one counts
    ]
    if sqlite_only_dimensions:  # PostgreSQL refuses these (rollup dimensions are not clipped)
        rows += [
            row(15, requested_model="r" * 300, user_id="u\x00", key_hash="k" * 70),
            row(16, team_id="t\x00", provider="p" * 80),
        ]
    return rows


def batches(sqlite: bool) -> list[list[SpendRow]]:
    first = varied_rows(sqlite)
    second = [  # some already stored (with other values: ignored), the rest new, same rollups
        row(3, cost_micro=1),
        row(5, key_alias="changed"),
        *(row(n, key_alias=("late" if n % 5 == 0 else None)) for n in range(20, 60)),
        row(61, key_alias=None),
    ]
    big = [row(n, tags=[f"t{n}"], metadata={"n": n}) for n in range(100, 400)]  # > 256 rows
    return [first, second, first, big, [*second, *big[:10]], []]


# ---- comparing what the database holds ----


async def stored(database: Database) -> dict[str, list[Any]]:
    """Every row of both tables as the database holds it, in key order."""
    tables = {
        "spend_logs": ([c.name for c in spend_logs.columns], "request_id"),
        "spend_daily": ([c.name for c in spend_daily.columns], ", ".join(
            ("day", *ROLLUP_DIMENSIONS))),
    }  # fmt: skip
    found: dict[str, list[Any]] = {}
    async with database.read() as conn:
        for table, (columns, order) in tables.items():
            if database.dialect == "sqlite":
                select = ", ".join(f"{c}, typeof({c})" for c in columns)
            else:
                select = f"{table}::text"
            result = await conn.exec_driver_sql(f"SELECT {select} FROM {table} ORDER BY {order}")
            found[table] = [tuple(r) for r in result]
    return found


async def clear(database: Database) -> None:
    async with database.write() as conn:
        await conn.exec_driver_sql("DELETE FROM spend_logs")
        await conn.exec_driver_sql("DELETE FROM spend_daily")


async def test_the_driver_insert_stores_what_the_core_insert_stored(database: Database) -> None:
    work = batches(database.dialect == "sqlite")
    core_counts = [await core_write_rows(database, batch) for batch in work]
    by_core = await stored(database)
    await clear(database)
    assert await stored(database) == {"spend_logs": [], "spend_daily": []}
    counts = [(await write_rows(database, batch)).inserted for batch in work]
    by_driver = await stored(database)

    assert counts == core_counts
    assert counts[2] == 0  # the replayed batch changed nothing
    assert len(by_core["spend_logs"]) == sum(counts)
    assert len(by_core["spend_daily"]) > 10
    for table in ("spend_logs", "spend_daily"):
        assert len(by_driver[table]) == len(by_core[table])
        for mine, theirs in zip(by_driver[table], by_core[table], strict=True):
            assert mine == theirs


async def test_stored_values_read_back_as_the_rows_said(database: Database) -> None:
    """A spot check of the comparison itself: values survive with their types."""
    await write_rows(database, batches(database.dialect == "sqlite")[0])
    async with database.read() as conn:
        logs = {
            r.request_id: r
            for r in await conn.execute(spend_logs.select().where(spend_logs.c.request_id.in_(
                ["req-00007", "req-00009", "req-00011"])))
        }  # fmt: skip
        days = (await conn.execute(spend_daily.select())).all()
    assert len(logs["req-00007"].user_agent) == 512
    assert logs["req-00007"].client_ip == "1.2.3.4\ufffd"
    assert logs["req-00009"].metadata["price"] == "0.50"
    assert logs["req-00009"].metadata["set"] == ["only"]
    assert logs["req-00011"].started_at == datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
    assert {d.day for d in days} >= {date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)}


# ---- values PostgreSQL refuses, and PgBouncer mode ----

REFUSED_ON_POSTGRES = [
    {"user_id": "u\x00"},  # rollup dimensions are not clipped or NUL-replaced
    {"requested_model": "m" * 256},
    {"key_hash": "k" * 65},
]


@pytest.mark.parametrize("fields", REFUSED_ON_POSTGRES)
async def test_a_value_postgresql_refuses_is_a_data_error(
    database: Database, fields: dict[str, Any]
) -> None:
    bad = row(1, **fields)
    if database.dialect == "sqlite":  # SQLite stores it as it is, as before
        assert (await write_rows(database, [bad])).inserted == 1
        return
    with pytest.raises(DataError):
        await write_rows(database, [row(0), bad])
    assert (await stored(database))["spend_logs"] == []  # the transaction was rolled back


async def test_the_writer_sets_a_refused_row_aside_and_commits_the_rest(
    database: Database, tmp_path: Path
) -> None:
    settings = LedgerSettings(journal_dir=tmp_path / "journal", flush_interval=0.05)
    writer = await LedgerWriter.start(database, settings)
    for n in range(6):
        writer.record(row(n, **(REFUSED_ON_POSTGRES[0] if n == 3 else {})))
    assert await writer.flush(30)
    refused = 1 if database.dialect == "postgresql" else 0
    assert writer.rejected == refused
    assert len((await stored(database))["spend_logs"]) == 6 - refused
    await writer.aclose()


@pytest.fixture
async def pgbouncer_database(postgres_url: str) -> AsyncIterator[Database]:
    """PostgreSQL with ``pgbouncer=true``: no prepared statement cache at all."""
    schema = f"stargate_test_{uuid.uuid4().hex[:12]}"
    url = make_url(postgres_url).update_query_dict({"schema": schema, "pgbouncer": "true"})
    database = await open_database(url.render_as_string(hide_password=False))
    try:
        await upgrade_database(database)
        yield database
    finally:
        async with database.write() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await database.aclose()


@pytest.mark.postgres
async def test_pgbouncer_mode_writes_the_same(pgbouncer_database: Database) -> None:
    database = pgbouncer_database
    work = batches(sqlite=False)
    core_counts = [await core_write_rows(database, batch) for batch in work]
    by_core = await stored(database)
    await clear(database)
    assert [(await write_rows(database, batch)).inserted for batch in work] == core_counts
    assert await stored(database) == by_core
