"""What API callers see of a request's cost: seed 004's gateway_metadata and the cost
headers; an unknown cost stays unknown."""

from __future__ import annotations

import random

from stargate.core.money import micro_to_usd
from stargate.telemetry.ledger_views import cost_headers, gateway_metadata, usd, usd_text


def test_gateway_metadata_has_the_seed_shape() -> None:
    assert gateway_metadata(
        team_id="demo-team", latency_ms=892, cost_micro=59, provider="bedrock"
    ) == {"team_id": "demo-team", "latency_ms": 892, "cost_usd": 0.000059,
          "provider": "aws-bedrock"}  # fmt: skip


def test_an_unknown_cost_is_null_not_zero() -> None:
    shown = gateway_metadata(team_id=None, latency_ms=5, cost_micro=None, provider=None)
    assert shown["cost_usd"] is None
    assert shown["provider"] is None
    assert usd(0) == 0.0
    assert usd(None) is None


def test_cost_headers_are_exact() -> None:
    assert cost_headers(59) == {
        "x-litellm-response-cost": "0.000059",
        "x-stargate-cost-micro": "59",
    }
    assert cost_headers(12_500_000)["x-litellm-response-cost"] == "12.5"
    assert cost_headers(0)["x-litellm-response-cost"] == "0"
    assert cost_headers(None) == {"x-stargate-cost-micro": "unknown"}


def test_usd_text_is_the_normalized_decimal() -> None:
    rng = random.Random(7)
    amounts = [0, 1, 59, 10, 100_000, 1_000_000, 10_000_000, 12_500_000, 999_999, 10**24 + 10]
    amounts += [rng.randrange(10 ** rng.randrange(1, 27)) for _ in range(2000)]
    for micro in amounts + [-micro for micro in amounts]:
        assert usd_text(micro) == format(micro_to_usd(micro).normalize(), "f"), micro


def test_usd_is_the_float_nearest_the_exact_amount() -> None:
    from decimal import Decimal

    for micro in (1, 59, 99_999, 123_456_789, 10**15 + 1, 7 * 10**17 + 3):
        assert usd(micro) == float(Decimal(micro) / Decimal(10**6))
