"""What clients are told: headers on admitted responses, errors and headers on refusals."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from stargate.api.errors import error_headers, openai_error_body
from stargate.core.money import micro_to_usd
from stargate.errors import BudgetExceeded, RateLimited
from stargate.governance.admission import Admitted, BudgetState, RateState, Refused
from stargate.governance.verdicts import (
    admission_headers,
    lowered_headers,
    refusal_error,
    reset_duration,
)

RESET = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.012, "12ms"),
        (0.0, "0ms"),
        (1.0, "1s"),
        (1.2, "2s"),
        (59.5, "1m0s"),
        (360, "6m0s"),
        (3723, "1h2m3s"),
    ],
)
def test_reset_durations_are_written_as_openai_does(seconds: float, text: str) -> None:
    assert reset_duration(seconds) == text


def test_admitted_headers_show_the_tightest_budget_and_rate_limits() -> None:
    admitted = Admitted(
        "r",
        budgets=(
            BudgetState("key:h", "all", 10_000_000, 9_000_000, None),
            BudgetState("team:t", "d:2026-11-22@Europe/Berlin", 17_000, 12_345, RESET),
        ),
        rates=(
            RateState("key:h", "requests", 60, 59, 59.9),
            RateState("key:h", "tokens", 10_000, 8_900, 0.5),
        ),
    )
    assert admission_headers(admitted) == {
        "x-stargate-budget-remaining": "0.012345",
        "x-stargate-budget-reset-at": "2026-11-22T23:00:00Z",
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1m0s",
        "x-ratelimit-limit-tokens": "10000",
        "x-ratelimit-remaining-tokens": "8900",
        "x-ratelimit-reset-tokens": "500ms",
    }


def test_nothing_counted_means_no_headers_and_a_lifetime_budget_has_no_reset() -> None:
    assert admission_headers(Admitted("r", counted=False)) == {}
    lifetime = Admitted("r", budgets=(BudgetState("key:h", "all", 5, 5, None),))
    assert admission_headers(lifetime) == {"x-stargate-budget-remaining": "0.000005"}


@pytest.mark.parametrize(
    ("micro", "text"),
    [
        (0, "0.000000"),
        (1, "0.000001"),
        (999_999, "0.999999"),
        (1_000_000, "1.000000"),
        (10**12 + 7, "1000000.000007"),
        (2**53, "9007199254.740992"),
    ],
)
def test_money_left_is_written_in_dollars_to_the_micro_dollar(micro: int, text: str) -> None:
    admitted = Admitted("r", budgets=(BudgetState("key:h", "all", 2**53, micro, None),))
    assert admission_headers(admitted)["x-stargate-budget-remaining"] == text
    overdrawn = Admitted("r", budgets=(BudgetState("key:h", "all", 5, -micro, None),))
    assert admission_headers(overdrawn)["x-stargate-budget-remaining"] == "0.000000"


def test_the_first_of_equally_tight_limits_is_shown() -> None:
    admitted = Admitted(
        "r",
        budgets=(
            BudgetState("key:h", "all", 100, 40, None),
            BudgetState("team:t", "d:x", 50, 40, RESET),
        ),
        rates=(
            RateState("key:h", "tokens", 900, 800, 3.0),
            RateState("key:h", "requests", 60, 5, 1.0),
            RateState("team:t", "requests", 10, 5, 2.0),
            RateState("team:t", "tokens", 1000, 800, 4.0),
        ),
    )
    assert admission_headers(admitted) == {
        "x-stargate-budget-remaining": "0.000040",
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "5",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-limit-tokens": "900",
        "x-ratelimit-remaining-tokens": "800",
        "x-ratelimit-reset-tokens": "3s",
    }
    assert list(admission_headers(admitted))[1] == "x-ratelimit-limit-requests"


def test_the_lowered_header_carries_the_max_tokens_used() -> None:
    assert lowered_headers(40) == {"x-stargate-max-tokens-lowered": "40"}


def budget_refusal(retry: float | None, reset: datetime | None = RESET) -> Refused:
    return Refused(
        "r",
        "budget",
        "team:t",
        17_000,
        retry,
        window_key="d:x",
        reset_at=reset,
        headroom=(
            BudgetState("key:h", "all", 10_000_000, 9_000_000, None),
            BudgetState("team:t", "d:x", 17_000, 120, reset),
        ),
    )


def test_a_budget_refusal_is_a_budget_exceeded_429_naming_the_scope() -> None:
    err = refusal_error(budget_refusal(3600.0))
    assert isinstance(err, BudgetExceeded)
    assert (err.status, err.openai_type, err.anthropic_type) == (
        429,
        "budget_exceeded",
        "rate_limit_error",
    )
    assert err.message.startswith("Budget exceeded")
    assert "$0.017" in err.message
    assert "$0.000120 left" in err.message
    assert "2026-11-22T23:00:00Z" in err.message
    assert err.retry_after is None  # an hour away: no retry-after
    assert err.headers == {
        "x-stargate-budget-scope": "team",
        "x-stargate-budget-remaining": "0.000120",
        "x-stargate-budget-reset-at": "2026-11-22T23:00:00Z",
    }
    rendered = error_headers(err, "req-1")
    assert rendered["x-should-retry"] == "false"
    assert "retry-after" not in rendered
    assert openai_error_body(err)["error"]["type"] == "budget_exceeded"  # type: ignore[index]


def test_a_budget_resetting_within_a_minute_says_when_to_retry() -> None:
    err = refusal_error(budget_refusal(42.0))
    assert err.retry_after == 42.0
    assert error_headers(err, "req-1")["retry-after"] == "42"


def test_a_lifetime_budget_refusal_says_it_does_not_reset() -> None:
    err = refusal_error(budget_refusal(None, reset=None))
    assert "does not reset" in err.message
    assert "x-stargate-budget-reset-at" not in err.headers
    assert err.retry_after is None


def test_rate_refusals_are_rate_limited_with_retry_after_and_headers() -> None:
    err = refusal_error(Refused("r", "rpm", "key:h:model:m", 5, 12.3))
    assert isinstance(err, RateLimited)
    assert not isinstance(err, BudgetExceeded)
    assert (err.status, err.openai_type) == (429, "rate_limit_exceeded")
    assert err.retry_after == 12.3
    assert "5 requests per minute" in err.message
    assert "this key" in err.message
    assert err.headers == {
        "x-ratelimit-limit-requests": "5",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "13s",
    }
    tokens = refusal_error(Refused("r", "tpm", "user:u", 1000, 0.25))
    assert tokens.headers["x-ratelimit-limit-tokens"] == "1000"
    assert "1000 tokens per minute" in tokens.message
    parallel = refusal_error(Refused("r", "parallel", "team:t", 2, None))
    assert "2 parallel requests" in parallel.message
    assert parallel.retry_after == 1.0
    assert error_headers(parallel, "x")["retry-after"] == "1"


def _spelled_out_headers(admitted: Admitted) -> dict[str, str]:
    """The headers as the rule says, step by step (what admission_headers does in one pass)."""
    headers: dict[str, str] = {}
    budget = admitted.tightest_budget
    if budget is not None:
        headers["x-stargate-budget-remaining"] = (
            f"{micro_to_usd(max(0, budget.headroom_micro)):.6f}"
        )
        if budget.reset_at is not None:
            headers["x-stargate-budget-reset-at"] = (
                budget.reset_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
            )
    for kind in ("requests", "tokens"):
        rate = admitted.tightest_rate(kind)
        if rate is not None:
            headers[f"x-ratelimit-limit-{kind}"] = str(rate.limit)
            headers[f"x-ratelimit-remaining-{kind}"] = str(rate.remaining)
            headers[f"x-ratelimit-reset-{kind}"] = reset_duration(rate.reset_s)
    return headers


def test_admitted_headers_are_those_of_the_spelled_out_rule() -> None:
    rng = random.Random(7)
    resets = [None, RESET, datetime(2027, 1, 1, 0, 0, tzinfo=UTC)]
    for _ in range(2000):
        budgets = tuple(
            BudgetState(f"s{i}", f"w{i}", 10**9, rng.choice([-5, 0, 1, 999_999, 10**6, 10**12,
                        2**53, 10**21, rng.randrange(-10, 10**7)]), rng.choice(resets))
            for i in range(rng.randrange(4))
        )  # fmt: skip
        rates = tuple(
            RateState(f"s{i}", rng.choice(["requests", "tokens"]), rng.randrange(1, 10**6),
                      rng.choice([0, 1, 5, rng.randrange(10**6)]),
                      rng.choice([0.0, 0.0004, 0.5, 0.9999, 1.0, 1.2, 59.5, 60.0, 3723.0,
                                  rng.uniform(0, 61)]))
            for i in range(rng.randrange(4))
        )  # fmt: skip
        admitted = Admitted("r", budgets, rates)
        expected = _spelled_out_headers(admitted)
        assert list(admission_headers(admitted).items()) == list(expected.items())
        # Added to the headers given, after what is there already.
        given = {"x-stargate-max-tokens-lowered": "7"}
        assert admission_headers(admitted, given) is given
        assert list(given.items()) == [("x-stargate-max-tokens-lowered", "7"), *expected.items()]
