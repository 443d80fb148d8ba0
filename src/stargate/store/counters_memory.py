"""In-process counters: exact, for one gateway process (the embedded default).

Each admission and settlement is one synchronous step on the event loop (nothing inside it
awaits), so no two ever interleave: no lock is needed, and a settlement can also be made in place
(:meth:`MemoryCounters.settle_in_place`), where no cancellation can interrupt it.
Leases are checked lazily: every admission first releases reservations whose lease ran out.
Window counters and settled requests are forgotten some time after they stop mattering
(:data:`~stargate.governance.counters.WINDOW_GRACE_SECONDS`,
:data:`~stargate.governance.counters.RECORD_GRACE_SECONDS`), so memory stays bounded.
"""

from __future__ import annotations

import heapq
import time
from bisect import bisect_right, insort
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Literal

from stargate.core.money import MicroUSD
from stargate.governance.admission import (
    RATE_WINDOW_SECONDS,
    Admission,
    AdmissionRequest,
    Refused,
    ScopeCheck,
    ScopeChecks,
)
from stargate.governance.counters import RECORD_GRACE_SECONDS, WINDOW_GRACE_SECONDS
from stargate.governance.tally import (
    RateSeen,
    Tally,
    admitted,
    budget_refusal,
    rate_refusal,
)
from stargate.governance.windows import Clock, utc_now

__all__ = ["MemoryCounters"]

_BudgetKey = tuple[str, str]


@dataclass(slots=True)
class _Budget:
    spent: int = 0
    reserved: int = 0


_LAST_ID = "\U0010ffff"  # above any request id (they are printable ASCII)


@dataclass(slots=True)
class _RateLog:
    """Admissions of the sliding minute, oldest first; for TPM with their token counts.

    ``entries`` before ``start`` have left the minute: they are dropped in bulk once they are
    at least half the list (dropping the oldest one by one moved the whole list, a minute of
    traffic, on every admission), so memory stays within twice the minute's admissions."""

    entries: list[tuple[float, str]] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)
    total: int = 0
    start: int = 0

    @property
    def count(self) -> int:
        """Admissions in the minute."""
        return len(self.entries) - self.start

    @property
    def oldest(self) -> float | None:
        entries, start = self.entries, self.start
        return entries[start][0] if start < len(entries) else None

    def purge(self, now: float) -> None:
        entries, start, cutoff = self.entries, self.start, now - RATE_WINDOW_SECONDS
        if start == len(entries) or entries[start][0] > cutoff:
            return  # nothing left the minute (the usual case: no search)
        # Compared as tuples (in C, no key function per step): every request id sorts below
        # _LAST_ID, so this finds the first admission younger than the minute.
        gone = bisect_right(entries, (cutoff, _LAST_ID), start)
        tokens = self.tokens
        if tokens:
            for index in range(start, gone):
                self.total -= tokens.pop(entries[index][1], 0)
        if 2 * gone >= len(entries):
            del entries[:gone]  # moves no more entries than are dropped
            gone = 0
        self.start = gone

    def add(self, now: float, rid: str, tokens: int | None) -> None:
        """Log an admission (``tokens``: its tokens for a TPM log, ``None`` for an RPM log)."""
        entries, entry = self.entries, (now, rid)
        if self.start == len(entries) or entries[-1] <= entry:
            entries.append(entry)  # the usual case: the newest
        else:
            insort(entries, entry, self.start)
        if tokens is not None:
            self.tokens[rid] = tokens
            self.total += tokens

    def seen(self, tokens: bool) -> RateSeen:
        return (self.total if tokens else self.count, self.oldest)


@dataclass(slots=True)
class _Request:
    state: Literal["active", "expired", "settled"]
    micro: int
    budgets: tuple[_BudgetKey, ...]
    scopes: tuple[str, ...]
    tpm_scopes: tuple[str, ...]
    deadline: float
    admission: AdmissionRequest | None  # kept while active, for an idempotent re-admission


# A settled request is remembered (so that its id cannot be admitted or settled again) by this
# one shared record, for SETTLED_GRACE_SECONDS: settlement in this process happens once per
# ticket, so the memory a record holds (its scopes, budgets and admission) is let go at once. An
# expired lease keeps its full record for RECORD_GRACE_SECONDS: a late settlement still lands.
SETTLED_GRACE_SECONDS = 60
_SETTLED = _Request(state="settled", micro=0, budgets=(), scopes=(), tpm_scopes=(), deadline=0.0,
                    admission=None)  # fmt: skip
# The lease heap is rebuilt from the active requests when stale entries (requests settled before
# their lease ran out) outnumber live ones by this factor.
_HEAP_SLACK = 2


class MemoryCounters:
    """:class:`~stargate.governance.counters.CounterStore` in this process's memory.

    Memory is bounded by the traffic of a few minutes: a settled request is a shared marker for
    a minute, a lease heap entry lives no longer than its request stays active (compaction), an
    expired lease's record 15 minutes, a rate log one sliding minute, a budget window its length
    plus two days."""

    def __init__(self, *, clock: Clock = utc_now) -> None:
        # Read only when a settlement is dated (in epoch seconds): the default clock's seconds
        # are time.time()'s, without a datetime made and taken apart again.
        self._seconds: Callable[[], float] = (
            time.time if clock is utc_now else lambda: clock().timestamp()
        )
        self._budgets: dict[_BudgetKey, _Budget] = {}
        self._budget_expiry: list[tuple[float, _BudgetKey]] = []
        self._leases: dict[str, set[str]] = {}
        self._deadlines: list[tuple[float, str]] = []
        self._rpm: dict[str, _RateLog] = {}
        self._tpm: dict[str, _RateLog] = {}
        self._requests: dict[str, _Request] = {}
        self._forget: list[tuple[float, str]] = []
        self._active = 0

    async def admit(self, request: AdmissionRequest) -> Admission:
        return self._admit(request)

    def admit_in_place(self, request: AdmissionRequest) -> Admission:
        return self._admit(request)

    async def settle(self, request_id: str, actual_micro: MicroUSD, actual_tokens: int) -> bool:
        return self.settle_in_place(request_id, actual_micro, actual_tokens)

    def settle_in_place(self, request_id: str, actual_micro: MicroUSD, actual_tokens: int) -> bool:
        if actual_micro < 0 or actual_tokens < 0:
            raise ValueError("a settlement cannot be negative")
        return self._settle(request_id, actual_micro, actual_tokens)

    async def release(self, request_id: str) -> bool:
        return self.settle_in_place(request_id, 0, 0)

    async def spent(self, scope: str, window_key: str) -> MicroUSD:
        budget = self._budgets.get((scope, window_key))
        return 0 if budget is None else budget.spent

    async def rebuild(
        self,
        scope: str,
        window_key: str,
        spent_micro: MicroUSD,
        *,
        reset_at: datetime | None = None,
    ) -> None:
        if spent_micro < 0:
            raise ValueError("spend cannot be negative")
        key = (scope, window_key)
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._new_budget(key, reset_at)
        budget.spent = spent_micro

    async def aclose(self) -> None:
        """Nothing to close: the counters live and die with the process."""

    # --- one synchronous step each (nothing awaits: no lock) -----------------------------------

    def _admit(self, request: AdmissionRequest) -> Admission:
        now = request.now.timestamp()
        self._expire(now)
        rid = request.request_id
        known = self._requests.get(rid)
        if known is not None:
            if known.admission is None or known.state != "active":
                raise ValueError(f"request {rid} was already {known.state}")
            return admitted(known.admission, self._tally(known.admission, now))
        checks = request.scope_checks
        plan = checks.memo.get(_MEMO)
        if plan is None:
            plan = checks.memo[_MEMO] = _Plan.of(checks)
        assert type(plan) is _Plan
        logs: list[_RateLog] = []  # the request's rate logs, in tally order
        if plan.limited:
            refusal = self._check_rates(request, plan.limited, now, logs)
            if refusal is not None:
                return refusal
        micro = request.reserve_micro
        budgets = self._budgets
        held = [budgets.get(key) for key in checks.windows]
        for index, (budget, limit) in enumerate(zip(held, plan.limits, strict=True)):
            used = 0 if budget is None else budget.spent + budget.reserved
            if used + micro > limit:
                seen = [(0, 0) if b is None else (b.spent, b.reserved) for b in held]
                return budget_refusal(request, Tally(seen, []), index)
        # Everything fits: reserve everywhere, then tell the state with the reservation.
        after: list[tuple[int, int]] = []
        for index, budget in enumerate(held):
            if budget is None:
                budget = self._new_budget(checks.windows[index], plan.resets[index])
            budget.reserved += micro
            after.append((budget.spent, budget.reserved))
        leases = self._leases
        for scope in checks.scopes:
            holders = leases.get(scope)
            if holders is None:
                leases[scope] = {rid}
            else:
                holders.add(rid)
        rates: list[RateSeen] = []
        if logs:
            tokens = request.reserve_tokens
            for log, counts_tokens in zip(logs, plan.token_logs, strict=True):
                if counts_tokens:
                    log.add(now, rid, tokens)
                    rates.append((log.total, log.entries[log.start][0]))
                else:
                    log.add(now, rid, None)
                    rates.append((log.count, log.entries[log.start][0]))
        deadline = now + request.lease_seconds
        self._requests[rid] = _Request("active", micro, checks.windows, checks.scopes,
                                       checks.tpm_scopes, deadline, request)  # fmt: skip
        heapq.heappush(self._deadlines, (deadline, rid))
        self._active += 1
        return admitted(request, Tally(after, rates))

    def _check_rates(
        self,
        request: AdmissionRequest,
        limited: tuple[_Limited, ...],
        now: float,
        logs: list[_RateLog],
    ) -> Refused | None:
        for check, scope, rpm, tpm, max_parallel in limited:
            if rpm is not None:
                log = self._log(self._rpm, scope, now)
                if log.count + 1 > rpm:
                    return rate_refusal(request, check, "rpm", rpm, _requests_retry(log, rpm, now))
                logs.append(log)
            if tpm is not None:
                log = self._log(self._tpm, scope, now)
                if log.total + request.reserve_tokens > tpm:
                    retry = _tokens_retry(log, tpm, request.reserve_tokens, now)
                    return rate_refusal(request, check, "tpm", tpm, retry)
                logs.append(log)
            if max_parallel is not None:
                active = len(self._leases.get(scope, ()))
                if active + 1 > max_parallel:
                    return rate_refusal(request, check, "parallel", max_parallel, None)
        return None

    def _tally(self, request: AdmissionRequest, now: float) -> Tally:
        budgets: list[tuple[int, int]] = []
        rates: list[RateSeen] = []
        for check in request.checks:
            for b in check.budgets:
                budget = self._budgets.get((check.scope, b.window_key))
                budgets.append((0, 0) if budget is None else (budget.spent, budget.reserved))
            if check.rpm is not None:
                rates.append(self._log(self._rpm, check.scope, now).seen(tokens=False))
            if check.tpm is not None:
                rates.append(self._log(self._tpm, check.scope, now).seen(tokens=True))
        return Tally(budgets, rates)

    def _settle(self, rid: str, actual_micro: int, actual_tokens: int) -> bool:
        record = self._requests.get(rid)
        if record is None or record.state == "settled":
            return False
        if record.state == "active":
            self._unreserve(rid, record)
        for key in record.budgets:
            budget = self._budgets.get(key)
            if budget is not None:  # gone only when its window ended long ago
                budget.spent += actual_micro
        for scope in record.tpm_scopes:
            log = self._tpm.get(scope)
            if log is not None and rid in log.tokens:  # not yet out of the sliding minute
                log.total += actual_tokens - log.tokens[rid]
                log.tokens[rid] = actual_tokens
        if record.state == "active":
            self._active -= 1
        self._requests[rid] = _SETTLED
        heapq.heappush(self._forget, (self._seconds() + SETTLED_GRACE_SECONDS, rid))
        if len(self._deadlines) > _HEAP_SLACK * self._active + 1024:
            self._compact()
        return True

    def _compact(self) -> None:
        # From the heap's own entries (what is live is there with its deadline), not from every
        # remembered request: a minute of settled ones would make each compaction cost as much.
        requests = self._requests
        live = []
        for entry in self._deadlines:
            record = requests.get(entry[1])
            if record is not None and record.state == "active" and record.deadline == entry[0]:
                live.append(entry)
        heapq.heapify(live)
        self._deadlines = live

    # --- lazy housekeeping ---------------------------------------------------------------------

    def _unreserve(self, rid: str, record: _Request) -> None:
        for key in record.budgets:
            budget = self._budgets.get(key)
            if budget is not None:
                budget.reserved -= record.micro
        for scope in record.scopes:
            holders = self._leases.get(scope)
            if holders is not None:
                holders.discard(rid)
                if not holders:
                    del self._leases[scope]

    def _expire(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, rid = heapq.heappop(self._deadlines)
            record = self._requests.get(rid)
            if record is not None and record.state == "active" and record.deadline == deadline:
                self._unreserve(rid, record)
                self._active -= 1
                record.state = "expired"
                record.admission = None
                self._forget_later(rid, deadline)
        while self._forget and self._forget[0][0] <= now:
            _, rid = heapq.heappop(self._forget)
            record = self._requests.get(rid)
            if record is not None and record.state != "active":
                del self._requests[rid]
        while self._budget_expiry and self._budget_expiry[0][0] <= now:
            _, key = heapq.heappop(self._budget_expiry)
            self._budgets.pop(key, None)

    def _forget_later(self, rid: str, now: float) -> None:
        heapq.heappush(self._forget, (now + RECORD_GRACE_SECONDS, rid))

    def _new_budget(self, key: _BudgetKey, reset_at: datetime | None) -> _Budget:
        budget = self._budgets[key] = _Budget()
        if reset_at is not None:
            expiry = reset_at.timestamp() + WINDOW_GRACE_SECONDS
            heapq.heappush(self._budget_expiry, (expiry, key))
        return budget

    def _log(self, logs: dict[str, _RateLog], scope: str, now: float) -> _RateLog:
        log = logs.get(scope)
        if log is None:
            log = logs[scope] = _RateLog()
        log.purge(now)
        return log


_MEMO = "memory"  # where a request's checks keep their _Plan
_Limited = tuple[ScopeCheck, str, int | None, int | None, int | None]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What an admission walks, derived once from its checks (kept in ``ScopeChecks.memo``):
    the checks with a rate or parallel limit, as ``(check, scope, rpm, tpm, max_parallel)``;
    for each rate log, in tally order, whether it counts tokens; each budget's limit and
    reset, in the order of ``windows``."""

    limited: tuple[_Limited, ...]
    token_logs: tuple[bool, ...]
    limits: tuple[int, ...]
    resets: tuple[datetime | None, ...]

    @classmethod
    def of(cls, checks: ScopeChecks) -> _Plan:
        return cls(
            tuple(
                (c, c.scope, c.rpm, c.tpm, c.max_parallel)
                for c in checks
                if c.rpm is not None or c.tpm is not None or c.max_parallel is not None
            ),
            tuple(kind == "tokens" for _, kind, _ in checks.rates),
            tuple(b.limit_micro for _, b in checks.budgets),
            tuple(b.reset_at for _, b in checks.budgets),
        )


def _requests_retry(log: _RateLog, limit: int, now: float) -> float | None:
    """Seconds until enough admissions leave the minute for one more to fit."""
    if limit == 0:
        return None
    leaving = log.entries[len(log.entries) - limit]  # the limit-th newest: start + count - limit
    return max(0.0, leaving[0] + RATE_WINDOW_SECONDS - now)


def _tokens_retry(log: _RateLog, limit: int, wanted: int, now: float) -> float | None:
    if wanted > limit:
        return None
    left = log.total
    for ts, rid in islice(log.entries, log.start, None):
        left -= log.tokens.get(rid, 0)
        if left + wanted <= limit:
            return max(0.0, ts + RATE_WINDOW_SECONDS - now)
    return None
