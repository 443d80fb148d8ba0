"""The ledger writer: every request's row reaches ``spend_logs`` exactly once, and none is lost.

The request path calls :meth:`LedgerWriter.record`, which is synchronous and cheap: the row is
appended to the local journal (:mod:`stargate.telemetry.journal`; on disk once ``record``
returns, so a killed process loses nothing) and put on a bounded queue. One tracked task drains
the queue in batches (``batch_size`` rows or ``flush_interval`` seconds, whichever comes first),
writes each batch with ``INSERT ... ON CONFLICT (request_id) DO NOTHING`` and the daily rollups
of the rows really inserted, in one transaction (:mod:`stargate.store.ledger_writes`), then
empties the journal of what was committed.

* **Database down:** the batch is retried with exponential backoff; the gateway keeps serving.
  Rows keep being journaled; once the queue is full, ``record`` still journals the row and
  reports back-pressure (returns ``False``): the row is not dropped, it is replayed from the
  journal when the writer catches up. :attr:`LedgerWriter.healthy` turns false while the ledger
  is more than ``max_pending`` rows behind if the policy is to refuse requests then
  (``allow_requests_on_db_unavailable: false``).
* **Crash:** at the next start the journal directories of writers that are gone are replayed;
  rows already in the database are ignored by the unique request id.
* **Shutdown:** :meth:`LedgerWriter.aclose` drains everything queued and journaled.
* **A row the database refuses for good** (a constraint or data error) is isolated by splitting
  the batch, and kept in ``rejected.jsonl`` beside the journal, loudly logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import DataError, IntegrityError

from stargate.store.database import Database
from stargate.store.ledger_retention import delete_batch
from stargate.store.ledger_rows import SpendRow, decode_row, encode_row
from stargate.store.ledger_writes import write_rows
from stargate.telemetry.journal import Journal, Segment, read_lines
from stargate.telemetry.ledger_settings import LedgerSettings

__all__ = ["LedgerWriter", "SpendRow"]

log = logging.getLogger("stargate.ledger")

_Queued = tuple[int, SpendRow]  # (journal segment, row)
_REPORT_EVERY = 30.0  # seconds between "still failing" log lines


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LedgerWriter:
    """One per process. Build it with :meth:`start`; stop it with :meth:`aclose`."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        settings: LedgerSettings,
        *,
        clock: Callable[[], datetime] = _utc_now,
        on_progress: Callable[[LedgerWriter], None] | None = None,
    ) -> None:
        self._database = database
        self._on_progress = on_progress
        self._journal = journal
        self._settings = settings
        self._clock = clock
        # Rows journaled and waiting for the writer task (at most ``queue_size``): a plain deque,
        # as only this thread touches it; ``_full`` wakes the task (see ``_wanted``).
        self._queue: deque[_Queued] = deque()
        self._spilled = 0  # rows journaled but not queued since the last catch-up
        self._backlog_pending = True  # the journal's backlog is not replayed yet
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        # A partial batch waits for its deadline, not for each row: ``record`` wakes the writer
        # only once ``_wanted`` rows are queued (a full batch; one while the writer is idle).
        self._full = asyncio.Event()
        self._wanted = settings.batch_size
        self._db_ok = True
        self._failing_since: float | None = None
        self._last_report = 0.0
        self._last_sync = 0.0
        self._next_retention = 0.0
        self._retention_running = False
        self.rejected = 0  # rows set aside for good (see rejected.jsonl)

    @classmethod
    async def start(
        cls,
        database: Database,
        settings: LedgerSettings,
        *,
        on_progress: Callable[[LedgerWriter], None] | None = None,
    ) -> LedgerWriter:
        """Open the journal (adopting what stopped writers left) and start the writer task.
        ``on_progress(writer)`` is called after each committed batch (to report
        :attr:`pending` and :attr:`journal_bytes`)."""
        journal = await asyncio.to_thread(Journal.open, settings.journal_dir)
        writer = cls(database, journal, settings, on_progress=on_progress)
        writer._task = asyncio.create_task(writer._run(), name="stargate-ledger-writer")
        return writer

    # --- the request path ---------------------------------------------------------------------

    def record(self, row: SpendRow) -> bool:
        """Journal ``row`` and queue it for the database. ``True``: queued; ``False``: the queue
        is full (back-pressure), the row waits in the journal and is written when the writer
        catches up. Never blocks, never drops the row."""
        if self._journal.fd < 0:
            raise RuntimeError("the ledger writer is closed")
        row.check()
        if not self._settings.store_prompts:
            row.prompt = row.response = None
        self._idle.clear()
        try:
            seq = self._journal.append(encode_row(row))
        except OSError as exc:  # disk full or gone: the queue is all that is left
            log.error("ledger: cannot journal request %s: %s", row.request_id, exc)
            seq = -1
        queue = self._queue
        if len(queue) >= self._settings.queue_size:
            if seq < 0:
                log.critical("ledger: request %s LOST: journal and queue full", row.request_id)
                return False
            self._spilled += 1
            return False
        queue.append((seq, row))
        if len(queue) >= self._wanted:
            self._full.set()
        return True

    @property
    def pending(self) -> int:
        """Rows recorded by this writer and not yet committed to the database."""
        return self._journal.uncommitted

    @property
    def journal_bytes(self) -> int:
        """Bytes of this writer's journal on disk: rows not committed yet, or not truncated."""
        return self._journal.size

    @property
    def healthy(self) -> bool:
        """Whether requests may be served: always with ``allow_requests_on_db_unavailable``
        (the default); otherwise only while at most ``max_pending`` rows wait."""
        return self._settings.allow_on_db_unavailable or self.pending <= self._settings.max_pending

    @property
    def backpressure(self) -> bool:
        """Whether rows are waiting in the journal because the queue was full."""
        return self._spilled > 0

    @property
    def database_available(self) -> bool:
        """Whether the last write to the database succeeded."""
        return self._db_ok

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row recorded so far (and the start-up backlog) is committed;
        ``False`` if ``timeout`` seconds passed first."""
        try:
            async with asyncio.timeout(timeout):
                while not self._is_idle():
                    self._idle.clear()
                    await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def aclose(self, timeout: float = 30.0) -> bool:
        """Drain the queue and the journal into the database, then stop. After ``timeout``
        seconds (the database is down) stop anyway: what is not committed stays in the journal
        for the next start. ``True`` when everything was committed."""
        if self._task is None:
            return self._is_idle()
        self._closing = True
        self._full.set()
        done, _ = await asyncio.wait({self._task}, timeout=timeout)
        if not done:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        elif (error := self._task.exception()) is not None:
            log.error("ledger: the writer task failed: %r", error)
        self._task = None
        drained = self._is_idle()
        if not drained:
            log.warning(
                "ledger: %d rows not committed at shutdown; they stay in %s and are written at "
                "the next start",
                self.pending,
                self._journal.directory,
            )
        await asyncio.to_thread(self._journal.close)
        return drained

    # --- the writer task ----------------------------------------------------------------------

    def _is_idle(self) -> bool:
        return (
            not self._backlog_pending
            and not self._queue
            and self._spilled == 0
            and self._journal.uncommitted == 0
        )

    async def _run(self) -> None:
        while True:
            try:
                await self._work()
                return
            except Exception:  # a bug, or the journal's disk failing: recover from the journal
                log.exception("ledger: the writer failed; replaying its journal in 1 s")
                await asyncio.sleep(1.0)
                self._spilled += 1  # a catch-up replays every journaled row (dups are ignored)

    async def _work(self) -> None:
        await self._replay_backlog()
        while True:
            batch = await self._collect()
            if batch:
                await self._commit(batch)
            if self._spilled and not self._queue:
                await self._catch_up()
            if self._is_idle():
                self._idle.set()
                if self._closing:
                    return
            elif self._closing and not self._queue and not self._spilled:
                return
            await self._retention_step()

    async def _collect(self) -> list[_Queued]:
        settings = self._settings
        loop = asyncio.get_running_loop()
        queue = self._queue
        batch: list[_Queued] = []
        deadline: float | None = None
        while True:
            while queue and len(batch) < settings.batch_size:
                batch.append(queue.popleft())
            now = loop.time()
            if batch and deadline is None:
                deadline = now + settings.flush_interval
            if (
                len(batch) >= settings.batch_size
                or self._closing
                or (deadline is not None and now >= deadline)
                or (self._spilled and not batch)
                or (not batch and self._is_idle() and not self._idle.is_set())
            ):
                break
            wait = settings.fsync_interval
            if deadline is not None:
                wait = min(wait, deadline - now)
            # A batch goes at its deadline: sleep until then, or until a full batch is queued,
            # rather than waking for every row (one wake-up per request at low rates cost more
            # CPU than writing the rows). Without a batch, wake for the first row.
            self._wanted = settings.batch_size - len(batch) if batch else 1
            self._full.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._full.wait()
            self._wanted = settings.batch_size
            if not batch and not queue and not self._closing:
                break  # idle: let the loop run its housekeeping (retention)
            await self._sync_journal()
        await self._sync_journal(force=bool(batch))
        return batch

    async def _sync_journal(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self._journal.dirty and (
            force or now - self._last_sync >= self._settings.fsync_interval
        ):
            self._last_sync = now
            await asyncio.to_thread(self._journal.sync)

    async def _commit(self, batch: Sequence[_Queued]) -> None:
        await self._write_retrying([row for _, row in batch])
        for seq, count in Counter(seq for seq, _ in batch).items():
            if seq >= 0:
                self._journal.mark_committed(seq, count)
        if self._on_progress is not None:
            self._on_progress(self)

    async def _write_retrying(self, rows: list[SpendRow]) -> None:
        delay = self._settings.retry_initial
        while True:
            try:
                await self._write(rows)
            except Exception as exc:  # the database is down or unreachable: retry
                self._report_failure(exc, len(rows))
                await self._wait_syncing(delay)
                delay = min(delay * 2, self._settings.retry_max)
                continue
            if not self._db_ok:
                down = time.monotonic() - (self._failing_since or time.monotonic())
                log.warning("ledger: database writes succeed again after %.1f s", down)
            self._db_ok, self._failing_since = True, None
            return

    async def _write(self, rows: list[SpendRow]) -> None:
        """Write ``rows``; a row the database refuses for good is isolated (by halving the
        batch) and set aside, so one bad row never blocks the ledger."""
        try:
            await write_rows(self._database, rows)
        except (DataError, IntegrityError) as exc:
            if len(rows) > 1:
                middle = len(rows) // 2
                await self._write(rows[:middle])
                await self._write(rows[middle:])
                return
            self.rejected += 1
            reason = f"{type(exc).__name__}: {exc.orig!r}"
            await asyncio.to_thread(self._journal.reject, encode_row(rows[0]), reason)

    def _report_failure(self, exc: Exception, rows: int) -> None:
        now = time.monotonic()
        if self._db_ok:
            self._db_ok, self._failing_since = False, now
        if now - self._last_report >= _REPORT_EVERY or self._last_report == 0.0:
            self._last_report = now
            log.warning(
                "ledger: cannot write %d rows (%d pending): %s: %s; retrying",
                rows,
                self.pending,
                type(exc).__name__,
                exc,
            )

    async def _wait_syncing(self, seconds: float) -> None:
        """Sleep ``seconds`` (a retry backoff) while keeping the journal's fsync cadence."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while (left := until - loop.time()) > 0:
            await asyncio.sleep(min(left, self._settings.fsync_interval))
            await self._sync_journal()

    async def _catch_up(self) -> None:
        """Rows spilled past a full queue are only in the journal: close the segment they are
        in and replay it (with any other backlog) from disk."""
        self._spilled = 0
        await asyncio.to_thread(self._journal.rotate)
        self._journal.adopt_orphans()
        await self._replay_backlog()

    async def _replay_backlog(self) -> None:
        self._backlog_pending = True
        for segment in self._journal.backlog():
            await self._replay(segment)
            self._journal.replayed(segment)
        self._backlog_pending = False

    async def _replay(self, segment: Segment) -> None:
        if not segment.path.exists():
            return
        lines = read_lines(segment.path)
        size = self._settings.batch_size
        replayed = 0
        while chunk := await asyncio.to_thread(lambda: list(itertools.islice(lines, size))):
            rows: list[SpendRow] = []
            for line in chunk:
                try:
                    rows.append(decode_row(line))
                except ValueError as exc:
                    await asyncio.to_thread(self._journal.reject, line, f"not a ledger row: {exc}")
            await self._write_retrying(rows)
            replayed += len(rows)
        if replayed:
            log.info("ledger: replayed %d journaled rows from %s", replayed, segment.path)

    async def _retention_step(self) -> None:
        """One batch of retention deletes at a time, between write batches."""
        retention = self._settings.retention
        if retention is None or self._closing or not self._db_ok:
            return
        now = time.monotonic()
        if not self._retention_running and now < self._next_retention:
            return
        try:
            batch = self._settings.retention_batch
            deleted = await delete_batch(self._database, self._clock() - retention, batch=batch)
        except Exception as exc:  # retried at the next sweep
            log.warning("ledger: retention failed: %s: %s", type(exc).__name__, exc)
            deleted = 0
        self._retention_running = deleted >= self._settings.retention_batch
        if not self._retention_running:
            self._next_retention = now + self._settings.retention_interval
