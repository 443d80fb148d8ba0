"""The ledger writer on a fresh SQLite database: batches by size and by time, exactly-once rows
and rollups, back-pressure without loss, retries while the database fails, the health policy,
rows the database refuses set aside, prompts dropped by default, replay of a stopped writer's
journal, and a shutdown that drains (or keeps the journal for the next start)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from stargate.config import load_config
from stargate.errors import ConfigError
from stargate.store import ledger_writes
from stargate.store.database import Database, open_database
from stargate.store.ledger_queries import SpendFilter, rollup_totals
from stargate.store.ledger_rows import SpendRow, encode_row
from stargate.store.ledger_tables import spend_logs
from stargate.store.ledger_writes import WriteResult
from stargate.store.migrate import upgrade_database
from stargate.telemetry import ledger as ledger_module
from stargate.telemetry.journal import Journal
from stargate.telemetry.ledger import LedgerWriter
from stargate.telemetry.ledger_settings import LedgerSettings, parse_retention

NOW = datetime.now(UTC)
Write = Callable[[Database, Sequence[SpendRow]], Awaitable[WriteResult]]


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    try:
        await upgrade_database(db)
        yield db
    finally:
        await db.aclose()


def settings(tmp_path: Path, **overrides: object) -> LedgerSettings:
    values: dict[str, object] = {"journal_dir": tmp_path / "journal", "flush_interval": 0.05,
                                 "fsync_interval": 0.01, "retry_initial": 0.01,
                                 "retry_max": 0.05}  # fmt: skip
    values.update(overrides)
    return LedgerSettings(**values)  # type: ignore[arg-type]


def row(n: int, **fields: object) -> SpendRow:
    values: dict[str, object] = {
        "request_id": f"req-{n:05d}",
        "started_at": NOW,
        "ended_at": NOW,
        "requested_model": "m",
        "key_hash": "k" * 64,
        "input_tokens": 3,
        "cost_micro": 7,
    }
    values.update(fields)
    return SpendRow(**values)  # type: ignore[arg-type]


async def stored(database: Database) -> list[str]:
    async with database.read() as conn:
        found = await conn.execute(select(spend_logs.c.request_id).order_by("request_id"))
        return list(found.scalars())


class Recorder:
    """Wraps write_rows: notes batch sizes; fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.failing: BaseException | None = None
        self.refuse: set[str] = set()

    async def __call__(self, database: Database, rows: Sequence[SpendRow]) -> WriteResult:
        if self.failing is not None:
            raise self.failing
        if self.refuse & {r.request_id for r in rows}:
            raise IntegrityError("INSERT", {}, Exception("refused"))
        self.batches.append(len(rows))
        return await ledger_writes.write_rows(database, rows)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(ledger_module, "write_rows", recorder)
    return recorder


async def test_every_recorded_row_is_committed_once_in_bounded_batches(
    database: Database, tmp_path: Path, recorder: Recorder
) -> None:
    progress: list[tuple[int, int]] = []
    writer = await LedgerWriter.start(
        database, settings(tmp_path, batch_size=500),
        on_progress=lambda w: progress.append((w.pending, w.journal_bytes)),
    )  # fmt: skip
    for n in range(1200):
        assert writer.record(row(n))
    assert writer.journal_bytes > 0
    assert await writer.flush(10)
    assert writer.pending == 0
    assert writer.journal_bytes == 0
    assert progress[-1] == (0, 0)  # told after each batch: the gauges fall back to zero
    assert len(await stored(database)) == 1200
    assert max(recorder.batches) <= 500
    assert sum(recorder.batches) == 1200
    (total,) = await rollup_totals(database, SpendFilter())
    assert (total.requests, total.cost_micro, total.input_tokens) == (1200, 8400, 3600)
    assert await writer.aclose()


async def test_a_partial_batch_is_written_when_the_flush_interval_ends(
    database: Database, tmp_path: Path, recorder: Recorder
) -> None:
    writer = await LedgerWriter.start(database, settings(tmp_path, flush_interval=0.05))
    for n in range(3):
        writer.record(row(n))
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(await stored(database)) == 3:
            break
    assert recorder.batches == [3]
    await writer.aclose()


async def test_a_request_recorded_twice_is_in_the_ledger_once(
    database: Database, tmp_path: Path
) -> None:
    writer = await LedgerWriter.start(database, settings(tmp_path))
    writer.record(row(1))
    await writer.flush(5)
    writer.record(row(1, cost_micro=1_000_000))
    writer.record(row(2))
    await writer.flush(5)
    (total,) = await rollup_totals(database, SpendFilter())
    assert (total.requests, total.cost_micro) == (2, 14)
    await writer.aclose()


async def test_a_full_queue_signals_back_pressure_and_loses_nothing(
    database: Database, tmp_path: Path
) -> None:
    writer = await LedgerWriter.start(database, settings(tmp_path, queue_size=5))
    results = [writer.record(row(n)) for n in range(200)]  # no await: the writer cannot drain
    assert results[:5] == [True] * 5
    assert not any(results[5:])
    assert writer.backpressure
    assert writer.pending == 200
    assert await writer.flush(10)
    assert not writer.backpressure
    assert len(await stored(database)) == 200
    (total,) = await rollup_totals(database, SpendFilter())
    assert total.requests == 200
    await writer.aclose()


async def test_while_the_database_fails_rows_wait_then_are_written_once(
    database: Database, tmp_path: Path, recorder: Recorder
) -> None:
    recorder.failing = ConnectionRefusedError("database is down")
    strict = settings(tmp_path, allow_on_db_unavailable=False, max_pending=5, queue_size=8)
    writer = await LedgerWriter.start(database, strict)
    for n in range(5):
        writer.record(row(n))
    await asyncio.sleep(0.1)
    assert writer.healthy  # 5 pending is not more than 5
    assert not writer.database_available
    for n in range(5, 40):
        writer.record(row(n))
        await asyncio.sleep(0)
    assert not writer.healthy
    recorder.failing = None
    assert await writer.flush(10)
    assert writer.healthy
    assert writer.database_available
    assert await stored(database) == [f"req-{n:05d}" for n in range(40)]
    (total,) = await rollup_totals(database, SpendFilter())
    assert total.requests == 40
    await writer.aclose()


async def test_by_default_the_ledger_stays_healthy_while_the_database_is_down(
    database: Database, tmp_path: Path, recorder: Recorder
) -> None:
    recorder.failing = OSError("connection reset")
    writer = await LedgerWriter.start(database, settings(tmp_path, max_pending=0))
    for n in range(50):
        writer.record(row(n))
    await asyncio.sleep(0.05)
    assert writer.pending == 50
    assert writer.healthy
    recorder.failing = None
    assert await writer.flush(10)
    await writer.aclose()


async def test_a_row_the_database_refuses_is_set_aside_and_the_rest_written(
    database: Database, tmp_path: Path, recorder: Recorder
) -> None:
    recorder.refuse = {"req-00013"}
    writer = await LedgerWriter.start(database, settings(tmp_path))
    for n in range(30):
        writer.record(row(n))
    assert await writer.flush(10)
    assert len(await stored(database)) == 29
    assert writer.rejected == 1
    rejected = (tmp_path / "journal" / "rejected.jsonl").read_text()
    assert '"request_id":"req-00013"' in rejected
    await writer.aclose()


async def test_prompts_are_kept_only_when_configured(database: Database, tmp_path: Path) -> None:
    writer = await LedgerWriter.start(database, settings(tmp_path))
    writer.record(row(1, prompt="secret question", response="secret answer"))
    await writer.aclose()
    keeper = await LedgerWriter.start(database, settings(tmp_path, store_prompts=True))
    keeper.record(row(2, prompt="kept question", response="kept answer"))
    await keeper.aclose()
    async with database.read() as conn:
        found = await conn.execute(select(spend_logs.c.prompt, spend_logs.c.response).order_by(
            spend_logs.c.request_id))  # fmt: skip
        assert found.all() == [(None, None), ("kept question", "kept answer")]


async def test_rows_journaled_before_the_database_answered_are_not_journaled_with_prompts(
    database: Database, tmp_path: Path, recorder: Recorder
) -> None:
    recorder.failing = ConnectionRefusedError()
    writer = await LedgerWriter.start(database, settings(tmp_path))
    writer.record(row(1, prompt="secret question"))
    journaled = b"".join(p.read_bytes() for p in (tmp_path / "journal").rglob("*.jsonl"))
    assert b"req-00001" in journaled
    assert b"secret" not in journaled
    recorder.failing = None
    await writer.aclose()


async def test_rows_a_stopped_writer_left_in_its_journal_are_replayed_at_start(
    database: Database, tmp_path: Path
) -> None:
    stopped = Journal.open(tmp_path / "journal")
    for n in range(700):
        stopped.append(encode_row(row(n)))
    stopped.append(b'{"request_id": "torn')  # the write a crash interrupted
    stopped.close()
    writer = await LedgerWriter.start(database, settings(tmp_path))
    writer.record(row(5000))
    assert await writer.flush(10)
    assert len(await stored(database)) == 701
    assert await writer.aclose()
    assert list((tmp_path / "journal").iterdir()) == []


async def test_closing_drains_everything_queued(database: Database, tmp_path: Path) -> None:
    writer = await LedgerWriter.start(database, settings(tmp_path, flush_interval=5.0))
    for n in range(300):
        writer.record(row(n))
    assert await writer.aclose(timeout=10)
    assert len(await stored(database)) == 300
    with pytest.raises(RuntimeError, match="closed"):
        writer.record(row(301))


async def test_closing_while_the_database_is_down_keeps_rows_for_the_next_start(
    database: Database, tmp_path: Path, recorder: Recorder
) -> None:
    recorder.failing = ConnectionRefusedError()
    writer = await LedgerWriter.start(database, settings(tmp_path))
    for n in range(10):
        writer.record(row(n))
    assert not await writer.aclose(timeout=0.2)
    recorder.failing = None
    assert await stored(database) == []
    restarted = await LedgerWriter.start(database, settings(tmp_path))
    assert await restarted.flush(10)
    assert len(await stored(database)) == 10
    await restarted.aclose()


async def test_retention_deletes_old_rows_between_batches(
    database: Database, tmp_path: Path
) -> None:
    old = NOW - timedelta(days=45)
    await ledger_writes.write_rows(
        database, [row(n, started_at=old, ended_at=old) for n in range(30)]
    )
    writer = await LedgerWriter.start(
        database, settings(tmp_path, retention=timedelta(days=30), retention_batch=7)
    )
    writer.record(row(100))
    for _ in range(200):
        await asyncio.sleep(0.02)
        if await stored(database) == ["req-00100"]:
            break
    assert await stored(database) == ["req-00100"]
    async with database.read() as conn:
        count = await conn.execute(select(func.count()).select_from(spend_logs))
    assert count.scalar_one() == 1
    await writer.aclose()


def test_settings_come_from_general_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "general_settings:\n"
        "  store_prompts_in_spend_logs: true\n"
        "  allow_requests_on_db_unavailable: false\n"
        "  spend_logs_max_pending: 50\n"
        "  maximum_spend_logs_retention_period: 2w\n"
        f"  spend_logs_journal_dir: {tmp_path / 'j'}\n",
        encoding="utf-8",
    )
    config = load_config(path, {})
    assert not [w for w in config.warnings if "spend" in w]
    loaded = LedgerSettings.from_config(config)
    assert loaded.store_prompts
    assert not loaded.allow_on_db_unavailable
    assert loaded.max_pending == 50
    assert loaded.retention == timedelta(days=14)
    assert loaded.journal_dir == tmp_path / "j"
    defaults = LedgerSettings.from_config(load_config(None, {}))
    assert (defaults.store_prompts, defaults.allow_on_db_unavailable) == (False, True)
    assert defaults.retention is None


def test_a_retention_period_is_litellms_duration() -> None:
    assert parse_retention("30d") == timedelta(days=30)
    assert parse_retention("1mo") == timedelta(days=30)
    assert parse_retention("12h") == timedelta(hours=12)
    with pytest.raises(ConfigError, match="duration"):
        parse_retention("forever")


async def test_a_writer_that_fails_unexpectedly_recovers_from_its_journal(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = await LedgerWriter.start(database, settings(tmp_path))
    real = Journal.mark_committed
    calls = 0

    def broken_once(journal: Journal, seq: int, count: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk trouble")
        real(journal, seq, count)

    monkeypatch.setattr(Journal, "mark_committed", broken_once)
    for n in range(20):
        writer.record(row(n))
    assert await writer.flush(10)
    assert len(await stored(database)) == 20
    (total,) = await rollup_totals(database, SpendFilter())
    assert total.requests == 20
    assert await writer.aclose()
