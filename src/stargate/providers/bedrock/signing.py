"""Credentials for Bedrock, and signing each request with them.

Where credentials come from, first match wins (:func:`credential_source`):

1. ``aws_bedrock_api_key`` in the deployment's params → ``Authorization: Bearer``;
2. ``aws_access_key_id`` + ``aws_secret_access_key`` (+ ``aws_session_token``) → SigV4;
3. ``aws_profile_name`` → SigV4 with that profile of the shared config files;
4. ``AWS_BEARER_TOKEN_BEDROCK`` in the environment → bearer (botocore prefers it too);
5. botocore's default chain (environment, profile, web identity, SSO, container/ECS, IMDS) →
   SigV4.

A source is resolved once, at start-up (:func:`open_credentials`, in a worker thread because the
chain may do network I/O). Refreshable credentials (container, IMDS, assume-role) are refreshed
off the event loop: when they enter the advisory window a background task refreshes them in a
thread while requests keep signing with the current ones; only inside the mandatory window does
a request wait for that refresh. Signing itself (:mod:`~stargate.providers.bedrock.sigv4`) is
two SHA-256 hashes and one HMAC per request: the day's signing key is derived once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol, assert_never, cast

from stargate.config.deployment import Deployment
from stargate.errors import ConfigError, UpstreamServerError
from stargate.providers.bedrock.sigv4 import SigV4Signer

if TYPE_CHECKING:  # botocore is imported only for a chain it must resolve (see _load)
    from botocore.credentials import Credentials, RefreshableCredentials

__all__ = [
    "ADVISORY_REFRESH_SECONDS",
    "BEARER_ENV",
    "MANDATORY_REFRESH_SECONDS",
    "SIGNING_SERVICE",
    "AwsCredentials",
    "BearerToken",
    "BedrockCredentials",
    "CredentialSource",
    "authorize",
    "authorize_now",
    "credential_source",
    "open_credentials",
    "sign_sigv4",
]

SIGNING_SERVICE = "bedrock"  # not "bedrock-runtime"
BEARER_ENV = "AWS_BEARER_TOKEN_BEDROCK"
ADVISORY_REFRESH_SECONDS = 15 * 60
MANDATORY_REFRESH_SECONDS = 10 * 60

_log = logging.getLogger(__name__)

SourceKind = Literal["bearer", "static", "profile", "default"]


@dataclass(slots=True, frozen=True)
class CredentialSource:
    """Where one deployment's credentials come from. Hashable: equal sources share one
    resolved credential object. Secrets are kept out of ``repr``."""

    kind: SourceKind
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None
    bearer_token: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        match self.kind:
            case "bearer":
                return "a Bedrock API key"
            case "static":
                return f"access key {self.access_key_id}"
            case "profile":
                return f"AWS profile {self.profile}"
            case "default":
                return "the AWS default credential chain"
            case _:
                assert_never(self.kind)


def credential_source(deployment: Deployment, environ: Mapping[str, str]) -> CredentialSource:
    params = deployment.params
    where = f"deployment {deployment.id}"

    def text(name: str) -> str | None:
        value = params.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string", source=where)
        return value

    api_key = text("aws_bedrock_api_key")
    if api_key:
        return CredentialSource("bearer", bearer_token=api_key)
    key_id, secret = text("aws_access_key_id"), text("aws_secret_access_key")
    if key_id or secret:
        if not (key_id and secret):
            raise ConfigError(
                "aws_access_key_id and aws_secret_access_key must be given together", source=where
            )
        return CredentialSource(
            "static",
            access_key_id=key_id,
            secret_access_key=secret,
            session_token=text("aws_session_token"),
        )
    profile = text("aws_profile_name")
    if profile:
        return CredentialSource("profile", profile=profile)
    if environ.get(BEARER_ENV):
        return CredentialSource("bearer", bearer_token=environ[BEARER_ENV])
    return CredentialSource("default")


class BearerToken:
    """A Bedrock API key, sent as ``Authorization: Bearer``."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "BearerToken(<hidden>)"

    def header(self) -> str:
        return f"Bearer {self._token}"

    async def aclose(self) -> None:
        """A static token holds nothing to release."""


class Keys(Protocol):
    """A snapshot of AWS keys (botocore's ``ReadOnlyCredentials``, or :class:`StaticKeys`)."""

    @property
    def access_key(self) -> str | None: ...

    @property
    def secret_key(self) -> str | None: ...

    @property
    def token(self) -> str | None: ...


class StaticKeys(NamedTuple):
    """Keys that never change (configured, or static in the environment): the same shape as
    botocore's ``ReadOnlyCredentials``, without importing botocore to hold them."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"StaticKeys({self.access_key}, <hidden>)"

    def get_frozen_credentials(self) -> StaticKeys:
        return self


class AwsCredentials:
    """botocore credentials (or static keys) plus the current frozen snapshot, refreshed off the
    event loop."""

    def __init__(self, credentials: Credentials | StaticKeys, frozen: Keys, label: str) -> None:
        self._credentials = credentials
        self._frozen = frozen
        self._label = label
        self._refreshable = _refreshable(credentials)
        self._refresh_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"AwsCredentials({self._label})"

    @classmethod
    async def resolve(cls, source: CredentialSource) -> AwsCredentials:
        """Load the credentials of a SigV4 source (in a thread: the chain may do network I/O)."""
        credentials, frozen = await asyncio.to_thread(_load, source)
        return cls(credentials, frozen, source.describe())

    async def current(self) -> Keys:
        keys = self.ready()
        if keys is None:
            await self._refresh_now()
            keys = self._frozen
        return keys

    def ready(self) -> Keys | None:
        """The keys to sign with now, without waiting (a refresh in the advisory window is
        started in the background); ``None`` inside the mandatory window, where the caller must
        wait for the refresh (:meth:`current`)."""
        if self._refreshable:
            credentials = cast("RefreshableCredentials", self._credentials)
            if credentials.refresh_needed(MANDATORY_REFRESH_SECONDS):
                return None
            if credentials.refresh_needed(ADVISORY_REFRESH_SECONDS):
                self._start_refresh()
        return self._frozen

    async def aclose(self) -> None:
        task, self._refresh_task = self._refresh_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _start_refresh(self) -> asyncio.Task[None]:
        task = self._refresh_task
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._refresh())
            task.add_done_callback(self._log_refresh_failure)
            self._refresh_task = task
        return task

    async def _refresh(self) -> None:
        self._frozen = await asyncio.to_thread(self._credentials.get_frozen_credentials)

    async def _refresh_now(self) -> None:
        try:
            await asyncio.shield(self._start_refresh())
        except Exception as exc:
            raise UpstreamServerError(
                f"the gateway could not refresh its AWS credentials ({self._label}): "
                f"{type(exc).__name__}"
            ) from exc

    def _log_refresh_failure(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            _log.warning(
                "refreshing AWS credentials (%s) failed: %s", self._label, type(exc).__name__
            )


BedrockCredentials = AwsCredentials | BearerToken


async def open_credentials(source: CredentialSource) -> BedrockCredentials:
    """Resolve a source once (at start-up). Raises :class:`ConfigError` when none are found."""
    match source.kind:
        case "bearer":
            if not source.bearer_token:
                raise ConfigError("a bearer credential source needs a token", source="bedrock")
            return BearerToken(source.bearer_token)
        case "static" | "profile" | "default":
            return await AwsCredentials.resolve(source)
        case _:
            assert_never(source.kind)


def _refreshable(credentials: object) -> bool:
    """Whether ``credentials`` are botocore's refreshable kind (never true of static keys, and
    botocore is not imported to tell)."""
    if isinstance(credentials, StaticKeys):
        return False
    from botocore.credentials import RefreshableCredentials

    return isinstance(credentials, RefreshableCredentials)


def _load(source: CredentialSource) -> tuple[Credentials | StaticKeys, Keys]:
    if source.kind == "static":
        if not source.access_key_id or not source.secret_access_key:
            raise ConfigError("static AWS credentials need a key id and a secret", source="bedrock")
        keys = StaticKeys(source.access_key_id, source.secret_access_key, source.session_token)
        return keys, keys
    if source.kind == "default" and (static := _environment_keys()) is not None:
        return static, static
    import botocore.session  # the whole chain: imported (and configured) only when needed
    from botocore.exceptions import BotoCoreError

    try:
        session = botocore.session.Session(profile=source.profile)
        found = session.get_credentials()
        frozen = found.get_frozen_credentials() if found is not None else None
    except BotoCoreError as exc:
        raise ConfigError(
            f"could not load AWS credentials from {source.describe()}: {exc}", source="bedrock"
        ) from exc
    if found is None or frozen is None or not frozen.access_key or not frozen.secret_key:
        raise ConfigError(f"no AWS credentials found in {source.describe()}", source="bedrock")
    return found, frozen


def _environment_keys() -> StaticKeys | None:
    """The first link of botocore's default chain, without building a botocore session: static
    keys in ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN`` or
    ``AWS_SECURITY_TOKEN``). Keys with an ``AWS_CREDENTIAL_EXPIRATION`` are refreshable: left to
    botocore. ``AWS_PROFILE`` set means the caller chose a profile: left to botocore too."""
    env = os.environ
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret or env.get("AWS_CREDENTIAL_EXPIRATION") or env.get("AWS_PROFILE"):
        return None
    token = env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None
    return StaticKeys(key, secret, token)


def sign_sigv4(
    frozen: Keys,
    *,
    region: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
) -> dict[str, str]:
    """``headers`` plus ``X-Amz-Date``, ``X-Amz-Security-Token`` (session credentials) and
    ``Authorization``, signed over ``url`` exactly as written and the exact ``body`` bytes."""
    access_key, secret_key = frozen.access_key, frozen.secret_key
    if not access_key or not secret_key:  # refreshed into nothing: _load refuses that at start
        raise UpstreamServerError("the gateway's AWS credentials lost their key")
    return _signer(region).sign(
        access_key=access_key,
        secret_key=secret_key,
        token=frozen.token,
        url=url,
        body=body,
        headers=headers,
    )


_SIGNERS: dict[str, SigV4Signer] = {}


def _signer(region: str) -> SigV4Signer:
    """One signer per region for the process: it keeps the day's signing key per secret."""
    signer = _SIGNERS.get(region)
    if signer is None:
        signer = _SIGNERS[region] = SigV4Signer(SIGNING_SERVICE, region)
    return signer


async def authorize(
    credentials: BedrockCredentials,
    *,
    region: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
) -> dict[str, str]:
    """The request headers with authentication added, by whichever scheme the credentials use."""
    signed = authorize_now(credentials, region=region, url=url, body=body, headers=headers)
    if signed is None:  # the credentials must be refreshed first
        assert isinstance(credentials, AwsCredentials)
        frozen = await credentials.current()
        signed = sign_sigv4(frozen, region=region, url=url, body=body, headers=headers)
    return signed


def authorize_now(
    credentials: BedrockCredentials,
    *,
    region: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
) -> dict[str, str] | None:
    """:func:`authorize` without waiting: ``None`` when the credentials must be refreshed
    before they can sign (then await :func:`authorize`)."""
    match credentials:
        case AwsCredentials():
            frozen = credentials.ready()
            if frozen is None:
                return None
            return sign_sigv4(frozen, region=region, url=url, body=body, headers=headers)
        case BearerToken():
            return {**headers, "Authorization": credentials.header()}
        case _:
            assert_never(credentials)
