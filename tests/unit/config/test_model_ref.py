"""``litellm_params.model`` strings: providers, route markers, profile ids and ARNs."""

from __future__ import annotations

import pytest

from stargate.config.model_ref import GEO_PREFIXES, InvalidModelRef, ModelRef, parse_model_ref

ARN_PROFILE = (
    "arn:aws:bedrock:us-west-2:123456789012:inference-profile/"
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
)
ARN_APP_PROFILE = "arn:aws:bedrock:eu-central-1:000000000000:application-inference-profile/a0a0a0"
ARN_FOUNDATION = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2"
ARN_GOV = "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:provisioned-model/abc123"


@pytest.mark.parametrize(
    ("text", "api", "model"),
    [
        (
            "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
            "auto",
            "anthropic.claude-3-haiku-20240307-v1:0",
        ),
        ("bedrock/converse/us.amazon.nova-micro-v1:0", "converse", "us.amazon.nova-micro-v1:0"),
        (
            "bedrock/invoke/us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "invoke",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        ),
        ("bedrock/anthropic.claude-sonnet-4-6", "auto", "anthropic.claude-sonnet-4-6"),
        (
            "bedrock/anthropic.claude-3-sonnet-20240229-v1:0:200k",
            "auto",
            "anthropic.claude-3-sonnet-20240229-v1:0:200k",
        ),
        (f"bedrock/{ARN_PROFILE}", "auto", ARN_PROFILE),
        (f"bedrock/converse/{ARN_APP_PROFILE}", "converse", ARN_APP_PROFILE),
        (f"bedrock/invoke/{ARN_FOUNDATION}", "invoke", ARN_FOUNDATION),
        (f"bedrock/{ARN_GOV}", "auto", ARN_GOV),
    ],
)
def test_valid_bedrock_models(text: str, api: str, model: str) -> None:
    assert parse_model_ref(text) == ModelRef("bedrock", api, model)


@pytest.mark.parametrize("geo", GEO_PREFIXES)
def test_every_cross_region_profile_prefix_is_accepted_without_a_note(geo: str) -> None:
    ref = parse_model_ref(f"bedrock/{geo}.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert ref.model.startswith(f"{geo}.")
    assert ref.note is None


def test_an_unknown_geography_prefix_is_accepted_with_a_note() -> None:
    ref = parse_model_ref("bedrock/usa.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert ref.note is not None
    assert "'usa.' is not a known cross-region inference profile prefix" in ref.note


def test_custom_llm_provider_stands_in_for_the_prefix() -> None:
    ref = parse_model_ref("anthropic.claude-3-haiku-20240307-v1:0", "bedrock")
    assert ref == ModelRef("bedrock", "auto", "anthropic.claude-3-haiku-20240307-v1:0")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("openai/gpt-4o", "provider 'openai' is not supported (supported providers: bedrock)"),
        ("gpt-4o", "'gpt-4o' has no provider prefix: write '<provider>/<model id>'"),
        (
            "anthropic.claude-3-haiku-20240307-v1:0",
            "did you mean 'bedrock/anthropic.claude-3-haiku-20240307-v1:0'?",
        ),
        (ARN_PROFILE, f"did you mean 'bedrock/{ARN_PROFILE}'?"),
        (
            "bedrock/llama/arn:aws:bedrock:us-east-1:123456789012:imported-model/x",
            "unknown Bedrock route 'llama/'",
        ),
        ("bedrock/", "the model id is empty"),
        ("bedrock/converse/", "the model id is empty"),
        ("bedrock/anthropic claude", "is not a Bedrock model id"),
        ("bedrock/claude", "is not a Bedrock model id"),
        ("bedrock/arn:aws:s3:::bucket/key", "is not a Bedrock ARN"),
    ],
)
def test_invalid_models_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidModelRef) as caught:
        parse_model_ref(text)
    assert reason in str(caught.value)
