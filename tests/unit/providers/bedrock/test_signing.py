from __future__ import annotations

import asyncio
import datetime
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from botocore.credentials import ReadOnlyCredentials, RefreshableCredentials

from stargate.errors import ConfigError, UpstreamServerError
from stargate.providers.base import CallContext
from stargate.providers.bedrock.endpoint import BedrockEndpoint
from stargate.providers.bedrock.signing import (
    AwsCredentials,
    BearerToken,
    CredentialSource,
    authorize,
    authorize_now,
    credential_source,
    open_credentials,
    sign_sigv4,
)
from tests.unit.providers.bedrock.conftest import ProviderFactory, hello, make_deployment
from tests.unit.providers.bedrock.fakes import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    FakeBedrock,
    converse_body,
    verify_sigv4,
)

PROFILE_URL = BedrockEndpoint("https://bedrock-runtime.us-east-1.amazonaws.com", "us-east-1")
URL = PROFILE_URL.url_text("m", "converse")


@pytest.fixture
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS settings from the machine: no env credentials, no config files, no IMDS."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


# --- where credentials come from ---------------------------------------------------------------


def test_api_key_param_wins_over_everything() -> None:
    deployment = make_deployment(
        aws_bedrock_api_key="key-1", aws_access_key_id="AKID", aws_secret_access_key="s"
    )
    source = credential_source(deployment, {"AWS_BEARER_TOKEN_BEDROCK": "env-key"})
    assert source == CredentialSource("bearer", bearer_token="key-1")


def test_explicit_keys_then_profile_then_bearer_env_then_default_chain() -> None:
    keys = make_deployment(
        aws_access_key_id="AKID", aws_secret_access_key="s", aws_session_token="t"
    )
    assert credential_source(keys, {"AWS_BEARER_TOKEN_BEDROCK": "x"}).kind == "static"
    profile = make_deployment(aws_profile_name="prod")
    assert credential_source(profile, {"AWS_BEARER_TOKEN_BEDROCK": "x"}) == CredentialSource(
        "profile", profile="prod"
    )
    bare = make_deployment()
    assert credential_source(bare, {"AWS_BEARER_TOKEN_BEDROCK": "x"}).kind == "bearer"
    assert credential_source(bare, {}) == CredentialSource("default")


def test_half_given_keys_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"claude-east.*together"):
        credential_source(make_deployment(aws_access_key_id="AKID"), {})


def test_secrets_stay_out_of_reprs() -> None:
    source = CredentialSource(
        "static", access_key_id="AKID", secret_access_key="SECRET", session_token="TOKEN"
    )
    assert "SECRET" not in repr(source)
    assert "TOKEN" not in repr(source)
    assert "TOKEN" not in repr(BearerToken("TOKEN"))


async def test_static_keys_resolve_without_any_lookup() -> None:
    credentials = await open_credentials(
        CredentialSource("static", access_key_id="AKID", secret_access_key="s", session_token="t")
    )
    assert isinstance(credentials, AwsCredentials)
    current = await credentials.current()
    assert (current.access_key, current.secret_key, current.token) == ("AKID", "s", "t")
    assert "s" not in repr(current).replace("StaticKeys", "")  # the secret stays out of logs


async def test_default_chain_reads_the_environment(
    isolated_aws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-env")
    credentials = await open_credentials(CredentialSource("default"))
    assert isinstance(credentials, AwsCredentials)
    frozen = await credentials.current()
    assert (frozen.access_key, frozen.secret_key) == ("AKIDENV", "secret-env")


async def test_environment_keys_agree_with_botocores_chain(
    isolated_aws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment is read without a botocore session (start-up time), with the same answer
    botocore's default chain gives: session tokens included, and a profile named in AWS_PROFILE
    winning over the keys."""
    import botocore.session

    (isolated_aws / "credentials").write_text(
        "[work]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = secret-profile\n"
    )
    cases: list[dict[str, str]] = [
        {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s"},
        {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"},
        {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SECURITY_TOKEN": "t"},
        {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_PROFILE": "work"},
    ]
    for env in cases:
        with monkeypatch.context() as patched:
            for name, value in env.items():
                patched.setenv(name, value)
            expected = botocore.session.Session().get_credentials().get_frozen_credentials()
            credentials = await open_credentials(CredentialSource("default"))
            assert isinstance(credentials, AwsCredentials)
            current = await credentials.current()
            got = (current.access_key, current.secret_key, current.token)
            assert got == (expected.access_key, expected.secret_key, expected.token), env


async def test_named_profile_is_read_from_the_shared_files(isolated_aws: Path) -> None:
    (isolated_aws / "credentials").write_text(
        "[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = secret-prod\n"
    )
    credentials = await open_credentials(CredentialSource("profile", profile="prod"))
    assert isinstance(credentials, AwsCredentials)
    assert (await credentials.current()).access_key == "AKIDPROD"


async def test_unknown_profile_is_a_config_error(isolated_aws: Path) -> None:
    with pytest.raises(ConfigError, match="AWS profile nope"):
        await open_credentials(CredentialSource("profile", profile="nope"))


async def test_no_credentials_anywhere_is_a_config_error(isolated_aws: Path) -> None:
    with pytest.raises(ConfigError, match="no AWS credentials found"):
        await open_credentials(CredentialSource("default"))


# --- refresh, off the event loop ---------------------------------------------------------------


class ContainerCredentials:
    """An ECS-style container credential endpoint that hands out a new key on every call."""

    def __init__(self, lifetime: datetime.timedelta) -> None:
        self.lifetime = lifetime
        self.calls = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        expiry = datetime.datetime.now(datetime.UTC) + self.lifetime
        return web.json_response(
            {
                "AccessKeyId": f"ASIACONTAINER{self.calls:07d}",
                "SecretAccessKey": f"secret-{self.calls}",
                "Token": f"token-{self.calls}",
                "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )


@pytest.fixture
async def container(
    isolated_aws: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ContainerCredentials]:
    endpoint = ContainerCredentials(datetime.timedelta(hours=6))
    app = web.Application()
    app.router.add_get("/creds", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{port}/creds")
    yield endpoint
    await runner.cleanup()


async def test_container_credentials_resolve_off_the_event_loop(
    container: ContainerCredentials,
) -> None:
    # The endpoint is served by this very event loop: a lookup that blocked the loop would hang.
    credentials = await asyncio.wait_for(open_credentials(CredentialSource("default")), 10)
    assert isinstance(credentials, AwsCredentials)
    frozen = await credentials.current()
    assert frozen.access_key == "ASIACONTAINER0000001"
    assert frozen.token == "token-1"
    await credentials.aclose()


async def test_container_credentials_near_expiry_refresh_in_the_background(
    container: ContainerCredentials,
) -> None:
    container.lifetime = datetime.timedelta(minutes=12)  # inside the 15-minute advisory window
    credentials = await open_credentials(CredentialSource("default"))
    assert isinstance(credentials, AwsCredentials)
    first = await credentials.current()  # answers at once with what it has
    for _ in range(200):
        if (await credentials.current()).access_key != first.access_key:
            break
        await asyncio.sleep(0.02)
    assert (await credentials.current()).access_key != first.access_key
    await credentials.aclose()


def _refreshable(
    expires_in: datetime.timedelta, refresh_threads: list[int], fail: bool = False
) -> tuple[RefreshableCredentials, ReadOnlyCredentials]:
    def refresh() -> dict[str, str]:
        refresh_threads.append(threading.get_ident())
        if fail:
            raise OSError("metadata endpoint down")
        expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        return {
            "access_key": "ASIANEW",
            "secret_key": "new-secret",
            "token": "new-token",
            "expiry_time": expiry.isoformat(),
        }

    expiry = datetime.datetime.now(datetime.UTC) + expires_in
    metadata = {
        "access_key": "ASIAOLD",
        "secret_key": "old-secret",
        "token": "old-token",
        "expiry_time": expiry.isoformat(),
    }
    credentials = RefreshableCredentials.create_from_metadata(metadata, refresh, "test")
    return credentials, ReadOnlyCredentials("ASIAOLD", "old-secret", "old-token")


async def test_advisory_window_signs_with_current_keys_and_refreshes_in_a_thread() -> None:
    threads: list[int] = []
    botocore_credentials, frozen = _refreshable(datetime.timedelta(minutes=12), threads)
    credentials = AwsCredentials(botocore_credentials, frozen, "test")
    assert (await credentials.current()).access_key == "ASIAOLD"
    for _ in range(200):
        if threads and (await credentials.current()).access_key == "ASIANEW":
            break
        await asyncio.sleep(0.01)
    assert (await credentials.current()).access_key == "ASIANEW"
    assert threads
    assert threading.get_ident() not in threads
    await credentials.aclose()


async def test_mandatory_window_waits_for_the_threaded_refresh() -> None:
    threads: list[int] = []
    botocore_credentials, frozen = _refreshable(datetime.timedelta(minutes=2), threads)
    credentials = AwsCredentials(botocore_credentials, frozen, "test")
    assert (await credentials.current()).access_key == "ASIANEW"
    assert threading.get_ident() not in threads


async def test_ready_answers_without_waiting_except_in_the_mandatory_window() -> None:
    threads: list[int] = []
    advisory = AwsCredentials(*_refreshable(datetime.timedelta(minutes=12), threads), "test")
    ready = advisory.ready()
    assert ready is not None
    assert ready.access_key == "ASIAOLD"  # a refresh runs meanwhile
    mandatory = AwsCredentials(*_refreshable(datetime.timedelta(minutes=2), threads), "test")
    assert mandatory.ready() is None
    assert authorize_now(mandatory, region="us-east-1", url=URL, body=b"{}", headers={}) is None
    signed = await authorize(mandatory, region="us-east-1", url=URL, body=b"{}", headers={})
    assert "Credential=ASIANEW/" in signed["Authorization"]
    assert signed["X-Amz-Security-Token"] == "new-token"
    assert mandatory.ready() is not None  # refreshed: signing no longer waits
    await advisory.aclose()


async def test_the_provider_waits_for_a_mandatory_refresh_then_signs_with_the_new_keys(
    fake: FakeBedrock, make_provider: ProviderFactory
) -> None:
    threads: list[int] = []
    credentials = AwsCredentials(*_refreshable(datetime.timedelta(minutes=2), threads), "test")
    fake.answer_json(converse_body())
    await make_provider(credentials=credentials).complete(hello(), CallContext("r"))
    seen = fake.requests[-1]
    assert seen.headers["x-amz-security-token"] == "new-token"
    secrets = {"ASIANEW": "new-secret"}
    assert verify_sigv4(seen.method, seen.raw_path, seen.headers, seen.body, secrets) is None
    assert threads


async def test_failed_mandatory_refresh_is_an_upstream_error_without_secrets() -> None:
    threads: list[int] = []
    botocore_credentials, frozen = _refreshable(datetime.timedelta(minutes=2), threads, fail=True)
    credentials = AwsCredentials(botocore_credentials, frozen, "test")
    with pytest.raises(UpstreamServerError, match="could not refresh") as caught:
        await credentials.current()
    assert "old-secret" not in caught.value.message


# --- signing -----------------------------------------------------------------------------------


def test_sigv4_headers_verify_over_the_encoded_path() -> None:
    url = PROFILE_URL.url_text("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "converse")
    body = b'{"messages":[]}'
    headers = sign_sigv4(
        ReadOnlyCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, "session-token"),
        region="us-east-1",
        url=url,
        body=body,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/")
    assert "/us-east-1/bedrock/aws4_request" in headers["Authorization"]
    assert headers["X-Amz-Security-Token"] == "session-token"
    assert "X-Amz-Date" in headers
    lowered = {name.lower(): value for name, value in headers.items()}
    lowered["host"] = "bedrock-runtime.us-east-1.amazonaws.com"
    raw_path = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    secrets = {ACCESS_KEY_ID: SECRET_ACCESS_KEY}
    assert verify_sigv4("POST", raw_path, lowered, body, secrets) is None
    # The same request with the path normalised to a raw ':' (what yarl does to a plain string)
    # no longer verifies: the URL must be sent exactly as signed.
    normalised = raw_path.replace("%3A", ":")
    assert verify_sigv4("POST", normalised, lowered, body, secrets) == "InvalidSignatureException"
    assert verify_sigv4("POST", raw_path, lowered, body + b" ", secrets) is not None


def test_sigv4_without_a_session_token_sends_none() -> None:
    headers = sign_sigv4(
        ReadOnlyCredentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None),
        region="us-east-1",
        url=PROFILE_URL.url_text("m", "converse"),
        body=b"{}",
        headers={},
    )
    assert "X-Amz-Security-Token" not in headers


async def test_bearer_credentials_set_the_authorization_header() -> None:
    headers = await authorize(
        BearerToken("bedrock-api-key-1"),
        region="us-east-1",
        url=PROFILE_URL.url_text("m", "converse"),
        body=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert headers == {
        "Content-Type": "application/json",
        "Authorization": "Bearer bedrock-api-key-1",
    }
