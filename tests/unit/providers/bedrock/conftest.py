from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from stargate.config.deployment import Deployment, ModelInfo
from stargate.core import ChatRequest, Message, TextPart
from stargate.providers.bedrock.provider import BedrockProvider
from stargate.providers.bedrock.signing import (
    BedrockCredentials,
    CredentialSource,
    open_credentials,
)
from stargate.providers.http1 import Http1Pool
from tests.unit.providers.bedrock.fakes import ACCESS_KEY_ID, SECRET_ACCESS_KEY, FakeBedrock

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def make_deployment(model: str = MODEL, **params: Any) -> Deployment:
    info = params.pop("info", ModelInfo())
    return Deployment(
        id=params.pop("id", "claude-east"),
        model_name="claude",
        provider="bedrock",
        model=model,
        api=params.pop("api", "converse"),
        params={"aws_region_name": "us-east-1", **params},
        info=info,
    )


def hello(text: str = "Hi", **fields: Any) -> ChatRequest:
    return ChatRequest(model="claude", messages=[Message("user", [TextPart(text)])], **fields)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBedrock]:
    server = FakeBedrock()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def pool() -> AsyncIterator[Http1Pool]:
    upstream = Http1Pool()
    yield upstream
    await upstream.aclose()


@pytest.fixture
async def static_credentials() -> BedrockCredentials:
    return await open_credentials(
        CredentialSource("static", access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY)
    )


ProviderFactory = Callable[..., BedrockProvider]


@pytest.fixture
def make_provider(
    fake: FakeBedrock,
    pool: Http1Pool,
    static_credentials: BedrockCredentials,
) -> ProviderFactory:
    def build(
        model: str = MODEL,
        credentials: BedrockCredentials | None = None,
        **params: Any,
    ) -> BedrockProvider:
        deployment = make_deployment(model, aws_bedrock_runtime_endpoint=fake.base_url, **params)
        return BedrockProvider(deployment, pool, credentials or static_credentials, environ={})

    return build
