"""The by-team ``/global/spend/report``, encoded once per day and kept.

That report (LiteLLM's default grouping) has one entry per day, team, model and key: at a million
ledger rows a month it is about 100,000 entries and 14 MB of JSON, and building it from the
rollups takes half a second. But a day's part only changes when the ledger writes a row of that
day, and every row written adds one to its day's ``requests`` in the rollups (rows are written
exactly once; retention deletes raw rows, never rollups). So each day's part is kept encoded with
the day's ``(requests, cost)`` as its fingerprint and the team aliases it shows: a report reads
the fingerprints of its days and the aliases (two small queries), rebuilds only the days that
moved (usually just today) or whose team was renamed, and joins the parts.

The cache is bounded in bytes (least recently used parts go first) and per process; a replica
that never built a day builds it once.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import orjson

from stargate.admin.spend_reports import TeamDay, team_aliases, team_days
from stargate.store.database import Database
from stargate.store.ledger_queries import SpendFilter, rollup_rows

__all__ = ["DEFAULT_MAX_BYTES", "TeamReportCache"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_Key = tuple[SpendFilter, date]


@dataclass(frozen=True, slots=True)
class _Part:
    fingerprint: tuple[int, int]
    aliases: dict[str, str | None]
    encoded: bytes


class TeamReportCache:
    def __init__(self, database: Database, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._database = database
        self._max_bytes = max_bytes
        self._parts: OrderedDict[_Key, _Part] = OrderedDict()
        self._bytes = 0
        self.rebuilt_days = 0  # days built from the rollups since start (for tests and stats)

    async def report(self, which: SpendFilter, first: date, last: date) -> bytes:
        """The report between ``first`` and ``last`` (both included), as JSON bytes."""
        fingerprints = await self._fingerprints(which, first, last)
        cached = {day: self._parts.get((which, day)) for day in fingerprints}
        known = {t for part in cached.values() if part is not None for t in part.aliases}
        aliases = await team_aliases(self._database, known)
        stale = sorted(
            day
            for day, part in cached.items()
            if part is None
            or part.fingerprint != fingerprints[day]
            or any(aliases.get(t) != alias for t, alias in part.aliases.items())
        )
        if stale:
            built = await team_days(self._database, which, stale[0], stale[-1])
            for day in stale:
                fresh = built.get(day)
                if fresh is not None:  # a day written between the two queries is rebuilt next
                    cached[day] = self._keep(which, day, fingerprints[day], fresh)
            self.rebuilt_days += len(stale)
        for day in fingerprints:
            if (which, day) in self._parts:
                self._parts.move_to_end((which, day))
        return b"[" + b",".join(p.encoded for _, p in sorted(cached.items()) if p) + b"]"

    async def _fingerprints(
        self, which: SpendFilter, first: date, last: date
    ) -> dict[date, tuple[int, int]]:
        found = await rollup_rows(
            self._database, which, first_day=first, last_day=last,
            group_by=("day",), sums=("requests", "cost_micro"),
        )  # fmt: skip
        return {day: (requests, cost) for day, requests, cost in found}

    def _keep(self, which: SpendFilter, day: date, fingerprint: tuple[int, int],
              fresh: TeamDay) -> _Part:  # fmt: skip
        part = _Part(fingerprint, fresh.aliases, orjson.dumps(fresh.body))
        old = self._parts.pop((which, day), None)
        if old is not None:
            self._bytes -= len(old.encoded)
        if len(part.encoded) > self._max_bytes:
            return part  # served, not kept
        self._parts[(which, day)] = part
        self._bytes += len(part.encoded)
        while self._bytes > self._max_bytes:
            _, dropped = self._parts.popitem(last=False)
            self._bytes -= len(dropped.encoded)
        return part
