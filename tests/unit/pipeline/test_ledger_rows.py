"""A request's outcome as its ledger row: every column, for answers, failures and the
caller leaving."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from stargate.config.deployment import Deployment
from stargate.core import Usage
from stargate.pipeline.ledger_rows import spend_row
from stargate.pipeline.principals import Principal
from stargate.pipeline.records import Outcome
from stargate.store.ledger_rows import SpendRow

STARTED = 1_772_366_400.123456  # 2026-03-01T12:00:00.123456Z
PRINCIPAL = Principal(kind="key", key_hash="kh", key_alias="ci", key_id="k1", user_id="u1",
                      user_email="u1@example.com", team_id="t1", team_alias="Team")  # fmt: skip
DEPLOYMENT = Deployment(id="haiku-use1", model_name="haiku", provider="bedrock",
                        model="us.anthropic.claude-haiku",
                        params={"aws_region_name": "us-east-1"})  # fmt: skip


def outcome(**changes: object) -> Outcome:
    answered = Outcome(
        request_id="r-1", route="/v1/messages", requested_model="haiku", principal=PRINCIPAL,
        deployment=DEPLOYMENT, usage=Usage(12, 5, cache_read_tokens=2, cache_write_tokens=3),
        cost_micro=77, status=200, error_class="", stream=True, latency_s=0.7504,
        ttft_s=0.2109, started_at=STARTED,
    )  # fmt: skip
    return replace(answered, **changes)


def test_an_answered_request_fills_every_column() -> None:
    started = datetime.fromtimestamp(STARTED, UTC)
    assert spend_row(outcome()) == SpendRow(
        request_id="r-1", started_at=started, ended_at=started + timedelta(seconds=0.7504),
        requested_model="haiku", status="success", key_hash="kh", key_id="k1", key_alias="ci",
        user_id="u1", team_id="t1", end_user=None, deployment_id="haiku-use1",
        model="us.anthropic.claude-haiku", provider="bedrock", region="us-east-1",
        route="/v1/messages", input_tokens=12, output_tokens=5, cache_read_tokens=2,
        cache_write_tokens=3, cost_micro=77, latency_ms=750, ttft_ms=210, error_type=None,
        http_status=200, stream=True,
    )  # fmt: skip
    assert started.microsecond == 123456


@pytest.mark.parametrize(("status", "expected"), [(429, "error"), (499, "cancelled")])
def test_a_request_refused_before_any_deployment_has_no_deployment_nor_usage(
    status: int, expected: str
) -> None:
    row = spend_row(outcome(deployment=None, usage=None, cost_micro=None, status=status,
                            error_class="RateLimited", ttft_s=None, stream=False))  # fmt: skip
    assert (row.status, row.http_status, row.error_type) == (expected, status, "RateLimited")
    assert (row.deployment_id, row.model, row.provider, row.region) == (None, None, None, None)
    tokens = (row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens)
    assert tokens == (0, 0, 0, 0)
    assert (row.cost_micro, row.ttft_ms, row.stream) == (0, None, False)


def test_a_failed_request_keeps_the_cost_of_what_it_used() -> None:
    unpriced = spend_row(outcome(status=502, error_class="UpstreamError", cost_micro=None))
    assert (unpriced.status, unpriced.cost_micro, unpriced.input_tokens) == ("error", None, 12)
    elsewhere = Deployment(id="d", model_name="m", provider="bedrock", model="m")
    assert spend_row(outcome(deployment=elsewhere)).region is None
