"""What callers of the public API see of the ledger: ``GET /v1/usage`` for the calling key, the
``gateway_metadata`` object of a chat response and the cost response headers (seed 004).

Money leaves as USD JSON numbers converted from integer micro-USD at the edge; an unknown cost
(an unpriced model) is shown as unknown (``null``, or counted in ``unpriced_requests``), never as
zero.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from stargate.core.money import MICRO_PER_USD
from stargate.errors import InvalidRequest
from stargate.store.database import Database
from stargate.store.ledger_queries import SpendFilter, rollup_totals

__all__ = [
    "DEFAULT_USAGE_DAYS",
    "MAX_USAGE_DAYS",
    "cost_headers",
    "gateway_metadata",
    "usage_for_key",
    "usd",
    "usd_text",
]

DEFAULT_USAGE_DAYS = 30
MAX_USAGE_DAYS = 366
# How a provider is named to API callers (the seed's "aws-bedrock"); others by their own name.
_PROVIDER_NAMES = {"bedrock": "aws-bedrock"}


def usd(micro: int | None) -> float | None:
    """Integer micro-USD → a USD JSON number (``None`` stays unknown). Python's integer true
    division is correctly rounded, so this is the float nearest the exact amount, the same as
    going through ``Decimal``, only faster (reports convert many amounts)."""
    return None if micro is None else micro / MICRO_PER_USD


def gateway_metadata(
    *, team_id: str | None, latency_ms: int, cost_micro: int | None, provider: str | None
) -> dict[str, Any]:
    """Seed 004's ``gateway_metadata`` of a chat response (given when the caller asks for it)."""
    return {
        "team_id": team_id,
        "latency_ms": latency_ms,
        "cost_usd": usd(cost_micro),
        "provider": _PROVIDER_NAMES.get(provider, provider) if provider else None,
    }


def cost_headers(cost_micro: int | None) -> dict[str, str]:
    """The cost of a response: ``x-litellm-response-cost`` (USD, LiteLLM's header) and
    ``x-stargate-cost-micro`` (exact integer micro-USD, or ``unknown`` for an unpriced model,
    without the LiteLLM header rather than a made-up zero)."""
    if cost_micro is None:
        return {"x-stargate-cost-micro": "unknown"}
    return {
        "x-litellm-response-cost": usd_text(cost_micro),
        "x-stargate-cost-micro": str(cost_micro),
    }


def usd_text(micro: int) -> str:
    """Integer micro-USD as exact USD text without trailing zeros (``12.5``, ``0.000059``,
    ``3``): ``format(micro_to_usd(micro).normalize(), "f")``, from the integer's digits (a
    response header on every request)."""
    if micro < 0:
        return "-" + usd_text(-micro)
    whole, fraction = divmod(micro, MICRO_PER_USD)
    if fraction:
        # The six digits of the fraction, leading zeros kept: those of 1_000_000 + fraction.
        return f"{whole}.{str(MICRO_PER_USD + fraction)[1:]}".rstrip("0")
    return str(whole)


async def usage_for_key(
    database: Database,
    key_hash: str,
    days: int,
    today: date,
    *,
    key_id: str | None = None,
    team_id: str | None = None,
    team_name: str | None = None,
) -> dict[str, Any]:
    """``GET /v1/usage?days=N`` for the calling key, in seed 004's shape: the period from
    ``today - days`` to ``today`` (UTC days, both included), a summary and the requests per
    model, from the daily rollups. With ``key_id`` the key's requests under earlier secrets
    (before a ``/key/regenerate``) count too."""
    if not 1 <= days <= MAX_USAGE_DAYS:
        raise InvalidRequest(f"days must be between 1 and {MAX_USAGE_DAYS}", param="days")
    start = today - timedelta(days=days)
    which = SpendFilter(key_id=key_id) if key_id else SpendFilter(key_hash=key_hash)
    by_model = await rollup_totals(
        database, which, first_day=start, last_day=today, group_by=("model",)
    )
    requests = sum(entry.requests for entry in by_model)
    cost = sum(entry.cost_micro for entry in by_model)
    unpriced = sum(entry.unpriced_requests for entry in by_model)
    daily = (Decimal(cost) / days).to_integral_value(rounding=ROUND_HALF_EVEN)
    summary: dict[str, Any] = {
        "total_requests": requests,
        "total_tokens": sum(entry.total_tokens for entry in by_model),
        "total_cost_usd": usd(cost),
        "avg_daily_cost_usd": usd(int(daily)),
    }
    if unpriced:
        summary["unpriced_requests"] = unpriced  # their cost is unknown, not in the totals
    ranked = sorted(by_model, key=lambda entry: (-entry.requests, str(entry.group["model"])))
    return {
        "team_id": team_id,
        "team_name": team_name,
        "period": {"days": days, "start": start.isoformat(), "end": today.isoformat()},
        "summary": summary,
        "by_model": [
            {"model": entry.group["model"], "requests": entry.requests} for entry in ranked
        ],
    }
