"""The cost of a request, per model family, against the table's prices (reference/bedrock.md
§7): exact decimal sums, cache tokens priced apart, the >200K tier per request, one rounding up
at the end, and ``None`` (unknown) for an unpriced model, never zero."""

from __future__ import annotations

import random
from decimal import ROUND_CEILING, Decimal, localcontext

import pytest

from stargate.config.deployment import Deployment, ModelInfo
from stargate.config.prices import load_price_table
from stargate.config.pricing import price_deployment
from stargate.core.cost import cost_micro
from stargate.core.usage import Usage

TABLE = load_price_table()


def info(model_id: str) -> ModelInfo:
    deployment = Deployment(id="d", model_name="m", provider="bedrock", model=model_id)
    priced, warning = price_deployment(deployment, TABLE, source="test")
    assert warning is None
    return priced.info


def usage(inp: int = 0, out: int = 0, read: int = 0, write: int = 0) -> Usage:
    return Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=read,
                 cache_write_tokens=write)  # fmt: skip


@pytest.mark.parametrize(
    ("model_id", "tokens", "expected_micro"),
    [
        # Haiku 4.5 geo: 1000*1.1 + 500*5.5 + 2000*0.11 + 300*1.375 = 4482.5 µ$ → 4483
        ("us.anthropic.claude-haiku-4-5-20251001-v1:0", (1000, 500, 2000, 300), 4483),
        # Haiku 4.5 global: 1000*1 + 500*5 + 2000*0.1 + 300*1.25 = 4075 µ$
        ("global.anthropic.claude-haiku-4-5-20251001-v1:0", (1000, 500, 2000, 300), 4075),
        # Sonnet 4.5 global: 10000*3 + 1000*15 + 50000*0.3 + 4000*3.75 = 75000 µ$
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", (10_000, 1000, 50_000, 4000), 75_000),
        # Opus 4.5 geo: 1*5.5 + 1*27.5 = 33 µ$
        ("eu.anthropic.claude-opus-4-5-20251101-v1:0", (1, 1, 0, 0), 33),
        # Opus 4.1: 2000*15 + 100*75 + 1000*1.5 + 1000*18.75 = 57750 µ$
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", (2000, 100, 1000, 1000), 57_750),
        # Sonnet 4, no geo premium: 1000*3 + 1000*15 = 18000 µ$
        ("eu.anthropic.claude-sonnet-4-20250514-v1:0", (1000, 1000, 0, 0), 18_000),
        # Claude 3.5 Haiku: 3*0.8 + 7*4 + 10*0.08 + 10*1 = 41.2 µ$ → 42
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", (3, 7, 10, 10), 42),
        # Claude 3 Haiku (the seed's example, 25 in / 42 out): 6.25 + 52.5 = 58.75 µ$ → 59
        ("anthropic.claude-3-haiku-20240307-v1:0", (25, 42, 0, 0), 59),
        # Nova Micro: 1e6*0.035 + 1e6*0.14 + 1e6*0.00875 + writes free = 183.75... µ$ per token
        ("us.amazon.nova-micro-v1:0", (1_000_000, 1_000_000, 1_000_000, 1_000_000), 183_750),
        # Nova Pro eu: 1000*1.05 + 1000*4.2 = 5250 µ$
        ("eu.amazon.nova-pro-v1:0", (1000, 1000, 0, 0), 5250),
        # Llama 3.3 70B: 100*0.72 + 100*0.72 = 144 µ$
        ("us.meta.llama3-3-70b-instruct-v1:0", (100, 100, 0, 0), 144),
        # Mistral Large 2: 1*2 + 1*6 = 8 µ$
        ("mistral.mistral-large-2407-v1:0", (1, 1, 0, 0), 8),
    ],
)
def test_cost_equals_tokens_times_the_table_prices(
    model_id: str, tokens: tuple[int, int, int, int], expected_micro: int
) -> None:
    assert cost_micro(usage(*tokens), info(model_id)) == expected_micro


def test_cost_is_rounded_up_once_at_the_end_not_per_token_kind() -> None:
    # Nova Micro: 1 input token = 0.035 µ$, 1 output = 0.14 µ$, 1 read = 0.00875 µ$.
    # Rounded per kind that would be 3 µ$; the exact sum 0.18375 µ$ rounds up to 1.
    assert cost_micro(usage(1, 1, 1, 0), info("us.amazon.nova-micro-v1:0")) == 1


def test_no_tokens_cost_nothing_on_a_priced_model() -> None:
    assert cost_micro(Usage(), info("us.amazon.nova-micro-v1:0")) == 0


def test_an_unpriced_model_costs_unknown_not_zero() -> None:
    assert cost_micro(usage(1000, 1000), ModelInfo()) is None
    assert cost_micro(Usage(), ModelInfo()) is None
    half = ModelInfo(input_cost_per_token=Decimal("0.000003"))
    assert cost_micro(usage(1000, 0), half) is None


def test_a_one_hour_cache_write_uses_its_own_price() -> None:
    haiku = info("us.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert cost_micro(usage(write=1000), haiku, cache_ttl="5m") == 1375
    assert cost_micro(usage(write=1000), haiku, cache_ttl="1h") == 2200


def test_without_a_one_hour_price_a_one_hour_write_falls_back_to_the_five_minute_price() -> None:
    opus41 = info("us.anthropic.claude-opus-4-1-20250805-v1:0")
    assert cost_micro(usage(write=1000), opus41, cache_ttl="1h") == 18_750


def test_cache_tokens_without_a_cache_price_cost_the_input_price() -> None:
    plain = ModelInfo(
        input_cost_per_token=Decimal("0.000001"), output_cost_per_token=Decimal("0.000002")
    )
    assert cost_micro(usage(read=1000, write=1000), plain) == 2000


@pytest.mark.parametrize(
    ("model_id", "prompt", "expected_micro"),
    [
        # Sonnet 4.5 global, prompt exactly 200K: base prices. 200000*3 + 1000*15
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", (200_000, 0, 0), 615_000),
        # 200001 prompt tokens: every token at the tier. 200001*6 + 1000*22.5
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", (200_001, 0, 0), 1_222_506),
        # The threshold counts cache tokens: 1000 input + 150000 read + 50000 write > 200K.
        # 1000*6.6 + 150000*0.66 + 50000*8.25 + 1000*24.75 (geo tier)
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", (1000, 150_000, 50_000), 542_850),
        # Sonnet 4: 250000*6 + 1000*22.5
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", (250_000, 0, 0), 1_522_500),
        # Opus 4.5 has no tier: 250000*5 + 1000*25
        ("global.anthropic.claude-opus-4-5-20251101-v1:0", (250_000, 0, 0), 1_275_000),
    ],
)
def test_the_long_context_tier_applies_per_request_above_200k_prompt_tokens(
    model_id: str, prompt: tuple[int, int, int], expected_micro: int
) -> None:
    inp, read, write = prompt
    assert cost_micro(usage(inp, 1000, read, write), info(model_id)) == expected_micro


def test_a_long_one_hour_cache_write_uses_the_long_one_hour_price() -> None:
    sonnet = info("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    # 200001 written for 1 h at the >200K 1-hour price of 12 $/M.
    assert cost_micro(usage(write=200_001), sonnet, cache_ttl="1h") == 2_400_012


def test_negative_token_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        cost_micro(usage(inp=-1), info("us.amazon.nova-micro-v1:0"))


def test_an_extra_price_that_is_not_a_decimal_is_refused() -> None:
    bad = ModelInfo(
        input_cost_per_token=Decimal(1),
        output_cost_per_token=Decimal(1),
        extra={"cache_creation_input_token_cost_above_1hr": 0.5},
    )
    with pytest.raises(TypeError, match="Decimal"):
        cost_micro(usage(write=1), bad, cache_ttl="1h")


def _decimal_reference(u: Usage, prices: tuple[Decimal, Decimal, Decimal, Decimal]) -> int:
    """The definition: the exact decimal sum, rounded up once."""
    with localcontext() as ctx:
        ctx.prec = 80
        usd = sum(
            (t * p for t, p in zip((u.input_tokens, u.output_tokens, u.cache_read_tokens,
                                    u.cache_write_tokens), prices, strict=True)),
            Decimal(0),
        )  # fmt: skip
        return int((usd * 1_000_000).to_integral_value(rounding=ROUND_CEILING))


def test_every_price_and_token_count_costs_the_exact_decimal_sum_rounded_up() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        digits = [Decimal(rng.randint(0, 10**9)).scaleb(-rng.randint(6, 14)) for _ in range(4)]
        model = ModelInfo(input_cost_per_token=digits[0], output_cost_per_token=digits[1],
                          cache_read_input_token_cost=digits[2],
                          cache_creation_input_token_cost=digits[3])  # fmt: skip
        u = usage(*(rng.choice((0, 1, rng.randint(0, 10**7))) for _ in range(4)))
        expected = _decimal_reference(u, (digits[0], digits[1], digits[2], digits[3]))
        assert cost_micro(u, model) == expected
        assert cost_micro(u, model) == expected  # again, from the kept tier


def test_prices_too_long_for_integers_fall_back_to_the_decimal_sum() -> None:
    long_price = Decimal("0.0000011234567890123456789012345678901")  # 35 digits
    model = ModelInfo(input_cost_per_token=long_price, output_cost_per_token=Decimal(1))
    u = usage(3, 0)
    assert cost_micro(u, model) == _decimal_reference(u, (long_price, Decimal(1), long_price,
                                                          long_price))  # fmt: skip
