from __future__ import annotations

import pytest

from stargate.errors import ConfigError
from stargate.providers.bedrock.endpoint import resolve_endpoint, resolve_region
from tests.unit.providers.bedrock.conftest import make_deployment

ARN = (
    "arn:aws:bedrock:us-west-2:123456789012:inference-profile/"
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
)


def test_default_url_is_the_regional_runtime_with_the_model_id_fully_encoded() -> None:
    endpoint = resolve_endpoint(make_deployment(), {})
    url = endpoint.url("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "converse")
    assert str(url) == (
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
        "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    )
    assert url.raw_path.endswith("v1%3A0/converse")


def test_arn_model_ids_keep_their_encoded_colons_and_slashes() -> None:
    endpoint = resolve_endpoint(make_deployment(ARN), {})
    url = endpoint.url(ARN, "converse-stream")
    assert url.raw_path == (
        "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2F"
        "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    )


@pytest.mark.parametrize("prefix", ["us.", "eu.", "apac.", "jp.", "au.", "us-gov.", "global."])
def test_cross_region_profile_ids_are_encoded_the_same_way(prefix: str) -> None:
    model = f"{prefix}amazon.nova-micro-v1:0"
    url = resolve_endpoint(make_deployment(model), {}).url(model, "converse")
    assert url.raw_path == f"/model/{prefix}amazon.nova-micro-v1%3A0/converse"


def test_endpoint_param_then_environment_override_the_host() -> None:
    deployment = make_deployment(aws_bedrock_runtime_endpoint="http://127.0.0.1:9/prefix/")
    assert resolve_endpoint(deployment, {}).base_url == "http://127.0.0.1:9/prefix"
    env = {"AWS_BEDROCK_RUNTIME_ENDPOINT": "http://localhost:4000"}
    assert resolve_endpoint(make_deployment(), env).base_url == "http://localhost:4000"


def test_endpoint_that_is_not_http_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="claude-east"):
        resolve_endpoint(make_deployment(aws_bedrock_runtime_endpoint="bedrock.local"), {})


def test_region_comes_from_params_then_the_arn_then_the_environment() -> None:
    assert resolve_region(make_deployment(aws_region_name="eu-west-1"), {}) == "eu-west-1"
    assert resolve_region(make_deployment(ARN, aws_region_name=None), {}) == "us-west-2"
    env = {"AWS_DEFAULT_REGION": "ap-south-1"}
    assert resolve_region(make_deployment(aws_region_name=None), env) == "ap-south-1"


def test_no_region_anywhere_is_a_config_error_naming_the_deployment() -> None:
    with pytest.raises(ConfigError, match=r"deployment claude-east.*aws_region_name"):
        resolve_region(make_deployment(aws_region_name=None), {})
