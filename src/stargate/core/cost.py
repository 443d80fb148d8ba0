"""What one request cost, exactly, in whole micro-dollars; or ``None`` when it cannot be known.

Prices are USD per token, exact decimals, under LiteLLM's names (a deployment's
:class:`~stargate.config.deployment.ModelInfo` fits :class:`Prices`): the four base prices as
attributes, the 1-hour cache write price and the >200K-token tier in ``extra``
(:mod:`stargate.config.pricing` fills both from ``model_info`` or the shipped table).

The rules:

* a model without an input or an output price is **unpriced**: the cost is ``None`` (unknown),
  never zero;
* cache reads and writes are priced apart; a cache price that is not known falls back to the
  input price (a model that bills no cache write says so with an explicit ``0``);
* a cache write with a 1-hour TTL uses the 1-hour price when there is one, else the 5-minute one
  (Bedrock offers the 1-hour TTL only on models whose table row has its price);
* a request whose prompt (input plus cache tokens) exceeds 200K tokens is priced, all of it, at
  the >200K tier when the model has one (Sonnet 4 and 4.5): per request, never per day;
* the sum is exact (no float, no intermediate rounding) and rounded UP to a whole micro-dollar
  once, at the end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Any, Literal, NamedTuple, Protocol

from stargate.core.money import MICRO_PER_USD, MicroUSD
from stargate.core.usage import Usage

__all__ = ["LONG_CONTEXT_THRESHOLD", "CacheTTL", "Prices", "cost_micro"]

CacheTTL = Literal["5m", "1h"]
LONG_CONTEXT_THRESHOLD = 200_000  # prompt tokens above which the long-context tier applies

# LiteLLM's keys in ``model_info`` (``ModelInfo.extra``); stargate.config.pricing writes them.
_WRITE_1H = "cache_creation_input_token_cost_above_1hr"
_INPUT_LONG = "input_cost_per_token_above_200k_tokens"
_OUTPUT_LONG = "output_cost_per_token_above_200k_tokens"
_READ_LONG = "cache_read_input_token_cost_above_200k_tokens"
_WRITE_LONG = "cache_creation_input_token_cost_above_200k_tokens"
_WRITE_1H_LONG = "cache_creation_input_token_cost_above_1hr_above_200k_tokens"
_PRECISION = 60  # enough digits that no sum of tokens * prices is ever rounded


class Prices(Protocol):
    """USD-per-token prices of one deployment (``ModelInfo`` has exactly these)."""

    @property
    def input_cost_per_token(self) -> Decimal | None: ...

    @property
    def output_cost_per_token(self) -> Decimal | None: ...

    @property
    def cache_read_input_token_cost(self) -> Decimal | None: ...

    @property
    def cache_creation_input_token_cost(self) -> Decimal | None: ...

    @property
    def extra(self) -> Mapping[str, Any]: ...


def cost_micro(usage: Usage, prices: Prices, *, cache_ttl: CacheTTL = "5m") -> MicroUSD | None:
    """The cost of ``usage`` at ``prices``, rounded up to a whole micro-dollar; ``None`` when
    the model is unpriced. ``cache_ttl`` is the TTL of the request's cache writes."""
    inputs, outputs = usage.input_tokens, usage.output_tokens
    reads, writes = usage.cache_read_tokens, usage.cache_write_tokens
    if inputs < 0 or outputs < 0 or reads < 0 or writes < 0:
        raise ValueError(f"token counts cannot be negative: {usage}")
    long_prompt = inputs + reads + writes > LONG_CONTEXT_THRESHOLD
    key = (id(prices), long_prompt, cache_ttl)
    known = _tiers.get(key)
    tier = known[1] if known is not None and known[0] is prices else _tier(prices, key)
    if tier.__class__ is _Ratios and max(inputs, outputs, reads, writes) < _EXACT_TOKENS:
        # The same exact sum, in integers: every price over one common denominator.
        (i, o, r, w), denominator = tier
        total = inputs * i + outputs * o + reads * r + writes * w
        return -(-total * MICRO_PER_USD // denominator)
    if tier is None:
        return None
    resolved = _resolve(prices, long_prompt, cache_ttl)
    assert resolved is not None  # priced, as the tier said
    input_price, output_price, read_price, write_price = resolved
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        usd = (
            usage.input_tokens * input_price
            + usage.output_tokens * output_price
            + usage.cache_read_tokens * read_price
            + usage.cache_write_tokens * write_price
        )
        return int((usd * MICRO_PER_USD).to_integral_value(rounding=ROUND_CEILING))


_Prices4 = tuple[Decimal, Decimal, Decimal, Decimal]


def _resolve(prices: Prices, long_prompt: bool, cache_ttl: CacheTTL) -> _Prices4 | None:
    """The input, output, cache read and cache write price of one request (``None``:
    unpriced)."""
    input_price = prices.input_cost_per_token
    output_price = prices.output_cost_per_token
    if input_price is None or output_price is None:
        return None
    read_price = prices.cache_read_input_token_cost
    write_price = prices.cache_creation_input_token_cost
    extra = prices.extra
    write_1h = _extra(extra, _WRITE_1H)
    long_input = _extra(extra, _INPUT_LONG)
    if long_prompt and long_input is not None:
        input_price = long_input
        long_output = _extra(extra, _OUTPUT_LONG)
        output_price = output_price if long_output is None else long_output
        read_price = _either(_extra(extra, _READ_LONG), read_price)
        write_price = _either(_extra(extra, _WRITE_LONG), write_price)
        write_1h = _either(_extra(extra, _WRITE_1H_LONG), write_1h)
    if cache_ttl == "1h" and write_1h is not None:
        write_price = write_1h
    return (
        input_price,
        output_price,
        input_price if read_price is None else read_price,
        input_price if write_price is None else write_price,
    )


class _Ratios(NamedTuple):
    """The four prices of a tier as integer numerators over one common denominator."""

    numerators: tuple[int, int, int, int]
    denominator: int


class _Inexact:
    """A tier whose prices are not finite or too long to be sure the decimal sum is exact:
    computed in decimal, as it always was."""


_INEXACT = _Inexact()
_EXACT_DIGITS = 28  # a price of up to 28 digits times fewer than 10**24 tokens: 52 digits < 60
_EXACT_TOKENS = 10**24
_TIERS_KEPT = 1024
# Tiers by (id(prices), long prompt, cache TTL), kept with the prices object so that its id is
# not reused while it is remembered. Prices are immutable (ModelInfo is a frozen dataclass).
_tiers: dict[tuple[int, bool, str], tuple[Prices, _Ratios | _Inexact | None]] = {}


def _tier(prices: Prices, key: tuple[int, bool, CacheTTL]) -> _Ratios | _Inexact | None:
    """The tier ``key`` names (``cost_micro`` looks it up in ``_tiers`` first), kept there."""
    _, long_prompt, cache_ttl = key
    resolved = _resolve(prices, long_prompt, cache_ttl)
    tier: _Ratios | _Inexact | None
    if resolved is None:
        tier = None
    elif not all(p.is_finite() and len(p.as_tuple().digits) <= _EXACT_DIGITS for p in resolved):
        tier = _INEXACT
    else:
        ratios = [p.as_integer_ratio() for p in resolved]
        denominator = math.lcm(*(d for _, d in ratios))
        n = [num * (denominator // d) for num, d in ratios]
        tier = _Ratios((n[0], n[1], n[2], n[3]), denominator)
    if len(_tiers) >= _TIERS_KEPT:
        _tiers.clear()
    _tiers[key] = (prices, tier)
    return tier


def _either(tier: Decimal | None, base: Decimal | None) -> Decimal | None:
    return base if tier is None else tier


def _extra(extra: Mapping[str, Any], key: str) -> Decimal | None:
    value = extra.get(key)
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    raise TypeError(f"model_info {key} must be a Decimal price, not {type(value).__name__}")
