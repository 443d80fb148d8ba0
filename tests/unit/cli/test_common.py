"""The seeds' option values: --models as a JSON list or names, --budget in USD."""

from __future__ import annotations

import pytest

from stargate.cli.common import parse_models, usd
from stargate.cli.errors import InputError
from stargate.cli.models import parse_assignments


def test_models_as_the_seed_writes_them() -> None:
    assert parse_models('["claude-haiku-4-5"]') == ["claude-haiku-4-5"]
    assert parse_models('[ "a", "b", "a" ]') == ["a", "b"]


def test_models_as_names_separated_by_commas() -> None:
    assert parse_models("claude-haiku-4-5, claude-sonnet-4-5,") == [
        "claude-haiku-4-5",
        "claude-sonnet-4-5",
    ]
    assert parse_models(None) is None


@pytest.mark.parametrize("value", ['["a",', "[1, 2]", '["a"'])
def test_a_bad_models_list_is_a_usage_error(value: str) -> None:
    with pytest.raises(InputError, match="--models"):
        parse_models(value)


def test_budget_in_usd() -> None:
    assert usd("50") == 50.0
    assert usd("$0.017") == 0.017
    assert usd(None) is None


@pytest.mark.parametrize("value", ["fifty", "-1", "inf", "nan"])
def test_a_bad_budget_is_a_usage_error(value: str) -> None:
    with pytest.raises(InputError, match="--budget"):
        usd(value)


def test_model_params_read_json_values() -> None:
    assert parse_assignments(["aws_region_name=us-east-1", "max_tokens=100", "x=true"], "--p") == {
        "aws_region_name": "us-east-1",
        "max_tokens": 100,
        "x": True,
    }
    with pytest.raises(InputError, match="name=value"):
        parse_assignments(["novalue"], "--param")
