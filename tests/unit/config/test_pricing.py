"""The shipped price table against the numbers of reference/bedrock.md §7 (USD per million
tokens), and how a deployment's prices are resolved from model_info and the table."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from stargate.config import load_config, load_deployment
from stargate.config.deployment import Deployment, ModelInfo
from stargate.config.prices import PriceTable, load_price_table, model_id_of_arn
from stargate.config.pricing import (
    CACHE_WRITE_1H,
    CACHE_WRITE_1H_ABOVE_200K,
    EXTRA_PRICE_KEYS,
    INPUT_ABOVE_200K,
    OUTPUT_ABOVE_200K,
    price_deployment,
    pricing_view,
)
from stargate.errors import ConfigError

MILLION = Decimal(1_000_000)
H45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
S45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
O45 = "anthropic.claude-opus-4-5-20251101-v1:0"
S4 = "anthropic.claude-sonnet-4-20250514-v1:0"


def per_million(value: Decimal | None) -> str | None:
    return None if value is None else format((value * MILLION).normalize(), "f")


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_price_table()


def prices_of(table: PriceTable, model_id: str) -> tuple[str | None, ...]:
    """(input, output, cache write 5m, cache write 1h, cache read) per million tokens."""
    row = table.lookup("bedrock", model_id)
    assert row is not None, model_id
    return tuple(
        per_million(p)
        for p in (row.input, row.output, row.cache_write_5m, row.cache_write_1h, row.cache_read)
    )


# reference/bedrock.md §7.1: input, output, cache write 5m, cache write 1h, cache read.
CLAUDE = [
    ("global." + H45, ("1", "5", "1.25", "2", "0.1")),
    ("us." + H45, ("1.1", "5.5", "1.375", "2.2", "0.11")),
    ("eu." + H45, ("1.1", "5.5", "1.375", "2.2", "0.11")),
    ("jp." + H45, ("1.1", "5.5", "1.375", "2.2", "0.11")),
    ("global." + S45, ("3", "15", "3.75", "6", "0.3")),
    ("us." + S45, ("3.3", "16.5", "4.125", "6.6", "0.33")),
    ("au." + S45, ("3.3", "16.5", "4.125", "6.6", "0.33")),
    ("global." + O45, ("5", "25", "6.25", "10", "0.5")),
    ("eu." + O45, ("5.5", "27.5", "6.875", "11", "0.55")),
    ("us.anthropic.claude-opus-4-1-20250805-v1:0", ("15", "75", "18.75", None, "1.5")),
    ("global." + S4, ("3", "15", "3.75", None, "0.3")),
    ("us." + S4, ("3", "15", "3.75", None, "0.3")),
    ("apac." + S4, ("3", "15", "3.75", None, "0.3")),
    ("us.anthropic.claude-3-5-haiku-20241022-v1:0", ("0.8", "4", "1", None, "0.08")),
    ("anthropic.claude-3-haiku-20240307-v1:0", ("0.25", "1.25", None, None, None)),
    ("eu.anthropic.claude-3-haiku-20240307-v1:0", ("0.25", "1.25", None, None, None)),
]


@pytest.mark.parametrize(("model_id", "expected"), CLAUDE)
def test_claude_prices_match_the_reference(
    table: PriceTable, model_id: str, expected: tuple[str | None, ...]
) -> None:
    assert prices_of(table, model_id) == expected


# §7.2: input, output, cache read; Nova bills no cache write (an explicit 0).
NOVA = [
    ("amazon.nova-micro-v1:0", ("0.035", "0.14", "0.00875")),
    ("us.amazon.nova-micro-v1:0", ("0.035", "0.14", "0.00875")),
    ("us.amazon.nova-lite-v1:0", ("0.06", "0.24", "0.015")),
    ("us.amazon.nova-pro-v1:0", ("0.8", "3.2", "0.2")),
    ("us.amazon.nova-premier-v1:0", ("2.5", "12.5", "0.625")),
    ("amazon.nova-2-lite-v1:0", ("0.3", "2.5", "0.075")),
    ("eu.amazon.nova-micro-v1:0", ("0.046", "0.184", "0.0115")),
    ("eu.amazon.nova-lite-v1:0", ("0.078", "0.312", "0.0195")),
    ("eu.amazon.nova-pro-v1:0", ("1.05", "4.2", "0.2625")),
]


@pytest.mark.parametrize(("model_id", "expected"), NOVA)
def test_nova_prices_match_the_reference(
    table: PriceTable, model_id: str, expected: tuple[str, ...]
) -> None:
    inp, out, write_5m, write_1h, read = prices_of(table, model_id)
    assert (inp, out, read) == expected
    assert (write_5m, write_1h) == ("0", None)


# §7.3 and §7.4: input, output; no caching.
OPEN_MODELS = [
    ("meta.llama3-8b-instruct-v1:0", ("0.3", "0.6")),
    ("meta.llama3-70b-instruct-v1:0", ("2.65", "3.5")),
    ("us.meta.llama3-1-8b-instruct-v1:0", ("0.22", "0.22")),
    ("us.meta.llama3-1-70b-instruct-v1:0", ("0.72", "0.72")),
    ("us.meta.llama3-1-405b-instruct-v1:0", ("2.4", "2.4")),
    ("eu.meta.llama3-2-1b-instruct-v1:0", ("0.1", "0.1")),
    ("us.meta.llama3-2-3b-instruct-v1:0", ("0.15", "0.15")),
    ("us.meta.llama3-2-11b-instruct-v1:0", ("0.16", "0.16")),
    ("us.meta.llama3-2-90b-instruct-v1:0", ("0.72", "0.72")),
    ("us.meta.llama3-3-70b-instruct-v1:0", ("0.72", "0.72")),
    ("us.meta.llama4-scout-17b-instruct-v1:0", ("0.17", "0.66")),
    ("us.meta.llama4-maverick-17b-instruct-v1:0", ("0.24", "0.97")),
    ("mistral.mistral-7b-instruct-v0:2", ("0.15", "0.2")),
    ("mistral.mixtral-8x7b-instruct-v0:1", ("0.45", "0.7")),
    ("mistral.mistral-small-2402-v1:0", ("1", "3")),
    ("mistral.mistral-large-2402-v1:0", ("4", "12")),
    ("mistral.mistral-large-2407-v1:0", ("2", "6")),
    ("eu.mistral.pixtral-large-2502-v1:0", ("2", "6")),
    ("mistral.mistral-large-3-675b-instruct", ("0.5", "1.5")),
    ("mistral.magistral-small-2509", ("0.5", "1.5")),
    ("mistral.ministral-3-3b-instruct", ("0.1", "0.1")),
    ("mistral.ministral-3-8b-instruct", ("0.15", "0.15")),
    ("mistral.ministral-3-14b-instruct", ("0.2", "0.2")),
    ("mistral.devstral-2-123b", ("0.4", "2")),
]


@pytest.mark.parametrize(("model_id", "expected"), OPEN_MODELS)
def test_llama_and_mistral_prices_match_the_reference(
    table: PriceTable, model_id: str, expected: tuple[str, str]
) -> None:
    inp, out, write_5m, write_1h, read = prices_of(table, model_id)
    assert (inp, out) == expected
    assert (write_5m, write_1h, read) == (None, None, None)


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        # input, output, cache write 5m, cache write 1h, cache read (§7.1, prompt >200K)
        ("global." + S45, ("6", "22.5", "7.5", "12", "0.6")),
        ("us." + S45, ("6.6", "24.75", "8.25", "13.2", "0.66")),
        ("us." + S4, ("6", "22.5", "7.5", None, "0.6")),
    ],
)
def test_the_long_context_tier_of_sonnet_4_and_4_5(
    table: PriceTable, model_id: str, expected: tuple[str | None, ...]
) -> None:
    row = table.lookup("bedrock", model_id)
    assert row is not None
    assert row.above_200k is not None
    tier = row.above_200k
    got = (tier.input, tier.output, tier.cache_write_5m, tier.cache_write_1h, tier.cache_read)
    assert tuple(per_million(p) for p in got) == expected


def test_only_sonnet_4_and_4_5_have_a_long_context_tier(table: PriceTable) -> None:
    tiered = {row.name for row in table.rows if row.above_200k is not None}
    assert tiered
    assert all("Sonnet 4" in name for name in tiered)


def test_every_row_says_where_its_prices_come_from_and_when(table: PriceTable) -> None:
    assert len(table.rows) >= 30
    for row in table.rows:
        assert row.source.strip(), row.name
        assert row.as_of.year >= 2025, row.name
        assert row.ids
        assert all(not model_id.startswith("arn:") for model_id in row.ids)


def test_a_profile_the_table_does_not_list_is_not_guessed(table: PriceTable) -> None:
    # Nova's apac. profiles cost "about 5% more": no exact number, so no row.
    assert table.lookup("bedrock", "apac.amazon.nova-micro-v1:0") is None
    assert table.lookup("bedrock", "anthropic.claude-sonnet-4-6") is None
    assert table.lookup("openai", "us." + H45) is None


def test_arns_are_priced_by_the_model_or_profile_id_inside(table: PriceTable) -> None:
    profile = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.{H45}"
    foundation = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"
    assert table.lookup("bedrock", profile) == table.lookup("bedrock", "global." + H45)
    assert table.lookup("bedrock", foundation) == table.lookup("bedrock", "amazon.nova-pro-v1:0")
    opaque = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    assert table.lookup("bedrock", opaque) is None
    assert model_id_of_arn("arn:aws:bedrock:us-east-1:1:provisioned-model/x") is None
    assert model_id_of_arn("arn:aws:bedrock:broken") is None


def deployment(model: str, **prices: Decimal | None) -> Deployment:
    return Deployment(
        id="d", model_name="m", provider="bedrock", model=model, info=ModelInfo(id="d", **prices)
    )


def test_a_listed_model_takes_every_price_from_the_table(table: PriceTable) -> None:
    resolved, warning = price_deployment(deployment("us." + S45), table, source="test")
    info = resolved.info
    assert warning is None
    assert info.input_cost_per_token == Decimal("0.0000033")
    assert info.output_cost_per_token == Decimal("0.0000165")
    assert info.cache_read_input_token_cost == Decimal("0.00000033")
    assert info.cache_creation_input_token_cost == Decimal("0.000004125")
    assert info.extra[CACHE_WRITE_1H] == Decimal("0.0000066")
    assert info.extra[INPUT_ABOVE_200K] == Decimal("0.0000066")
    assert info.extra[OUTPUT_ABOVE_200K] == Decimal("0.00002475")
    assert info.extra[CACHE_WRITE_1H_ABOVE_200K] == Decimal("0.0000132")


def test_prices_written_in_model_info_win_one_by_one(table: PriceTable) -> None:
    negotiated = deployment(
        "global." + H45,
        input_cost_per_token=Decimal("0.0000009"),
        output_cost_per_token=Decimal("0.0000045"),
    )
    info = price_deployment(negotiated, table, source="test")[0].info
    assert (info.input_cost_per_token, info.output_cost_per_token) == (
        Decimal("0.0000009"),
        Decimal("0.0000045"),
    )
    assert info.cache_read_input_token_cost == Decimal("0.0000001")  # from the table


def test_an_unpriced_model_is_a_loud_warning_and_keeps_no_price(table: PriceTable) -> None:
    resolved, warning = price_deployment(
        deployment("anthropic.claude-sonnet-4-6"), table, source="cfg.yaml", loc=("model_list", 2)
    )
    assert warning is not None
    assert warning.startswith("cfg.yaml: model_list[2]: UNPRICED MODEL: bedrock model")
    assert "unknown cost" in warning
    assert resolved.info.input_cost_per_token is None
    assert resolved.info.output_cost_per_token is None


def test_half_a_price_is_still_unpriced(table: PriceTable) -> None:
    _, warning = price_deployment(
        deployment("anthropic.claude-sonnet-4-6", input_cost_per_token=Decimal("0.000003")),
        table,
        source="cfg",
    )
    assert warning is not None
    assert "no output_cost_per_token" in warning


def test_loading_a_config_prices_its_deployments_and_warns_about_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: fast\n"
        "    litellm_params: {model: bedrock/us.amazon.nova-micro-v1:0}\n"
        "  - model_name: custom\n"
        "    litellm_params: {model: 'bedrock/arn:aws:bedrock:us-east-1:123456789012:"
        "application-inference-profile/abc123'}\n"
        "  - model_name: long\n"
        "    litellm_params: {model: bedrock/us.anthropic.claude-sonnet-4-6}\n"
        "    model_info:\n"
        "      input_cost_per_token: 0.000003\n"
        "      output_cost_per_token: 0.000015\n"
        "      input_cost_per_token_above_200k_tokens: 0.000006\n",
        encoding="utf-8",
    )
    config = load_config(path, {})
    fast, custom, long = config.deployments
    assert fast.info.input_cost_per_token == Decimal("0.000000035")
    assert custom.info.input_cost_per_token is None
    assert long.info.extra[INPUT_ABOVE_200K] == Decimal("0.000006")
    assert [w.split(": UNPRICED")[0] for w in config.warnings] == [f"{path}: model_list[1]"]


def test_a_model_added_at_runtime_is_priced_from_json_numbers() -> None:
    entry = {
        "model_name": "sonnet",
        "litellm_params": {"model": "bedrock/global." + S45},
        "model_info": {CACHE_WRITE_1H: 7.5e-06},
    }
    added, warnings = load_deployment(entry, {})
    assert warnings == ()
    assert added.info.extra[CACHE_WRITE_1H] == Decimal("0.0000075")  # float read by its repr
    assert added.info.input_cost_per_token == Decimal("0.000003")


@pytest.mark.parametrize("bad", ["cheap", -1, True, "NaN"])
def test_an_extra_price_that_is_no_price_is_refused(bad: object) -> None:
    entry = {
        "model_name": "m",
        "litellm_params": {"model": "bedrock/global." + S45},
        "model_info": {OUTPUT_ABOVE_200K: bad},
    }
    with pytest.raises(ConfigError, match=OUTPUT_ABOVE_200K):
        load_deployment(entry, {})


def test_the_models_list_shows_prices_per_thousand_tokens(table: PriceTable) -> None:
    info = price_deployment(deployment("anthropic.claude-3-haiku-20240307-v1:0"), table,
                            source="t")[0].info  # fmt: skip
    assert pricing_view(info) == {"input_per_1k": 0.00025, "output_per_1k": 0.00125}
    nova = price_deployment(deployment("us.amazon.nova-micro-v1:0"), table, source="t")[0].info
    assert pricing_view(nova) == {
        "input_per_1k": 0.000035,
        "output_per_1k": 0.00014,
        "cache_read_per_1k": 0.00000875,
        "cache_write_per_1k": 0.0,
    }
    assert pricing_view(ModelInfo()) is None


def test_cost_and_pricing_agree_on_litellm_key_names() -> None:
    from stargate.core import cost

    names = {
        value
        for name, value in vars(cost).items()
        if name.startswith("_") and not name.startswith("__") and isinstance(value, str)
    }
    assert names == set(EXTRA_PRICE_KEYS)
