"""Ledger storage on a fresh SQLite database: the row codec, idempotent batch writes, rollup
math, keyset pages, windowed spend (rollups plus edges) and batched retention."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import String, func, select

from stargate.store.database import Database, open_database
from stargate.store.ledger_queries import (
    SpendFilter,
    decode_cursor,
    encode_cursor,
    logs_page,
    rollup_totals,
    spend_between,
)
from stargate.store.ledger_retention import delete_batch, delete_older_than
from stargate.store.ledger_rows import COLUMNS, SpendRow, clipped_values, decode_row, encode_row
from stargate.store.ledger_tables import spend_daily, spend_logs
from stargate.store.ledger_writes import write_rows
from stargate.store.migrate import upgrade_database

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
KEY_A, KEY_B = "a" * 64, "b" * 64


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    try:
        await upgrade_database(db)
        yield db
    finally:
        await db.aclose()


def row(n: int, *, at: datetime = T0, **fields: object) -> SpendRow:
    values: dict[str, object] = {
        "request_id": f"req-{n:05d}",
        "started_at": at,
        "ended_at": at + timedelta(milliseconds=250),
        "requested_model": "claude-haiku",
        "key_hash": KEY_A,
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_micro": 100,
    }
    values.update(fields)
    return SpendRow(**values)  # type: ignore[arg-type]


async def count_rows(database: Database) -> int:
    async with database.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(spend_logs))).scalar_one())


def test_a_row_survives_the_journal_codec() -> None:
    original = row(
        1,
        status="error",
        error_type="UpstreamThrottled",
        http_status=429,
        tags=["team-a", "batch"],
        metadata={"price": Decimal("0.5"), "nested": {"x": [1, 2]}},
        cost_micro=None,
        ttft_ms=40,
        stream=True,
    )
    line = encode_row(original)
    assert line.endswith(b"\n")
    back = decode_row(line)
    assert back.started_at == original.started_at
    assert back.metadata == {"price": "0.5", "nested": {"x": [1, 2]}}
    assert (back.status, back.cost_micro, back.tags, back.stream) == (
        "error",
        None,
        ["team-a", "batch"],
        True,
    )


def test_a_journal_line_has_every_column_in_order() -> None:
    """The journal's format: replayed after a crash, by this version or the next."""
    line = encode_row(
        SpendRow(
            request_id="r-1", started_at=datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC),
            ended_at=datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC), requested_model="haiku",
            key_hash="kh", key_id="k1", key_alias="ci", user_id="u1", team_id="t1",
            deployment_id="d1", model="us.anthropic.claude", provider="bedrock",
            region="us-east-1", route="/v1/messages", input_tokens=12, output_tokens=5,
            cache_read_tokens=2, cost_micro=77, latency_ms=750, http_status=200, stream=True,
            tags=["a"], metadata={"price": Decimal("0.5")},
        )
    )  # fmt: skip
    assert line == (
        b'{"request_id":"r-1","started_at":"2026-03-01T12:00:00.250000+00:00",'
        b'"ended_at":"2026-03-01T12:00:01+00:00","requested_model":"haiku","status":"success",'
        b'"key_hash":"kh","key_id":"k1","key_alias":"ci","user_id":"u1","team_id":"t1",'
        b'"end_user":null,"deployment_id":"d1","model":"us.anthropic.claude",'
        b'"provider":"bedrock","region":"us-east-1","route":"/v1/messages","input_tokens":12,'
        b'"output_tokens":5,"cache_read_tokens":2,"cache_write_tokens":0,"cost_micro":77,'
        b'"latency_ms":750,"ttft_ms":null,"error_type":null,"http_status":200,"stream":true,'
        b'"client_ip":null,"user_agent":null,"tags":["a"],"metadata":{"price":"0.5"},'
        b'"prompt":null,"response":null}\n'
    )


@pytest.mark.parametrize(
    "line", [b'{"request_id": "x", "started_at": "2026-01-01T00:00:00+00:00"', b"[1]", b"{}"]
)
def test_a_torn_or_foreign_line_is_not_a_row(line: bytes) -> None:
    with pytest.raises(ValueError, match=r"row|JSON"):
        decode_row(line)


def test_rows_that_could_never_be_stored_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match="aware"):
        row(1, at=datetime(2026, 1, 1)).check()
    with pytest.raises(ValueError, match="status"):
        row(1, status="ok").check()


def test_long_text_is_trimmed_to_the_column_and_nul_replaced() -> None:
    clipped = clipped_values(row(1, user_agent="x" * 2000, client_ip="1.2.3.4\x00"))
    values = dict(zip(COLUMNS, clipped, strict=True))
    assert len(values["user_agent"]) == 512
    assert values["client_ip"] == "1.2.3.4\ufffd"


def test_every_text_column_is_clipped_to_its_size_and_rid_of_nul() -> None:
    text = {c.name: c.type.length for c in spend_logs.columns if isinstance(c.type, String)}
    assert {"request_id", "key_alias", "user_agent", "prompt", "response"} <= set(text)
    long = {name: "\x00" + "y" * 3000 for name in text if name != "status"}
    values = dict(zip(COLUMNS, clipped_values(row(1, **long)), strict=True))
    for name, length in text.items():
        if name != "status":
            assert values[name] == ("\ufffd" + "y" * 3000)[:length], name
    assert values["input_tokens"] == 10  # other columns as they are


async def test_writing_a_batch_twice_changes_nothing_the_second_time(database: Database) -> None:
    rows = [row(n) for n in range(700)]
    first = await write_rows(database, rows)
    second = await write_rows(database, [*rows[:300], row(999)])
    assert (first.inserted, first.duplicates) == (700, 0)
    assert (second.inserted, second.duplicates) == (1, 300)
    assert await count_rows(database) == 701
    (total,) = await rollup_totals(database, SpendFilter())
    assert (total.requests, total.cost_micro, total.input_tokens) == (701, 70_100, 7010)


async def test_the_same_request_twice_in_one_batch_counts_once(database: Database) -> None:
    result = await write_rows(database, [row(1), row(1, cost_micro=999)])
    (total,) = await rollup_totals(database, SpendFilter())
    assert result.inserted == 1
    assert (total.requests, total.cost_micro) == (1, 100)


async def test_rollups_add_up_per_day_key_user_team_model_and_provider(database: Database) -> None:
    next_day = T0 + timedelta(days=1)
    await write_rows(
        database,
        [
            row(1, user_id="u1", team_id="t1", provider="bedrock"),
            row(2, user_id="u1", team_id="t1", provider="bedrock", status="error", cost_micro=0),
            row(3, user_id="u2", key_hash=KEY_B, cost_micro=None, cache_read_tokens=7),
            row(4, at=next_day, user_id="u1", team_id="t1", requested_model="claude-sonnet"),
        ],
    )
    await write_rows(database, [row(5, user_id="u1", team_id="t1", provider="bedrock")])
    by_day = await rollup_totals(database, SpendFilter(user_id="u1"), group_by=("day",))
    assert [(e.group["day"], e.requests, e.failed_requests, e.cost_micro) for e in by_day] == [
        (T0.date(), 3, 1, 200),
        (next_day.date(), 1, 0, 100),
    ]
    (unpriced,) = await rollup_totals(database, SpendFilter(key_hash=KEY_B))
    assert (unpriced.requests, unpriced.cost_micro, unpriced.unpriced_requests) == (1, 0, 1)
    assert unpriced.cache_read_tokens == 7
    assert unpriced.total_tokens == 22
    teams = await rollup_totals(database, SpendFilter(), group_by=("team_id",))
    assert {e.group["team_id"]: e.requests for e in teams} == {"": 1, "t1": 4}
    async with database.read() as conn:
        stored = (await conn.execute(select(func.count()).select_from(spend_daily))).scalar_one()
    assert stored == 3  # (day 1, u1/t1), (day 1, u2/key B), (day 2, sonnet)


async def test_a_rollup_keeps_the_alias_last_seen_on_a_key(database: Database) -> None:
    await write_rows(database, [row(1, key_alias="old")])
    await write_rows(database, [row(2, key_alias="new"), row(3)])
    (entry,) = await rollup_totals(database, SpendFilter(), group_by=("key_hash",))
    assert entry.key_alias == "new"


async def test_pages_walk_every_row_newest_first_without_gaps_or_repeats(
    database: Database,
) -> None:
    # Many rows share a start time: the request id breaks the tie.
    rows = [row(n, at=T0 + timedelta(seconds=n // 3)) for n in range(95)]
    await write_rows(database, rows)
    seen: list[str] = []
    cursor = None
    while True:
        page = await logs_page(database, SpendFilter(key_hash=KEY_A), limit=10, cursor=cursor)
        seen += [r.request_id for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = sorted(rows, key=lambda r: (r.started_at, r.request_id), reverse=True)
    assert seen == [r.request_id for r in expected]
    by_offset = await logs_page(database, SpendFilter(), limit=10, offset=90)
    assert [r.request_id for r in by_offset.rows] == seen[90:]
    assert by_offset.next_cursor is None


async def test_pages_filter_by_time_and_scope(database: Database) -> None:
    await write_rows(
        database,
        [row(1, at=T0 - timedelta(days=2)), row(2), row(3, user_id="u9"), row(4, key_hash=KEY_B)],
    )
    page = await logs_page(database, SpendFilter(key_hash=KEY_A), start=T0 - timedelta(hours=1))
    assert sorted(r.request_id for r in page.rows) == ["req-00002", "req-00003"]
    page = await logs_page(database, SpendFilter(user_id="u9"))
    assert [r.request_id for r in page.rows] == ["req-00003"]
    page = await logs_page(database, SpendFilter(), request_id="req-00004")
    assert page.rows[0].key_hash == KEY_B


def test_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    assert decode_cursor(encode_cursor(T0, "req|1")) == (T0, "req|1")
    for bad in ("", "!!!", "bm90IGEgY3Vyc29y"):
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor(bad)


async def test_windowed_spend_from_rollups_and_edges_equals_summing_every_row(
    database: Database,
) -> None:
    generator = random.Random(7)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [
        row(n, at=start + timedelta(minutes=generator.randrange(0, 12 * 24 * 60)),
            cost_micro=generator.choice([None, 1, 10, 1000]))
        for n in range(600)
    ]  # fmt: skip
    await write_rows(database, rows)
    for _ in range(25):
        a = start + timedelta(minutes=generator.randrange(-600, 12 * 24 * 60))
        b = a + timedelta(minutes=generator.randrange(0, 6 * 24 * 60))
        expected_cost = sum(r.cost_micro or 0 for r in rows if a <= r.started_at < b)
        expected_unpriced = sum(r.cost_micro is None for r in rows if a <= r.started_at < b)
        got = await spend_between(database, SpendFilter(key_hash=KEY_A), a, b)
        assert got == (expected_cost, expected_unpriced), (a, b)
    open_ended = await spend_between(database, SpendFilter(), start + timedelta(hours=5), None)
    assert open_ended[0] == sum(
        r.cost_micro or 0 for r in rows if r.started_at >= start + timedelta(hours=5)
    )


def test_a_scope_names_the_requests_it_covers() -> None:
    assert SpendFilter.of_scope("key:k-1") == SpendFilter(key_id="k-1")
    assert SpendFilter.of_scope("member:t1:u@x") == SpendFilter(user_id="u@x", team_id="t1")
    with pytest.raises(ValueError, match="scope"):
        SpendFilter.of_scope("org:1")


async def test_retention_deletes_old_rows_in_batches_and_keeps_rollups(database: Database) -> None:
    old = [row(n, at=T0 - timedelta(days=40, minutes=n)) for n in range(25)]
    await write_rows(database, [*old, row(100), row(101)])
    assert await delete_batch(database, T0 - timedelta(days=30), batch=10) == 10
    assert await delete_older_than(database, T0 - timedelta(days=30), batch=10) == 15
    assert await count_rows(database) == 2
    (total,) = await rollup_totals(database, SpendFilter(), first_day=date(2026, 1, 1))
    assert total.requests == 27  # the daily totals outlive the raw rows


def test_sqlite_times_are_the_datetime_text_sqlalchemy_binds() -> None:
    from stargate.store.ledger_insert import _sqlite_time, sqlite_times

    rng = random.Random(3)
    moments = [T0, T0.replace(microsecond=1), datetime(1999, 12, 31, 23, 59, 59, 999_999, UTC)]
    moments += [T0 + timedelta(seconds=rng.randrange(10**9), microseconds=rng.randrange(10**6))
                for _ in range(500)]  # fmt: skip
    moments += [T0 + timedelta(seconds=n) for n in range(20)]  # microsecond 0
    rows = [row(n, at=at, ended_at=at + timedelta(microseconds=n)) for n, at in enumerate(moments)]
    expected = [_sqlite_time(m) for r in rows for m in (r.started_at, r.ended_at)]
    assert sqlite_times(rows) == expected
    # Another time zone than UTC: converted to UTC first, as one datetime at a time.
    ist = timezone(timedelta(hours=5, minutes=30))
    rows[3] = row(3, at=datetime(2026, 3, 11, 4, 0, tzinfo=ist))
    assert sqlite_times(rows)[6:8] == ["2026-03-10 22:30:00.000000", "2026-03-10 22:30:00.250000"]
