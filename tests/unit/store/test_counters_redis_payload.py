"""The admission script's JSON argument: built from pieces kept per set of checks, it says exactly
what the script was always given (the same JSON value as a plain encoding of the request)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from stargate.governance.admission import AdmissionRequest, BudgetCheck, ScopeCheck, ScopeChecks
from stargate.governance.counters import RECORD_GRACE_SECONDS, WINDOW_GRACE_SECONDS
from stargate.store.counters_redis import RedisCounters

NOW = datetime(2026, 11, 22, 23, 58, 12, 345678, tzinfo=UTC)
RESET = datetime(2026, 11, 23, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def plainly(request: AdmissionRequest) -> dict[str, Any]:
    """The argument, as the script's header describes it."""
    now = ms(request.now)
    grace = timedelta(seconds=WINDOW_GRACE_SECONDS)
    return {
        "rid": request.request_id,
        "now": now,
        "lease": request.lease_seconds * 1000,
        "micro": request.reserve_micro,
        "tokens": request.reserve_tokens,
        "grace": RECORD_GRACE_SECONDS,
        "checks": [
            {
                "s": c.scope,
                "rpm": -1 if c.rpm is None else c.rpm,
                "tpm": -1 if c.tpm is None else c.tpm,
                "par": -1 if c.max_parallel is None else c.max_parallel,
                "b": [
                    {
                        "w": b.window_key,
                        "l": b.limit_micro,
                        "ttl": 0 if b.reset_at is None else max(1, ms(b.reset_at + grace) - now),
                    }
                    for b in c.budgets
                ],
            }
            for c in request.checks
        ],
    }


CHECKS = (
    ScopeCheck("key:k", (BudgetCheck("d:2026-11-22@UTC", 10**12, RESET),
                         BudgetCheck("all", 5, None)), rpm=0, tpm=10**12, max_parallel=3),
    ScopeCheck('user:"quoted" \\ ünïcode', (BudgetCheck("m:2026-11@Europe/Berlin", 1, RESET),)),
    ScopeCheck("key:k:model:m", rpm=7),
    ScopeCheck("team:t", (BudgetCheck("1h:1795392000", 2**53 - 1, RESET - timedelta(days=3)),)),
)  # fmt: skip


def test_the_payload_is_the_same_json_value_for_any_checks() -> None:
    counters = RedisCounters("redis://127.0.0.1:6379/0", "p")
    for checks in ((), CHECKS[:1], CHECKS[1:3], CHECKS, (ScopeCheck("key:only", max_parallel=1),)):
        kept = ScopeChecks(checks)  # as a planner reuses them
        for step in range(3):  # the kept pieces, at later moments too (and past a budget's end)
            now = NOW + timedelta(milliseconds=step * 1234, days=step)
            for given in (kept, checks):
                request = AdmissionRequest('r-"1"', given, 17 * step, 42, now, 900)
                assert orjson.loads(counters._payload(request)) == plainly(request)
