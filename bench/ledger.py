"""The spend ledger's costs: CPU on the request path, and usage queries over a million rows.

    uv run python -m bench.ledger record [--rows 50000] [--database-url URL]
    uv run python -m bench.ledger write [--rows 20000] [--batch 500] [--database-url URL]
    uv run python -m bench.ledger queries --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
        [--rows 1000000] [--keep | --schema NAME_OF_A_KEPT_SCHEMA]

``record``: the CPU time the event-loop thread spends in ``LedgerWriter.record`` (journal append
with ``os.write`` plus queueing), measured with ``time.thread_time`` around the calls only, while
the writer task commits batches in between (its work, the fsyncs and the database driver's
threads are not on the request path and are not counted). Also shown: building the row and
pricing the request (``cost_micro``) on top, and the rows per second the writer committed.

``write``: the CPU the ledger's batch write costs per committed row: ``write_rows`` called
directly with batches of ``--batch`` fresh rows (the writer's batch size; rows like a request's,
over 20 keys and 3 models so every batch updates several rollups) into an empty database (a
SQLite file, or a fresh schema of the PostgreSQL at ``--database-url``, dropped afterwards).
Process CPU (``time.process_time``: the event loop plus the driver's threads, such as
aiosqlite's, where SQLite itself runs; not the PostgreSQL server) around the calls, divided by
the rows committed, and the part spent on the event-loop thread.

``queries``: loads ``--rows`` rows (30 days, 2000 keys, 200 users, 40 teams, 6 models) into a
fresh PostgreSQL schema through the ledger's own batch writes (rows and rollups; ``--profile``
``skewed``, the default, or ``uniform``: see :func:`synthetic_rows`), then times the
usage operations (median of 20 runs each): a ``/spend/logs`` page unfiltered, by key and by user
with a date range, ``/global/spend/report`` over 30 days by team, key and model, daily activity
of a user and of a team, ``/v1/usage`` of a key, and a budget window's spend. The schema is
dropped afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from stargate.admin.fields import parse_body
from stargate.admin.spend_reader import LedgerSpendReader
from stargate.admin.spend_requests import (
    DailyActivityQuery,
    GlobalSpendReportQuery,
    SpendLogsQuery,
)
from stargate.admin.spend_service import SpendAdmin
from stargate.config.deployment import Deployment
from stargate.config.prices import load_price_table
from stargate.config.pricing import price_deployment
from stargate.core.cost import cost_micro
from stargate.core.usage import Usage
from stargate.store.database import Database, open_database
from stargate.store.ledger_rows import SpendRow
from stargate.store.ledger_writes import write_rows
from stargate.store.limits import BudgetLimit
from stargate.store.migrate import upgrade_database
from stargate.telemetry.ledger import LedgerWriter
from stargate.telemetry.ledger_settings import LedgerSettings

MODELS = ["claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-5", "nova-micro", "nova-pro",
          "llama-3-3-70b"]  # fmt: skip
NOW = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)


def sample_row(n: int, now: datetime) -> SpendRow:
    return SpendRow(
        request_id=f"bench-{n:09d}",
        started_at=now,
        ended_at=now,
        requested_model="claude-haiku-4-5",
        key_hash="a" * 64,
        key_id="key-1",
        key_alias="bench",
        user_id="user-1",
        team_id="team-1",
        deployment_id="haiku-use1",
        model="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        provider="bedrock",
        region="us-east-1",
        route="/v1/chat/completions",
        input_tokens=1200,
        output_tokens=350,
        cache_read_tokens=4000,
        cost_micro=3_000,
        latency_ms=840,
        ttft_ms=210,
        http_status=200,
        stream=True,
        client_ip="10.1.2.3",
        user_agent="claude-cli/2.0.0 (external, cli)",
        tags=["team-a"],
        metadata={"session": "s-1"},
    )


async def bench_record(rows: int, database_url: str | None) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="stargate-ledger-bench-"))
    url = database_url or f"sqlite+aiosqlite:///{scratch / 'ledger.db'}"
    database = await open_database(url)
    await upgrade_database(database)
    writer = await LedgerWriter.start(database, LedgerSettings(journal_dir=scratch / "journal"))
    deployment = Deployment(id="d", model_name="m", provider="bedrock",
                            model="us.anthropic.claude-haiku-4-5-20251001-v1:0")  # fmt: skip
    info = price_deployment(deployment, load_price_table(), source="bench")[0].info
    usage = Usage(input_tokens=1200, output_tokens=350, cache_read_tokens=4000)
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    record_ns = build_ns = 0
    wall = time.perf_counter()
    for start in range(0, rows, 250):
        batch = [sample_row(n, now) for n in range(start, min(start + 250, rows))]
        for row in batch:
            row.request_id = f"{run}-{row.request_id}"
        begin = time.thread_time_ns()
        for row in batch:
            writer.record(row)
        record_ns += time.thread_time_ns() - begin
        begin = time.thread_time_ns()
        for n in range(len(batch)):
            built = sample_row(start + n, now)
            built.cost_micro = cost_micro(usage, info)
        build_ns += time.thread_time_ns() - begin
        await asyncio.sleep(0)  # the writer task runs between request bursts
    assert await writer.flush(120)
    elapsed = time.perf_counter() - wall
    await writer.aclose()
    await database.aclose()
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"database: {make_url(url).get_backend_name()}, rows: {rows}")
    print(f"record() CPU per request:              {record_ns / rows / 1e6:.4f} ms")
    print(f"build the row + cost_micro per request: {build_ns / rows / 1e6:.4f} ms")
    print(f"committed: {rows / elapsed:,.0f} rows/s (journal, batches, rollups)")


def write_batch(start: int, count: int, run: str, now: datetime) -> list[SpendRow]:
    """``count`` rows like :func:`sample_row`'s, spread over 20 keys and 3 models."""
    rows = []
    for n in range(start, start + count):
        row = sample_row(n, now)
        row.request_id = f"{run}-{n:09d}"
        row.key_hash, row.key_alias = f"{n % 20:064x}", f"key-{n % 20}"
        row.requested_model = MODELS[n % 3]
        rows.append(row)
    return rows


async def bench_write(rows: int, batch: int, database_url: str | None) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="stargate-ledger-bench-"))
    schema = None
    if database_url is None:
        url = f"sqlite+aiosqlite:///{scratch / 'ledger.db'}"
    else:
        schema = f"stargate_bench_{uuid.uuid4().hex[:8]}"
        url = make_url(database_url).update_query_dict({"schema": schema})
        url = url.render_as_string(hide_password=False)
    database = await open_database(url)
    try:
        await upgrade_database(database)
        run, now = uuid.uuid4().hex[:8], datetime.now(UTC)
        await write_rows(database, write_batch(rows, batch, run, now))  # warm the pool, caches
        cpu_ns = loop_ns = wall_ns = 0
        for start in range(0, rows, batch):
            rows_now = write_batch(start, min(batch, rows - start), run, now)
            began, loop = time.process_time_ns(), time.thread_time_ns()
            wall = time.perf_counter_ns()
            await write_rows(database, rows_now)
            cpu_ns += time.process_time_ns() - began
            loop_ns += time.thread_time_ns() - loop
            wall_ns += time.perf_counter_ns() - wall
    finally:
        if schema is not None:
            async with database.write() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await database.aclose()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"database: {database.dialect}, rows: {rows}, batches of {batch}")
    print(f"write_rows CPU per committed row:  {cpu_ns / rows / 1e6:.4f} ms")
    print(f"  of which the event-loop thread:  {loop_ns / rows / 1e6:.4f} ms")
    print(f"write_rows wall time per row:      {wall_ns / rows / 1e6:.4f} ms")


Profile = str  # "skewed" or "uniform"


def synthetic_rows(first: int, count: int, profile: Profile) -> list[SpendRow]:
    """Rows ``first`` to ``first + count - 1`` of the synthetic month (deterministic).

    ``skewed``: key activity follows a Zipf law (a few heavy keys, a long tail) and each key
    sends 85% of its requests to one model of its own; ``uniform``: every key uses every model
    every day, the worst case for the rollups (one rollup row per three requests)."""
    generator = random.Random(first)
    teams = [f"team-{t:02d}" for t in range(40)]
    users = [(f"user-{u:03d}", teams[u % 40]) for u in range(200)]
    keys = [(f"{k:064x}", f"key-{k:04d}", users[k % 200]) for k in range(2000)]
    weights = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(keys))))
    rows = []
    for n in range(first, first + count):
        if profile == "uniform":
            index = generator.randrange(len(keys))
            model = MODELS[n % len(MODELS)]
        else:
            index = bisect.bisect(weights, generator.random() * weights[-1])
            primary = MODELS[index % len(MODELS)]
            model = primary if generator.random() < 0.85 else generator.choice(MODELS)
        key_hash, key_id, (user_id, team_id) = keys[index]
        started = NOW - timedelta(seconds=generator.randrange(30 * 86_400))
        inp, out = generator.randrange(50, 8000), generator.randrange(10, 2000)
        rows.append(
            SpendRow(
                request_id=f"bench-{n:09d}",
                started_at=started,
                ended_at=started + timedelta(milliseconds=900),
                requested_model=model,
                key_hash=key_hash,
                key_id=key_id,
                user_id=user_id,
                team_id=team_id,
                provider="bedrock",
                route="/v1/chat/completions",
                input_tokens=inp,
                output_tokens=out,
                cost_micro=inp * 3 + out * 15,
                latency_ms=900,
            )
        )
    return rows


async def timed(label: str, operation: Callable[[], Awaitable[Any]], runs: int = 20) -> None:
    await operation()  # warm the caches and the pool
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await operation()
        samples.append((time.perf_counter() - started) * 1000)
    print(f"{label:<52} median {statistics.median(samples):7.1f} ms   max {max(samples):7.1f} ms")


async def bench_queries(
    database_url: str, rows: int, profile: Profile, keep: bool, reuse: str | None = None
) -> None:
    schema = reuse or f"stargate_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(database_url).update_query_dict({"schema": schema})
    database = await open_database(url.render_as_string(hide_password=False))
    if reuse:  # a schema an earlier --keep run loaded
        try:
            await run_queries(database)
        finally:
            await database.aclose()
        return
    try:
        await upgrade_database(database)
        loaded = time.perf_counter()
        for start in range(0, rows, 20_000):
            await write_rows(database, synthetic_rows(start, min(20_000, rows - start), profile))
        seconds = time.perf_counter() - loaded
        async with database.write() as conn:
            await conn.execute(text("ANALYZE spend_logs"))
            await conn.execute(text("ANALYZE spend_daily"))
            raw = (await conn.execute(text("SELECT count(*) FROM spend_logs"))).scalar_one()
            daily = (await conn.execute(text("SELECT count(*) FROM spend_daily"))).scalar_one()
        print(
            f"{profile}: loaded {raw:,} rows ({daily:,} daily rollups) in {seconds:.0f} s "
            f"into {schema}"
        )
        await run_queries(database)
    finally:
        if not keep:
            async with database.write() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await database.aclose()


async def run_queries(database: Database) -> None:
    spend = SpendAdmin(database, clock=lambda: NOW)
    reader = LedgerSpendReader(database, clock=lambda: NOW)
    key, user, team = f"{7:064x}", "user-007", "team-07"  # an active key, its user and team
    month = {"start_date": "2026-03-02", "end_date": "2026-03-31"}

    def logs(query: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
        return lambda: spend.logs(parse_body(SpendLogsQuery, query))

    def report(group_by: str) -> Callable[[], Awaitable[Any]]:
        body = {**month, "group_by": group_by}
        return lambda: spend.global_report_json(parse_body(GlobalSpendReportQuery, body))

    first = await spend.logs(parse_body(SpendLogsQuery, {"limit": 100}))
    await timed("/spend/logs, one page of 100 (newest)", logs({"limit": 100}))
    await timed("/spend/logs, page 2 (cursor)",
                logs({"limit": 100, "cursor": first.next_cursor}))  # fmt: skip
    await timed("/spend/logs?api_key=..., one page", logs({"api_key": key, "limit": 100}))
    await timed("/spend/logs?user_id=&start_date=&end_date=&summarize=false",
                logs({"user_id": user, **month, "summarize": "false"}))  # fmt: skip
    await timed("/spend/logs?start_date=&end_date= (30-day summary)", logs(month))
    # The report as the route serves it (JSON bytes). By team: a fresh process builds all 30
    # days ("cold"); afterwards each request rebuilds only the days that moved (here the newest
    # day is dropped from the cache before every request, as if today's rows kept arriving).
    month_team = parse_body(GlobalSpendReportQuery, {**month, "group_by": "team"})

    async def team_cold() -> bytes:
        return await SpendAdmin(database, clock=lambda: NOW).global_report_json(month_team)

    async def team_today_moved() -> bytes:
        parts = spend.team_reports._parts
        for key in [k for k in parts if k[1] == date(2026, 3, 31)]:
            del parts[key]
        return await spend.global_report_json(month_team)

    await timed("/global/spend/report, 30 days, group_by=team, cold", team_cold, runs=5)
    await timed("/global/spend/report, 30 days, group_by=team (today moved)", team_today_moved)
    await timed("/global/spend/report, 30 days, group_by=api_key", report("api_key"))
    await timed("/global/spend/report, 30 days, group_by=model", report("model"))
    await timed(
        "/user/daily/activity, 30 days",
        lambda: spend.user_daily_activity(parse_body(DailyActivityQuery, {**month,
                                                                            "user_id": user})),
    )  # fmt: skip
    await timed(
        "/team/daily/activity, 30 days",
        lambda: spend.team_daily_activity(parse_body(DailyActivityQuery, {**month,
                                                                            "team_ids": team})),
    )  # fmt: skip
    await timed("/v1/usage?days=30 (one key)",
                lambda: spend.usage_for_key(key, 30, date(2026, 3, 31)))  # fmt: skip
    await timed("/team/info spend (monthly window, edges from raw rows)",
                lambda: reader.read(f"team:{team}", [BudgetLimit(10**9, "1mo")]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    record = commands.add_parser("record")
    record.add_argument("--rows", type=int, default=50_000)
    record.add_argument("--database-url")
    write = commands.add_parser("write")
    write.add_argument("--rows", type=int, default=20_000)
    write.add_argument("--batch", type=int, default=500)
    write.add_argument("--database-url")
    queries = commands.add_parser("queries")
    queries.add_argument("--database-url", required=True)
    queries.add_argument("--rows", type=int, default=1_000_000)
    queries.add_argument("--profile", choices=["skewed", "uniform"], default="skewed")
    queries.add_argument("--keep", action="store_true")
    queries.add_argument("--schema", help="query a schema an earlier --keep run loaded")
    args = parser.parse_args()
    if args.command == "record":
        asyncio.run(bench_record(args.rows, args.database_url))
    elif args.command == "write":
        asyncio.run(bench_write(args.rows, args.batch, args.database_url))
    else:
        asyncio.run(
            bench_queries(args.database_url, args.rows, args.profile, args.keep, args.schema)
        )


if __name__ == "__main__":
    main()
