"""From one ``model_list`` entry to a resolved deployment: exact prices, LiteLLM spellings
folded into one, endpoint and region from the environment, credentials checked."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from stargate.config import Deployment, load_config, load_deployment
from stargate.core import usd_to_micro
from stargate.errors import ConfigError


def deployment_of(
    tmp_path: Path, params: str, info: str = "", env: dict[str, str] | None = None
) -> Deployment:
    text = "model_list:\n  - model_name: m\n    litellm_params:\n"
    text += textwrap.indent(textwrap.dedent(params), " " * 6)
    if info:
        text += "    model_info:\n" + textwrap.indent(textwrap.dedent(info), " " * 6)
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env or {}).deployments[0]


def error_of(tmp_path: Path, params: str, info: str = "", env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        deployment_of(tmp_path, params, info, env)
    return str(caught.value)


NOVA = "model: bedrock/us.amazon.nova-micro-v1:0\n"


def test_prices_are_the_exact_decimals_written(tmp_path: Path) -> None:
    info = deployment_of(
        tmp_path,
        NOVA,
        """\
        input_cost_per_token: 0.000003
        output_cost_per_token: 1.5e-05
        cache_read_input_token_cost: "0.0000003"
        cache_creation_input_token_cost: 0.00000375
        """,
    ).info
    assert info.input_cost_per_token == Decimal("0.000003")
    assert str(info.input_cost_per_token) == "0.000003"
    assert info.output_cost_per_token == Decimal("0.000015")
    assert info.cache_read_input_token_cost == Decimal("0.0000003")
    assert info.cache_creation_input_token_cost == Decimal("0.00000375")
    # A million tokens cost exactly $3, not 2.9999999999999996.
    assert usd_to_micro(info.input_cost_per_token * 1_000_000) == 3_000_000


def test_prices_in_litellm_params_are_custom_pricing(tmp_path: Path) -> None:
    info = deployment_of(
        tmp_path, NOVA + "input_cost_per_token: 0.000001\noutput_cost_per_token: 0.000002\n"
    ).info
    assert (info.input_cost_per_token, info.output_cost_per_token) == (
        Decimal("0.000001"),
        Decimal("0.000002"),
    )


def test_a_price_given_twice_must_agree(tmp_path: Path) -> None:
    same = deployment_of(
        tmp_path, NOVA + "input_cost_per_token: 0.000001\n", "input_cost_per_token: 0.0000010\n"
    )
    assert same.info.input_cost_per_token == Decimal("0.000001")
    message = error_of(
        tmp_path, NOVA + "input_cost_per_token: 0.000001\n", "input_cost_per_token: 0.000002\n"
    )
    assert "model_list[0].litellm_params.input_cost_per_token: differs from model_info" in message


@pytest.mark.parametrize("price", ["-0.1", ".nan", ".inf"])
def test_a_price_must_be_a_finite_non_negative_number(tmp_path: Path, price: str) -> None:
    message = error_of(tmp_path, NOVA, f"input_cost_per_token: {price}\n")
    assert "model_list[0].model_info.input_cost_per_token: " in message


def test_limits_and_timeouts_are_passed_on_typed(tmp_path: Path) -> None:
    deployment = deployment_of(
        tmp_path,
        NOVA + "aws_region_name: us-east-1\nrpm: 480\ntpm: 100000\ntimeout: 300\n"
        "stream_timeout: 60.5\nmax_tokens: 4096\n",
        "max_input_tokens: 128000\nmax_output_tokens: 10000\ndescription: small\n",
    )
    assert dict(deployment.params) == {
        "aws_region_name": "us-east-1",
        "rpm": 480,
        "tpm": 100000,
        "timeout": 300.0,
        "stream_timeout": 60.5,
        "max_tokens": 4096,
    }
    assert (deployment.info.max_input_tokens, deployment.info.max_output_tokens) == (128000, 10000)
    assert deployment.info.description == "small"


def test_api_base_and_api_key_become_the_bedrock_names(tmp_path: Path) -> None:
    deployment = deployment_of(
        tmp_path, NOVA + "api_base: https://vpce.example.com/\napi_key: bedrock-api-key\n"
    )
    assert deployment.params == {
        "aws_bedrock_runtime_endpoint": "https://vpce.example.com",
        "aws_bedrock_api_key": "bedrock-api-key",
    }


def test_conflicting_spellings_are_refused(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        NOVA + "api_base: https://a.example\naws_bedrock_runtime_endpoint: https://b.example\n",
    )
    assert "litellm_params.api_base: conflicts with aws_bedrock_runtime_endpoint" in message


def test_endpoint_and_region_come_from_the_environment_when_not_written(tmp_path: Path) -> None:
    env = {"AWS_BEDROCK_RUNTIME_ENDPOINT": "http://127.0.0.1:4566", "AWS_REGION": "eu-west-1"}
    deployment = deployment_of(tmp_path, NOVA, env=env)
    assert deployment.params == {
        "aws_bedrock_runtime_endpoint": "http://127.0.0.1:4566",
        "aws_region_name": "eu-west-1",
    }
    written = deployment_of(
        tmp_path,
        NOVA + "aws_region_name: us-east-1\naws_bedrock_runtime_endpoint: https://x.example\n",
        env=env,
    )
    assert written.params == {
        "aws_bedrock_runtime_endpoint": "https://x.example",
        "aws_region_name": "us-east-1",
    }
    litellm_name = deployment_of(tmp_path, NOVA, env={"AWS_REGION_NAME": "ap-south-1", **env})
    assert litellm_name.params["aws_region_name"] == "ap-south-1"


def test_an_arn_model_id_brings_its_region(tmp_path: Path) -> None:
    arn = "arn:aws:bedrock:eu-central-1:123456789012:application-inference-profile/a1b2c3"
    deployment = deployment_of(tmp_path, f"model: bedrock/{arn}\n", env={"AWS_REGION": "us-east-1"})
    assert deployment.params == {"aws_region_name": "eu-central-1"}
    written = deployment_of(tmp_path, f"model: bedrock/{arn}\naws_region_name: eu-west-1\n")
    assert written.params == {"aws_region_name": "eu-west-1"}


def test_bad_endpoints_and_regions_say_where_they_came_from(tmp_path: Path) -> None:
    assert "aws_bedrock_runtime_endpoint: 'ftp://x' is not an http(s) URL" in error_of(
        tmp_path, NOVA + "aws_bedrock_runtime_endpoint: ftp://x\n"
    )
    assert "not set, and AWS_BEDROCK_RUNTIME_ENDPOINT='localhost:4566' is not an http(s) URL" in (
        error_of(tmp_path, NOVA, env={"AWS_BEDROCK_RUNTIME_ENDPOINT": "localhost:4566"})
    )
    assert "aws_region_name: 'US East' is not an AWS region name" in error_of(
        tmp_path, NOVA + "aws_region_name: US East\n"
    )
    assert "not set, and AWS_REGION='useast1' is not an AWS region name" in error_of(
        tmp_path, NOVA, env={"AWS_REGION": "useast1"}
    )


def test_static_credentials_come_in_pairs(tmp_path: Path) -> None:
    ok = deployment_of(
        tmp_path,
        NOVA + "aws_access_key_id: AKID\naws_secret_access_key: s3cret\naws_session_token: tok\n",
    )
    assert ok.params["aws_session_token"] == "tok"
    assert "must be given together" in error_of(tmp_path, NOVA + "aws_access_key_id: AKID\n")
    assert "aws_session_token: needs aws_access_key_id" in error_of(
        tmp_path, NOVA + "aws_session_token: tok\n"
    )


def test_profile_is_passed_on_and_role_assumption_is_warned_not_silently_dropped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n  - model_name: nova\n    litellm_params:\n"
        "      model: bedrock/us.amazon.nova-micro-v1:0\n      aws_region_name: us-east-1\n"
        "      aws_profile_name: prod\n"
        "      aws_role_name: arn:aws:iam::123456789012:role/gw\n"
        "      aws_session_name: stargate\n"
    )
    config = load_config(path, {})
    assert dict(config.deployments[0].params) == {
        "aws_profile_name": "prod",
        "aws_region_name": "us-east-1",
    }
    warned = "\n".join(config.warnings)
    assert "aws_role_name" in warned
    assert "aws_session_name" in warned


def test_a_deployment_from_the_admin_api_is_checked_the_same_way() -> None:
    deployment, warnings = load_deployment(
        {
            "model_name": "model-cheap",
            "litellm_params": {
                "model": "bedrock/converse/us.amazon.nova-micro-v1:0",
                "temperature": 0,
            },
            "model_info": {"id": "db-1", "input_cost_per_token": 3.5e-08},  # a JSON float
        },
        {"AWS_REGION": "us-east-1"},
    )
    assert (deployment.id, deployment.api, deployment.model) == (
        "db-1",
        "converse",
        "us.amazon.nova-micro-v1:0",
    )
    assert deployment.info.input_cost_per_token == Decimal("0.000000035")
    assert deployment.params == {"aws_region_name": "us-east-1"}
    assert warnings == (
        "model: litellm_params.temperature: LiteLLM setting not implemented by Stargate; ignored",
    )
    with pytest.raises(ConfigError, match=r"^model: litellm_params\.model: provider 'openai'"):
        load_deployment({"model_name": "x", "litellm_params": {"model": "openai/gpt-4o"}}, {})
