"""The embedded default config (``make run``, tests) and examples/config.yaml, which must say
the same thing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from stargate.config import load_config

EXAMPLE = Path(__file__).parents[3] / "examples" / "config.yaml"
EMULATOR = {"AWS_BEDROCK_RUNTIME_ENDPOINT": "http://127.0.0.1:4566"}

EXPECTED_MODELS = {
    "claude-haiku-4-5": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "claude-sonnet-4-5": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "claude-opus-4-5": "us.anthropic.claude-opus-4-5-20251101-v1:0",
    "model-cheap": "us.amazon.nova-micro-v1:0",
    "model-balanced": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "model-reasoning": "us.anthropic.claude-opus-4-5-20251101-v1:0",
    "claude-opus-*": "us.anthropic.claude-opus-4-5-20251101-v1:0",
    "claude-sonnet-*": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "claude-haiku-*": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
}
EXPECTED_IDS = [
    *[name for name in EXPECTED_MODELS if "*" not in name],
    "claude-opus-family",
    "claude-sonnet-family",
    "claude-haiku-family",
]


def test_the_defaults_serve_the_seed_model_names_on_us_profiles() -> None:
    config = load_config(None, {})

    assert {d.model_name: d.model for d in config.deployments} == EXPECTED_MODELS
    assert [d.id for d in config.deployments] == EXPECTED_IDS
    for deployment in config.deployments:
        assert deployment.provider == "bedrock"
        assert deployment.params == {"aws_region_name": "us-east-1"}  # real Bedrock
        assert deployment.info.input_cost_per_token is not None
        assert deployment.info.output_cost_per_token is not None
    assert config.warnings == ()
    assert config.master_key is None


def test_the_defaults_reach_the_emulator_when_its_endpoint_is_set() -> None:
    for deployment in load_config(None, EMULATOR).deployments:
        assert deployment.params["aws_bedrock_runtime_endpoint"] == "http://127.0.0.1:4566"


@pytest.mark.parametrize(
    ("name", "input_price", "output_price"),
    [
        ("claude-haiku-4-5", "0.0000011", "0.0000055"),
        ("model-balanced", "0.0000033", "0.0000165"),
        ("model-reasoning", "0.0000055", "0.0000275"),
        ("model-cheap", "0.000000035", "0.00000014"),
    ],
)
def test_default_prices_are_the_us_profile_rates(
    name: str, input_price: str, output_price: str
) -> None:
    [deployment] = [d for d in load_config(None, {}).deployments if d.model_name == name]
    assert deployment.info.input_cost_per_token == Decimal(input_price)
    assert deployment.info.output_cost_per_token == Decimal(output_price)


def test_the_example_file_says_what_the_defaults_say() -> None:
    defaults = load_config(None, EMULATOR)
    example = load_config(EXAMPLE, EMULATOR)

    assert example.deployments == defaults.deployments
    assert example.drop_params == defaults.drop_params
    assert (example.host, example.port, example.admin_host, example.admin_port) == (
        defaults.host,
        defaults.port,
        defaults.admin_host,
        defaults.admin_port,
    )
    assert example.warnings == ()
