"""What a request may cost at worst, and what it did cost, in whole micro-dollars.

Prices are a deployment's ``model_info`` prices: exact decimals, USD per token. Costs are computed
exactly in decimal and rounded UP to a whole micro-dollar once per request, so a reservation is
never smaller than the cost it stands for.

A price that is not configured counts as zero: an unpriced model reserves and records no money,
but its requests and tokens still count against RPM, TPM and parallel limits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, localcontext

from stargate.config.deployment import ModelInfo
from stargate.core.money import MICRO_PER_USD, MicroUSD

__all__ = ["Pricing"]

_ZERO = Decimal(0)
_PRECISION = 60  # enough digits that no product of tokens and prices is ever rounded


@dataclass(frozen=True, slots=True)
class Pricing:
    """USD per token for each kind of token of one deployment (``None``: not priced)."""

    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    # The worst prompt token's and the output token's prices as exact integer ratios, so the
    # worst case of every admission is integer arithmetic (the same value as in decimal).
    _prompt_ratio: tuple[int, int] = field(init=False, repr=False, compare=False)
    _output_ratio: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prompt_ratio", self.prompt_token_worst.as_integer_ratio())
        object.__setattr__(self, "_output_ratio", self.output_token.as_integer_ratio())

    @classmethod
    def of(cls, info: ModelInfo) -> Pricing:
        return _pricing(
            info.input_cost_per_token,
            info.output_cost_per_token,
            info.cache_read_input_token_cost,
            info.cache_creation_input_token_cost,
        )

    @property
    def priced(self) -> bool:
        """Whether any price is configured (an unpriced model reserves no money)."""
        return any(
            p is not None for p in (self.input, self.output, self.cache_read, self.cache_write)
        )

    @property
    def prompt_token_worst(self) -> Decimal:
        """The most one prompt token can cost: the upstream decides whether a prompt token is
        plain input, a cache read or a cache write, so the worst case takes the dearest."""
        read = self.cache_read if self.cache_read is not None else self.input
        write = self.cache_write if self.cache_write is not None else self.input
        return max(p if p is not None else _ZERO for p in (self.input, read, write))

    @property
    def output_token(self) -> Decimal:
        return self.output if self.output is not None else _ZERO

    def worst_case_micro(self, prompt_tokens: int, max_tokens: int) -> MicroUSD:
        """``prompt_tokens`` at the dearest prompt price plus ``max_tokens`` at the output
        price, rounded up."""
        if prompt_tokens < 0 or max_tokens < 0:
            raise ValueError("token counts cannot be negative")
        (pn, pd), (on, od) = self._prompt_ratio, self._output_ratio
        micro = (prompt_tokens * pn * od + max_tokens * on * pd) * MICRO_PER_USD
        return -(-micro // (pd * od))  # the exact ceiling of micro / (pd * od)

    def prompt_micro(self, prompt_tokens: int) -> MicroUSD:
        """The worst cost of the prompt alone."""
        return self.worst_case_micro(prompt_tokens, 0)

    def max_output_tokens_within(self, budget_micro: MicroUSD, prompt_tokens: int) -> int | None:
        """The most output tokens whose worst case, with the prompt, costs at most
        ``budget_micro`` (``None`` when output is free, so no number of tokens is the bound)."""
        if self.output_token == _ZERO:
            return None
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            left = Decimal(budget_micro) / MICRO_PER_USD - prompt_tokens * self.prompt_token_worst
            if left < 0:
                return 0
            return int((left / self.output_token).to_integral_value(rounding=ROUND_FLOOR))


@functools.lru_cache(maxsize=1024)
def _pricing(
    input: Decimal | None,
    output: Decimal | None,
    cache_read: Decimal | None,
    cache_write: Decimal | None,
) -> Pricing:
    """One :class:`Pricing` per set of prices: asked for every deployment of every admission."""
    return Pricing(input, output, cache_read, cache_write)
