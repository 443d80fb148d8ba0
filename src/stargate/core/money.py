"""Money is an integer number of micro-US-dollars. Never a float."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

__all__ = ["MICRO_PER_USD", "MicroUSD", "micro_to_usd", "usd_to_micro"]

MicroUSD = int
MICRO_PER_USD = 1_000_000


def usd_to_micro(amount: Decimal | str | int) -> MicroUSD:
    """Exact conversion of a decimal dollar amount, rounding a fraction of a micro-dollar up.

    Floats are refused: ``usd_to_micro(0.1)`` would carry binary rounding into the ledger. Pass
    the amount as a string (``"0.1"``) or a :class:`~decimal.Decimal` instead.
    """
    if isinstance(amount, float):  # pragma: no cover - guarded by the type, kept for callers
        raise TypeError("money must not be a float; pass a str or Decimal")
    value = Decimal(amount) * MICRO_PER_USD
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def micro_to_usd(amount: MicroUSD) -> Decimal:
    return Decimal(amount) / MICRO_PER_USD
