"""Counters in Redis, shared by every replica: one EVALSHA per admission, one per settlement.

The calls go through :class:`~stargate.store.redis_wire.RedisWire`, one pipelined connection of the
counters' own (redis-py's per-call machinery cost more CPU than the rest of an admission).

The two Lua scripts next to this module (``counters_admit.lua``, ``counters_settle.lua``) do all
the work atomically inside Redis; their header comments give the key layout. Every key starts
with ``{prefix}:`` (one hash tag), so replicas sharing a prefix share counters and tests can use
a prefix of their own.

Times come from the gateway's clock (``AdmissionRequest.now``), not from Redis, so replicas
need synchronised clocks (NTP) for the sliding minute and leases to agree.

When Redis cannot be reached within the timeout (1 s by default, for connecting and for each
round trip; no retries), an admission follows the failure policy: ``closed`` refuses with
:class:`~stargate.errors.ServiceUnavailable`, ``open`` admits without counting
(``Admitted.counted`` is false) and logs a warning. A settlement that cannot reach Redis is
logged and dropped: its reservation expires with its lease, and the spend ledger (the truth) can
rebuild the counter. An error reply (a failing script) is an
:class:`~stargate.errors.InternalError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any, TypeVar, cast

import orjson

from stargate.core.money import MicroUSD
from stargate.errors import InternalError, ServiceUnavailable
from stargate.governance.admission import (
    Admission,
    AdmissionRequest,
    Admitted,
    RefusalReason,
    ScopeChecks,
)
from stargate.governance.counters import (
    RECORD_GRACE_SECONDS,
    WINDOW_GRACE_SECONDS,
    FailurePolicy,
)
from stargate.governance.tally import (
    RateSeen,
    Tally,
    admitted,
    budget_refusal,
    rate_refusal,
)
from stargate.governance.windows import Clock, utc_now
from stargate.store.redis_wire import RedisReplyError, RedisWire, Script

__all__ = ["DEFAULT_PREFIX", "DEFAULT_TIMEOUT_S", "RedisCounters"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_PREFIX = "stargate"
# A round trip's bound. Generous on purpose: on a saturated gateway the reply waits for the
# event loop, and a tight bound (250 ms once) turned the gateway's own load into 503s.
DEFAULT_TIMEOUT_S = 1.0
# Connection refused, lost or stalled (RedisUnavailable is a ConnectionError), TLS, DNS, timeouts.
_UNREACHABLE = (OSError, TimeoutError)
_WINDOW_GRACE = timedelta(seconds=WINDOW_GRACE_SECONDS)
_RATE_REASONS: dict[str, RefusalReason] = {"rpm": "rpm", "tpm": "tpm", "parallel": "parallel"}
_MINUTE_MS = 60_000  # the sliding minute of RPM and TPM limits
_MEMO = "redis-argv:"


def _script(name: str) -> str:
    return files(__package__ or "stargate.store").joinpath(name).read_text(encoding="utf-8")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _expiry_ms(reset_at: datetime) -> int:
    """When (epoch ms) the counter of a budget window ending at ``reset_at`` may go."""
    return _ms(reset_at + _WINDOW_GRACE)


class RedisCounters:
    """:class:`~stargate.governance.counters.CounterStore` in Redis at ``redis_url``."""

    def __init__(
        self,
        redis_url: str,
        prefix: str = DEFAULT_PREFIX,
        *,
        failure_policy: FailurePolicy = "closed",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        clock: Clock = utc_now,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        """``observe(operation, seconds)`` is told how long each Redis round trip took
        (``admit``, ``settle``, ``read``, ``rebuild``), timeouts and failures included."""
        if not prefix or any(c in prefix for c in "{}"):
            raise ValueError("a counter prefix is a non-empty name without braces")
        self._prefix = f"{{{prefix}}}:"
        self._policy = failure_policy
        self._clock = clock
        self._observe = observe
        self._wire = RedisWire(redis_url, timeout=timeout_s)
        self._admit_script = Script.of(_script("counters_admit.lua"))
        self._settle_script = Script.of(_script("counters_settle.lua"))

    @property
    def key_prefix(self) -> str:
        """What every key of these counters starts with (``{prefix}:``)."""
        return self._prefix

    async def admit(self, request: AdmissionRequest) -> Admission:
        args = self._admit_args(request)
        try:
            reply = await self._evalsha("admit", self._admit_script, self._prefix, *args)
        except _UNREACHABLE as exc:
            if self._policy == "open":
                _log.warning(
                    "counters unreachable (%s); admitting %s uncounted (failure policy: open)",
                    exc,
                    request.request_id,
                )
                return Admitted(request.request_id, counted=False)
            raise ServiceUnavailable(
                "Budget and rate-limit counters are unavailable; try again shortly"
            ) from exc
        except RedisReplyError as exc:
            raise InternalError("the admission script failed") from exc
        return self._outcome(request, reply)

    async def settle(self, request_id: str, actual_micro: MicroUSD, actual_tokens: int) -> bool:
        if actual_micro < 0 or actual_tokens < 0:
            raise ValueError("a settlement cannot be negative")
        try:
            reply = await self._evalsha(
                "settle",
                self._settle_script,
                self._prefix,
                request_id,
                actual_micro,
                actual_tokens,
                RECORD_GRACE_SECONDS,
            )
        except (*_UNREACHABLE, RedisReplyError) as exc:
            _log.warning(
                "could not settle %s (%s): its reservation expires with its lease; "
                "rebuild the counters from the ledger",
                request_id,
                exc,
            )
            return False
        return int(reply) == 1

    async def release(self, request_id: str) -> bool:
        return await self.settle(request_id, 0, 0)

    async def spent(self, scope: str, window_key: str) -> MicroUSD:
        key = self._budget_key(scope, window_key)
        value = await self._command(self._wire.command("HGET", key, "spent"), "read")
        return int(value or 0)

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
        key = self._budget_key(scope, window_key)
        commands: list[tuple[str | int, ...]] = [("HSET", key, "spent", spent_micro)]
        if reset_at is not None:
            ttl = max(1, _expiry_ms(reset_at) - _ms(self._clock()))
            commands.append(("PEXPIRE", key, ttl, "NX"))
        await self._command(self._wire.transaction(*commands), "rebuild")

    async def aclose(self) -> None:
        await self._wire.aclose()

    # --- the wire ------------------------------------------------------------------------------

    async def _evalsha(self, operation: str, script: Script, *args: str | bytes | int) -> Any:
        # The wire bounds connecting and each round trip by the timeout.
        started = time.perf_counter()
        try:
            return await self._wire.evalsha(script, *args)
        finally:
            if self._observe is not None:
                self._observe(operation, time.perf_counter() - started)

    async def _command(self, call: Awaitable[_T], operation: str) -> _T:
        try:
            return await self._timed(operation, call)
        except _UNREACHABLE as exc:
            raise ServiceUnavailable("The counter store (Redis) is unavailable") from exc
        except RedisReplyError as exc:
            raise InternalError(f"the counter store answered an error: {exc}") from exc

    async def _timed(self, operation: str, call: Awaitable[_T]) -> _T:
        """``call``'s answer, its round trip told to ``observe`` (failures included)."""
        started = time.perf_counter()
        try:
            return await call
        finally:
            if self._observe is not None:
                self._observe(operation, time.perf_counter() - started)

    def _budget_key(self, scope: str, window_key: str) -> str:
        return f"{self._prefix}b:{scope}|{window_key}"

    def _admit_args(self, request: AdmissionRequest) -> tuple[str | bytes | int, ...]:
        """The admission script's ARGV after the prefix (layout in ``counters_admit.lua``)."""
        now = _ms(request.now)
        return (
            request.request_id,
            now,
            now - _MINUTE_MS,
            now + request.lease_seconds * 1000,
            request.reserve_micro,
            request.reserve_tokens,
            RECORD_GRACE_SECONDS,
            1,  # one request against RPM limits
            1,  # one parallel slot
            *self._checks_args(request.scope_checks),
        )

    def _checks_args(self, checks: ScopeChecks) -> tuple[str | bytes | int, ...]:
        """What the script is told of the checks, the same for every request (a planner reuses
        them for many): the record's three lists, as JSON, then each check with its budgets'
        keys, limits and the instant (epoch ms) each budget's counter may go; kept with the
        checks, per key prefix."""
        name = _MEMO + self._prefix
        known = checks.memo.get(name)
        if known is not None:
            return cast(tuple[str | bytes | int, ...], known)
        budget_keys = [self._budget_key(scope, window) for scope, window in checks.windows]
        args: list[str | bytes | int] = [
            orjson.dumps(budget_keys),
            orjson.dumps(checks.scopes),
            orjson.dumps(checks.tpm_scopes),
        ]
        for check in checks:
            args += (
                check.scope,
                -1 if check.rpm is None else check.rpm,
                -1 if check.tpm is None else check.tpm,
                -1 if check.max_parallel is None else check.max_parallel,
                len(check.budgets),
            )
            for b in check.budgets:
                ends = 0 if b.reset_at is None else _expiry_ms(b.reset_at)
                args += (self._budget_key(check.scope, b.window_key), b.limit_micro, ends)
        template = tuple(args)
        checks.memo[name] = template
        return template

    @staticmethod
    def _outcome(request: AdmissionRequest, reply: Sequence[Any]) -> Admission:
        match reply[0]:
            case "ok":
                return admitted(request, _tally(reply[1], reply[2]))
            case "budget":
                return budget_refusal(request, _tally(reply[2], []), int(reply[1]) - 1)
            case "rpm" | "tpm" | "parallel":
                check = request.checks[int(reply[1]) - 1]
                limits = {"rpm": check.rpm, "tpm": check.tpm, "parallel": check.max_parallel}
                limit = limits[reply[0]]
                retry = None if reply[2] == "" else int(reply[2]) / 1000
                assert limit is not None  # the script only refuses by a limit that is set
                return rate_refusal(request, check, _RATE_REASONS[reply[0]], limit, retry)
            case "done":
                raise ValueError(f"request {request.request_id} was already settled or expired")
            case other:
                raise InternalError(f"the admission script answered {other!r}")


def _tally(budgets: Sequence[str], rates: Sequence[str]) -> Tally:
    numbers = iter(map(int, budgets))
    pairs = list(zip(numbers, numbers, strict=True))  # (spent, reserved) after each other
    seen: list[RateSeen] = [
        (int(rates[i]), None if rates[i + 1] == "" else int(rates[i + 1]) / 1000)
        for i in range(0, len(rates), 2)
    ]
    return Tally(pairs, seen)
