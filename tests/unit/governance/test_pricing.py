"""Worst cases and real costs in whole micro-dollars, exactly, rounded up."""

from __future__ import annotations

import random
from decimal import ROUND_CEILING, Decimal, localcontext

from stargate.config.deployment import ModelInfo
from stargate.core.cost import cost_micro
from stargate.core.usage import Usage
from stargate.governance.pricing import Pricing

# Nova Micro-like and Sonnet-like prices, USD per token.
NOVA = Pricing(input=Decimal("0.000000035"), output=Decimal("0.00000014"))
SONNET_INFO = ModelInfo(
    input_cost_per_token=Decimal("0.000003"),
    output_cost_per_token=Decimal("0.000015"),
    cache_read_input_token_cost=Decimal("0.0000003"),
    cache_creation_input_token_cost=Decimal("0.00000375"),
)
SONNET = Pricing.of(SONNET_INFO)


def test_the_worst_case_is_rounded_up_to_a_whole_micro_dollar() -> None:
    # 100 x 0.035 µ$ + 10 x 0.14 µ$ = 3.5 + 1.4 = 4.9 µ$ → 5
    assert NOVA.worst_case_micro(100, 10) == 5
    assert NOVA.worst_case_micro(0, 0) == 0
    assert NOVA.worst_case_micro(1, 0) == 1  # 0.035 µ$ still reserves one
    # 1000 x 3 µ$ + 4096 x 15 µ$: whole numbers stay exact
    assert (
        Pricing(input=Decimal("0.000003"), output=Decimal("0.000015")).worst_case_micro(1000, 4096)
        == 3000 + 61_440
    )


def test_prompt_tokens_are_reserved_at_the_dearest_prompt_price() -> None:
    # A prompt may be written to the cache (3.75 µ$/token), dearer than plain input (3).
    assert SONNET.prompt_token_worst == Decimal("0.00000375")
    assert SONNET.worst_case_micro(1000, 0) == 3750
    assert SONNET.worst_case_micro(1000, 100) == 3750 + 1500


def test_an_unpriced_model_reserves_nothing_and_says_so() -> None:
    free = Pricing()
    assert not free.priced
    assert free.worst_case_micro(100_000, 8192) == 0
    assert free.max_output_tokens_within(1_000, 10) is None
    assert NOVA.priced
    assert Pricing(output=Decimal("0.00001")).worst_case_micro(10, 10) == 100  # input unpriced


def test_prices_come_from_model_info() -> None:
    info = ModelInfo(
        input_cost_per_token=Decimal("0.000003"),
        output_cost_per_token=Decimal("0.000015"),
        cache_read_input_token_cost=Decimal("0.0000003"),
    )
    assert Pricing.of(info) == Pricing(
        input=Decimal("0.000003"), output=Decimal("0.000015"), cache_read=Decimal("0.0000003")
    )


def test_the_real_cost_never_exceeds_the_worst_case_it_was_reserved_by() -> None:
    # The real cost is the ledger's (core.cost); the reservation must cover it.
    for prompt, out in ((0, 0), (1, 1), (7, 3), (1000, 4096), (123_457, 11)):
        worst = SONNET.worst_case_micro(prompt, out)
        for split in (0, prompt // 3, prompt):
            usage = Usage(
                input_tokens=prompt - split,
                output_tokens=out,
                cache_read_tokens=split // 2,
                cache_write_tokens=split - split // 2,
            )
            real = cost_micro(usage, SONNET_INFO)
            assert real is not None
            assert real <= worst


def test_output_tokens_within_a_budget_are_floored() -> None:
    # 1000 µ$ left, prompt 100 x 3.75 = 375 µ$, then 625 / 15 = 41.67 → 41 tokens
    assert SONNET.max_output_tokens_within(1000, 100) == 41
    assert SONNET.worst_case_micro(100, 41) <= 1000 < SONNET.worst_case_micro(100, 42)
    assert SONNET.max_output_tokens_within(100, 100) == 0  # the prompt alone does not fit


def test_the_integer_worst_case_is_the_decimal_one_rounded_up() -> None:
    """``worst_case_micro`` works in integer ratios; it must equal the exact decimal sum rounded
    up to a whole micro-dollar, for any prices and token counts."""
    rng = random.Random(11)
    for _ in range(2000):
        prices = [
            None
            if rng.random() < 0.2
            else Decimal(rng.randint(0, 10**9)).scaleb(-rng.randint(6, 18))
            for _ in range(4)
        ]
        pricing = Pricing(*prices)
        prompt, output = rng.randint(0, 2_000_000), rng.randint(0, 200_000)
        with localcontext() as ctx:
            ctx.prec = 80
            usd = prompt * pricing.prompt_token_worst + output * pricing.output_token
            expected = int((usd * 1_000_000).to_integral_value(rounding=ROUND_CEILING))
        assert pricing.worst_case_micro(prompt, output) == expected
