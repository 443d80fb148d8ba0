from __future__ import annotations

from pathlib import Path

import pytest

from stargate.config.deployment import Deployment
from stargate.errors import ConfigError
from stargate.providers.base import Provider
from stargate.providers.bedrock.provider import BedrockProvider
from stargate.providers.bedrock.signing import AwsCredentials, BearerToken
from stargate.providers.registry import PoolSettings, ProviderSet


def bedrock(deployment_id: str, **params: object) -> Deployment:
    return Deployment(
        id=deployment_id,
        model_name="claude",
        provider="bedrock",
        model="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        params={"aws_region_name": "us-east-1", **params},
    )


KEYS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}


async def test_open_builds_one_provider_per_deployment_sharing_credentials() -> None:
    deployments = [
        bedrock("east", **KEYS),
        bedrock("west", aws_region_name="us-west-2", **KEYS),
        bedrock("other-account", aws_access_key_id="AKIDOTHER", aws_secret_access_key="s2"),
        bedrock("api-key", aws_bedrock_api_key="k"),
    ]
    async with await ProviderSet.open(deployments, environ={}) as providers:
        assert sorted(providers) == ["api-key", "east", "other-account", "west"]
        east, west = providers.get("east"), providers.get("west")
        other, keyed = providers.get("other-account"), providers.get("api-key")
        assert isinstance(east, BedrockProvider)
        assert isinstance(west, BedrockProvider)
        assert isinstance(other, BedrockProvider)
        assert isinstance(keyed, BedrockProvider)
        assert isinstance(east, Provider)
        assert east.credentials is west.credentials
        assert isinstance(east.credentials, AwsCredentials)
        assert other.credentials is not east.credentials
        assert isinstance(keyed.credentials, BearerToken)
        assert west.endpoint.region == "us-west-2"


async def test_one_tuned_pool_is_shared_and_closed_with_the_set() -> None:
    settings = PoolSettings(
        limit=64, limit_per_host=32, keepalive_seconds=30, dns_cache_seconds=60, user_agent="sg"
    )
    providers = await ProviderSet.open([bedrock("a", **KEYS), bedrock("b", **KEYS)], pool=settings)
    a, b = providers.get("a"), providers.get("b")
    assert isinstance(a, BedrockProvider)
    assert isinstance(b, BedrockProvider)
    pool = a._pool
    assert pool is b._pool
    assert (pool.limit, pool.limit_per_host, pool.keepalive_seconds) == (64, 32, 30)
    assert (pool.dns_cache_seconds, pool.user_agent) == (60, "sg")
    await providers.aclose()
    assert pool.closed
    await providers.aclose()  # idempotent


async def test_unknown_provider_is_a_config_error_naming_the_deployment() -> None:
    odd = Deployment(id="gpt-main", model_name="gpt", provider="openai-ish", model="gpt-4o")
    with pytest.raises(ConfigError, match=r"deployment gpt-main.*'openai-ish'"):
        await ProviderSet.open([bedrock("a", **KEYS), odd], environ={})


async def test_duplicate_deployment_ids_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="deployment a: duplicate"):
        await ProviderSet.open([bedrock("a", **KEYS), bedrock("a", **KEYS)], environ={})


async def test_missing_credentials_name_the_deployment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match="deployment lonely: no AWS credentials"):
        await ProviderSet.open([bedrock("lonely")], environ={})


async def test_unknown_deployment_id_is_a_key_error() -> None:
    async with await ProviderSet.open([bedrock("a", **KEYS)], environ={}) as providers:
        assert "a" in providers
        with pytest.raises(KeyError, match="nope"):
            providers.get("nope")
