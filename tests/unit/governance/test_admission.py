"""The admission planner and the lowered max_tokens: pure functions, no store."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType

import pytest

from stargate.governance.admission import (
    AdmissionRequest,
    Admitted,
    BudgetCheck,
    BudgetState,
    RateState,
    Refused,
    ScopeCheck,
    ScopeChecks,
    lowered_max_tokens,
    model_scope,
    plan_admission,
)
from stargate.governance.policy import BudgetWindow, Limits
from stargate.governance.pricing import Pricing
from stargate.governance.windows import CalendarWindow, FixedWindow, LifetimeWindow

NOW = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
BERLIN_DAY = CalendarWindow("day", 1, "Europe/Berlin")
BERLIN_MONTH = CalendarWindow("month", 1, "Europe/Berlin")
PRICES = Pricing(input=Decimal("0.000003"), output=Decimal("0.000015"))


def plan(scopes: list[tuple[str, Limits]], **overrides: object) -> AdmissionRequest:
    args: dict[str, object] = {
        "request_id": "req-1",
        "model": "claude-haiku-4-5",
        "now": NOW,
        "prompt_tokens": 1000,
        "max_tokens": 100,
        "pricing": PRICES,
        "lease_seconds": 600,
    }
    args.update(overrides)
    return plan_admission(scopes, **args)  # type: ignore[arg-type]


def test_the_plan_reserves_the_worst_case_in_every_budget_window_of_every_scope() -> None:
    tier = Limits(
        budgets=(BudgetWindow(17_000, BERLIN_DAY), BudgetWindow(500_000, BERLIN_MONTH)),
        rpm=60,
    )
    key = Limits(budgets=(BudgetWindow(10_000_000, LifetimeWindow()),), max_parallel=4, tpm=9000)
    request = plan([("key:h", key), ("team:t", tier)])

    assert request.reserve_micro == 3000 + 1500
    assert request.reserve_tokens == 1100
    assert request.lease_seconds == 600
    assert request.checks == (
        ScopeCheck("key:h", (BudgetCheck("all", 10_000_000, None),), tpm=9000, max_parallel=4),
        ScopeCheck(
            "team:t",
            (
                BudgetCheck(
                    "d:2026-11-22@Europe/Berlin",
                    17_000,
                    datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
                ),
                BudgetCheck(
                    "m:2026-11@Europe/Berlin", 500_000, datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
                ),
            ),
            rpm=60,
        ),
    )


def test_scopes_that_limit_nothing_are_left_out() -> None:
    request = plan(
        [("key:h", Limits()), ("user:u", Limits(models=("x",))), ("team:t", Limits(rpm=1))]
    )
    assert [c.scope for c in request.checks] == ["team:t"]


def test_two_budgets_over_the_same_window_share_a_counter_and_the_smaller_binds() -> None:
    limits = Limits(
        budgets=(BudgetWindow(900, FixedWindow(3600)), BudgetWindow(300, FixedWindow(3600)))
    )
    (check,) = plan([("key:h", limits)]).checks
    assert [(b.window_key, b.limit_micro) for b in check.budgets] == [
        (FixedWindow(3600).key_at(NOW), 300)
    ]


def test_per_model_limits_become_a_scope_of_their_own() -> None:
    limits = Limits(
        rpm=100,
        model_rpm=MappingProxyType({"claude-haiku-4-5": 5, "other": 1}),
        model_tpm=MappingProxyType({"claude-haiku-4-5": 2000}),
    )
    request = plan([("key:h", limits)])
    assert request.checks == (
        ScopeCheck("key:h", rpm=100),
        ScopeCheck("key:h:model:claude-haiku-4-5", rpm=5, tpm=2000),
    )
    assert model_scope("key:h", "m") == "key:h:model:m"
    other = plan([("key:h", limits)], model="claude-opus-4-5")
    assert [c.scope for c in other.checks] == ["key:h"]


def test_an_unpriced_model_reserves_no_money_but_still_counts_tokens() -> None:
    request = plan([("key:h", Limits(tpm=5000))], pricing=Pricing())
    assert request.reserve_micro == 0
    assert request.reserve_tokens == 1100


def test_an_admission_request_refuses_nonsense() -> None:
    check = ScopeCheck("key:h", rpm=1)
    with pytest.raises(ValueError, match="request id"):
        AdmissionRequest("", (check,), 0, 0, NOW, 60)
    with pytest.raises(ValueError, match="once"):
        AdmissionRequest("r", (check, check), 0, 0, NOW, 60)
    with pytest.raises(ValueError, match="negative"):
        AdmissionRequest("r", (check,), -1, 0, NOW, 60)
    with pytest.raises(ValueError, match="lease"):
        AdmissionRequest("r", (check,), 0, 0, NOW, 0)
    with pytest.raises(ValueError, match="timezone"):
        AdmissionRequest("r", (check,), 0, 0, datetime(2026, 1, 1), 60)
    twice = ScopeCheck("key:h", (BudgetCheck("all", 1, None), BudgetCheck("all", 2, None)))
    with pytest.raises(ValueError, match="twice"):
        AdmissionRequest("r", (twice,), 0, 0, NOW, 60)


def test_a_planned_admission_request_is_the_one_the_constructor_makes() -> None:
    checks = ScopeChecks([ScopeCheck("key:h", (BudgetCheck("all", 5, None),), rpm=1)])
    planned = AdmissionRequest.planned("r", checks, 3, 4, NOW, 60)
    assert planned == AdmissionRequest("r", checks, 3, 4, NOW, 60)
    assert planned.scope_checks is checks
    for args, match in (
        (("", 0, 0, NOW, 60), "request id"),
        (("r", -1, 0, NOW, 60), "negative"),
        (("r", 0, -1, NOW, 60), "negative"),
        (("r", 0, 0, NOW, 0), "lease"),
        (("r", 0, 0, datetime(2026, 1, 1), 60), "timezone"),
    ):
        rid, micro, tokens, now, lease = args
        with pytest.raises(ValueError, match=match):
            AdmissionRequest.planned(rid, checks, micro, tokens, now, lease)


def refusal(*headroom: int, reason: str = "budget") -> Refused:
    states = tuple(
        BudgetState("key:h", f"w{i}", 1_000_000, h, None) for i, h in enumerate(headroom)
    )
    return Refused("req-1", reason, "key:h", 1_000_000, headroom=states)  # type: ignore[arg-type]


def test_max_tokens_is_lowered_to_what_the_smallest_headroom_pays_for() -> None:
    # Prompt 1000 x 3 µ$ = 3000 µ$; 3600 left → 600 / 15 = 40 output tokens.
    lowered = lowered_max_tokens(
        refusal(9_000, 3_600), prompt_tokens=1000, max_tokens=100, pricing=PRICES
    )
    assert lowered == 40
    assert PRICES.worst_case_micro(1000, 40) <= 3_600


def test_no_lowering_when_the_prompt_alone_does_not_fit_or_too_few_tokens_remain() -> None:
    assert (
        lowered_max_tokens(refusal(2_999), prompt_tokens=1000, max_tokens=100, pricing=PRICES)
        is None
    )
    assert (
        lowered_max_tokens(refusal(3_010), prompt_tokens=1000, max_tokens=100, pricing=PRICES)
        is None
    )
    assert (
        lowered_max_tokens(
            refusal(3_600), prompt_tokens=1000, max_tokens=100, pricing=PRICES, minimum=64
        )
        is None
    )


def test_no_lowering_for_rate_limits_or_free_output() -> None:
    assert (
        lowered_max_tokens(
            refusal(3_600, reason="rpm"), prompt_tokens=1000, max_tokens=100, pricing=PRICES
        )
        is None
    )
    free_output = Pricing(input=Decimal("0.000003"))
    assert (
        lowered_max_tokens(refusal(5_000), prompt_tokens=1000, max_tokens=100, pricing=free_output)
        is None
    )


def test_a_lowered_max_tokens_is_always_below_the_requested_one() -> None:
    lowered = lowered_max_tokens(
        refusal(1_000_000), prompt_tokens=10, max_tokens=100, pricing=PRICES
    )
    assert lowered == 99


def test_admitted_points_at_the_tightest_budget_and_rates() -> None:
    admitted = Admitted(
        "r",
        budgets=(
            BudgetState("key:h", "all", 100, 60, None),
            BudgetState("team:t", "d:x", 50, 5, NOW),
        ),
        rates=(
            RateState("key:h", "requests", 10, 7, 3.0),
            RateState("team:t", "requests", 100, 2, 1.0),
            RateState("team:t", "tokens", 1000, 900, 1.0),
        ),
    )
    assert admitted.tightest_budget == BudgetState("team:t", "d:x", 50, 5, NOW)
    assert admitted.tightest_rate("requests") == RateState("team:t", "requests", 100, 2, 1.0)
    assert admitted.tightest_rate("tokens") == RateState("team:t", "tokens", 1000, 900, 1.0)
    assert Admitted("r").tightest_budget is None
    assert Admitted("r").tightest_rate("tokens") is None
