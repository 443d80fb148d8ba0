"""The provider set: the only place that names every provider.

:meth:`ProviderSet.open` builds one provider per deployment at start-up (in the app lifespan),
over one shared upstream connection pool (:class:`~stargate.providers.http1.Http1Pool`), and
resolves each distinct credential source once.
:meth:`ProviderSet.aclose` releases all of it. Nothing else in the gateway knows which providers
exist.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

from stargate.config.deployment import Deployment
from stargate.errors import ConfigError
from stargate.providers.base import Provider
from stargate.providers.bedrock.claude_features import ClaudeFeatures
from stargate.providers.bedrock.provider import BedrockProvider
from stargate.providers.bedrock.signing import (
    BedrockCredentials,
    CredentialSource,
    credential_source,
    open_credentials,
)
from stargate.providers.http1 import Http1Pool

__all__ = ["PROVIDER_NAMES", "PoolSettings", "ProviderSet"]

PROVIDER_NAMES = ("bedrock",)


@dataclass(slots=True, frozen=True)
class PoolSettings:
    """The shared upstream connection pool: connections in use in all and per host (a call past
    either waits for a free one, as long as its connect timeout), idle keep-alive, DNS cache."""

    limit: int = 1024  # connections in all
    limit_per_host: int = 512  # connections to one upstream host
    keepalive_seconds: float = 60.0  # idle connections kept this long
    dns_cache_seconds: int = 300
    user_agent: str = "stargate-gateway"


class ProviderSet:
    """One provider per deployment id, sharing one HTTP connection pool."""

    def __init__(
        self,
        pool: Http1Pool,
        providers: Mapping[str, Provider],
        credentials: Sequence[BedrockCredentials],
    ) -> None:
        self._pool = pool
        self._providers = dict(providers)
        self._credentials = list(credentials)
        self._closed = False

    @classmethod
    async def open(
        cls,
        deployments: Sequence[Deployment],
        *,
        environ: Mapping[str, str] | None = None,
        pool: PoolSettings | None = None,
    ) -> ProviderSet:
        """Build every deployment's provider. Raises :class:`ConfigError` naming the deployment
        for an unknown provider, a duplicate id, or credentials that cannot be found, and for a
        Bedrock Claude feature table (``STARGATE_BEDROCK_FEATURES``) that cannot be read."""
        env = os.environ if environ is None else environ
        _check(deployments)
        features = ClaudeFeatures.load(env) if deployments else None
        upstream = _open_pool(pool or PoolSettings())
        resolved: dict[CredentialSource, BedrockCredentials] = {}
        providers: dict[str, Provider] = {}
        try:
            for deployment in deployments:
                match deployment.provider:
                    case "bedrock":
                        source = credential_source(deployment, env)
                        credentials = resolved.get(source)
                        if credentials is None:
                            credentials = await _open_credentials(deployment, source)
                            resolved[source] = credentials
                        providers[deployment.id] = BedrockProvider(
                            deployment, upstream, credentials, environ=env, features=features
                        )
                    case other:
                        raise ConfigError(
                            f"unknown provider {other!r}", source=f"deployment {deployment.id}"
                        )
        except BaseException:
            await _close_all(providers.values(), resolved.values(), upstream)
            raise
        return cls(upstream, providers, list(resolved.values()))

    def get(self, deployment_id: str) -> Provider:
        """The provider of a deployment. A ``KeyError`` means routing asked for an id that was
        never configured (a bug, not a caller error)."""
        try:
            return self._providers[deployment_id]
        except KeyError:
            raise KeyError(f"no provider for deployment {deployment_id!r}") from None

    def __contains__(self, deployment_id: object) -> bool:
        return deployment_id in self._providers

    def __iter__(self) -> Iterator[str]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await _close_all(self._providers.values(), self._credentials, self._pool)

    async def __aenter__(self) -> ProviderSet:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _check(deployments: Sequence[Deployment]) -> None:
    seen: set[str] = set()
    for deployment in deployments:
        if deployment.id in seen:
            raise ConfigError("duplicate deployment id", source=f"deployment {deployment.id}")
        seen.add(deployment.id)
        if deployment.provider not in PROVIDER_NAMES:
            raise ConfigError(
                f"unknown provider {deployment.provider!r} (known: {', '.join(PROVIDER_NAMES)})",
                source=f"deployment {deployment.id}",
            )


def _open_pool(pool: PoolSettings) -> Http1Pool:
    return Http1Pool(
        limit=pool.limit,
        limit_per_host=pool.limit_per_host,
        keepalive_seconds=pool.keepalive_seconds,
        dns_cache_seconds=pool.dns_cache_seconds,
        user_agent=pool.user_agent,
    )


async def _open_credentials(deployment: Deployment, source: CredentialSource) -> BedrockCredentials:
    try:
        return await open_credentials(source)
    except ConfigError as exc:
        raise ConfigError(exc.reason, source=f"deployment {deployment.id}") from exc


async def _close_all(
    providers: Iterable[Provider],
    credentials: Iterable[BedrockCredentials],
    pool: Http1Pool,
) -> None:
    try:
        for provider in list(providers):
            await provider.aclose()
        for credential in list(credentials):
            await credential.aclose()
    finally:
        await pool.aclose()
