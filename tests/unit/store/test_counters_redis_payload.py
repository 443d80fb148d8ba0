"""The admission script's arguments: built from pieces kept per set of checks (and key prefix),
they say exactly what the script's header describes for any checks, at any moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from stargate.governance.admission import AdmissionRequest, BudgetCheck, ScopeCheck, ScopeChecks
from stargate.governance.counters import RECORD_GRACE_SECONDS, WINDOW_GRACE_SECONDS
from stargate.store.counters_redis import RedisCounters

NOW = datetime(2026, 11, 22, 23, 58, 12, 345678, tzinfo=UTC)
RESET = datetime(2026, 11, 23, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def plainly(prefix: str, request: AdmissionRequest) -> list[str | bytes | int]:
    """The arguments after the key prefix, as the script's header describes them."""
    now = ms(request.now)
    grace = timedelta(seconds=WINDOW_GRACE_SECONDS)
    keys = [f"{prefix}b:{c.scope}|{b.window_key}" for c in request.checks for b in c.budgets]
    args: list[str | bytes | int] = [
        request.request_id,
        now,
        now - 60_000,
        now + request.lease_seconds * 1000,
        request.reserve_micro,
        request.reserve_tokens,
        RECORD_GRACE_SECONDS,
        1,  # one request against RPM limits
        1,  # one parallel slot
        orjson.dumps(keys),
        orjson.dumps([c.scope for c in request.checks]),
        orjson.dumps([c.scope for c in request.checks if c.tpm is not None]),
    ]
    for c in request.checks:
        args += [
            c.scope,
            -1 if c.rpm is None else c.rpm,
            -1 if c.tpm is None else c.tpm,
            -1 if c.max_parallel is None else c.max_parallel,
            len(c.budgets),
        ]
        for b in c.budgets:
            ends = 0 if b.reset_at is None else ms(b.reset_at + grace)
            args += [f"{prefix}b:{c.scope}|{b.window_key}", b.limit_micro, ends]
    return args


CHECKS = (
    ScopeCheck("key:k", (BudgetCheck("d:2026-11-22@UTC", 10**12, RESET),
                         BudgetCheck("all", 5, None)), rpm=0, tpm=10**12, max_parallel=3),
    ScopeCheck('user:"quoted" \\ ünïcode', (BudgetCheck("m:2026-11@Europe/Berlin", 1, RESET),)),
    ScopeCheck("key:k:model:m", rpm=7),
    ScopeCheck("team:t", (BudgetCheck("1h:1795392000", 2**53 - 1, RESET - timedelta(days=3)),)),
)  # fmt: skip


def test_the_arguments_are_the_plain_ones_for_any_checks_and_prefix() -> None:
    stores = [RedisCounters("redis://127.0.0.1:6379/0", name) for name in ("p", "q")]
    for checks in ((), CHECKS[:1], CHECKS[1:3], CHECKS, (ScopeCheck("key:only", max_parallel=1),)):
        kept = ScopeChecks(checks)  # as a planner reuses them, with stores of other prefixes
        for step in range(3):  # the kept pieces, at later moments too (and past a budget's end)
            now = NOW + timedelta(milliseconds=step * 1234, days=step)
            for given in (kept, checks):
                for counters in stores:
                    request = AdmissionRequest('r-"1"', given, 17 * step, 42, now, 900)
                    assert list(counters._admit_args(request)) == plainly(
                        counters.key_prefix, request
                    )
