"""Nothing lost, nothing counted twice: the ledger writer against real databases.

* A child process records rows through the writer and is SIGKILLed mid-way; after a restart
  (which replays the dead writer's journal) the ledger holds exactly the rows whose ``record``
  call returned, once each, and the daily rollups count each once (SQLite and PostgreSQL).
* PostgreSQL becomes unreachable for a while (the writer talks to it through a TCP proxy the
  test cuts, so the shared server keeps running), rows keep being recorded, the strict policy
  reports the ledger unhealthy, and once the proxy is back every row is there exactly once.
* Two writers replaying the same rows at the same time insert each once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from stargate.store.database import Database, open_database
from stargate.store.ledger_rows import SpendRow
from stargate.store.ledger_tables import spend_daily, spend_logs
from stargate.store.migrate import upgrade_database
from stargate.telemetry.ledger import LedgerWriter
from stargate.telemetry.ledger_settings import LedgerSettings

pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]

ROWS = 20_000  # more than the child can record before it is killed
KILL_AFTER = 3000  # rows the child has reported before the kill (about a second in)
OUTAGE_SECONDS = 30.0  # the outage: PostgreSQL gone for 30 s under load

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from stargate.store.database import open_database
    from stargate.store.ledger_rows import SpendRow
    from stargate.telemetry.ledger import LedgerWriter
    from stargate.telemetry.ledger_settings import LedgerSettings

    async def main(url: str, journal: str, count: int) -> None:
        database = await open_database(url)
        settings = LedgerSettings(journal_dir=Path(journal), flush_interval=0.1,
                                  batch_size=10_000)
        writer = await LedgerWriter.start(database, settings)
        now = datetime.now(UTC)
        for n in range(count):
            writer.record(SpendRow(request_id=f"crash-{n:06d}", started_at=now, ended_at=now,
                                   requested_model="m", key_hash="k" * 64, cost_micro=3))
            sys.stdout.write(f"{n}\\n")
            sys.stdout.flush()
            if n % 5 == 0:
                await asyncio.sleep(0.001)  # let the writer commit batches meanwhile

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


def settings(journal: Path, **overrides: object) -> LedgerSettings:
    values: dict[str, object] = {"journal_dir": journal, "flush_interval": 0.05,
                                 "fsync_interval": 0.01, "retry_initial": 0.05,
                                 "retry_max": 0.5}  # fmt: skip
    values.update(overrides)
    return LedgerSettings(**values)  # type: ignore[arg-type]


def row(request_id: str) -> SpendRow:
    now = datetime.now(UTC)
    return SpendRow(request_id=request_id, started_at=now, ended_at=now, requested_model="m",
                    key_hash="k" * 64, cost_micro=3)  # fmt: skip


async def ledger_state(database: Database) -> tuple[list[str], int]:
    """(request ids in the ledger, requests counted by the daily rollups)."""
    async with database.read() as conn:
        ids = list((await conn.execute(select(spend_logs.c.request_id))).scalars())
        counted = (await conn.execute(select(func.sum(spend_daily.c.requests)))).scalar()
    return ids, int(counted or 0)


async def test_a_killed_writer_loses_nothing_and_duplicates_nothing(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    errors = tmp_path / "child.err"
    with errors.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, database_url, str(journal), str(ROWS)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert child.stdout is not None
    reported: list[int] = []
    try:
        while len(reported) < KILL_AFTER:
            line = await asyncio.to_thread(child.stdout.readline)
            if not line:
                pytest.fail(f"the child ended before the kill: {errors.read_text()}")
            reported.append(int(line))
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        # Read the rest through the same buffered reader: lines it read ahead count too.
        rest = await asyncio.to_thread(child.stdout.read)
        child.stdout.close()
        await asyncio.to_thread(child.wait)
    reported += [int(line) for line in rest.split()]
    assert reported == list(range(len(reported)))
    assert child.returncode == -signal.SIGKILL
    assert len(reported) < ROWS  # killed mid-way

    before, _ = await ledger_state(database)
    assert 0 < len(before) < len(reported)  # killed between commits: some rows only journaled

    writer = await LedgerWriter.start(database, settings(journal))
    assert await writer.flush(60)
    assert await writer.aclose()

    ids, counted = await ledger_state(database)
    returned = {f"crash-{n:06d}" for n in reported}
    # ``record`` returned for every reported row; the row in flight at the kill may or may not
    # have been journaled, but never partly.
    in_flight = {f"crash-{len(reported):06d}"}
    assert returned <= set(ids) <= returned | in_flight
    assert len(ids) == len(set(ids))
    assert counted == len(ids)  # each row counted once by the rollups, replay or not
    assert list(journal.iterdir()) == []


class Proxy:
    """A TCP proxy to PostgreSQL that the test can cut (every connection dropped, new ones
    refused) and restore on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for link in list(self.links):
            link.transport.abort()
        await self.server.wait_closed()
        self.server = None

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.links.discard(writer)
            writer.transport.abort()


@pytest.fixture
async def postgres(postgres_url: str) -> AsyncIterator[tuple[Database, Proxy, Database]]:
    """A migrated PostgreSQL schema of this test's own: a direct handle, and a proxy to the
    server with a handle through it."""
    schema = f"stargate_test_{uuid.uuid4().hex[:12]}"
    url = make_url(postgres_url).update_query_dict({"schema": schema})
    direct = await open_database(url.render_as_string(hide_password=False))
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).update_query_dict({"connect_timeout": "2"})
    via_proxy = await open_database(through.render_as_string(hide_password=False))
    try:
        await upgrade_database(direct)
        yield direct, proxy, via_proxy
    finally:
        await via_proxy.aclose()
        if proxy.server is not None:
            await proxy.cut()
        async with direct.write() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await direct.aclose()


@pytest.mark.postgres
async def test_postgresql_unreachable_for_a_while_loses_and_duplicates_nothing(
    postgres: tuple[Database, Proxy, Database], tmp_path: Path
) -> None:
    database, proxy, through_proxy = postgres
    strict = settings(tmp_path / "journal", allow_on_db_unavailable=False, max_pending=100,
                      queue_size=500)  # fmt: skip
    writer = await LedgerWriter.start(through_proxy, strict)
    recorded: list[str] = []

    async def load(seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            request_id = f"outage-{len(recorded):06d}"
            writer.record(row(request_id))
            recorded.append(request_id)
            await asyncio.sleep(0.002)

    await load(1.0)
    assert await writer.flush(10)
    await proxy.cut()
    await load(OUTAGE_SECONDS)
    assert not writer.database_available
    assert not writer.healthy  # more than 100 rows behind: the strict policy refuses requests
    assert writer.backpressure  # the queue filled up; rows wait in the journal
    during, _ = await ledger_state(database)
    await proxy.start()
    await load(1.0)
    assert await writer.flush(60)
    assert writer.healthy
    assert writer.database_available
    assert await writer.aclose()

    ids, counted = await ledger_state(database)
    assert len(during) < len(recorded)
    assert sorted(ids) == recorded
    assert counted == len(recorded)


async def test_two_writers_replaying_the_same_rows_insert_each_once(
    database: Database, tmp_path: Path
) -> None:
    first = await LedgerWriter.start(database, settings(tmp_path / "a", batch_size=97))
    second = await LedgerWriter.start(database, settings(tmp_path / "b", batch_size=89))
    for n in range(3000):
        first.record(row(f"both-{n:05d}"))
        second.record(row(f"both-{2999 - n:05d}"))
        if n % 100 == 0:
            await asyncio.sleep(0)
    assert await first.flush(60)
    assert await second.flush(60)
    for writer in (first, second):
        with contextlib.suppress(Exception):
            await writer.aclose()
    ids, counted = await ledger_state(database)
    assert len(ids) == len(set(ids)) == 3000
    assert counted == 3000
