"""What a request may cost at worst, and what it did cost, in whole micro-dollars.

Prices are a deployment's ``model_info`` prices: exact decimals, USD per token. Costs are computed
exactly in decimal and rounded UP to a whole micro-dollar once per request, so a reservation is
never smaller than the cost it stands for.

A price that is not configured counts as zero: an unpriced model reserves and records no money,
but its requests and tokens still count against RPM, TPM and parallel limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

from stargate.config.deployment import ModelInfo
from stargate.core.money import MICRO_PER_USD, MicroUSD

__all__ = ["Pricing"]

_ZERO = Decimal(0)
_PRECISION = 60  # enough digits that no product of tokens and prices is ever rounded


def _micro_ceiling(usd: Decimal) -> MicroUSD:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return int((usd * MICRO_PER_USD).to_integral_value(rounding=ROUND_CEILING))


@dataclass(frozen=True, slots=True)
class Pricing:
    """USD per token for each kind of token of one deployment (``None``: not priced)."""

    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None

    @classmethod
    def of(cls, info: ModelInfo) -> Pricing:
        return cls(
            input=info.input_cost_per_token,
            output=info.output_cost_per_token,
            cache_read=info.cache_read_input_token_cost,
            cache_write=info.cache_creation_input_token_cost,
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
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            usd = prompt_tokens * self.prompt_token_worst + max_tokens * self.output_token
        return _micro_ceiling(usd)

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
