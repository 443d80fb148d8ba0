"""Model id resolution: base ids, profiles, ARNs, and Bedrock's 400s."""

from __future__ import annotations

import pytest

from stargate.emulator.errors import BedrockError
from stargate.emulator.models import CATALOG, resolve_model

SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def refusal(model_id: str, region: str | None = None) -> BedrockError:
    with pytest.raises(BedrockError) as caught:
        resolve_model(model_id, region=region)
    assert (caught.value.code, caught.value.status) == ("ValidationException", 400)
    return caught.value


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "amazon.nova-micro-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "mistral.mistral-large-2407-v1:0",
    ],
)
def test_on_demand_models_resolve_by_base_id(model_id: str) -> None:
    resolved = resolve_model(model_id)

    assert resolved.spec.model_id == model_id
    assert resolved.profile is None


@pytest.mark.parametrize(
    ("model_id", "base", "geo"),
    [
        (
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "us",
        ),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", SONNET_45, "global"),
        ("us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", SONNET_45, "us-gov"),
        (
            "eu.anthropic.claude-opus-4-5-20251101-v1:0",
            "anthropic.claude-opus-4-5-20251101-v1:0",
            "eu",
        ),
        (
            "us.anthropic.claude-opus-4-1-20250805-v1:0",
            "anthropic.claude-opus-4-1-20250805-v1:0",
            "us",
        ),
        (
            "apac.anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic.claude-sonnet-4-20250514-v1:0",
            "apac",
        ),
        ("us.amazon.nova-premier-v1:0", "amazon.nova-premier-v1:0", "us"),
        ("eu.amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0", "eu"),
    ],
)
def test_inference_profiles_resolve_to_their_model(model_id: str, base: str, geo: str) -> None:
    resolved = resolve_model(model_id)

    assert (resolved.spec.model_id, resolved.profile, resolved.requested) == (base, geo, model_id)


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        SONNET_45,
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "amazon.nova-premier-v1:0",
    ],
)
def test_profile_only_models_by_base_id_are_the_on_demand_error(model_id: str) -> None:
    error = refusal(model_id)

    assert error.message == (
        f"Invocation of model ID {model_id} with on-demand throughput isn\u2019t supported. "
        "Retry your request with the ID or ARN of an inference profile that contains this model."
    )


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-9",
        "us.anthropic.claude-9",
        "jp.amazon.nova-premier-v1:0",
        "xx.amazon.nova-micro-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghijkl",
        "arn:aws:bedrock:us-east-1:123456789012:foundation-model/amazon.nova-micro-v1:0",
        "arn:aws:bedrock:us-east-1::inference-profile/us.amazon.nova-micro-v1:0",
        "arn:aws:s3:::bucket",
        "",
        "a" * 2049,
    ],
)
def test_unknown_ids_are_the_invalid_identifier_error(model_id: str) -> None:
    assert refusal(model_id).message == "The provided model identifier is invalid."


def test_arns_resolve_like_the_ids_they_name() -> None:
    foundation = resolve_model("arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0")
    profile = resolve_model(
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    )

    assert (foundation.spec.model_id, foundation.profile) == ("amazon.nova-lite-v1:0", None)
    assert (profile.spec.model_id, profile.profile) == (SONNET_45, "us")


def test_a_foundation_model_arn_of_a_profile_only_model_is_the_on_demand_error() -> None:
    error = refusal(f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET_45}")

    assert "on-demand throughput" in error.message


def test_a_pinned_region_refuses_arns_of_other_regions() -> None:
    arn = "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0"

    assert resolve_model(arn, region="eu-west-1").spec.model_id == "amazon.nova-lite-v1:0"
    assert refusal(arn, region="us-east-1").message == "The provided model identifier is invalid."


def test_the_catalog_has_unique_ids_and_profiles_only_from_known_geographies() -> None:
    ids = [spec.model_id for spec in CATALOG]

    assert len(ids) == len(set(ids))
    for spec in CATALOG:
        assert spec.on_demand or spec.profiles, spec.model_id
        assert spec.profiles <= {"us", "eu", "apac", "jp", "au", "us-gov", "global"}


@pytest.mark.parametrize(
    ("model_id", "region"),
    [
        ("us.amazon.nova-micro-v1:0", "us-west-2"),
        ("eu.amazon.nova-micro-v1:0", "eu-central-1"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu-central-1"),
        ("jp.anthropic.claude-sonnet-4-5-20250929-v1:0", "ap-northeast-1"),
        ("us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-gov-west-1"),
    ],
)
def test_a_pinned_region_calls_profiles_of_its_geography(model_id: str, region: str) -> None:
    assert resolve_model(model_id, region=region).profile == model_id.split(".")[0]


@pytest.mark.parametrize(
    ("model_id", "region"),
    [
        ("eu.amazon.nova-micro-v1:0", "us-west-2"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-gov-west-1"),
        ("apac.amazon.nova-micro-v1:0", "eu-west-1"),
    ],
)
def test_a_pinned_region_refuses_profiles_of_other_geographies(model_id: str, region: str) -> None:
    assert refusal(model_id, region).message == "The provided model identifier is invalid."
