"""Allotments: a replica admits most requests of a busy plan in its own memory, from a share of
the plan's headroom that Redis reserved for it, and gives back what it did not use.

Every admission through :class:`~stargate.store.counters_redis.RedisCounters` is a round trip to
Redis and a script of some thirty commands there. :class:`AllottedCounters` keeps that exact
path for every plan (the checks of one key, user and team, cached by the gate) that sees few
requests, and for a busy one (:data:`DEMAND` admissions within :data:`ALLOT_SECONDS`) asks Redis
instead for an **allotment**: one admission, by the same script and under the same atomic checks,
of ``n`` requests at once, with ``n`` times the request's reservation in every budget window,
``n`` times its tokens in every TPM log, ``n`` entries in every RPM log and up to ``n`` parallel
slots. The replica then admits requests against it in memory, and settles them there, until the
allotment is used up or :data:`ALLOT_SECONDS` have passed; then it gives it back, with one script
(``counters_return.lua``) that replaces what the allotment held by what its requests did: their
spend, their admission times in the RPM and TPM logs, and for those still in flight a
reservation, a parallel slot and a lease of their own, so that they settle as any request does.

What holds, and what changes:

* **Limits are never exceeded**: an allotment is reserved in Redis before any request uses it,
  and a request is admitted from it only when the allotment still covers all of it.
* **Refusals come only from Redis**, by the exact path: a request the allotment does not cover is
  admitted one by one. An allotment takes at most 1/:data:`SHARE` of what any limit has left and
  is not asked for when that is less than :data:`MIN_REQUESTS` requests, so near a limit every
  request takes the exact path; only other replicas' unused allotments (at most a second old) can
  make a refusal come a little early.
* **Headers** (``x-ratelimit-*``) tell what was left when the allotment was granted, less what
  this replica has used of it since.
* **A crash** loses the allotment's bookkeeping: its reservation, parallel slots and lease run out
  after :data:`ALLOT_LEASE_SECONDS` (or the requests' lease if shorter, as a request's lease
  does; never under :data:`ALLOT_LEASE_FLOOR`), its RPM and TPM entries after
  the minute, and the spend of its finished requests is in the ledger, which rebuilds the
  counters (``POST /counters/rebuild``) — as for a request whose settlement was lost.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine
from math import inf
from typing import Any, TypeVar, cast

import orjson

from stargate.core.money import MicroUSD
from stargate.governance.admission import (
    Admission,
    AdmissionRequest,
    Admitted,
    Refused,
    ScopeChecks,
)
from stargate.governance.counters import RECORD_GRACE_SECONDS
from stargate.governance.tally import Tally, admitted
from stargate.store.counters_redis import (
    _MINUTE_MS,
    _UNREACHABLE,
    RedisCounters,
    _ms,
    _script,
    _tally,
)
from stargate.store.redis_wire import RedisReplyError

__all__ = [
    "ALLOT_LEASE_FLOOR",
    "ALLOT_LEASE_SECONDS",
    "ALLOT_SECONDS",
    "DEMAND",
    "MAX_REQUESTS",
    "MIN_REQUESTS",
    "SHARE",
    "Allotment",
    "AllottedCounters",
]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

ALLOT_SECONDS = 1.0  # an allotment admits for at most this long, then it is given back
# What it holds in Redis lasts this long if it is never given back (a killed replica), or the
# requests' own lease if shorter, but never less than ALLOT_LEASE_FLOOR seconds: it must outlive
# the second it admits for, and the round trip that gives it back.
ALLOT_LEASE_SECONDS = 60
ALLOT_LEASE_FLOOR = 3
SHARE = 8  # an allotment takes at most 1/SHARE of what any limit of its plan has left
MIN_REQUESTS = 4  # an allotment for fewer requests is not asked for
MAX_REQUESTS = 512
DEMAND = 8  # admissions of a plan within ALLOT_SECONDS before it is given allotments
_MEMO = "allotments:"


class _Used:
    """A request admitted from an allotment: when, its lease's end, and what it reserved (or,
    once ``finished``, what it really spent)."""

    __slots__ = ("at_ms", "deadline_ms", "finished", "micro", "tokens")

    def __init__(self, at_ms: int, deadline_ms: int, micro: int, tokens: int) -> None:
        self.at_ms = at_ms
        self.deadline_ms = deadline_ms
        self.micro = micro
        self.tokens = tokens
        self.finished = False


class Allotment:
    """One allotment's bookkeeping in this process (no I/O): what is left of it, the requests
    admitted from it, and what Redis answered when it was granted (for the headers).

    It keeps what it needs of its plan's checks, not the checks: they keep their plan's
    allotments (in their memo), and a cycle would wait for the collector, which the gateway runs
    rarely (``GC_THRESHOLDS``), with every request the allotment admitted."""

    def __init__(
        self,
        ident: str,
        checks: ScopeChecks,
        granted: Tally,
        lists: tuple[bytes | str | int, ...],
        *,
        requests: int,
        slots: int | None,
        micro: MicroUSD,
        tokens: int,
        closes_at: float,
    ) -> None:
        """``slots``: the parallel slots it holds (``None``: no scope limits them);
        ``closes_at``: the epoch second (of the requests' clock) from which it admits no more."""
        self.ident = ident
        self.scopes = checks.scopes
        self.lists = lists  # the JSON lists of its keys and scopes that the return script takes
        self.requests = requests
        self.slots = 1 if slots is None else slots
        self.closes_at = closes_at
        self.open = True
        self.lapse: asyncio.TimerHandle | None = None  # gives it back when its time is up
        self.requests_left = requests
        self.slots_left = slots
        self.micro_left = micro
        self.tokens_left = tokens
        self.spent = 0  # by its finished requests
        self.used: dict[str, _Used] = {}
        self._granted = granted
        self._kinds = [kind == "requests" for _, kind, _ in checks.rates]

    def admit(self, request: AdmissionRequest) -> Admitted | None:
        """Admit ``request`` from the allotment if it covers all of it; else ``None``."""
        now = request.now.timestamp()
        micro, tokens = request.reserve_micro, request.reserve_tokens
        slots = self.slots_left
        if (
            not self.open
            or now >= self.closes_at
            or self.requests_left < 1
            or micro > self.micro_left
            or tokens > self.tokens_left
            or (slots is not None and slots < 1)
        ):
            return None
        self.requests_left -= 1
        self.micro_left -= micro
        self.tokens_left -= tokens
        if slots is not None:
            self.slots_left = slots - 1
        at_ms = int(now * 1000)
        self.used[request.request_id] = _Used(
            at_ms, at_ms + request.lease_seconds * 1000, micro, tokens
        )
        return admitted(request, self.tally())

    def readmit(self, request: AdmissionRequest) -> Admitted:
        """A request admitted from it before: its state, nothing more reserved."""
        used = self.used[request.request_id]
        if used.finished:
            raise ValueError(f"request {request.request_id} was already settled or expired")
        return admitted(request, self.tally())

    def settle(self, request_id: str, actual_micro: MicroUSD, actual_tokens: int) -> bool:
        """Settle a request admitted from it: only the first time counts."""
        used = self.used[request_id]
        if used.finished:
            return False
        used.finished = True
        self.micro_left += used.micro - actual_micro
        self.tokens_left += used.tokens - actual_tokens
        if self.slots_left is not None:
            self.slots_left += 1
        used.micro, used.tokens = actual_micro, actual_tokens
        self.spent += actual_micro
        return True

    def tally(self) -> Tally:
        """What Redis answered at the grant, less what this process has used since: the
        allotment was counted whole; what is left of it is not."""
        left = self.micro_left
        budgets = [(spent, reserved - left) for spent, reserved in self._granted.budgets]
        rates = [
            (used - (self.requests_left if requests else self.tokens_left), oldest)
            for requests, (used, oldest) in zip(self._kinds, self._granted.rates, strict=True)
        ]
        return Tally(budgets, rates)


class _Plan:
    """A plan's allotments in this process: the current one, a grant under way, and its demand."""

    __slots__ = ("current", "granting", "last", "pause_until", "seen", "since", "was")

    def __init__(self) -> None:
        self.current: Allotment | None = None
        self.granting: asyncio.Task[Allotment | None] | None = None
        self.last: Admitted | None = None  # the latest admission, for sizing the next grant
        self.pause_until = 0.0  # no grant is asked for before this (after one was refused)
        self.since = 0.0  # the demand window's start (epoch s) and its admissions
        self.seen = 0
        self.was = 0  # admissions in the window before

    def count(self, now: float) -> int:
        if now - self.since >= ALLOT_SECONDS:
            self.was = self.seen if now - self.since < 2 * ALLOT_SECONDS else 0
            self.since, self.seen = now, 0
        self.seen += 1
        return max(self.seen, self.was)


class AllottedCounters(RedisCounters):
    """:class:`RedisCounters` that admit busy plans from allotments (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Sent whole (EVAL), never by its SHA: a NOSCRIPT answer would send it again after
        # settlements written meanwhile, and those must come after it. A few times a second.
        self._return_body = _script("counters_return.lua").encode()
        self._owner: dict[str, Allotment] = {}  # request id -> the allotment it came from
        # Requests Redis holds, until settled: admitted one by one, or in flight when their
        # allotment went back. Admitting one of them again asks Redis (its record knows).
        self._in_redis: set[str] = set()
        self._soonest = inf  # the earliest closes_at among the open allotments
        self._memo = f"{_MEMO}{id(self)}"  # this store's _Plan, kept with a plan's checks
        self._open: set[Allotment] = set()  # granted and not yet given back
        self._tasks: set[asyncio.Task[Any]] = set()

    async def admit(self, request: AdmissionRequest) -> Admission:
        rid = request.request_id
        now = request.now.timestamp()
        if now >= self._soonest:
            await self._return_lapsed(now)
        owner = self._owner.get(rid)
        if owner is not None:
            return owner.readmit(request)
        if rid in self._in_redis:
            return await super().admit(request)  # its record says what it holds
        checks = request.scope_checks
        plan = cast(_Plan | None, checks.memo.get(self._memo))
        if plan is None:
            plan = checks.memo[self._memo] = _Plan()
        demand = plan.count(now)
        current = plan.current
        if current is not None:
            outcome = current.admit(request)
            if outcome is not None:
                self._owner[rid] = current
                return outcome
        granting = plan.granting
        if granting is None:
            # The current allotment did not cover the request: it goes back, and a busy plan
            # asks for the next in the same round trip.
            busy = demand >= DEMAND and now >= plan.pause_until
            size = _size(request, plan.last, demand) if busy else None
            if size is not None or current is not None:
                granting = self._grant(plan, request, size)
        if granting is not None:
            # Shielded: a cancelled request must not lose an allotment Redis granted.
            fresh = await asyncio.shield(granting)
            if fresh is not None:
                outcome = fresh.admit(request)
                if outcome is not None:
                    self._owner[rid] = fresh
                    plan.last = outcome  # what is left as the new allotment tells it
                    return outcome
        while True:
            exact = await super().admit(request)
            if type(exact) is Admitted:
                if exact.counted:
                    plan.last = exact
                    self._in_redis.add(rid)
                return exact
            # Refused. This replica's own allotments in the scope that refused may hold what
            # the request needs: they go back, and it is asked again (so that one replica's
            # refusals stay exact).
            scope = cast(Refused, exact).scope
            holding = [a for a in self._open if scope in a.scopes]
            if not holding:
                return exact
            await asyncio.gather(*map(self._return, holding))

    async def settle(self, request_id: str, actual_micro: MicroUSD, actual_tokens: int) -> bool:
        settled = self.settle_here(request_id, actual_micro, actual_tokens)
        if settled is not None:
            return settled
        self._in_redis.discard(request_id)
        return await super().settle(request_id, actual_micro, actual_tokens)

    def settle_here(
        self, request_id: str, actual_micro: MicroUSD, actual_tokens: int
    ) -> bool | None:
        """Settle a request admitted from an allotment not yet given back; ``None`` for any other
        (Redis holds it)."""
        if actual_micro < 0 or actual_tokens < 0:
            raise ValueError("a settlement cannot be negative")
        owner = self._owner.get(request_id)
        if owner is None:
            return None
        return owner.settle(request_id, actual_micro, actual_tokens)

    async def aclose(self) -> None:
        """Give every allotment back, then close the connection."""
        for task in list(self._tasks):
            await asyncio.wait([task])
        returns = [self._return(allotment) for allotment in list(self._open)]
        if returns:
            await asyncio.gather(*returns)
        await super().aclose()

    # --- granting and giving back --------------------------------------------------------------

    def _grant(
        self, plan: _Plan, request: AdmissionRequest, size: tuple[int, int | None] | None
    ) -> asyncio.Task[Allotment | None]:
        """Give the current allotment back (it did not cover ``request``) and, with ``size``,
        ask for a new one, in one round trip."""
        old, plan.current = plan.current, None
        calls: list[Any] = []
        if old is not None:
            old.open = False
            calls.append(self._return(old))
        if size is not None:
            calls.append(self._ask(request, *size))
        pause = request.now.timestamp() + ALLOT_SECONDS
        task = self._spawn(self._granted(plan, calls, pause if size is not None else None))
        plan.granting = task
        return task

    def _spawn(self, call: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        """``call`` as a task that :meth:`aclose` waits for."""
        task = asyncio.get_running_loop().create_task(call)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _granted(
        self, plan: _Plan, calls: list[Any], pause: float | None
    ) -> Allotment | None:
        """``pause``: with a grant asked for, when to ask again if it is refused."""
        try:
            replies = await asyncio.gather(*calls)  # in order on the connection: return, grant
        finally:
            plan.granting = None
        fresh = cast(Allotment | None, replies[-1]) if pause is not None else None
        if fresh is None:
            if pause is not None:
                plan.pause_until = pause
            return None
        plan.current = fresh
        self._open.add(fresh)
        self._soonest = min(self._soonest, fresh.closes_at)
        fresh.lapse = asyncio.get_running_loop().call_later(ALLOT_SECONDS, self._lapse, plan, fresh)
        return fresh

    async def _ask(
        self, request: AdmissionRequest, requests: int, slots: int | None
    ) -> Allotment | None:
        """One admission of an allotment for ``requests`` requests like ``request``; ``None``
        when it does not fit or Redis cannot answer (the request then takes the exact path)."""
        ident = f"allot:{secrets.token_hex(8)}"
        micro, tokens = requests * request.reserve_micro, requests * request.reserve_tokens
        now = request.now.timestamp()
        now_ms = int(now * 1000)
        checks = request.scope_checks
        plain = self._checks_args(checks)
        args = (
            ident,
            now_ms,
            now_ms - _MINUTE_MS,
            now_ms + _hold_seconds(request) * 1000,
            micro,
            tokens,
            RECORD_GRACE_SECONDS,
            requests,
            1 if slots is None else slots,
            *plain,
        )
        try:
            reply = await self._evalsha("allot", self._admit_script, self._prefix, *args)
        except (*_UNREACHABLE, RedisReplyError) as exc:
            _log.warning("could not ask for an allotment (%s); admitting one by one", exc)
            return None
        if reply[0] != "ok":
            return None
        return Allotment(
            ident,
            checks,
            _tally(reply[1], reply[2]),
            (*plain[:3], *_limited(checks)),
            requests=requests,
            slots=slots,
            micro=micro,
            tokens=tokens,
            closes_at=now + ALLOT_SECONDS,
        )

    def _lapse(self, plan: _Plan, allotment: Allotment) -> None:
        """Its time is up: it admits no more and goes back."""
        if plan.current is allotment:
            plan.current = None
        if allotment.open:
            allotment.open = False
            self._spawn(self._return(allotment))

    async def _return_lapsed(self, now: float) -> None:
        """Give back every allotment whose time is up by the requests' clock (the timers that
        do so run on the event loop's clock, which a test's clock does not move)."""
        lapsed = [a for a in self._open if a.closes_at <= now]
        self._soonest = min((a.closes_at for a in self._open if a.closes_at > now), default=inf)
        await asyncio.gather(*map(self._return, lapsed))

    async def _return(self, allotment: Allotment) -> None:
        """Give ``allotment`` back. Its requests are settled here until this call is written to
        the connection, and by Redis after (the call goes first)."""
        allotment.open = False
        if allotment.lapse is not None:
            allotment.lapse.cancel()
            allotment.lapse = None  # the timer's arguments hold the allotment: no cycle left
        if allotment not in self._open:
            return
        self._open.discard(allotment)
        args = self._return_args(allotment)
        owner, in_redis = self._owner, self._in_redis
        for rid, used in allotment.used.items():
            del owner[rid]
            if not used.finished:
                in_redis.add(rid)
        allotment.used = {}  # in Redis from here on
        try:
            call = self._wire.command("EVAL", self._return_body, 0, self._prefix, *args)
            await self._timed("return", call)
        except (*_UNREACHABLE, RedisReplyError) as exc:
            _log.warning(
                "could not give back allotment %s (%s): its hold ends with its lease; rebuild "
                "the counters from the ledger for the spend of its requests",
                allotment.ident,
                exc,
            )

    def _return_args(self, allotment: Allotment) -> tuple[str | bytes | int, ...]:
        now = _ms(self._clock())
        args: list[str | bytes | int] = [
            allotment.ident,
            now,
            now - _MINUTE_MS,
            RECORD_GRACE_SECONDS,
            allotment.spent,
            allotment.requests,
            allotment.slots,
            *allotment.lists,
            len(allotment.used),
        ]
        for rid, used in allotment.used.items():
            if used.finished:
                args += (rid, used.at_ms, 0, 0, used.tokens)
            else:
                args += (rid, used.at_ms, used.deadline_ms, used.micro, used.tokens)
        return tuple(args)


def _hold_seconds(request: AdmissionRequest) -> int:
    return min(ALLOT_LEASE_SECONDS, max(request.lease_seconds, ALLOT_LEASE_FLOOR))


def _limited(checks: ScopeChecks) -> tuple[bytes, bytes]:
    """The JSON lists of the scopes with an RPM limit and with a parallel limit."""
    known = checks.memo.get(_MEMO + "lists")
    if known is None:
        known = checks.memo[_MEMO + "lists"] = (
            orjson.dumps([c.scope for c in checks if c.rpm is not None]),
            orjson.dumps([c.scope for c in checks if c.max_parallel is not None]),
        )
    return cast(tuple[bytes, bytes], known)


def _size(
    request: AdmissionRequest, last: Admitted | None, demand: int
) -> tuple[int, int | None] | None:
    """How many requests like ``request`` to ask an allotment for (twice the plan's ``demand``,
    its admissions in the last second), and how many parallel slots (``None``: no scope limits
    them); ``None`` when fewer than :data:`MIN_REQUESTS` fit in a :data:`SHARE` of what the
    plan's limits had left at its latest admission (``last``)."""
    if last is None:
        return None
    wanted = min(MAX_REQUESTS, 2 * demand)
    for budget in last.budgets:
        if request.reserve_micro:
            wanted = min(wanted, budget.headroom_micro // SHARE // request.reserve_micro)
    for rate in last.rates:
        share = rate.remaining // SHARE
        if rate.kind == "requests":
            wanted = min(wanted, share)
        elif request.reserve_tokens:
            wanted = min(wanted, share // request.reserve_tokens)
    slots: int | None = None
    for check in request.scope_checks:
        if check.max_parallel is not None:
            slots = min(wanted if slots is None else slots, check.max_parallel // SHARE)
    if wanted < MIN_REQUESTS or (slots is not None and slots < 2):
        return None
    return wanted, slots
