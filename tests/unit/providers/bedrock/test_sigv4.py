"""The gateway's own SigV4 signer against botocore's, byte for byte, and against the emulator's
verifier."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import random
import string
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stargate.providers.bedrock.sigv4 import SigV4Signer, hmac_states

NOW = datetime.datetime(2026, 11, 23, 4, 5, 6, tzinfo=datetime.UTC)


def _botocore(
    url: str, body: bytes, headers: dict[str, str], token: str | None, region: str
) -> dict[str, str]:
    return _botocore_at(NOW, url, body, headers, token, region)


def _botocore_at(
    now: datetime.datetime,
    url: str,
    body: bytes,
    headers: dict[str, str],
    token: str | None,
    region: str,
    *,
    secret: str = "secret/key+1",
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    with mock.patch("botocore.auth.get_current_datetime", return_value=now.replace(tzinfo=None)):
        SigV4Auth(Credentials("AKIDEXAMPLE", secret, token), "bedrock", region).add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}


def _ours(
    signer: SigV4Signer,
    url: str,
    body: bytes,
    headers: dict[str, str],
    token: str | None,
    *,
    now: datetime.datetime = NOW,
) -> dict[str, str]:
    return signer.sign(
        access_key="AKIDEXAMPLE",
        secret_key="secret/key+1",
        token=token,
        url=url,
        body=body,
        headers=headers,
        now=now,
    )


URLS = [
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku/converse",
    "https://bedrock-runtime.us-east-1.amazonaws.com:443/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke",
    "http://127.0.0.1:8081/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse-stream",
    "http://localhost/model/a%2Fb/invoke-with-response-stream",
    "https://[::1]:9443/model/m/converse",
    "https://example.com/a/./b/../c//d/~x%20y/?b=2&a=1&a=0",
    "https://BEDROCK.example.com/model/m/count-tokens/",
    "https://bedrock-runtime.us-west-2.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Aapplication-inference-profile%2Fab12cd34/converse",
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/caf%C3%A9%20%E2%9C%93/invoke",
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/m!$&'()*+,;=@/converse?x=%2F&y=",
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse?b=&a=2&a=10&c",
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
    with mock.patch("hmac.digest", wraps=hmac.digest) as made:
        _ours(signer, url, b"{}", {}, None)
        assert made.call_count == 4  # the day's key: four chained HMACs
        _ours(signer, url, b"{}", {}, None)
        assert made.call_count == 4  # kept: the signature starts from its prepared states
        signer.sign(
            access_key="AKIDEXAMPLE", secret_key="rotated", token=None, url=url, body=b"{}",
            headers={}, now=NOW,
        )  # fmt: skip
        assert made.call_count == 4 + 4  # a new secret derives its own key
        tomorrow = NOW + datetime.timedelta(days=1)
        signed = signer.sign(
            access_key="AKIDEXAMPLE", secret_key="rotated", token=None, url=url, body=b"{}",
            headers={}, now=tomorrow,
        )  # fmt: skip
        assert made.call_count == 4 + 4 + 4
    assert signed == _botocore_at(tomorrow, url, b"{}", {}, None, "us-east-1", secret="rotated")


@pytest.mark.parametrize("size", [0, 1, 32, 63, 64, 65, 200])
def test_the_prepared_hmac_states_are_hmac_sha256(size: int) -> None:
    key = bytes(range(256))[:size] * 1
    inner, outer = hmac_states(key)
    for message in (b"", b"abc", bytes(range(256)) * 3):
        started, finished = inner.copy(), outer.copy()
        started.update(message)
        finished.update(started.digest())
        assert finished.hexdigest() == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_signing_now_uses_the_current_utc_second() -> None:
    signer = SigV4Signer("bedrock", "us-east-1")
    headers = {"Content-Type": "application/json"}
    for moment in (1_795_000_000.2, 1_795_000_000.9, 1_795_000_001.0, 1_795_086_399.5):
        with mock.patch("time.time", return_value=moment):
            signed = signer.sign(
                access_key="AKIDEXAMPLE", secret_key="secret/key+1", token=None, url=URLS[0],
                body=b"{}", headers=headers,
            )  # fmt: skip
        at = datetime.datetime.fromtimestamp(int(moment), datetime.UTC)
        assert signed["X-Amz-Date"] == at.strftime("%Y%m%dT%H%M%SZ")
        assert signed == _ours(signer, URLS[0], b"{}", headers, None, now=at)


def test_a_cached_form_does_not_leak_into_other_header_sets_or_tokens() -> None:
    signer = SigV4Signer("bedrock", "us-east-1")
    url = URLS[1]
    cases: list[tuple[dict[str, str], str | None]] = [
        ({"Content-Type": "application/json", "Accept": "application/json"}, None),
        ({"Content-Type": "application/json", "Accept": "application/json"}, "token-1"),
        ({"Content-Type": "application/json", "Accept": "application/json"}, "token-2"),
        ({"Content-Type": "application/json", "Accept": "text/plain"}, "token-2"),
        ({"Accept": "application/json", "Content-Type": "application/json"}, None),
        ({"Content-Type": "application/json", "X-Zz": "last", "A": "first"}, "token-1"),
    ]
    for _ in range(2):  # the second round signs from cached forms
        for headers, token in cases:
            assert _ours(signer, url, b"{}", headers, token) == _botocore(
                url, b"{}", headers, token, "us-east-1"
            )


def test_a_caller_mapping_is_not_changed_and_each_answer_is_its_own() -> None:
    signer = SigV4Signer("bedrock", "us-east-1")
    headers = {"Content-Type": "application/json"}
    first = _ours(signer, URLS[0], b"{}", headers, "tok")
    first["X-Extra"] = "mine"
    second = _ours(signer, URLS[0], b"{}", headers, "tok")
    assert headers == {"Content-Type": "application/json"}
    assert "X-Extra" not in second
    assert list(second) == ["Content-Type", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"]


def test_a_stale_authorization_or_date_is_replaced() -> None:
    signer = SigV4Signer("bedrock", "us-east-1")
    stale = {"Authorization": "AWS4-HMAC-SHA256 old", "X-Amz-Date": "20200101T000000Z"}
    signed = _ours(signer, URLS[0], b"{}", stale, None)
    assert signed["X-Amz-Date"] == "20261123T040506Z"
    assert "old" not in signed["Authorization"]
    assert signed == _ours(signer, URLS[0], b"{}", {}, None)
