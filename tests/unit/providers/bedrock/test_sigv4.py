"""The gateway's own SigV4 signer against botocore's, byte for byte, and against the emulator's
verifier."""

from __future__ import annotations

import datetime
import random
import string
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stargate.providers.bedrock.sigv4 import SigV4Signer

NOW = datetime.datetime(2026, 11, 23, 4, 5, 6, tzinfo=datetime.UTC)


def _botocore(
    url: str, body: bytes, headers: dict[str, str], token: str | None, region: str
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(Credentials("AKIDEXAMPLE", "secret/key+1", token), "bedrock", region).add_auth(
            request
        )
    return {name: str(value) for name, value in request.headers.items()}


def _ours(
    signer: SigV4Signer, url: str, body: bytes, headers: dict[str, str], token: str | None
) -> dict[str, str]:
    return signer.sign(
        access_key="AKIDEXAMPLE",
        secret_key="secret/key+1",
        token=token,
        url=url,
        body=body,
        headers=headers,
        now=NOW,
    )


URLS = [
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku/converse",
    "https://bedrock-runtime.us-east-1.amazonaws.com:443/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke",
    "http://127.0.0.1:8081/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse-stream",
    "http://localhost/model/a%2Fb/invoke-with-response-stream",
    "https://[::1]:9443/model/m/converse",
    "https://example.com/a/./b/../c//d/~x%20y/?b=2&a=1&a=0",
    "https://BEDROCK.example.com/model/m/count-tokens/",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("token", [None, "session-token=="])
def test_the_signature_is_botocores(url: str, token: str | None) -> None:
    headers = {"Content-Type": "application/json", "Accept": "application/vnd.amazon.eventstream"}
    body = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'
    signer = SigV4Signer("bedrock", "us-east-1")
    assert _ours(signer, url, body, headers, token) == _botocore(
        url, body, headers, token, "us-east-1"
    )


def test_generated_requests_sign_as_botocore_does() -> None:
    rng = random.Random(7)
    signer = SigV4Signer("bedrock", "eu-west-3")
    names = ["X-Custom", "Accept", "Content-Type", "User-Agent", "traceparent", "X-Amzn-Trace-Id"]
    for _ in range(300):
        headers = {
            name: "  ".join(rng.choices(string.ascii_letters + " ,;=", k=rng.randint(1, 20)))
            for name in rng.sample(names, rng.randint(0, len(names)))
        }
        body = rng.randbytes(rng.randint(0, 300))
        model = "".join(rng.choices(string.ascii_letters + ":.-_%", k=rng.randint(1, 30)))
        url = f"https://bedrock-runtime.eu-west-3.amazonaws.com/model/{model}/converse"
        token = rng.choice([None, "tok"])
        assert _ours(signer, url, body, headers, token) == _botocore(
            url, body, headers, token, "eu-west-3"
        )


def test_the_signing_key_is_derived_once_a_day_and_per_secret() -> None:
    signer = SigV4Signer("bedrock", "us-east-1")
    url = URLS[0]
    with mock.patch("hmac.new", wraps=__import__("hmac").new) as made:
        _ours(signer, url, b"{}", {}, None)
        first = made.call_count
        _ours(signer, url, b"{}", {}, None)
        assert made.call_count - first == 1  # the signature only: the day's key is kept
        signer.sign(
            access_key="AKIDEXAMPLE", secret_key="rotated", token=None, url=url, body=b"{}",
            headers={}, now=NOW,
        )  # fmt: skip
        assert made.call_count - first == 1 + 5  # a new secret derives its own key
        tomorrow = NOW + datetime.timedelta(days=1)
        signer.sign(
            access_key="AKIDEXAMPLE", secret_key="rotated", token=None, url=url, body=b"{}",
            headers={}, now=tomorrow,
        )  # fmt: skip
        assert made.call_count - first == 1 + 5 + 5


def test_a_stale_authorization_or_date_is_replaced() -> None:
    signer = SigV4Signer("bedrock", "us-east-1")
    stale = {"Authorization": "AWS4-HMAC-SHA256 old", "X-Amz-Date": "20200101T000000Z"}
    signed = _ours(signer, URLS[0], b"{}", stale, None)
    assert signed["X-Amz-Date"] == "20261123T040506Z"
    assert "old" not in signed["Authorization"]
    assert signed == _ours(signer, URLS[0], b"{}", {}, None)
