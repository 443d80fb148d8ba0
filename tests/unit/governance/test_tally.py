"""What a counter store saw, told as states: the same numbers whichever store saw them, and
whichever request of a reused plan asks."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from stargate.governance.admission import (
    RATE_WINDOW_SECONDS,
    AdmissionRequest,
    BudgetCheck,
    BudgetState,
    RateState,
    ScopeCheck,
    ScopeChecks,
)
from stargate.governance.tally import Tally, admitted

NOW = datetime(2026, 11, 22, 12, 0, 0, 123_456, tzinfo=UTC)
RESET = datetime(2026, 11, 23, tzinfo=UTC)
CHECKS = ScopeChecks(
    [
        ScopeCheck("key:k", (BudgetCheck("d:1", 5_000, RESET), BudgetCheck("all", 9_000, None)),
                   rpm=10, tpm=1000, max_parallel=3),
        ScopeCheck("user:u", (BudgetCheck("mo:1", 7_000, RESET),)),
        ScopeCheck("team:t", rpm=5),
    ]
)  # fmt: skip


def spelled_out(request: AdmissionRequest, tally: Tally) -> tuple[list[object], list[object]]:
    now = request.now.timestamp()
    budgets: list[object] = [
        BudgetState(c.scope, b.window_key, b.limit_micro, b.limit_micro - s - h, b.reset_at)
        for (c, b), (s, h) in zip(request.scope_checks.budgets, tally.budgets, strict=True)
    ]
    rates: list[object] = [
        RateState(c.scope, kind, limit, max(0, limit - used),
                  0.0 if old is None else max(0.0, old + RATE_WINDOW_SECONDS - now))
        for (c, kind, limit), (used, old) in zip(request.scope_checks.rates, tally.rates,
                                                 strict=True)
    ]  # fmt: skip
    return budgets, rates


def test_states_are_the_tally_told_against_the_limits_for_every_request_of_a_plan() -> None:
    rng = random.Random(3)
    for i in range(500):
        now = NOW + timedelta(seconds=rng.uniform(0, 600))
        request = AdmissionRequest(f"r{i}", CHECKS, 10, 10, now, 60)  # the same checks each time
        stamp = now.timestamp()
        tally = Tally(
            [(rng.randrange(10_000), rng.randrange(10_000)) for _ in CHECKS.budgets],
            [(rng.randrange(2_000), rng.choice([None, stamp, stamp - 60, stamp - 61,
                                                stamp - rng.uniform(0, 60)]))
             for _ in CHECKS.rates],
        )  # fmt: skip
        state = admitted(request, tally)
        assert state.request_id == f"r{i}"
        assert (list(state.budgets), list(state.rates)) == spelled_out(request, tally)


def test_states_are_immutable() -> None:
    state = admitted(AdmissionRequest("r", CHECKS, 1, 1, NOW, 60),
                     Tally([(0, 1)] * 3, [(1, None)] * 3))  # fmt: skip
    with pytest.raises(AttributeError):
        state.budgets[0].headroom_micro = 10**9  # type: ignore[misc]
    with pytest.raises(AttributeError):
        state.rates[0].remaining = 10**9  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.request_id = "x"  # type: ignore[misc]
