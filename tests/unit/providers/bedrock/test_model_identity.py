"""Model ids: base ids for CountTokens, Claude names, and which API a deployment takes."""

from __future__ import annotations

from typing import Any

import pytest

from stargate.config.deployment import Deployment, ModelInfo
from stargate.errors import ConfigError
from stargate.providers.bedrock.claude_features import ClaudeFeatures
from stargate.providers.bedrock.model_identity import identify_model
from stargate.providers.bedrock.model_ids import base_model_id, claude_model_name, is_opaque_arn

TABLE = ClaudeFeatures.load({})
APP_PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"


@pytest.mark.parametrize(
    ("model_id", "base"),
    [
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("eu.anthropic.claude-sonnet-4-6", "anthropic.claude-sonnet-4-6"),
        ("apac.amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0"),
        ("jp.anthropic.claude-x", "anthropic.claude-x"),
        ("au.anthropic.claude-x", "anthropic.claude-x"),
        ("us-gov.anthropic.claude-x", "anthropic.claude-x"),
        ("global.anthropic.claude-opus-4-6-v1", "anthropic.claude-opus-4-6-v1"),
        ("amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "anthropic.claude-3-haiku-20240307-v1:0",
        ),
        (
            "arn:aws:bedrock:us-west-2:123456789012:inference-profile/"
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/"
            "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (APP_PROFILE, None),
        ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc", None),
        ("arn:aws:s3:::bucket", None),
    ],
)
def test_base_model_ids(model_id: str, base: str | None) -> None:
    assert base_model_id(model_id) == base


def test_claude_names_and_opaque_arns() -> None:
    assert claude_model_name("us.anthropic.claude-opus-4-6-v1") == "claude-opus-4-6-v1"
    assert claude_model_name("us.amazon.nova-micro-v1:0") is None
    assert claude_model_name("anthropic.titan-x") is None
    assert claude_model_name(APP_PROFILE) is None
    assert is_opaque_arn(APP_PROFILE)
    assert not is_opaque_arn("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0")
    assert not is_opaque_arn("us.anthropic.claude-opus-4-6-v1")


def deployment(model: str, api: str = "auto", **info: Any) -> Deployment:
    return Deployment(
        id="d1",
        model_name="m",
        provider="bedrock",
        model=model,
        api=api,
        info=ModelInfo(extra=info),
    )


def identify(model: str, api: str = "auto", **info: Any):  # type: ignore[no-untyped-def]
    return identify_model(deployment(model, api, **info), lambda: TABLE)


def test_claude_speaks_messages_unless_pinned_to_converse() -> None:
    auto = identify("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert auto.native_messages
    assert auto.family is not None
    assert auto.family.name == "claude-sonnet-4-5"
    assert auto.count_model_id == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    pinned = identify("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "converse")
    assert not pinned.native_messages
    assert pinned.family is not None  # still Claude: thinking is adapted on Converse too
    assert identify("anthropic.claude-3-haiku-20240307-v1:0", "invoke").native_messages


def test_other_models_take_the_canonical_path_and_never_read_the_table() -> None:
    def no_table() -> ClaudeFeatures:
        raise AssertionError("the feature table was read for a non-Claude model")

    nova = identify_model(deployment("us.amazon.nova-micro-v1:0"), no_table)
    assert not nova.native_messages
    assert nova.family is None
    assert nova.count_model_id == "amazon.nova-micro-v1:0"


def test_invoke_for_a_model_that_is_not_claude_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"deployment d1.*Claude models only"):
        identify("us.amazon.nova-micro-v1:0", "invoke")


def test_opaque_arns_are_claude_only_when_pinned_to_invoke() -> None:
    auto = identify(APP_PROFILE)
    assert not auto.native_messages
    assert auto.count_model_id is None
    pinned = identify(APP_PROFILE, "invoke")
    assert pinned.native_messages
    assert pinned.family is TABLE.fallback
    assert pinned.count_model_id is None
    declared = identify(
        APP_PROFILE, "invoke", base_model="bedrock/anthropic.claude-haiku-4-5-20251001-v1:0"
    )
    assert declared.family is not None
    assert declared.family.name == "claude-haiku-4-5"
    assert declared.count_model_id == "anthropic.claude-haiku-4-5-20251001-v1:0"
    assert identify(APP_PROFILE, base_model="anthropic.claude-sonnet-4-6").native_messages
